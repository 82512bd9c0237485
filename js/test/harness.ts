// Test harness: a real Refreshing server (built from this repository with
// `go build`), a static server for the test pages and js/dist, and Debian's
// headless Chromium driven by playwright-core. Without chromium or go, the
// tests that need them are skipped locally and fail in CI (CI=true).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The js/ directory (this file is compiled to js/build/test/). */
export const jsDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const repoDir = resolve(jsDir, "..");

/** need returns a reason to skip when a tool is missing locally; in CI it throws instead. */
export function need(what: string, found: boolean, how: string): string | false {
  if (found) return false;
  if (process.env.CI === "true") throw new Error(`${what} is missing and CI requires it: ${how}`);
  return `${what} is missing: ${how}`;
}

export function which(names: string[]): string | undefined {
  for (const n of names) {
    if (n.startsWith("/") && existsSync(n)) return n;
    try {
      const p = execFileSync("sh", ["-c", `command -v ${n}`], { encoding: "utf8" }).trim();
      if (p) return p;
    } catch {
      // not found
    }
  }
  return undefined;
}

export const chromiumPath = process.env.CHROMIUM_PATH || which(["chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium"]);
export const goPath = which(["go", "/usr/local/go/bin/go"]);

let built: string | undefined;

/** buildRefreshing builds cmd/refreshing once per test process. */
export function buildRefreshing(): string {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), "refreshing-js-bin-"));
  const bin = join(dir, "refreshing");
  execFileSync(goPath ?? "go", ["build", "-o", bin, "./cmd/refreshing"], { cwd: repoDir, stdio: ["ignore", "inherit", "inherit"] });
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  built = bin;
  return bin;
}

/** A running Refreshing process. */
export interface Refreshing {
  url: string; // http://127.0.0.1:PORT
  port: number;
  /** cli runs the refreshing command on the server's database and returns its stdout. */
  cli(...args: string[]): string;
  proc: ChildProcess;
  stop(): Promise<void>;
  /** exchanges returns refreshing_token_exchanges_total by outcome. */
  exchanges(): Promise<Record<string, number>>;
}

/** startRefreshing runs the server on a fresh SQLite file with env added to its environment. */
export async function startRefreshing(env: Record<string, string>): Promise<Refreshing> {
  const bin = buildRefreshing();
  const dir = mkdtempSync(join(tmpdir(), "refreshing-js-db-"));
  const proc = spawn(bin, ["serve", "--addr", "127.0.0.1:0", "--db", `sqlite:${join(dir, "db")}`], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir, REFRESHING_LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // The server logs JSON lines on stderr; the one whose msg is "listening" carries its URL.
  let stderr = "";
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`refreshing did not start in 60s: ${stderr}`)), 60_000);
    proc.stderr?.on("data", (b: Buffer) => {
      const before = stderr.length;
      stderr += b.toString();
      for (const line of stderr.slice(stderr.lastIndexOf("\n", before) + 1).split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const rec = JSON.parse(line) as { msg?: string; url?: string };
          if (rec.msg === "listening" && rec.url) {
            clearTimeout(timer);
            ok(rec.url);
          }
        } catch {
          // a line still being written: the next chunk completes it
        }
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`refreshing exited (${code}): ${stderr}`));
    });
  });
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    cli: (...args: string[]) =>
      execFileSync(bin, args, {
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir, REFRESHING_DB: `sqlite:${join(dir, "db")}` },
        encoding: "utf8",
      }),
    proc,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
    async exchanges() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^refreshing_token_exchanges_total\{outcome="([a-z_]+)"\} (\d+)/gm)) {
        out[m[1] as string] = Number(m[2]);
      }
      return out;
    },
  };
}

const types: Record<string, string> = { ".js": "text/javascript", ".html": "text/html", ".ts": "text/plain" };

/** startStatic serves test pages at / and js/dist at /dist/ on 127.0.0.1. */
export async function startStatic(): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    let file: string | undefined;
    if (path === "/" || path === "/test.html") file = join(jsDir, "test", "page.html");
    else if (/^\/dist\/[a-z]+\.js$/.test(path)) file = join(jsDir, path);
    if (!file || !existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
