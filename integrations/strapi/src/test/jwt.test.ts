// Unit tests of the token verification: EdDSA against a JWKS (with key
// rotation and its rate limit), HS256, and what is never accepted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { isRefreshings, Keys, split, TokenError, verifyToken } from '../server/jwt';
import { forwarded } from '../server/forward';

const ISS = 'http://refreshing.test';

function b64(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

function edToken(key: KeyObject, kid: string, claims: Record<string, unknown>, typ = 'at+jwt'): string {
  const head = `${b64({ alg: 'EdDSA', typ, kid })}.${b64(claims)}`;
  return `${head}.${sign(null, Buffer.from(head), key).toString('base64url')}`;
}

function hsToken(secret: string, claims: Record<string, unknown>): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** A Refreshing publishing jwks (mutable), counting the fetches. */
function refreshing() {
  const state = { jwks: [] as unknown[], fetches: 0 };
  const fetchJSON = async (path: string) => {
    if (path === '/.well-known/jwks.json') {
      state.fetches++;
      return { keys: state.jwks };
    }
    return { issuer: ISS };
  };
  return { state, fetchJSON };
}

function jwk(pub: KeyObject, kid: string) {
  return { ...pub.export({ format: 'jwk' }), kid, use: 'sig', alg: 'EdDSA' };
}

const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISS, sub: '42', id: 42, sid: 's1', iat: now(), exp: now() + 60, ...extra });

async function refused(p: Promise<unknown>, why: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof TokenError && why.test((err as Error).message));
}

test('EdDSA tokens verify against the JWKS, and a rotated key is fetched once', async () => {
  const k1 = generateKeyPairSync('ed25519');
  const k2 = generateKeyPairSync('ed25519');
  const r = refreshing();
  r.state.jwks = [jwk(k1.publicKey, 'k1')];
  let clock = 1_000_000;
  const keys = new Keys(r.fetchJSON, () => clock, 5000);

  const c = await verifyToken(split(edToken(k1.privateKey, 'k1', claims()))!, keys, undefined, now());
  assert.deepEqual([c.sub, c.sid], ['42', 's1']);
  assert.equal(r.state.fetches, 1);

  // Refreshing rotates to k2: the first token under k2 makes the plugin look again.
  r.state.jwks = [jwk(k2.publicKey, 'k2'), jwk(k1.publicKey, 'k1')];
  clock += 6000;
  await verifyToken(split(edToken(k2.privateKey, 'k2', claims()))!, keys, undefined, now());
  assert.equal(r.state.fetches, 2);

  // Made-up kids do not make it fetch more than once per interval.
  for (let i = 0; i < 20; i++) await refused(verifyToken(split(edToken(k2.privateKey, `nope${i}`, claims()))!, keys, undefined, now()), /unknown kid/);
  assert.equal(r.state.fetches, 2);
  clock += 6000;
  await refused(verifyToken(split(edToken(k2.privateKey, 'nope', claims()))!, keys, undefined, now()), /unknown kid/);
  assert.equal(r.state.fetches, 3);
});

test('what is refused', async () => {
  const k = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const r = refreshing();
  r.state.jwks = [jwk(k.publicKey, 'k')];
  const keys = new Keys(r.fetchJSON);
  const v = (t: string, secret?: string) => verifyToken(split(t)!, keys, secret, now());
  await refused(v(edToken(other.privateKey, 'k', claims())), /signature/);
  await refused(v(edToken(k.privateKey, 'k', claims(), 'JWT')), /not an access token/);
  await refused(v(edToken(k.privateKey, 'k', claims({ exp: now() - 10 }))), /expired/);
  await refused(v(edToken(k.privateKey, 'k', claims({ iss: 'http://evil.test' }))), /issuer/);
  await refused(v(edToken(k.privateKey, 'k', claims({ sub: '7' }))), /disagree/);
  await refused(v(edToken(k.privateKey, 'k', claims({ sub: '007', id: undefined }))), /subject/);
  await refused(v(edToken(k.privateKey, 'k', claims({ cnf: { jkt: 'x'.repeat(43) } }))), /DPoP-bound/);
  await refused(v(hsToken('s'.repeat(24), claims())), /no jwtSecret/);
  await refused(v(hsToken('s'.repeat(24), claims()), 't'.repeat(24)), /signature/);
  const none = `${b64({ alg: 'none' })}.${b64(claims())}.`;
  await refused(v(none, 's'.repeat(24)), /algorithm/);
});

test('HS256 tokens verify with Strapi\'s jwtSecret', async () => {
  const r = refreshing();
  const keys = new Keys(r.fetchJSON);
  const secret = 'strapi-jwt-secret-24char';
  const c = await verifyToken(split(hsToken(secret, claims()))!, keys, secret, now());
  assert.equal(c.sub, '42');
});

test('Strapi\'s own tokens are not Refreshing\'s', () => {
  assert.equal(isRefreshings(split(hsToken('x', { id: 3, iat: now(), exp: now() + 60 }))!.payload), false);
  assert.equal(isRefreshings(split(hsToken('x', { userId: '3', sessionId: 'a', type: 'access', iat: now(), exp: now() + 60 }))!.payload), false);
  assert.equal(isRefreshings(split(hsToken('x', claims()))!.payload), true);
  assert.equal(split('a-strapi-api-token'), undefined);
});

test('the forwarded paths', () => {
  for (const [m, p] of [['POST', '/api/auth/local'], ['POST', '/api/auth/local/register'], ['POST', '/api/auth/local/refresh'], ['POST', '/api/auth/token'],
    ['POST', '/api/auth/refresh'], ['POST', '/api/auth/logout'], ['GET', '/api/users/me/sessions'], ['DELETE', '/api/users/me/sessions/abc'],
    ['GET', '/api/auth/sessions'], ['POST', '/api/auth/forgot-password'], ['GET', '/api/auth/email-confirmation'], ['POST', '/api/auth/local/']] as const) {
    assert.ok(forwarded(m, p), `${m} ${p}`);
  }
  for (const [m, p] of [['GET', '/api/users/me'], ['GET', '/api/articles'], ['OPTIONS', '/api/auth/local'], ['POST', '/api/auth/localx'], ['GET', '/api/users/me/sessionsx']] as const) {
    assert.ok(!forwarded(m, p), `${m} ${p}`);
  }
});
