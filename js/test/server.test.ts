// The client in Node against the real Refreshing (built with go build):
// accounts, sessions, logout scopes, and per-request clients of one user
// refreshing at the same moment, as server-side rendering does.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RefreshingError, createClient, memoryStorage } from "../src/index.js";
import { goPath, need, type Refreshing, startRefreshing } from "./harness.js";

const skip = need("go", goPath !== undefined, "these tests build cmd/refreshing with the go command");
const password = "correct horse battery";

describe("against the real server, in Node", { skip }, () => {
  let srv: Refreshing;
  before(async () => {
    srv = await startRefreshing({ REFRESHING_ACCESS_TTL: "2s", REFRESHING_REUSE_GRACE: "5s" });
  });
  after(async () => {
    await srv?.stop();
  });

  test("register, sessions, revokeSession and logout scopes", async () => {
    const laptop = createClient({ baseUrl: srv.url });
    const { user } = await laptop.register({ username: "lin", email: "lin@example.com", password });
    assert.equal(user.username, "lin");
    const phone = createClient({ baseUrl: srv.url });
    const tablet = createClient({ baseUrl: srv.url });
    await phone.login({ identifier: "lin@example.com", password });
    await tablet.login({ identifier: "lin", password });
    const outs = { laptop: 0, phone: 0, tablet: 0 };
    laptop.on("signedOut", () => outs.laptop++);
    phone.on("signedOut", () => outs.phone++);
    tablet.on("signedOut", () => outs.tablet++);

    const list = await laptop.sessions();
    assert.equal(list.length, 3);
    assert.equal(list.filter((s) => s.current).length, 1);
    const mine = list.find((s) => s.current)!;
    // The phone's session, from the phone's own point of view.
    const phoneID = (await phone.sessions()).find((s) => s.current)!.id;
    assert.notEqual(phoneID, mine.id);

    await laptop.revokeSession(phoneID);
    // The phone learns it on its next call: its access token is refused
    // (401), the refresh is refused, it is signed out once.
    await assert.rejects(phone.fetch(`${srv.url}/api/users/me`), (e: RefreshingError) => e.kind === "signed_out");
    assert.equal(outs.phone, 1);
    assert.equal(await phone.isSignedIn(), false);

    await laptop.logout({ scope: "others" });
    assert.equal(await laptop.isSignedIn(), true);
    assert.equal((await laptop.sessions()).length, 1);
    await assert.rejects(tablet.sessions(), (e: RefreshingError) => e.kind === "signed_out");
    assert.equal(outs.tablet, 1);

    await laptop.logout({ scope: "all" });
    assert.equal(outs.laptop, 1);
    await assert.rejects(laptop.accessToken(), (e: RefreshingError) => e.kind === "signed_out");
    // The server agrees: signing in again shows one session, the new one.
    await laptop.login({ identifier: "lin", password });
    assert.equal((await laptop.sessions()).length, 1);
    await laptop.logout();
    assert.equal(outs.laptop, 2);
  });

  test("logout (current) revokes the refresh token on the server", async () => {
    const storage = memoryStorage();
    const a = createClient({ baseUrl: srv.url, storage, storageKey: "k" });
    await a.register({ username: "max", email: "max@example.com", password });
    const token = JSON.parse(String(await storage.getItem("k"))).refreshToken as string;
    await a.logout();
    const res = await fetch(`${srv.url}/api/auth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
    assert.equal(res.status, 401);
  });

  test("per-request clients of one user, refreshing at the same moment, both succeed; other users see nothing", async () => {
    const seed = memoryStorage();
    const first = createClient({ baseUrl: srv.url, storage: seed, storageKey: "s" });
    await first.register({ username: "sam", email: "sam@example.com", password });
    const record = String(await seed.getItem("s"));
    const other = createClient({ baseUrl: srv.url });
    await other.register({ username: "kim", email: "kim@example.com", password });
    await new Promise((r) => setTimeout(r, 1100)); // the 2 s token is due
    // Two requests of sam's, each with its own client seeded from the same
    // stored record (a server-side session), and one of kim's.
    const reqs = [0, 1].map(() => createClient({ baseUrl: srv.url, storage: memoryStorage({ s: record }), storageKey: "s" }));
    const before = await srv.exchanges();
    const [r0, r1, rk] = await Promise.all([...reqs, other].map((c) => c.fetch(`${srv.url}/api/users/me`)));
    const names = await Promise.all([r0!, r1!, rk!].map(async (r) => ((await r.json()) as { username: string }).username));
    assert.deepEqual(names, ["sam", "sam", "kim"]);
    const afterwards = await srv.exchanges();
    // The second of sam's exchanges presented the same token: the grace
    // window served it the same successor instead of a reuse.
    assert.equal(afterwards.reuse_detected ?? 0, before.reuse_detected ?? 0);
  });
});
