// The client in real headless Chromium (Debian's): pages on one origin
// (http://127.0.0.1:P1), Refreshing on another site (http://localhost:P2),
// several tabs of one signed-in user calling auth.fetch across several short
// access-token lifetimes, then a stolen token replayed, then a page of an
// origin not on the list. The server counts exchanges (/metrics).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { chromiumPath, goPath, need, type Refreshing, startRefreshing, startStatic } from "./harness.js";

const ttlSeconds = 3;
const skip =
  need("chromium", chromiumPath !== undefined, "apt-get install -y chromium (.ci/run does)") ||
  need("go", goPath !== undefined, "the browser tests build cmd/refreshing with the go command");

// What the pages run (serialised into them by page.evaluate).
declare global {
  interface Window {
    R: typeof import("../src/index.js");
    ready: boolean;
    auth: import("../src/index.js").RefreshingClient;
    events: { refreshed: number; signedOut: number; reasons: string[] };
    loop?: Promise<{ ok: number; failures: string[] }>;
  }
}

interface Setup {
  base: string; // Refreshing, as the pages name it
  crossTab?: "auto" | "lease";
  cookieMode?: boolean;
  /** DPoP mode, as this OAuth client. */
  dpopClient?: string;
}

/** open loads the test page in a new tab and makes its client. */
async function open(ctx: BrowserContext, url: string, s: Setup): Promise<Page> {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.error("page error:", e));
  await page.goto(url);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate((s) => {
    window.events = { refreshed: 0, signedOut: 0, reasons: [] };
    window.auth = window.R.createClient({
      baseUrl: s.base,
      crossTab: s.crossTab ?? "auto",
      cookieMode: s.cookieMode ?? false,
      ...(s.dpopClient ? { dpop: true, clientId: s.dpopClient } : {}),
      onSignedOut: (e) => {
        window.events.signedOut++;
        window.events.reasons.push(e.reason);
      },
    });
    window.auth.on("refreshed", () => void window.events.refreshed++);
  }, s);
  return page;
}

/** startLoop makes the tab call auth.fetch(/api/users/me) every 100 ms for ms. */
async function startLoop(page: Page, base: string, ms: number): Promise<void> {
  await page.evaluate(
    ({ base, ms }) => {
      window.loop = (async () => {
        let ok = 0;
        const failures: string[] = [];
        const end = Date.now() + ms;
        while (Date.now() < end) {
          try {
            const res = await window.auth.fetch(`${base}/api/users/me`);
            if (res.ok) ok++;
            else failures.push(`HTTP ${res.status}`);
          } catch (e) {
            failures.push(String(e));
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        return { ok, failures };
      })();
    },
    { base, ms },
  );
}

const loopResult = (page: Page) => page.evaluate(() => window.loop!);
const eventsOf = (page: Page) => page.evaluate(() => window.events);
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("in Chromium", { skip }, () => {
  let srv: Refreshing;
  let site: Awaited<ReturnType<typeof startStatic>>;
  let browser: Browser;
  let appOrigin: string;
  let base: string;

  before(async () => {
    const { chromium } = await import("playwright-core");
    site = await startStatic();
    appOrigin = `http://127.0.0.1:${site.port}`;
    srv = await startRefreshing({
      REFRESHING_ACCESS_TTL: `${ttlSeconds}s`,
      REFRESHING_REUSE_GRACE: "1s",
      REFRESHING_ALLOWED_ORIGINS: appOrigin,
    });
    // Refreshing is named localhost (another site than 127.0.0.1); evil.test
    // is a page origin that is not on the list.
    base = `http://localhost:${srv.port}`;
    browser = await chromium.launch({
      executablePath: chromiumPath!,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--host-resolver-rules=MAP localhost 127.0.0.1, MAP evil.test 127.0.0.1",
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await srv?.stop();
    await site?.close();
  });

  const register = async (name: string) => {
    const res = await fetch(`${srv.url}/api/auth/local/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: name, email: `${name}@example.com`, password: "correct horse battery" }),
    });
    assert.equal(res.status, 200, await res.text());
  };

  for (const crossTab of ["auto", "lease"] as const) {
    test(`tabs share one refresh per expiry, and a replayed token signs every tab out once (crossTab ${crossTab})`, async () => {
      const name = `ada${crossTab}`;
      await register(name);
      const ctx = await browser.newContext();
      try {
        const s: Setup = { base, crossTab };
        const first = await open(ctx, `${appOrigin}/test.html`, s);
        const kind = await first.evaluate(() => ("locks" in navigator ? "locks" : "none"));
        if (crossTab === "auto") assert.equal(kind, "locks", "the page should have Web Locks (a secure context)");
        const user = await first.evaluate(
          (name) => window.auth.login({ identifier: name, password: "correct horse battery" }).then((r) => r.user.username),
          name,
        );
        assert.equal(user, name);
        const tabs = [first];
        for (let i = 0; i < 3; i++) tabs.push(await open(ctx, `${appOrigin}/test.html`, s));
        for (const t of tabs) assert.equal(await t.evaluate(() => window.auth.isSignedIn()), true);

        // The thief's copy of the refresh token, taken now.
        const stolen = await first.evaluate(() => {
          for (let i = 0; i < localStorage.length; i++) {
            const k = localStorage.key(i)!;
            if (k.startsWith("refreshing_") && !k.endsWith(":lock")) return JSON.parse(localStorage.getItem(k)!).refreshToken as string;
          }
          return "";
        });
        assert.match(stolen, /^rt_/);

        const start = await srv.exchanges();
        const before = sum(start);
        const lifetimes = 4;
        const ms = lifetimes * ttlSeconds * 1000;
        await Promise.all(tabs.map((t) => startLoop(t, base, ms)));
        const results = await Promise.all(tabs.map(loopResult));
        const exchanged = await srv.exchanges();
        const n = sum(exchanged) - before;
        for (const [i, r] of results.entries()) {
          assert.deepEqual(r.failures, [], `tab ${i}: failed calls`);
          assert.ok(r.ok > 10, `tab ${i}: only ${r.ok} calls`);
        }
        for (const [i, t] of tabs.entries()) assert.equal((await eventsOf(t)).signedOut, 0, `tab ${i} saw signedOut`);
        // The client refreshes when 90 % of (lifetime - 1 s) has passed:
        // about every 1.8 s here, so about 7 exchanges in 12 s for all the
        // tabs together; one per tab would be about 27.
        const perExpiry = Math.ceil(ms / (0.9 * (ttlSeconds - 1) * 1000));
        console.log(`crossTab ${crossTab}: ${n} exchanges in ${ms} ms by ${tabs.length} tabs (about ${perExpiry} expected), outcomes ${JSON.stringify(exchanged)}`);
        assert.ok(n >= lifetimes - 1, `only ${n} exchanges: the tabs did not refresh across lifetimes`);
        assert.ok(n <= perExpiry + 2, `${n} exchanges for ${perExpiry} refresh intervals: tabs refreshed on their own`);
        assert.equal(exchanged.reuse_detected ?? 0, start.reuse_detected ?? 0, "a tab presented a rotated token after the grace window");
        // Every tab learned of the other tabs' new tokens.
        for (const [i, t] of tabs.entries()) assert.ok((await eventsOf(t)).refreshed >= lifetimes - 1, `tab ${i}: refreshed events`);

        // The thief replays the token after the grace window: the server
        // revokes the session; every tab ends signed out, exactly once.
        await sleep(1200);
        const replay = await fetch(`${srv.url}/api/auth/token`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ token: stolen }),
        });
        assert.equal(replay.status, 401);
        assert.equal(((await srv.exchanges()).reuse_detected ?? 0) >= 1, true, "the server did not see a reuse");
        await Promise.all(tabs.map((t) => startLoop(t, base, 2 * ttlSeconds * 1000)));
        const after = await Promise.all(tabs.map(loopResult));
        await sleep(500);
        for (const [i, t] of tabs.entries()) {
          const ev = await eventsOf(t);
          assert.equal(ev.signedOut, 1, `tab ${i}: ${ev.signedOut} signedOut events (${ev.reasons.join(", ")}); calls ${JSON.stringify(after[i])}`);
          assert.equal(await t.evaluate(() => window.auth.isSignedIn()), false);
          // Nothing is left to steal.
          assert.equal(await t.evaluate(() => Object.keys(localStorage).filter((k) => !k.endsWith(":lock")).length), 0);
        }
      } finally {
        await ctx.close();
      }
    });
  }

  test("DPoP: tabs share one non-extractable key in IndexedDB, one bound session, one refresh per expiry", async () => {
    assert.match(srv.cli("clients", "create", "--id", "spa", "--grant", "password", "--dpop"), /DPoP proof/);
    await register("dee");
    const ctx = await browser.newContext();
    try {
      const s: Setup = { base, dpopClient: "spa" };
      const first = await open(ctx, `${appOrigin}/test.html`, s);
      const user = await first.evaluate(() => window.auth.login({ identifier: "dee", password: "correct horse battery" }).then((r) => r.user.username));
      assert.equal(user, "dee");
      const tabs = [first, await open(ctx, `${appOrigin}/test.html`, s), await open(ctx, `${appOrigin}/test.html`, s)];

      // Every tab finds the one key in IndexedDB, its private half not
      // extractable, and holds an access token bound to it.
      const seen = await Promise.all(
        tabs.map((t) =>
          t.evaluate(async () => {
            const db = await new Promise<IDBDatabase>((ok, no) => {
              const r = indexedDB.open("refreshing-dpop");
              r.onsuccess = () => ok(r.result);
              r.onerror = () => no(r.error);
            });
            const all = await new Promise<CryptoKeyPair[]>((ok, no) => {
              const r = db.transaction("keys").objectStore("keys").getAll();
              r.onsuccess = () => ok(r.result as CryptoKeyPair[]);
              r.onerror = () => no(r.error);
            });
            db.close();
            const jwk = await crypto.subtle.exportKey("jwk", all[0]!.publicKey);
            const token = await window.auth.accessToken();
            const claims = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { cnf?: { jkt?: string } };
            return { keys: all.length, extractable: all[0]!.privateKey.extractable, jwk: { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }, cnf: claims.cnf?.jkt };
          }),
        ),
      );
      const jkt = createHash("sha256").update(JSON.stringify(seen[0]!.jwk)).digest("base64url");
      for (const [i, k] of seen.entries()) {
        assert.equal(k.keys, 1, `tab ${i}: keys in IndexedDB`);
        assert.equal(k.extractable, false, `tab ${i}: the private key is extractable`);
        assert.deepEqual(k.jwk, seen[0]!.jwk, `tab ${i}: another key`);
        assert.equal(k.cnf, jkt, `tab ${i}: the access token is not bound to the key`);
      }
      const stolen = await first.evaluate(() => {
        for (let i = 0; i < localStorage.length; i++) {
          const k = localStorage.key(i)!;
          if (k.startsWith("refreshing_") && !k.endsWith(":lock")) return JSON.parse(localStorage.getItem(k)!) as { refreshToken: string; tokenType: string };
        }
        return { refreshToken: "", tokenType: "" };
      });
      assert.equal(stolen.tokenType, "DPoP");

      // Four lifetimes of calls from every tab: about one exchange per
      // refresh interval for all of them, each with a proof of the key.
      const start = await srv.exchanges();
      const lifetimes = 4;
      const ms = lifetimes * ttlSeconds * 1000;
      await Promise.all(tabs.map((t) => startLoop(t, base, ms)));
      const results = await Promise.all(tabs.map(loopResult));
      const exchanged = await srv.exchanges();
      const n = sum(exchanged) - sum(start);
      for (const [i, r] of results.entries()) {
        assert.deepEqual(r.failures, [], `tab ${i}: failed calls`);
        assert.ok(r.ok > 10, `tab ${i}: only ${r.ok} calls`);
      }
      const perExpiry = Math.ceil(ms / (0.9 * (ttlSeconds - 1) * 1000));
      console.log(`DPoP: ${n} exchanges in ${ms} ms by ${tabs.length} tabs (about ${perExpiry} expected), outcomes ${JSON.stringify(exchanged)}`);
      assert.ok(n >= lifetimes - 1, `only ${n} exchanges: the tabs did not refresh across lifetimes`);
      assert.ok(n <= perExpiry + 2, `${n} exchanges for ${perExpiry} refresh intervals: tabs refreshed on their own`);
      assert.equal(exchanged.reuse_detected ?? 0, start.reuse_detected ?? 0, "a tab presented a rotated token");

      // The refresh token without the key is worth nothing, and trying changes nothing.
      const thief = await fetch(`${srv.url}/oauth/token`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", client_id: "spa", refresh_token: stolen.refreshToken }).toString(),
      });
      assert.equal(thief.status, 400);
      assert.equal(((await thief.json()) as { error: string }).error, "invalid_dpop_proof");
      await startLoop(tabs[1]!, base, 500);
      assert.deepEqual((await loopResult(tabs[1]!)).failures, []);

      // A failed sign-in in one tab leaves the session's key in place: a tab
      // opened afterwards loads it from IndexedDB and its calls still work.
      const failed = await tabs[1]!.evaluate(() =>
        window.auth.login({ identifier: "dee", password: "not the password" }).then(
          () => "signed in",
          (e: { code?: string }) => String(e.code),
        ),
      );
      assert.equal(failed, "invalid_grant");
      tabs.push(await open(ctx, `${appOrigin}/test.html`, s));
      await startLoop(tabs[3]!, base, 300);
      assert.deepEqual((await loopResult(tabs[3]!)).failures, [], "a new tab after a failed sign-in");

      // Logging out in one tab signs every tab out, once, and deletes the
      // session's key: nothing that signs for it stays in the browser.
      await tabs[2]!.evaluate(() => window.auth.logout());
      await sleep(300);
      for (const [i, t] of tabs.entries()) {
        assert.equal((await eventsOf(t)).signedOut, 1, `tab ${i}: signedOut events`);
        assert.equal(await t.evaluate(() => window.auth.isSignedIn()), false);
      }
      const keysLeft = await tabs[0]!.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((ok, no) => {
          const r = indexedDB.open("refreshing-dpop");
          r.onsuccess = () => ok(r.result);
          r.onerror = () => no(r.error);
        });
        const n = await new Promise<number>((ok, no) => {
          const r = db.transaction("keys").objectStore("keys").count();
          r.onsuccess = () => ok(r.result);
          r.onerror = () => no(r.error);
        });
        db.close();
        return n;
      });
      assert.equal(keysLeft, 0, "DPoP keys left in IndexedDB after logout");
      // Signing in again makes a new key, and it works.
      const again = await tabs[0]!.evaluate(() => window.auth.login({ identifier: "dee", password: "correct horse battery" }).then((r) => r.user.username));
      assert.equal(again, "dee");
      await startLoop(tabs[0]!, base, 300);
      assert.deepEqual((await loopResult(tabs[0]!)).failures, [], "calls after signing in again");
    } finally {
      await ctx.close();
    }
  });

  test("a tab frozen while the others rotate never exchanges a rotated token", async () => {
    await register("grace");
    const ctx = await browser.newContext();
    try {
      const s: Setup = { base };
      const a = await open(ctx, `${appOrigin}/test.html`, s);
      await a.evaluate(() => window.auth.login({ identifier: "grace", password: "correct horse battery" }));
      const b = await open(ctx, `${appOrigin}/test.html`, s);
      // b holds the current tokens in memory, then sleeps (frozen: no
      // timers, no events) while a rotates several times.
      assert.equal(await b.evaluate(() => window.auth.isSignedIn()), true);
      const cdp = await ctx.newCDPSession(b);
      await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
      await startLoop(a, base, 3 * ttlSeconds * 1000);
      assert.deepEqual((await loopResult(a)).failures, []);
      await cdp.send("Page.setWebLifecycleState", { state: "active" });
      const beforeWake = await srv.exchanges();
      await startLoop(b, base, 1000);
      const r = await loopResult(b);
      assert.deepEqual(r.failures, []);
      const afterWake = await srv.exchanges();
      assert.equal(afterWake.reuse_detected ?? 0, beforeWake.reuse_detected ?? 0, "the woken tab replayed a rotated token");
      assert.equal(afterWake.grace ?? 0, beforeWake.grace ?? 0, "the woken tab exchanged a retired token");
      for (const p of [a, b]) assert.equal((await eventsOf(p)).signedOut, 0);
    } finally {
      await ctx.close();
    }
  });

  for (const crossTab of ["auto", "lease"] as const) {
    test(`a tab that dies holding the refresh lock blocks the others only briefly (crossTab ${crossTab})`, async () => {
      const name = `dies${crossTab}`;
      await register(name);
      const ctx = await browser.newContext();
      try {
        const s: Setup = { base, crossTab };
        const a = await open(ctx, `${appOrigin}/test.html`, s);
        await a.evaluate((name) => window.auth.login({ identifier: name, password: "correct horse battery" }), name);
        const b = await open(ctx, `${appOrigin}/test.html`, s);
        const key = `refreshing_${base.replace(/[^A-Za-z0-9._-]/g, "_")}`;
        // b takes the lock and never lets go: a Web Lock it holds forever,
        // or a lease it will never renew.
        await b.evaluate(
          ({ key, crossTab }) => {
            if (crossTab === "auto") void navigator.locks.request(`${key}:refresh`, () => new Promise(() => {}));
            else localStorage.setItem(`${key}:lock`, JSON.stringify({ id: "dead-tab", until: Date.now() + 4000 }));
          },
          { key, crossTab },
        );
        await sleep(ttlSeconds * 1000); // a's token is due: it needs the lock
        await a.evaluate(() => {
          (window as unknown as { pending: Promise<string> }).pending = window.auth.accessToken();
        });
        const settled = () => a.evaluate(() => Promise.race([(window as unknown as { pending: Promise<string> }).pending.then(() => "done", (e) => String(e)), new Promise((r) => setTimeout(() => r("waiting"), 300))]));
        if (crossTab === "auto") assert.equal(await settled(), "waiting", "the lock did not hold a's refresh back");
        const t0 = Date.now();
        await b.close(); // the tab dies
        for (;;) {
          const state = await settled();
          if (state === "done") break;
          assert.equal(state, "waiting");
          assert.ok(Date.now() - t0 < 8000, "a still waits for the dead tab's lock");
        }
        console.log(`crossTab ${crossTab}: a refreshed ${Date.now() - t0} ms after the lock holder died`);
        assert.equal((await eventsOf(a)).signedOut, 0);
      } finally {
        await ctx.close();
      }
    });
  }

  test("cookie mode across sites: the refresh token stays in a partitioned HttpOnly cookie", async () => {
    await register("cookie");
    const ctx = await browser.newContext();
    try {
      const s: Setup = { base, cookieMode: true };
      const tabs = [await open(ctx, `${appOrigin}/test.html`, s)];
      await tabs[0]!.evaluate(() => window.auth.login({ identifier: "cookie", password: "correct horse battery" }));
      tabs.push(await open(ctx, `${appOrigin}/test.html`, s));
      const stored = await tabs[0]!.evaluate(() => JSON.stringify(localStorage));
      assert.doesNotMatch(stored, /rt_/, "the refresh token reached JavaScript");
      // A cookie set on a page's fetch to another site: partitioned (CHIPS)
      // under the page's top-level site.
      const cookies = await ctx.cookies();
      const c = cookies.find((c) => c.name === "strapi_up_refresh");
      assert.ok(c, `no refresh cookie among ${cookies.map((c) => c.name)}`);
      assert.equal(c.domain, "localhost");
      assert.equal((c as { partitionKey?: string }).partitionKey, appOrigin.replace(/:\d+$/, ""));
      assert.equal(c.httpOnly, true);
      assert.equal(c.sameSite, "None");
      assert.equal(c.secure, true);
      const before = sum(await srv.exchanges());
      const ms = 3 * ttlSeconds * 1000;
      await Promise.all(tabs.map((t) => startLoop(t, base, ms)));
      for (const r of await Promise.all(tabs.map(loopResult))) assert.deepEqual(r.failures, []);
      const n = sum(await srv.exchanges()) - before;
      const perExpiry = Math.ceil(ms / (0.9 * (ttlSeconds - 1) * 1000));
      assert.ok(n >= 2 && n <= perExpiry + 2, `${n} cookie exchanges for ${perExpiry} intervals`);
      // A new page of the same app finds the session through the cookie alone.
      const fresh = await open(ctx, `${appOrigin}/test.html`, s);
      await fresh.evaluate(() => localStorage.clear());
      const token = await fresh.evaluate(() => window.auth.accessToken());
      assert.match(token, /^ey/);
      await fresh.evaluate(() => window.auth.logout());
      const after = await ctx.cookies();
      assert.equal(after.find((c) => c.name === "strapi_up_refresh"), undefined, "logout left the cookie");
    } finally {
      await ctx.close();
    }
  });

  test("a page whose origin is not on the list gets no CORS headers and reads nothing", async () => {
    const ctx = await browser.newContext();
    try {
      const evil = await open(ctx, `http://evil.test:${site.port}/test.html`, { base });
      const outcome = await evil.evaluate(async (base) => {
        const tries: Record<string, string> = {};
        const attempt = async (name: string, f: () => Promise<unknown>) => {
          try {
            await f();
            tries[name] = "read";
          } catch (e) {
            tries[name] = (e as Error).name + ": " + (e as { kind?: string }).kind;
          }
        };
        await attempt("jwks", () => fetch(`${base}/.well-known/jwks.json`).then((r) => r.text()));
        await attempt("login", () => fetch(`${base}/api/auth/local`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" }));
        await attempt("client", () => window.auth.login({ identifier: "x", password: "y" }));
        return tries;
      }, base);
      assert.equal(outcome.jwks?.startsWith("TypeError"), true, JSON.stringify(outcome));
      assert.equal(outcome.login?.startsWith("TypeError"), true, JSON.stringify(outcome));
      assert.equal(outcome.client, "RefreshingError: network", JSON.stringify(outcome));
      // The control: the listed origin reads the same answer.
      const app = await open(ctx, `${appOrigin}/test.html`, { base });
      const ok = await app.evaluate((base) => fetch(`${base}/.well-known/jwks.json`).then((r) => r.json()).then((j) => Array.isArray(j.keys)), base);
      assert.equal(ok, true);
      // And on the wire: no Access-Control-* header for the unlisted origin.
      for (const [method, headers] of [
        ["GET", { Origin: `http://evil.test:${site.port}` }],
        ["OPTIONS", { Origin: `http://evil.test:${site.port}`, "Access-Control-Request-Method": "POST" }],
      ] as const) {
        const res = await fetch(`${srv.url}/api/users/me`, { method, headers });
        const cors = [...res.headers.keys()].filter((k) => k.startsWith("access-control-"));
        assert.deepEqual(cors, [], `${method}: ${cors}`);
      }
    } finally {
      await ctx.close();
    }
  });
});
