// The end-to-end harness: a real Strapi 5.54 app (e2e/app, installed with
// npm ci from its committed lockfile, the plugin installed in it as the
// README says) and the real Refreshing binary (go build ./cmd/refreshing),
// each on a free loopback port with a fresh database.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, existsSync, statSync, rmSync, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The plugin's directory (integrations/strapi). */
export const PLUGIN_DIR = resolve(__dirname, '..', '..');
/** The repository's root. */
export const REPO_DIR = resolve(PLUGIN_DIR, '..', '..');
/** The Strapi test app. */
export const APP_DIR = join(PLUGIN_DIR, 'e2e', 'app');

/** freePort returns a loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => ok(port));
    });
  });
}

let installing: Promise<void> | undefined;

/**
 * installApp runs npm ci in the test app when its node_modules is missing
 * or older than its lockfile. It is slow (Strapi and a native SQLite
 * driver): start it first and await it last.
 */
export function installApp(): Promise<void> {
  if (!installing) {
    installing = (async () => {
      const marker = join(APP_DIR, 'node_modules', '.package-lock.json');
      if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(join(APP_DIR, 'package-lock.json')).mtimeMs) return;
      await run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: APP_DIR, maxBuffer: 64 << 20, env: { ...process.env, STRAPI_TELEMETRY_DISABLED: 'true' } });
    })();
  }
  return installing;
}

let building: Promise<string> | undefined;

/** buildRefreshing builds the Refreshing binary once and returns its path. */
export function buildRefreshing(): Promise<string> {
  if (!building) {
    building = (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'refreshing-bin-'));
      process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
      const out = join(dir, 'refreshing');
      await run('go', ['build', '-o', out, './cmd/refreshing'], { cwd: REPO_DIR, maxBuffer: 64 << 20 });
      return out;
    })();
  }
  return building;
}

/** A running process with its log. */
export interface Proc {
  child: ChildProcess;
  log: string;
  stop(): Promise<void>;
}

function start(cmd: string, args: string[], cwd: string, env: Record<string, string>, logFile: string): Proc {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return {
    child,
    log: logFile,
    stop: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

/** waitFor polls url until it answers with a status below 500, or throws after ms. */
export async function waitFor(url: string, ms: number, proc: Proc): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${url}: the process exited (${proc.child.exitCode}); see ${proc.log}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url} did not come up within ${ms} ms; see ${proc.log}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A pair: Refreshing and Strapi, configured for each other. */
export interface Pair {
  refreshing: string; // base URL ('' before the cutover)
  strapi: string; // base URL
  mode: 'refresh' | 'legacy-support';
  alg: 'EdDSA' | 'HS256';
  dir: string;
  strapiDB: string; // Strapi's SQLite file
  bin: string;
  env: Record<string, string>; // Refreshing's environment (for its CLI)
  /** stop stops both processes and keeps dir (startPair with opts.dir starts them again). */
  stop(): Promise<void>;
  /** remove stops both processes and deletes dir (unless KEEP_E2E is set). */
  remove(): Promise<void>;
}

/** Options of startPair. */
export interface PairOptions {
  /**
   * dir reuses the databases and secrets of an earlier pair (its dir), so
   * that a test can stop Strapi, import its database into Refreshing
   * (cli(p, 'import', 'strapi', '--from', p.strapiDB)) and start again.
   */
  dir?: string;
  /** beforeCutover starts Strapi alone, without the plugin, as it was before Refreshing. */
  beforeCutover?: boolean;
  /** env adds to (or overrides) Refreshing's environment, e.g. REFRESHING_REUSE_GRACE. */
  env?: Record<string, string>;
  /** strapiEnv adds to Strapi's environment, e.g. E2E_PROVIDER_URL. */
  strapiEnv?: Record<string, string>;
}

interface Secrets {
  rPort: number;
  sPort: number;
  bridge: string;
  jwt: string;
  appKeys: string;
  salt: string;
  admin: string;
  transfer: string;
  encryption: string;
}

/** secretsOf returns the ports and secrets of dir, made on its first use. */
async function secretsOf(dir: string): Promise<Secrets> {
  const file = join(dir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Secrets;
  const b = (n: number) => randomBytes(n).toString('base64');
  const s: Secrets = {
    rPort: await freePort(), sPort: await freePort(), bridge: randomBytes(36).toString('base64url'), jwt: b(24),
    appKeys: `${b(16)},${b(16)}`, salt: b(16), admin: b(16), transfer: b(16), encryption: b(16),
  };
  writeFileSync(file, JSON.stringify(s));
  return s;
}

/** startPair starts Refreshing and the Strapi test app paired with each other. */
export async function startPair(mode: Pair['mode'], alg: Pair['alg'], opts: PairOptions = {}): Promise<Pair> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `refreshing-strapi-${mode}-${alg}-`));
  const sec = await secretsOf(dir);
  const refreshingURL = `http://127.0.0.1:${sec.rPort}`;
  const strapiURL = `http://127.0.0.1:${sec.sPort}`;
  const env: Record<string, string> = {
    REFRESHING_DB: `sqlite:${join(dir, 'refreshing.db')}`,
    REFRESHING_ISSUER: refreshingURL,
    REFRESHING_STRAPI_URL: strapiURL,
    REFRESHING_BRIDGE_SECRET: sec.bridge,
    REFRESHING_TRUSTED_PROXIES: '127.0.0.1/32',
    REFRESHING_RATE_LIMIT_IP: '100000',
    REFRESHING_RATE_LIMIT_IDENTIFIER: '100000',
    REFRESHING_LOG_LEVEL: 'warn',
    // Strapi's users-permissions jwtSecret (the test app's JWT_SECRET, kept
    // in dir's secrets.json): Strapi 5 refresh tokens from before the
    // cutover, once imported, verify with it, as docs/strapi-import.md says.
    REFRESHING_STRAPI_JWT_SECRET: sec.jwt,
    ...(opts.env ?? {}),
  };
  if (alg === 'HS256') env.REFRESHING_JWT_SECRET = sec.jwt;
  const bin = await buildRefreshing();
  const r = opts.beforeCutover ? undefined : start(bin, ['serve', '--addr', `127.0.0.1:${sec.rPort}`], dir, env, join(dir, 'refreshing.log'));
  await installApp();
  const strapiEnv: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: String(sec.sPort),
    NODE_ENV: 'production',
    STRAPI_TELEMETRY_DISABLED: 'true',
    STRAPI_DISABLE_UPDATE_NOTIFICATION: 'true',
    APP_KEYS: sec.appKeys,
    API_TOKEN_SALT: sec.salt,
    ADMIN_JWT_SECRET: sec.admin,
    TRANSFER_TOKEN_SALT: sec.transfer,
    ENCRYPTION_KEY: sec.encryption,
    JWT_SECRET: sec.jwt,
    DATABASE_CLIENT: 'sqlite',
    DATABASE_FILENAME: join(dir, 'strapi.db'),
    JWT_MANAGEMENT: mode,
    REFRESHING_URL: refreshingURL,
    REFRESHING_BRIDGE_SECRET: sec.bridge,
  };
  if (opts.beforeCutover) strapiEnv.E2E_BEFORE_CUTOVER = 'true';
  Object.assign(strapiEnv, opts.strapiEnv ?? {});
  const s = start(process.execPath, [join(APP_DIR, 'node_modules', '@strapi', 'strapi', 'bin', 'strapi.js'), 'start'], APP_DIR, strapiEnv, join(dir, 'strapi.log'));
  const stop = async () => {
    await Promise.all([r?.stop(), s.stop()]);
  };
  try {
    if (r) await waitFor(`${refreshingURL}/healthz`, 60_000, r);
    await waitFor(`${strapiURL}/_health`, 240_000, s);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    refreshing: r ? refreshingURL : '', strapi: strapiURL, strapiDB: join(dir, 'strapi.db'), mode, alg, dir, bin, env,
    stop,
    remove: async () => {
      await stop();
      if (!process.env.KEEP_E2E) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** cli runs the Refreshing binary's CLI on the pair's database. */
export async function cli(p: Pair, ...args: string[]): Promise<string> {
  const { stdout } = await run(p.bin, args, { env: { ...process.env, ...p.env } });
  return stdout;
}

/** A JSON answer. */
export interface Answer {
  status: number;
  body: any;
}

/** call sends a JSON request. */
export async function call(method: string, url: string, body?: unknown, token?: string): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const init: RequestInit = { method, headers, signal: AbortSignal.timeout(30_000) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}
