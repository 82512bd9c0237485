// DPoP (RFC 9449) in the client, in Node: the proofs themselves (checked
// with WebCrypto against the key in their header), and the client's DPoP
// mode against a small server on loopback that checks proofs as RFC 9449
// says and can demand nonces. Node has no IndexedDB: there the key lives in
// the client's memory. The real server and Chromium (where the key is in
// IndexedDB, shared by tabs) are in test/dpopclient.test.ts and
// test/browser.test.ts.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import { base64Url, createProof, describeKey, DPoPKeys, generateKeyPair, ServerClock } from "./dpop.js";
import { createClient, memoryStorage, RefreshingError } from "./index.js";

interface Checked {
  jkt: string;
  claims: { jti: string; htm: string; htu: string; iat: number; nonce?: string; ath?: string };
}

/** checkProof verifies a proof as a server would; it throws what is wrong. */
async function checkProof(proof: string, htm: string, htu: string): Promise<Checked> {
  const [h, p, sig] = proof.split(".");
  assert.ok(h && p && sig, "three parts");
  const header = JSON.parse(Buffer.from(h, "base64url").toString()) as { typ: string; alg: string; jwk: JsonWebKey };
  assert.equal(header.typ, "dpop+jwt");
  assert.equal(header.alg, "ES256");
  assert.equal(header.jwk.d, undefined, "no private part in the jwk");
  const key = await crypto.subtle.importKey("jwk", header.jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, Buffer.from(sig, "base64url"), Buffer.from(`${h}.${p}`));
  assert.ok(ok, "the signature verifies with the jwk");
  const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Checked["claims"];
  assert.equal(claims.htm, htm);
  assert.equal(claims.htu, htu);
  assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 5, "iat is now");
  assert.ok(claims.jti.length >= 16);
  const { crv, kty, x, y } = header.jwk;
  const jkt = createHash("sha256").update(JSON.stringify({ crv, kty, x, y })).digest("base64url");
  return { jkt, claims };
}

const sha = (s: string) => createHash("sha256").update(s).digest("base64url");

function jwt(ttlSeconds: number, jkt: string): string {
  const iat = Math.floor(Date.now() / 1000);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${enc({ alg: "EdDSA", typ: "at+jwt" })}.${enc({ sub: "1", iat, exp: iat + ttlSeconds, cnf: { jkt }, n: Math.random() })}.sig`;
}

test("createProof: typ, alg, public jwk, claims, and a signature the jwk verifies", async () => {
  const pair = await generateKeyPair();
  assert.equal(pair.privateKey.extractable, false);
  const key = await describeKey(pair);
  const proof = await createProof(key, "get", "https://api.example.com/orders?page=2#x", { nonce: "n1", accessToken: "at" });
  const { jkt, claims } = await checkProof(proof, "GET", "https://api.example.com/orders");
  assert.equal(jkt, key.jkt);
  assert.equal(claims.nonce, "n1");
  assert.equal(claims.ath, sha("at"));
  const bare = await checkProof(await createProof(key, "POST", "https://a.example/oauth/token"), "POST", "https://a.example/oauth/token");
  assert.equal(bare.claims.nonce, undefined);
  assert.equal(bare.claims.ath, undefined);
  assert.notEqual(bare.claims.jti, claims.jti);
});

test("base64Url matches Node's encoder for every length", () => {
  for (let n = 0; n < 40; n++) {
    const b = new Uint8Array(n).map((_, i) => (i * 37 + n * 11) & 255);
    assert.equal(base64Url(b), Buffer.from(b).toString("base64url"));
  }
});

test("without IndexedDB (Node) the key is in the client's memory", async () => {
  assert.equal(typeof (globalThis as { indexedDB?: unknown }).indexedDB, "undefined");
  const keys = new DPoPKeys("k");
  assert.equal(keys.persistent, false);
  const a = await keys.forRecord(undefined);
  assert.equal((await keys.forRecord(undefined)).jkt, a.jkt, "the same key until a new sign-in");
  const b = await keys.fresh();
  assert.notEqual(b.jkt, a.jkt, "a new sign-in gets a new key");
  assert.equal((await keys.forRecord(undefined)).jkt, a.jkt, "kept only once the sign-in succeeds");
  await keys.keep(b);
  assert.equal((await keys.forRecord(undefined)).jkt, b.jkt);
});

/** A server that plays /oauth/token and a DPoP resource, checking every proof. */
const srv = {
  url: "",
  ttl: 600,
  asNonce: undefined as string | undefined,
  rsNonce: undefined as string | undefined,
  tokenCalls: 0,
  resourceCalls: 0,
  bound: new Map<string, string>(), // live refresh token → jkt
  refuseProof: false,
  seen: new Set<string>(),
  next: 0,
};

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers }).end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, raw: string, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  const proof = req.headers.dpop;
  if (path === "/oauth/token") {
    srv.tokenCalls++;
    const form = new URLSearchParams(raw);
    if (typeof proof !== "string" || srv.refuseProof) return json(res, 400, { error: "invalid_dpop_proof", error_description: "no good" });
    const p = await checkProof(proof, "POST", `${srv.url}/oauth/token`);
    assert.ok(!srv.seen.has(p.claims.jti), "a new jti");
    srv.seen.add(p.claims.jti);
    assert.equal(form.get("client_id"), "spa");
    if (srv.asNonce && p.claims.nonce !== srv.asNonce) return json(res, 400, { error: "use_dpop_nonce" }, { "DPoP-Nonce": srv.asNonce });
    if (form.get("grant_type") === "password") {
      if (form.get("password") !== "pw") return json(res, 400, { error: "invalid_grant" });
    } else {
      const rt = form.get("refresh_token") ?? "";
      const jkt = srv.bound.get(rt);
      if (!jkt || jkt !== p.jkt) return json(res, 400, { error: "invalid_grant" });
      srv.bound.delete(rt);
    }
    const rt = `rt_${++srv.next}`;
    srv.bound.set(rt, p.jkt);
    return json(res, 200, { access_token: jwt(srv.ttl, p.jkt), token_type: "DPoP", expires_in: srv.ttl, refresh_token: rt });
  }
  if (path === "/api/users/me") {
    srv.resourceCalls++;
    const [scheme, token] = (req.headers.authorization ?? "").split(" ");
    const challenge = (e: string) => ({ "WWW-Authenticate": `DPoP error="${e}"` });
    if (scheme !== "DPoP" || !token || typeof proof !== "string") return json(res, 401, {}, challenge("invalid_token"));
    const p = await checkProof(proof, req.method ?? "", `${srv.url}/api/users/me`);
    const cnf = (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { cnf: { jkt: string } }).cnf.jkt;
    if (p.jkt !== cnf || p.claims.ath !== sha(token)) return json(res, 401, {}, challenge("invalid_dpop_proof"));
    if (srv.rsNonce && p.claims.nonce !== srv.rsNonce) return json(res, 401, {}, { ...challenge("use_dpop_nonce"), "DPoP-Nonce": srv.rsNonce });
    return json(res, 200, { id: 1, username: "ada", email: "ada@example.com", body: raw });
  }
  json(res, 404, {});
}

const http = createServer((req, res) => {
  let raw = "";
  req.on("data", (c) => (raw += c));
  req.on("end", () => {
    handle(req, raw, res).catch((e: unknown) => json(res, 500, { error: "test_server", error_description: String(e) }));
  });
});

describe("the client's DPoP mode", () => {
  before(async () => {
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    srv.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => http.close(() => r())));
  beforeEach(() => {
    Object.assign(srv, { ttl: 600, asNonce: undefined, rsNonce: undefined, tokenCalls: 0, resourceCalls: 0, refuseProof: false });
  });

  const make = () => createClient({ baseUrl: srv.url, dpop: true, clientId: "spa", storage: memoryStorage() });

  test("needs a clientId, and not cookie mode", () => {
    assert.throws(() => createClient({ baseUrl: srv.url, dpop: true }), TypeError);
    assert.throws(() => createClient({ baseUrl: srv.url, dpop: true, clientId: "spa", cookieMode: true }), TypeError);
  });

  test("sign-in, API calls with ath, and a refresh bound to the key, each after one nonce round", async () => {
    srv.asNonce = "as-1";
    srv.rsNonce = "rs-1";
    const auth = make();
    const { user } = await auth.login({ identifier: "ada", password: "pw" });
    assert.equal(user.username, "ada");
    assert.equal(srv.tokenCalls, 2, "use_dpop_nonce, then the grant");
    assert.equal(srv.resourceCalls, 2, "use_dpop_nonce, then /api/users/me");
    const res = await auth.fetch(`${srv.url}/api/users/me`, { method: "POST", body: "hello" });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { body: string }).body, "hello");
    assert.equal(srv.resourceCalls, 3, "the nonce is kept");

    // The resource server moves on to a new nonce: one more round there.
    srv.rsNonce = "rs-2";
    const before = await auth.accessToken();
    srv.tokenCalls = 0;
    srv.resourceCalls = 0;
    const res2 = await auth.fetch(`${srv.url}/api/users/me`, { method: "POST", body: "again" });
    assert.equal(res2.status, 200);
    assert.equal(((await res2.json()) as { body: string }).body, "again");
    assert.equal(srv.resourceCalls, 2, "use_dpop_nonce, then the request with it");
    assert.equal(srv.tokenCalls, 0, "no refresh needed");

    // A refresh when the access token nears its end: bound to the same key
    // (the server checks), with the token endpoint's nonce kept.
    srv.ttl = 2;
    const short = make();
    await short.login({ identifier: "ada", password: "pw" });
    srv.tokenCalls = 0;
    await new Promise((r) => setTimeout(r, 1200));
    const refreshed = await short.accessToken();
    assert.equal(srv.tokenCalls, 1, "one refresh, with the kept nonce");
    assert.notEqual(refreshed, before);
    auth.close();
    short.close();
  });

  test("one retry only when the server wants a new nonce every time", async () => {
    const auth = make();
    await auth.login({ identifier: "ada", password: "pw" });
    let n = 0;
    Object.defineProperty(srv, "rsNonce", { get: () => `moving-${n++}`, set: () => undefined, configurable: true });
    try {
      srv.resourceCalls = 0;
      const res = await auth.fetch(`${srv.url}/api/users/me`);
      assert.equal(res.status, 401);
      // The first attempt, its nonce retry; then (a 401) a refresh and the
      // retry with the new token, with its own nonce retry.
      assert.equal(srv.resourceCalls, 4);
    } finally {
      Object.defineProperty(srv, "rsNonce", { value: undefined, writable: true, configurable: true });
    }
    auth.close();
  });

  test("a refused proof keeps the tokens; a refused token signs out", async () => {
    srv.ttl = 2;
    const auth = make();
    let signedOut = 0;
    auth.on("signedOut", () => signedOut++);
    await auth.login({ identifier: "ada", password: "pw" });
    await new Promise((r) => setTimeout(r, 1200));
    srv.refuseProof = true;
    await assert.rejects(auth.accessToken(), (e: unknown) => e instanceof RefreshingError && e.code === "invalid_dpop_proof" && e.kind === "rejected");
    assert.equal(signedOut, 0);
    assert.equal(await auth.isSignedIn(), true);
    srv.refuseProof = false;
    srv.bound.clear(); // the server forgets the refresh token
    await assert.rejects(auth.accessToken(), (e: unknown) => e instanceof RefreshingError && e.kind === "signed_out");
    assert.equal(signedOut, 1);
    auth.close();
  });
});

test("ServerClock follows the server's Date beyond 3 s, and ignores what a Date's second and a round trip blur", () => {
  const c = new ServerClock();
  const at = (offsetMs: number) => new Response(null, { headers: { Date: new Date(Date.now() + offsetMs).toUTCString() } });
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1600, `${what}: ${a} is not near ${b}`);
  assert.equal(c.observe(at(1500), Date.now()), false, "1.5 s apart: no change");
  near(c.now(), Date.now(), "within 3 s");
  assert.equal(c.observe(at(-120_000), Date.now()), true, "two minutes behind");
  near(c.now(), Date.now() - 120_000, "after two minutes behind");
  assert.equal(c.observe(at(-120_000), Date.now()), false, "the same offset again");
  assert.equal(c.observe(new Response(null), Date.now()), false, "no Date");
  near(c.now(), Date.now() - 120_000, "a missing Date changes nothing");
  assert.equal(c.observe(at(0), Date.now()), true, "back in step");
  near(c.now(), Date.now(), "back in step");
});
