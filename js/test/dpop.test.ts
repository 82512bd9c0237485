// DPoP (RFC 9449) with an unmodified DPoP-capable OAuth client library,
// oauth4webapi (a devDependency only), against a fresh Refreshing binary: a
// public client that requires DPoP, a non-extractable WebCrypto key, the
// password grant, refreshes bound to the key, and the refusals.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as oauth from "oauth4webapi";
import { goPath, need, type Refreshing, startRefreshing } from "./harness.js";

const skip = need("go", goPath !== undefined, "these tests build cmd/refreshing with the go command");
const password = "correct horse battery";

/** thumbprint is the RFC 7638 SHA-256 thumbprint of an EC P-256 public key. */
async function thumbprint(key: CryptoKey): Promise<string> {
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const canon = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canon))).toString("base64url");
}

function cnfOf(accessToken: string): string | undefined {
  const payload = JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString()) as { cnf?: { jkt?: string } };
  return payload.cnf?.jkt;
}

/** refusal returns the OAuth error a token request ended with. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof oauth.ResponseBodyError) return e.error;
    throw e;
  }
  assert.fail("the request succeeded");
}

describe("DPoP with oauth4webapi against the real server", { skip }, () => {
  let srv: Refreshing;
  let as: oauth.AuthorizationServer;
  const client: oauth.Client = { client_id: "spa" };
  const opts = { [oauth.allowInsecureRequests]: true }; // the test server is plain HTTP on loopback
  before(async () => {
    srv = await startRefreshing({});
    as = { issuer: srv.url, token_endpoint: `${srv.url}/oauth/token` };
    assert.match(srv.cli("clients", "create", "--id", "spa", "--grant", "password", "--dpop"), /DPoP proof/);
    const r = await fetch(`${srv.url}/api/auth/local/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "dee", email: "dee@example.com", password }),
    });
    assert.equal(r.status, 200);
  });
  after(async () => {
    await srv?.stop();
  });

  test("the metadata advertises DPoP algorithms", async () => {
    const m = (await (await fetch(`${srv.url}/.well-known/oauth-authorization-server`)).json()) as { dpop_signing_alg_values_supported?: string[] };
    assert.ok(m.dpop_signing_alg_values_supported?.includes("ES256"));
    assert.ok(m.dpop_signing_alg_values_supported?.includes("EdDSA"));
  });

  test("password grant and refreshes bound to a non-extractable key", async () => {
    const keys = await oauth.generateKeyPair("ES256"); // extractable: false is the default
    assert.equal(keys.privateKey.extractable, false);
    const jkt = await thumbprint(keys.publicKey);
    const dpop = oauth.DPoP(client, keys);

    const first = await oauth.processGenericTokenEndpointResponse(
      as,
      client,
      await oauth.genericTokenEndpointRequest(as, client, oauth.None(), "password", { username: "dee", password }, { ...opts, DPoP: dpop }),
    );
    assert.equal(first.token_type, "dpop");
    assert.equal(cnfOf(first.access_token), jkt);
    assert.ok(first.refresh_token);

    const second = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first.refresh_token!, { ...opts, DPoP: dpop }),
    );
    assert.equal(second.token_type, "dpop");
    assert.equal(cnfOf(second.access_token), jkt);
    assert.notEqual(second.refresh_token, first.refresh_token);

    // Without a proof, and with another key's: refused, and the token still works.
    assert.equal(
      await refusal(oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), second.refresh_token!, opts))),
      "invalid_dpop_proof",
    );
    const other = oauth.DPoP(client, await oauth.generateKeyPair("ES256"));
    assert.equal(
      await refusal(
        oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), second.refresh_token!, { ...opts, DPoP: other })),
      ),
      "invalid_grant",
    );
    const third = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), second.refresh_token!, { ...opts, DPoP: dpop }),
    );
    assert.equal(third.token_type, "dpop");

    // /api/users/me takes the DPoP access token with a proof of its key for the request (htm, htu, ath)...
    const meURL = new URL(`${srv.url}/api/users/me`);
    const me = await oauth.protectedResourceRequest(third.access_token, "GET", meURL, new Headers(), null, { ...opts, DPoP: dpop });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { username?: string }).username, "dee");
    // ...and refuses it as a bearer token (RFC 9449 section 7.2), with a DPoP challenge.
    const asBearer = await fetch(meURL, { headers: { authorization: `Bearer ${third.access_token}` } });
    assert.equal(asBearer.status, 401);
    assert.match(asBearer.headers.get("www-authenticate") ?? "", /^DPoP error="invalid_token"/);
  });

  test("a client that requires DPoP is refused without it", async () => {
    assert.equal(
      await refusal(
        oauth.processGenericTokenEndpointResponse(
          as,
          client,
          await oauth.genericTokenEndpointRequest(as, client, oauth.None(), "password", { username: "dee", password }, opts),
        ),
      ),
      "invalid_dpop_proof",
    );
  });
});

describe("DPoP nonces with oauth4webapi against the real server", { skip }, () => {
  let srv: Refreshing;
  let as: oauth.AuthorizationServer;
  const client: oauth.Client = { client_id: "spa" };
  const opts = { [oauth.allowInsecureRequests]: true };
  before(async () => {
    // Nonces required: every proof must carry one the server issued (RFC 9449 sections 8 and 9).
    srv = await startRefreshing({ REFRESHING_DPOP_NONCE_REQUIRED: "true" });
    as = { issuer: srv.url, token_endpoint: `${srv.url}/oauth/token` };
    srv.cli("clients", "create", "--id", "spa", "--grant", "password", "--dpop");
    const r = await fetch(`${srv.url}/api/auth/local/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "eve", email: "eve@example.com", password }),
    });
    assert.equal(r.status, 200);
  });
  after(async () => {
    await srv?.stop();
  });

  /** withNonceRetry is the retry oauth4webapi's documentation shows: once, when the server asks for a nonce. */
  async function withNonceRetry<T>(attempt: () => Promise<T>): Promise<{ result: T; retried: boolean }> {
    try {
      return { result: await attempt(), retried: false };
    } catch (err) {
      if (!oauth.isDPoPNonceError(err)) throw err;
      return { result: await attempt(), retried: true };
    }
  }

  test("the token endpoint and /api/users/me ask for a nonce once, then take it", async () => {
    const keys = await oauth.generateKeyPair("ES256");
    const dpop = oauth.DPoP(client, keys);
    const signIn = () =>
      oauth
        .genericTokenEndpointRequest(as, client, oauth.None(), "password", { username: "eve", password }, { ...opts, DPoP: dpop })
        .then((res) => oauth.processGenericTokenEndpointResponse(as, client, res));
    const first = await withNonceRetry(signIn);
    assert.equal(first.retried, true, "the first proof, without a nonce, is refused with use_dpop_nonce");
    assert.equal(first.result.token_type, "dpop");

    // The handle keeps the nonce of every answer: the next requests need no retry.
    const refresh = () =>
      oauth
        .refreshTokenGrantRequest(as, client, oauth.None(), first.result.refresh_token!, { ...opts, DPoP: dpop })
        .then((res) => oauth.processRefreshTokenResponse(as, client, res));
    const second = await withNonceRetry(refresh);
    assert.equal(second.retried, false);

    const meURL = new URL(`${srv.url}/api/users/me`);
    const me = await withNonceRetry(() => oauth.protectedResourceRequest(second.result.access_token, "GET", meURL, new Headers(), null, { ...opts, DPoP: dpop }));
    assert.equal(me.retried, false);
    assert.equal(me.result.status, 200);

    // A handle that has no nonce yet (same key): the resource asks for one with a DPoP challenge (401).
    const fresh = oauth.DPoP(client, keys);
    const again = await withNonceRetry(() =>
      oauth.protectedResourceRequest(second.result.access_token, "GET", meURL, new Headers(), null, { ...opts, DPoP: fresh }),
    );
    assert.equal(again.retried, true);
    assert.equal(again.result.status, 200);
  });

  test("a wrong nonce is refused with use_dpop_nonce and a fresh one", async () => {
    const dpop = oauth.DPoP(client, await oauth.generateKeyPair("ES256"), {
      [oauth.modifyAssertion]: (_header: Record<string, unknown>, payload: Record<string, unknown>) => {
        payload.nonce = "not-a-nonce-of-this-server";
      },
    });
    const res = await oauth.genericTokenEndpointRequest(as, client, oauth.None(), "password", { username: "eve", password }, { ...opts, DPoP: dpop });
    assert.equal(res.status, 400);
    assert.ok(res.headers.get("dpop-nonce"), "the refusal carries a fresh nonce");
    await assert.rejects(oauth.processGenericTokenEndpointResponse(as, client, res), (err: unknown) => oauth.isDPoPNonceError(err));
  });
});
