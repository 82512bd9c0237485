// The client's DPoP mode in Node against a fresh Refreshing binary that
// requires its nonces: register and sign in bound to the key, API calls with
// proofs (sessions(), /api/users/me), refreshes bound to the same key, a
// refresh token worth nothing without the key, and logout. Node has no
// IndexedDB: the key is in the client's memory here (the browser test keeps
// it in IndexedDB).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient, memoryStorage, RefreshingError } from "../src/index.js";
import { goPath, need, type Refreshing, startRefreshing } from "./harness.js";

const skip = need("go", goPath !== undefined, "these tests build cmd/refreshing with the go command");
const password = "correct horse battery";

const cnfOf = (jwt: string) =>
  (JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString()) as { cnf?: { jkt?: string } }).cnf?.jkt;

describe("the client's DPoP mode against the real server", { skip }, () => {
  let srv: Refreshing;
  before(async () => {
    srv = await startRefreshing({ REFRESHING_ACCESS_TTL: "3s", REFRESHING_DPOP_NONCE_REQUIRED: "true" });
    assert.match(srv.cli("clients", "create", "--id", "spa", "--grant", "password", "--dpop"), /DPoP proof/);
  });
  after(async () => {
    await srv?.stop();
  });

  for (const [what, skewMs] of [
    ["ten minutes fast", 10 * 60_000],
    ["ten minutes slow", -10 * 60_000],
  ] as const) {
    test(`a device clock ${what}: the proofs are dated in the server's time, and everything works`, async () => {
      const realNow = Date.now;
      Date.now = () => realNow() + skewMs;
      try {
        const auth = createClient({ baseUrl: srv.url, dpop: true, clientId: "spa" });
        const name = `skew${skewMs > 0 ? "fast" : "slow"}`;
        const { user } = await auth.register({ username: name, email: `${name}@example.com`, password });
        assert.equal(user.username, name);
        assert.equal((await auth.fetch(`${srv.url}/api/users/me`)).status, 200);
        assert.equal((await auth.sessions()).length, 1);
        await auth.logout();
        assert.equal(await auth.isSignedIn(), false);
      } finally {
        Date.now = realNow;
      }
    });
  }

  test("register, calls, refreshes and logout, all bound to one key", async () => {
    const storage = memoryStorage();
    const auth = createClient({ baseUrl: srv.url, dpop: true, clientId: "spa", storage, storageKey: "k" });
    const { user } = await auth.register({ username: "dee", email: "dee@example.com", password });
    assert.equal(user.username, "dee");
    const first = await auth.accessToken();
    const jkt = cnfOf(first);
    assert.ok(jkt, "the access token is bound (cnf.jkt)");
    const rec = JSON.parse((await storage.getItem("k")) ?? "{}") as { tokenType?: string; jkt?: string; refreshToken: string };
    assert.equal(rec.tokenType, "DPoP");
    assert.equal(rec.jkt, jkt);

    // Only the bound session is left: register's own session was ended.
    const sessions = await auth.sessions();
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0]!.current, true);

    // The token is refused as a bearer token; the client's own calls carry proofs.
    const asBearer = await fetch(`${srv.url}/api/users/me`, { headers: { Authorization: `Bearer ${first}` } });
    assert.equal(asBearer.status, 401);
    const me = await auth.fetch(`${srv.url}/api/users/me`);
    assert.equal(me.status, 200);

    // Across two lifetimes: refreshed, still bound to the same key.
    await new Promise((r) => setTimeout(r, 2600));
    const next = await auth.accessToken();
    assert.notEqual(next, first);
    assert.equal(cnfOf(next), jkt);
    assert.equal((await auth.fetch(`${srv.url}/api/users/me`)).status, 200);

    // The stored refresh token without the key: refused, and nothing changes.
    const stolen = (JSON.parse((await storage.getItem("k")) ?? "{}") as { refreshToken: string }).refreshToken;
    const thief = await fetch(`${srv.url}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: "spa", refresh_token: stolen }).toString(),
    });
    assert.equal(thief.status, 400);
    assert.equal(((await thief.json()) as { error: string }).error, "invalid_dpop_proof");
    assert.equal((await auth.sessions()).length, 1);

    // Another client (another key) holding the same tokens: signed out by the server's invalid_grant.
    const copy = memoryStorage({ k: (await storage.getItem("k")) ?? "" });
    const other = createClient({ baseUrl: srv.url, dpop: true, clientId: "spa", storage: copy, storageKey: "k" });
    await new Promise((r) => setTimeout(r, 2600));
    await assert.rejects(other.accessToken(), (e: unknown) => e instanceof RefreshingError && e.kind === "signed_out");
    assert.equal((await auth.fetch(`${srv.url}/api/users/me`)).status, 200, "the owner is still signed in");

    // Logout revokes the session at /oauth/revoke.
    await auth.logout();
    assert.equal(await auth.isSignedIn(), false);
    const login = createClient({ baseUrl: srv.url, dpop: true, clientId: "spa" });
    await login.login({ identifier: "dee@example.com", password });
    assert.equal((await login.sessions()).length, 1, "the logged-out session is gone");
    auth.close();
    other.close();
    login.close();
  });

  test("a wrong password is refused as such", async () => {
    const auth = createClient({ baseUrl: srv.url, dpop: true, clientId: "spa" });
    await assert.rejects(
      auth.login({ identifier: "dee", password: "wrong password!" }),
      (e: unknown) => e instanceof RefreshingError && e.kind === "rejected" && e.code === "invalid_grant",
    );
    assert.equal(await auth.isSignedIn(), false);
  });
});
