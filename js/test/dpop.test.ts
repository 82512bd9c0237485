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

    // The DPoP access token is accepted by /api/users/me (resource servers check cnf themselves).
    const me = await fetch(`${srv.url}/api/users/me`, { headers: { authorization: `Bearer ${third.access_token}` } });
    assert.equal(me.status, 200);
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
