// End-to-end: a real Strapi 5.54 app with the plugin, paired with the real
// Refreshing binary, in each jwtManagement mode and with both signing
// algorithms. Users are created in alternating order through Refreshing,
// through Strapi's register path and through Strapi's admin API; each one's
// token must name them and only them; blocks, deletions, password changes
// and sign-outs on either side must refuse old tokens within 5 seconds.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRefreshing, call, cli, installApp, startPair, type Answer, type Pair } from './harness';
import { CLIENT_ID, CLIENT_SECRET, Provider, type Account } from './provider';

// Start the slow parts at once: Strapi's npm ci and the Go build, and the
// loopback sign-in provider the test app registers in Strapi as "e2e".
let provider: Provider;
const ready = Promise.all([installApp(), buildRefreshing(), Provider.start().then((p) => (provider = p))]);
ready.catch(() => {}); // awaited (and reported) by the suites
after(async () => {
  await provider?.close();
});

/** providerEnv is Strapi's environment for its "e2e" provider. */
const providerEnv = () => ({ E2E_PROVIDER_URL: provider.url, E2E_PROVIDER_CLIENT_ID: CLIENT_ID, E2E_PROVIDER_CLIENT_SECRET: CLIENT_SECRET });

/** A provider sign-in's answer, with its Set-Cookie headers and the Strapi session cookie the front end sent. */
interface SignedIn extends Answer {
  cookies: string[];
  session: string;
}

/**
 * viaProvider signs in with the app's "e2e" provider as a browser and its
 * front end do with Strapi 5: GET /api/connect/e2e, the provider's
 * authorize page, Strapi's /api/connect/e2e/callback (which redeems the
 * code and keeps the answer in its session cookie) and back to the front
 * end, which then calls GET /api/auth/e2e/callback with that cookie.
 */
async function viaProvider(p: Pair, who: Account, headers: Record<string, string> = {}): Promise<SignedIn> {
  provider.next(who);
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  let url = `${p.strapi}/api/connect/e2e`;
  for (let hops = 0; !url.startsWith(`${provider.url}/front-end`); hops++) {
    assert.ok(hops < 5, `too many redirects, at ${url}`);
    const ours = url.startsWith(p.strapi);
    const res = await fetch(url, { redirect: 'manual', headers: ours ? { cookie: cookie() } : {}, signal: AbortSignal.timeout(30_000) });
    if (ours) {
      for (const c of res.headers.getSetCookie()) {
        const nv = c.split(';')[0]!;
        const i = nv.indexOf('=');
        jar.set(nv.slice(0, i).trim(), nv.slice(i + 1));
      }
    }
    const loc = res.headers.get('location');
    assert.ok(res.status === 302 && loc, `${url}: ${res.status} ${await res.text()}`);
    url = new URL(loc, url).toString();
  }
  assert.doesNotMatch(url, /error/, `Strapi's connect flow failed: ${url}`);
  return callback(p, cookie(), headers);
}

/** callback is the front end's call of GET /api/auth/e2e/callback with Strapi's session cookie. */
async function callback(p: Pair, session: string, headers: Record<string, string> = {}): Promise<SignedIn> {
  const res = await fetch(`${p.strapi}/api/auth/e2e/callback`, { headers: { ...(session ? { cookie: session } : {}), ...headers }, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, cookies: res.headers.getSetCookie(), session };
}

const PASSWORD = 'Passw0rd-e2e';
const LIMIT_MS = 5000;

interface Person {
  name: string;
  email: string;
  password: string;
  via: 'refreshing' | 'strapi-register' | 'strapi-admin' | 'refreshing-cli';
  documentId?: string; // Strapi's, for admin changes
  fields?: Record<string, unknown>;
}

async function adminToken(p: Pair): Promise<string> {
  const r = await call('POST', `${p.strapi}/admin/register-admin`, {
    firstname: 'E2E', lastname: 'Admin', email: 'admin@e2e.test', password: 'Adm1nPassword!',
  });
  assert.ok(r.status === 200 || r.status === 201, `register-admin: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.data.token;
}

async function authenticatedRole(p: Pair, admin: string): Promise<number> {
  const r = await call('GET', `${p.strapi}/users-permissions/roles`, undefined, admin);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const role = r.body.roles.find((x: { type: string }) => x.type === 'authenticated');
  return role.id;
}

const CM = '/content-manager/collection-types/plugin::users-permissions.user';

async function create(p: Pair, admin: string, role: number, u: Person): Promise<void> {
  const body = { username: u.name, email: u.email, password: u.password, ...(u.fields ?? {}) };
  let r;
  switch (u.via) {
    case 'refreshing':
      r = await call('POST', `${p.refreshing}/api/auth/local/register`, body);
      assert.equal(r.status, 200, `register ${u.name} at Refreshing: ${JSON.stringify(r.body)}`);
      assert.ok(r.body.jwt);
      break;
    case 'strapi-register':
      r = await call('POST', `${p.strapi}/api/auth/local/register`, body);
      assert.equal(r.status, 200, `register ${u.name} at Strapi: ${JSON.stringify(r.body)}`);
      assert.ok(r.body.jwt);
      break;
    case 'strapi-admin':
      r = await call('POST', `${p.strapi}${CM}`, { ...body, confirmed: true, blocked: false, role }, admin);
      assert.ok(r.status === 200 || r.status === 201, `create ${u.name} in Strapi's admin: ${r.status} ${JSON.stringify(r.body)}`);
      u.documentId = r.body.data?.documentId ?? r.body.documentId;
      break;
    case 'refreshing-cli':
      await cli(p, 'users', 'create', '--username', u.name, '--email', u.email, '--password', u.password);
      break;
  }
}

async function login(base: string, u: Person, password = u.password): Promise<{ jwt: string; refreshToken?: string; user: any }> {
  const r = await call('POST', `${base}/api/auth/local`, { identifier: u.email, password });
  assert.equal(r.status, 200, `login ${u.name} at ${base}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** names asserts that token is u at /api/users/me and on the protected content routes. */
async function names(p: Pair, token: string, u: Person): Promise<any> {
  const me = await call('GET', `${p.strapi}/api/users/me`, undefined, token);
  assert.equal(me.status, 200, `${u.name} at /api/users/me: ${JSON.stringify(me.body)}`);
  assert.equal(me.body.email, u.email, `${u.name}'s token names ${me.body.email} at /api/users/me`);
  assert.equal(me.body.username, u.name);
  const who = await call('GET', `${p.strapi}/api/articles-whoami`, undefined, token);
  assert.equal(who.status, 200, `${u.name} at /api/articles-whoami: ${JSON.stringify(who.body)}`);
  assert.equal(who.body.email, u.email, `${u.name}'s token names ${who.body.email} on a content route`);
  assert.equal(who.body.role, 'authenticated');
  const art = await call('POST', `${p.strapi}/api/articles`, { data: { title: `by ${u.name}` } }, token);
  assert.equal(art.status, 201, `${u.name} creates an article: ${JSON.stringify(art.body)}`);
  assert.equal(art.body.data.owner, u.email, `${u.name}'s article is written in the name of ${art.body.data.owner}`);
  // A route the role may not use stays forbidden.
  const del = await call('DELETE', `${p.strapi}/api/articles/${art.body.data.documentId}`, undefined, token);
  assert.equal(del.status, 403, `${u.name} deletes an article without the permission: ${del.status}`);
  return me.body;
}

/** refusedWithin waits until Strapi refuses token, and fails if that takes over LIMIT_MS. */
async function refusedWithin(p: Pair, token: string, what: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    const r = await call('GET', `${p.strapi}/api/users/me`, undefined, token);
    if (r.status === 401) {
      const who = await call('GET', `${p.strapi}/api/articles-whoami`, undefined, token);
      assert.equal(who.status, 401, `${what}: the content route still accepts the token`);
      return Date.now() - start;
    }
    assert.equal(r.status, 200, `${what}: unexpected ${r.status} ${JSON.stringify(r.body)}`);
    const elapsed = Date.now() - start;
    assert.ok(elapsed <= LIMIT_MS, `${what}: the old token still works after ${elapsed} ms`);
    await new Promise((ok) => setTimeout(ok, 150));
  }
}

const combos: Array<[Pair['mode'], Pair['alg']]> = [
  ['refresh', 'EdDSA'],
  ['legacy-support', 'EdDSA'],
  ['legacy-support', 'HS256'],
  ['refresh', 'HS256'],
];

// E2E_ONLY=legacy-support/HS256 (or cutover) runs one suite (for quick local runs).
const only = process.env.E2E_ONLY;

for (const [mode, alg] of combos) {
  if (only && only !== `${mode}/${alg}`) continue;
  describe(`Strapi 5.54 in jwtManagement '${mode}' with Refreshing signing ${alg}`, { timeout: 900_000 }, () => {
    let p: Pair;
    let admin: string;
    let role: number;
    const tag = `${mode === 'refresh' ? 'r' : 'l'}${alg === 'EdDSA' ? 'e' : 'h'}`;
    const person = (name: string, via: Person['via'], fields?: Record<string, unknown>): Person => {
      const u: Person = { name: `${name}-${tag}`, email: `${name}-${tag}@e2e.test`, password: PASSWORD, via };
      if (fields) u.fields = fields;
      return u;
    };
    // Xavier exists only in Refreshing at first (created with its CLI): his
    // Refreshing id is taken by nobody in Strapi, so ids on the two sides
    // differ from the start, as they do after any real cutover.
    const xavier = person('xavier', 'refreshing-cli');
    const alice = person('alice', 'refreshing', { favoriteColor: 'red', luckyNumber: 7 });
    const bob = person('bob', 'strapi-register', { favoriteColor: 'blue' });
    const carol = person('carol', 'strapi-admin');
    const dave = person('dave', 'refreshing');
    const erin = person('erin', 'strapi-register');
    const frank = person('frank', 'strapi-admin');
    const everyone = [xavier, alice, bob, carol, dave, erin, frank];

    before(async () => {
      await ready;
      p = await startPair(mode, alg, { strapiEnv: providerEnv() });
      admin = await adminToken(p);
      role = await authenticatedRole(p, admin);
    }, { timeout: 600_000 });
    after(async () => {
      await p?.remove();
    });

    test('each token names its user and only them, however and in whatever order users were created', async () => {
      for (const u of everyone) await create(p, admin, role, u);
      for (const [i, u] of everyone.entries()) {
        // Sign in at Refreshing's URL and at Strapi's (forwarded), alternately.
        const base = i % 2 === 0 ? p.refreshing : p.strapi;
        const res = await login(base, u);
        const me = await names(p, res.jwt, u);
        // At Strapi's URL the answer names the Strapi profile, as /api/users/me does.
        if (base === p.strapi) assert.deepEqual([res.user.id, res.user.email], [me.id, me.email], `${u.name}'s login answer at Strapi`);
        if (u.fields) {
          for (const [k, v] of Object.entries(u.fields)) assert.equal(me[k], v, `${u.name}'s custom field ${k}`);
        }
      }
      // No token, a token not even a JWT, and a made-up one.
      assert.equal((await call('GET', `${p.strapi}/api/articles-whoami`)).status, 403);
      assert.equal((await call('GET', `${p.strapi}/api/users/me`, undefined, 'nonsense')).status, 401);
    });

    test('a username or email taken on one side is refused on the other', async () => {
      // Strapi's admin cannot create a user whose email Refreshing has.
      const yves = person('yves', 'refreshing-cli');
      await create(p, admin, role, yves);
      const r = await call('POST', `${p.strapi}${CM}`, { username: `other-${tag}`, email: yves.email, password: PASSWORD, confirmed: true, blocked: false, role }, admin);
      assert.ok(r.status >= 400 && r.status < 500, `admin created a user with Refreshing's email: ${r.status}`);
      // Registering at Refreshing with a username Strapi has is refused.
      const r2 = await call('POST', `${p.refreshing}/api/auth/local/register`, { username: carol.name, email: `new-${tag}@e2e.test`, password: PASSWORD });
      assert.equal(r2.status, 400);
      // A field Strapi's user schema does not have is refused, and nobody is left half made.
      const zed = { username: `zed-${tag}`, email: `zed-${tag}@e2e.test`, password: PASSWORD };
      const r3 = await call('POST', `${p.strapi}/api/auth/local/register`, { ...zed, shoeSize: 44 });
      assert.equal(r3.status, 400, JSON.stringify(r3.body));
      assert.equal((await call('POST', `${p.refreshing}/api/auth/local`, { identifier: zed.email, password: PASSWORD })).status, 400);
      const r4 = await call('POST', `${p.strapi}/api/auth/local/register`, { ...zed, luckyNumber: 'not a number' });
      assert.equal(r4.status, 400, JSON.stringify(r4.body));
      assert.equal((await call('POST', `${p.refreshing}/api/auth/local`, { identifier: zed.email, password: PASSWORD })).status, 400);
      // And yves is still yves.
      const { jwt } = await login(p.strapi, yves);
      await names(p, jwt, yves);
    });

    test('refresh tokens exchange through Strapi\'s URL', async () => {
      const { jwt, refreshToken } = await login(p.strapi, dave);
      assert.ok(refreshToken, 'login gave no refresh token');
      await names(p, jwt, dave);
      const path = mode === 'refresh' ? '/api/auth/refresh' : '/api/auth/token';
      const r = await call('POST', `${p.strapi}${path}`, { refreshToken });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await names(p, r.body.jwt, dave);
    });

    test('a sign-in with a provider configured in Strapi gets Refreshing\'s tokens, for the same person on both sides', async () => {
      const olivia: Person = person('olivia', 'strapi-register');
      const account = { username: olivia.name, email: olivia.email };
      const counts = async () => ({
        strapi: (await call('GET', `${p.strapi}${CM}?page=1&pageSize=1`, undefined, admin)).body.pagination.total,
        refreshing: JSON.parse(await cli(p, 'users', 'list', '--json', '--limit', '500')).length,
      });
      const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString());

      // Refused, creating nothing: a callback without a completed provider
      // session (a made-up access token in the query, as older Strapi
      // versions took it), and a provider that does not know the token.
      const before = await counts();
      let r = await callback(p, '', {});
      assert.equal(r.status, 400, JSON.stringify(r.body));
      r = await fetch(`${p.strapi}/api/auth/e2e/callback?access_token=forged-token`).then(async (res) => ({ status: res.status, body: await res.json(), cookies: [], session: '' }));
      assert.equal(r.status, 400, JSON.stringify(r.body));
      r = await viaProvider(p, 'forged');
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.message, 'The provider refused the access token');
      assert.deepEqual(await counts(), before, 'a refused provider sign-in created users');

      // The first sign-in: Strapi creates the user, the plugin gets Refreshing's tokens for it.
      r = await viaProvider(p, account);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(claims(r.body.jwt).iss && claims(r.body.jwt).sid, 'the jwt is not Refreshing\'s');
      assert.match(String(r.body.refreshToken), /^rt_/);
      const me = await names(p, r.body.jwt, olivia);
      assert.deepEqual([r.body.user.id, r.body.user.email, r.body.user.provider], [me.id, olivia.email, 'e2e'], 'the answer names the Strapi profile');
      const x = await call('POST', `${p.refreshing}/api/auth/refresh`, { refreshToken: r.body.refreshToken });
      assert.equal(x.status, 200, JSON.stringify(x.body));
      assert.notEqual(x.body.refreshToken, r.body.refreshToken, 'the refresh token did not rotate');
      assert.equal((await names(p, x.body.jwt, olivia)).id, me.id);
      const sub = claims(r.body.jwt).sub;
      assert.deepEqual(await counts(), { strapi: before.strapi + 1, refreshing: before.refreshing + 1 });

      // The session cookie of that sign-in, presented again: refused.
      const replay = await callback(p, r.session);
      assert.equal(replay.status, 400, `a replayed provider session: ${JSON.stringify(replay.body)}`);

      // A second sign-in lands on the same person on both sides; in cookie
      // mode the refresh token is in the HttpOnly cookie, not the body.
      r = await viaProvider(p, account, { 'x-strapi-refresh-cookie': 'httpOnly' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(claims(r.body.jwt).sub, sub, 'the second sign-in is another Refreshing account');
      assert.equal((await names(p, r.body.jwt, olivia)).id, me.id, 'the second sign-in is another Strapi user');
      assert.equal(r.body.refreshToken, undefined);
      const rc = r.cookies.find((c) => c.startsWith('strapi_up_refresh=rt_'));
      assert.ok(rc && /HttpOnly/i.test(rc), `cookie mode: ${JSON.stringify(r.cookies)}`);
      assert.deepEqual(await counts(), { strapi: before.strapi + 1, refreshing: before.refreshing + 1 });

      // The email of someone who signed up locally: Strapi refuses (its
      // unique_email), and nobody is linked by that email on either side.
      r = await viaProvider(p, { username: `imposter-${tag}`, email: dave.email });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.deepEqual(await counts(), { strapi: before.strapi + 1, refreshing: before.refreshing + 1 });

      // Blocked in Strapi's admin, then in Refreshing: refused each time.
      const doc = me.documentId;
      let b = await call('PUT', `${p.strapi}${CM}/${doc}`, { blocked: true }, admin);
      assert.equal(b.status, 200, JSON.stringify(b.body));
      r = await viaProvider(p, account);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.message, 'Your account has been blocked by an administrator');
      b = await call('PUT', `${p.strapi}${CM}/${doc}`, { blocked: false }, admin);
      assert.equal(b.status, 200, JSON.stringify(b.body));
      assert.equal((await viaProvider(p, account)).status, 200, 'unblocked in Strapi');
      await cli(p, 'users', 'block', '--email', olivia.email);
      r = await viaProvider(p, account);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.message, 'Your account has been blocked by an administrator');
      assert.equal(r.body.jwt, undefined);
    });

    test('changes on either side refuse the old tokens within 5 seconds', async () => {
      const timings: Record<string, number> = {};

      // Strapi's admin blocks carol.
      let t = (await login(p.refreshing, carol)).jwt;
      await names(p, t, carol);
      let r = await call('PUT', `${p.strapi}${CM}/${carol.documentId}`, { blocked: true }, admin);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      timings['blocked in Strapi'] = await refusedWithin(p, t, 'blocked in Strapi');
      assert.equal((await call('POST', `${p.refreshing}/api/auth/local`, { identifier: carol.email, password: PASSWORD })).status, 400);

      // Strapi's admin changes frank's password.
      t = (await login(p.strapi, frank)).jwt;
      await names(p, t, frank);
      r = await call('PUT', `${p.strapi}${CM}/${frank.documentId}`, { password: 'N3w-password-f' }, admin);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      timings['password changed in Strapi'] = await refusedWithin(p, t, 'password changed in Strapi');
      assert.equal((await call('POST', `${p.refreshing}/api/auth/local`, { identifier: frank.email, password: PASSWORD })).status, 400);
      await names(p, (await login(p.refreshing, frank, 'N3w-password-f')).jwt, frank);

      // Strapi's admin deletes frank.
      t = (await login(p.refreshing, frank, 'N3w-password-f')).jwt;
      r = await call('DELETE', `${p.strapi}${CM}/${frank.documentId}`, undefined, admin);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      timings['deleted in Strapi'] = await refusedWithin(p, t, 'deleted in Strapi');
      assert.equal((await call('POST', `${p.refreshing}/api/auth/local`, { identifier: frank.email, password: 'N3w-password-f' })).status, 400);

      // Refreshing blocks alice (its CLI, on its database).
      t = (await login(p.strapi, alice)).jwt;
      await names(p, t, alice);
      await cli(p, 'users', 'block', '--email', alice.email);
      timings['blocked in Refreshing'] = await refusedWithin(p, t, 'blocked in Refreshing');

      // bob signs out at Refreshing's URL; erin at Strapi's (forwarded).
      t = (await login(p.strapi, bob)).jwt;
      await names(p, t, bob);
      r = await call('POST', `${p.refreshing}/api/auth/logout`, undefined, t);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      timings['signed out at Refreshing'] = await refusedWithin(p, t, 'signed out at Refreshing');
      t = (await login(p.refreshing, erin)).jwt;
      await names(p, t, erin);
      r = await call('POST', `${p.strapi}/api/auth/logout`, undefined, t);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      timings['signed out at Strapi'] = await refusedWithin(p, t, 'signed out at Strapi');

      // dave changes his password at Refreshing: his other sessions end.
      const other = (await login(p.strapi, dave)).jwt;
      t = (await login(p.refreshing, dave)).jwt;
      r = await call('POST', `${p.refreshing}/api/auth/change-password`, { currentPassword: PASSWORD, password: 'N3w-password-d', passwordConfirmation: 'N3w-password-d' }, t);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      timings['password changed in Refreshing'] = await refusedWithin(p, other, 'password changed in Refreshing');
      await names(p, r.body.jwt, dave);
      console.log(`# ${mode}/${alg}: refused after (ms) ${JSON.stringify(timings)}`);
    });
  });
}

describe('cutover: users Strapi had before Refreshing keep being themselves', { timeout: 900_000 }, () => {
  let p: Pair;
  const skip = only !== undefined && only !== 'cutover';
  // Users who signed up in Strapi before the cutover, with the access and
  // refresh tokens Strapi's own register path gave them then.
  const before: Array<Person & { jwt?: string; refreshToken?: string; id?: number }> = [
    { name: 'olga', email: 'olga@e2e.test', password: PASSWORD, via: 'strapi-register' },
    { name: 'pete', email: 'pete@e2e.test', password: PASSWORD, via: 'strapi-register' },
  ];
  after(async () => {
    await p?.remove();
  });

  test('imported users are linked by document id, and Strapi\'s own tokens from before still name their user', { skip }, async () => {
    await ready;
    // Before: Strapi alone, in its default mode; two users sign up there.
    p = await startPair('refresh', 'EdDSA', { beforeCutover: true });
    for (const u of before) {
      const r = await call('POST', `${p.strapi}/api/auth/local/register`, { username: u.name, email: u.email, password: u.password });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const claims = JSON.parse(Buffer.from(String(r.body.jwt).split('.')[1] ?? '', 'base64url').toString());
      assert.equal(claims.iss, undefined, 'the token is not one Strapi issued itself');
      u.jwt = r.body.jwt;
      // jwtManagement 'refresh': Strapi's own session refresh token, an HS256
      // JWT {userId, sessionId, type: 'refresh'} signed with its jwtSecret.
      assert.equal(typeof r.body.refreshToken, 'string', `Strapi gave ${u.name} no refresh token: ${JSON.stringify(r.body)}`);
      const rc = JSON.parse(Buffer.from(String(r.body.refreshToken).split('.')[1] ?? '', 'base64url').toString());
      assert.equal(rc.type, 'refresh', `${u.name}'s refresh token is not a Strapi session token`);
      u.refreshToken = r.body.refreshToken;
    }
    await p.stop();

    // The cutover: Refreshing takes Strapi's users, then a user who exists
    // only in Refreshing takes the next id, which Strapi never had.
    await cli(p, 'migrate'); // import, like every command but serve and migrate, needs the database to exist
    await cli(p, 'import', 'strapi', '--from', p.strapiDB);
    // No grace window, so that the next test's second presentation of a
    // Strapi token is reuse at once (the grace window itself is tested in
    // cmd/refreshing/cutover_test.go).
    p = await startPair('refresh', 'EdDSA', { dir: p.dir, env: { REFRESHING_REUSE_GRACE: '0s' } });
    const quinn: Person = { name: 'quinn', email: 'quinn@e2e.test', password: PASSWORD, via: 'refreshing-cli' };
    const rita: Person = { name: 'rita', email: 'rita@e2e.test', password: PASSWORD, via: 'refreshing' };
    await create(p, '', 0, quinn); // Refreshing's next id; no Strapi profile yet
    await create(p, '', 0, rita); // Refreshing's id after that; Strapi's next id, which is quinn's here

    for (const u of before) {
      // Strapi's own access token from before the cutover still names its user.
      const me = await call('GET', `${p.strapi}/api/users/me`, undefined, u.jwt);
      assert.equal(me.status, 200, JSON.stringify(me.body));
      assert.equal(me.body.email, u.email);
      // Signing in through Refreshing (the imported bcrypt hash) names the same Strapi user.
      const { jwt } = await login(p.strapi, u);
      const again = await names(p, jwt, u);
      assert.equal(again.id, me.body.id, `${u.name} is another Strapi user after the cutover`);
      u.id = me.body.id;
    }
    for (const u of [quinn, rita]) {
      const { jwt } = await login(p.refreshing, u);
      await names(p, jwt, u);
    }
  });

  test('a Strapi-issued refresh token from before the cutover exchanges once after it, then continues as a Refreshing chain', { skip }, async () => {
    assert.ok(p?.refreshing, 'the cutover did not happen (see the test before)');
    const refresh = (base: string, refreshToken: string) => call('POST', `${base}/api/auth/refresh`, { refreshToken });
    // olga presents hers at Strapi's URL (forwarded by the plugin), pete at
    // Refreshing's; each then presents the old token again at the other one.
    for (const [u, first, second] of [[before[0]!, p.strapi, p.refreshing], [before[1]!, p.refreshing, p.strapi]] as const) {
      assert.ok(u.refreshToken && u.id, `${u.name} has no token from before the cutover`);
      const old = u.refreshToken;
      let r = await refresh(first, old);
      assert.equal(r.status, 200, `${u.name}'s Strapi refresh token at ${first}: ${JSON.stringify(r.body)}`);
      assert.match(String(r.body.refreshToken), /^rt_/, `${u.name}'s successor is not a Refreshing token`);
      assert.notEqual(r.body.refreshToken, old);
      const me = await names(p, r.body.jwt, u);
      assert.equal(me.id, u.id, `${u.name}'s exchanged token names another Strapi user`);

      // The Refreshing token keeps rotating, at both URLs, and the rotated
      // ones name the same user.
      let rt: string = r.body.refreshToken;
      for (const base of [p.refreshing, p.strapi]) {
        r = await refresh(base, rt);
        assert.equal(r.status, 200, `${u.name}'s rt_ token at ${base}: ${JSON.stringify(r.body)}`);
        assert.match(String(r.body.refreshToken), /^rt_/);
        assert.notEqual(r.body.refreshToken, rt, `${u.name}'s token did not rotate at ${base}`);
        assert.equal((await names(p, r.body.jwt, u)).id, u.id);
        rt = r.body.refreshToken;
      }

      // The Strapi token again (no grace window): refused, in Strapi's error
      // shape, and the session it continued ends with it (reuse detection).
      r = await refresh(second, old);
      assert.equal(r.status, 401, `${u.name}'s Strapi token presented twice at ${second}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body?.error?.status, 401, JSON.stringify(r.body));
      r = await refresh(p.refreshing, rt);
      assert.equal(r.status, 401, `${u.name}'s chain after the reuse: ${JSON.stringify(r.body)}`);
    }
  });
});
