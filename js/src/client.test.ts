// Unit tests of the client's refresh logic in Node, against a small HTTP
// server on loopback that plays Refreshing's endpoints and lets each test
// choose the answers (429, 5xx, a refused token, a dropped connection).
// The browser tests (test/browser.test.ts) run it against the real server.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import { RefreshingError, asyncStorage, createClient, memoryStorage, type TokenStorage } from "./index.js";
import { leaseLock } from "./lock.js";

/** jwt makes an unsigned token with the given lifetime (the client never verifies). */
function jwt(ttlSeconds: number, sub = 1): string {
  const iat = Math.floor(Date.now() / 1000);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${enc({ alg: "EdDSA", typ: "at+jwt" })}.${enc({ id: sub, iat, exp: iat + ttlSeconds, n: Math.random() })}.sig`;
}

type Handler = (req: IncomingMessage, body: any, res: ServerResponse) => void;

const server = {
  url: "",
  ttl: 600,
  exchanges: 0,
  next: 0,
  live: "rt_0",
  onToken: undefined as Handler | undefined,
  delay: 0,
};

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers }).end(JSON.stringify(body));
}

const http = createServer((req, res) => {
  let raw = "";
  req.on("data", (c) => (raw += c));
  req.on("end", () => {
    let body: any = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      body = {};
    }
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/api/auth/local" && req.method === "POST") {
      if (body.password !== "pw") return json(res, 400, { data: null, error: { status: 400, name: "ValidationError", message: "Invalid identifier or password", details: {} } });
      server.live = `rt_${++server.next}`;
      return json(res, 200, { jwt: jwt(server.ttl), refreshToken: server.live, user: { id: 1, username: body.identifier, email: "ada@example.com" } });
    }
    if (path === "/api/auth/token" && req.method === "POST") {
      server.exchanges++;
      if (server.onToken) return server.onToken(req, body, res);
      setTimeout(() => {
        if (body.token !== server.live) return json(res, 401, { data: null, error: { status: 401, name: "UnauthorizedError", message: "Invalid refresh token", details: {} } });
        server.live = `rt_${++server.next}`;
        json(res, 200, { jwt: jwt(server.ttl), refreshToken: server.live });
      }, server.delay);
      return;
    }
    if (path === "/api/users/me") {
      const auth = req.headers.authorization ?? "";
      return auth.startsWith("Bearer ey") ? json(res, 200, { id: 1, echo: raw }) : json(res, 401, {});
    }
    if (path === "/api/auth/revoke") return json(res, 200, { ok: true });
    json(res, 404, {});
  });
});

before(async () => {
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  server.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => http.close(() => r())));
beforeEach(() => {
  server.ttl = 600;
  server.exchanges = 0;
  server.onToken = undefined;
  server.delay = 0;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("createClient", () => {
  test("login stores tokens; accessToken needs no exchange while fresh", async () => {
    const auth = createClient({ baseUrl: server.url });
    await assert.rejects(auth.accessToken(), (e: RefreshingError) => e.kind === "signed_out");
    const { user } = await auth.login({ identifier: "ada", password: "pw" });
    assert.equal(user.username, "ada");
    assert.match(await auth.accessToken(), /^ey/);
    assert.equal(server.exchanges, 0);
    const res = await auth.fetch(`${server.url}/api/users/me`);
    assert.equal(res.status, 200);
  });

  test("wrong credentials reject with the server's error name", async () => {
    const auth = createClient({ baseUrl: server.url });
    await assert.rejects(auth.login({ identifier: "ada", password: "nope" }), (e: RefreshingError) => {
      return e instanceof RefreshingError && e.kind === "rejected" && e.status === 400 && e.code === "ValidationError";
    });
  });

  test("single flight: many callers, one exchange", async () => {
    server.ttl = 1; // due for a refresh at once (lifetime - 1 s = 0)
    server.delay = 50;
    const auth = createClient({ baseUrl: server.url });
    await auth.login({ identifier: "ada", password: "pw" });
    server.ttl = 600;
    const tokens = await Promise.all(Array.from({ length: 20 }, () => auth.accessToken()));
    assert.equal(server.exchanges, 1);
    assert.equal(new Set(tokens).size, 1);
  });

  test("refreshes before expiry and emits refreshed", async () => {
    server.ttl = 2; // usable 1 s, refreshed after 0.9 s
    const auth = createClient({ baseUrl: server.url });
    const seen: string[] = [];
    const off = auth.on("refreshed", (e) => seen.push(e.source));
    await auth.login({ identifier: "ada", password: "pw" });
    const t0 = await auth.accessToken();
    await sleep(950);
    const t1 = await auth.accessToken();
    assert.notEqual(t0, t1);
    assert.equal(server.exchanges, 1);
    assert.deepEqual(seen, ["this-tab"]);
    off();
  });

  test("fetch refreshes once and retries once after a 401, resending the body", async () => {
    const auth = createClient({ baseUrl: server.url });
    await auth.login({ identifier: "ada", password: "pw" });
    let calls = 0;
    const stale = createClient({
      baseUrl: server.url,
      storage: memoryStorage(),
      fetch: async (input, init) => {
        const req = new Request(input, init);
        if (req.url.endsWith("/api/users/me") && calls++ === 0) return new Response("{}", { status: 401 });
        return fetch(req);
      },
    });
    await stale.login({ identifier: "ada", password: "pw" });
    const res = await stale.fetch(`${server.url}/api/users/me`, { method: "POST", body: "hello" });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { echo: string }).echo, "hello");
    assert.equal(server.exchanges, 1);
    assert.equal(calls, 2);
  });

  test("a refused refresh token: exactly one signedOut, tokens cleared", async () => {
    server.ttl = 1;
    const storage = memoryStorage();
    const auth = createClient({ baseUrl: server.url, storage });
    let events = 0;
    auth.on("signedOut", (e) => {
      events++;
      assert.equal(e.reason, "revoked");
      assert.equal(e.error?.status, 401);
    });
    await auth.login({ identifier: "ada", password: "pw" });
    server.live = "rt_revoked";
    const results = await Promise.allSettled([auth.accessToken(), auth.accessToken(), auth.fetch(`${server.url}/api/users/me`)]);
    for (const r of results) assert.equal(r.status === "rejected" && (r.reason as RefreshingError).kind, "signed_out");
    await assert.rejects(auth.accessToken(), (e: RefreshingError) => e.kind === "signed_out");
    assert.equal(events, 1);
    assert.equal(server.exchanges, 1);
    assert.equal(await storage.getItem("refreshing_" + server.url.replace(/[^A-Za-z0-9._-]/g, "_")), null);
  });

  test("429 backs off for Retry-After and keeps the tokens", async () => {
    server.ttl = 1;
    const auth = createClient({ baseUrl: server.url });
    let signedOut = 0;
    auth.on("signedOut", () => signedOut++);
    await auth.login({ identifier: "ada", password: "pw" });
    server.onToken = (_req, _body, res) => json(res, 429, { error: { status: 429, name: "RateLimitError", message: "slow down" } }, { "Retry-After": "30" });
    const err = await auth.accessToken().then(() => assert.fail("resolved"), (e: RefreshingError) => e);
    assert.equal(err.kind, "rate_limited");
    assert.ok(err.retryAt! > Date.now() + 25_000);
    // Within the back-off no request is made at all.
    for (let i = 0; i < 5; i++) await assert.rejects(auth.accessToken());
    assert.equal(server.exchanges, 1);
    assert.equal(signedOut, 0);
    assert.equal(await auth.isSignedIn(), true);
  });

  test("a network error is not a sign-out; a still-valid token keeps being used", async () => {
    // Usable 10 s after it arrives, due for a refresh after 9 s. Every step
    // waits until a time measured from the token's arrival, with 0.6 s or
    // more to spare on either side, so a loaded machine's late timers do not
    // move a step into the next window.
    server.ttl = 11;
    const auth = createClient({ baseUrl: server.url });
    let signedOut = 0;
    auth.on("signedOut", () => signedOut++);
    await auth.login({ identifier: "ada", password: "pw" });
    const arrived = Date.now();
    const t0 = await auth.accessToken();
    server.onToken = (req) => req.socket.destroy();
    const until = (ms: number) => sleep(Math.max(0, arrived + ms - Date.now()));
    await until(9300);
    // Due, but not expired: the refresh fails, the old token is returned.
    assert.equal(await auth.accessToken(), t0);
    assert.equal(server.exchanges, 1);
    await until(9400);
    // Backing off (at least 0.75 s after a first failure): no second
    // attempt yet, and the old token still works.
    assert.equal(await auth.accessToken(), t0);
    assert.equal(server.exchanges, 1);
    assert.equal(signedOut, 0);
    // Expired now: the caller sees a transient error, tokens stay.
    await until(10_700);
    await assert.rejects(auth.accessToken(), (e: RefreshingError) => e.kind === "network" && e.transient);
    assert.equal(await auth.isSignedIn(), true);
    assert.equal(signedOut, 0);
  });

  test("per-request clients on a server share nothing", async () => {
    const a = createClient({ baseUrl: server.url });
    const b = createClient({ baseUrl: server.url });
    await a.login({ identifier: "ada", password: "pw" });
    assert.equal(await a.isSignedIn(), true);
    assert.equal(await b.isSignedIn(), false);
    await assert.rejects(b.accessToken(), (e: RefreshingError) => e.kind === "signed_out");
  });

  test("an async key-value store (React Native) works and persists across clients", async () => {
    const m = new Map<string, string>();
    const kv = asyncStorage({
      getItem: async (k) => (await sleep(1), m.get(k) ?? null),
      setItem: async (k, v) => void (await sleep(1), m.set(k, v)),
      removeItem: async (k) => void (await sleep(1), m.delete(k)),
    });
    const a = createClient({ baseUrl: server.url, storage: kv, storageKey: "session" });
    await a.login({ identifier: "ada", password: "pw" });
    assert.ok(m.get("session")?.includes("rt_"));
    const restarted = createClient({ baseUrl: server.url, storage: kv, storageKey: "session" });
    assert.match(await restarted.accessToken(), /^ey/);
    await restarted.logout();
    assert.equal(m.has("session"), false);
  });

  test("listeners unsubscribe", async () => {
    const auth = createClient({ baseUrl: server.url });
    let n = 0;
    const off = auth.on("signedOut", () => n++);
    await auth.login({ identifier: "ada", password: "pw" });
    off();
    await auth.logout();
    assert.equal(n, 0);
  });
});

/** A Web Storage that several "tabs" (clients in this process) share. */
class SharedStorage implements Storage {
  private m = new Map<string, string>();
  get length() {
    return this.m.size;
  }
  clear() {
    this.m.clear();
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  setItem(k: string, v: string) {
    this.m.set(k, String(v));
  }
}

function sharedAdapter(ls: Storage): TokenStorage {
  return { getItem: (k) => ls.getItem(k), setItem: (k, v) => ls.setItem(k, v), removeItem: (k) => ls.removeItem(k), shared: true, webStorage: ls };
}

describe("across tabs (the lease lock, as where Web Locks are missing)", () => {
  test("two tabs due at once make one exchange; the second re-reads storage inside the lock", async () => {
    server.ttl = 1;
    server.delay = 100;
    const ls = new SharedStorage();
    const tabs = [0, 1, 2].map(() => createClient({ baseUrl: server.url, storage: sharedAdapter(ls), crossTab: "lease" }));
    try {
      await tabs[0]!.login({ identifier: "ada", password: "pw" });
      server.ttl = 600;
      const tokens = await Promise.all(tabs.map((t) => t.accessToken()));
      assert.equal(server.exchanges, 1);
      assert.equal(new Set(tokens).size, 1);
    } finally {
      for (const t of tabs) t.close();
    }
  });

  test("one tab's refused token signs every tab out once", async () => {
    server.ttl = 1;
    const ls = new SharedStorage();
    const tabs = [0, 1].map(() => createClient({ baseUrl: server.url, storage: sharedAdapter(ls), crossTab: "lease" }));
    const counts = [0, 0];
    tabs.forEach((t, i) => t.on("signedOut", () => counts[i]!++));
    try {
      await tabs[0]!.login({ identifier: "ada", password: "pw" });
      assert.equal(await tabs[1]!.isSignedIn(), true);
      server.live = "rt_gone";
      await Promise.allSettled(tabs.map((t) => t.accessToken()));
      await sleep(50); // the BroadcastChannel message
      await Promise.allSettled(tabs.map((t) => t.accessToken()));
      assert.deepEqual(counts, [1, 1]);
      assert.equal(server.exchanges, 1);
      assert.equal(ls.length, 0);
    } finally {
      for (const t of tabs) t.close();
    }
  });

  test("a lease left by a dead tab blocks the others only until it runs out", async () => {
    const ls = new SharedStorage();
    ls.setItem("k", JSON.stringify({ id: "dead-tab", until: Date.now() + 300 }));
    const lock = leaseLock(ls, "k", { lease: 300, renew: 100, settle: 5, poll: 20 });
    const t0 = Date.now();
    const v = await lock.run(async () => "ran", 2000);
    assert.equal(v, "ran");
    assert.ok(Date.now() - t0 >= 250, "took the lock before the dead tab's lease ran out");
    assert.equal(ls.getItem("k"), null, "the lock was not released");
  });

  test("the lease lock excludes: no two holders at once", async () => {
    const ls = new SharedStorage();
    const locks = [0, 1, 2, 3].map(() => leaseLock(ls, "k", { lease: 500, renew: 100, settle: 5, poll: 5 }));
    let inside = 0;
    let most = 0;
    await Promise.all(
      locks.map((l) =>
        l.run(async () => {
          most = Math.max(most, ++inside);
          await sleep(20);
          inside--;
        }, 5000),
      ),
    );
    assert.equal(most, 1);
  });
});
