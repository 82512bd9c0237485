// The "refreshing" Strapi 5 plugin: Refreshing owns credentials and sessions,
// Strapi keeps profiles and content. See README.md for what it does and why.

import { createHash, timingSafeEqual } from 'node:crypto';
import { Keys, NOT_OURS, split, isRefreshings, TokenError, verifyToken } from './jwt';
import { Client, RefreshingError } from './refreshing';
import type { Auth, Ctx, LifecycleEvent, Next, Strapi, Strategy } from './strapi';
import { customFields, ensureProfile, fromRefreshing, LINK_UID, linkedUser, linkSchema, ProfileError, subjectOf, USER_UID } from './users';
import { forwarded } from './forward';
import { providerSignIn } from './signin';

/** The plugin's configuration, exactly what config/plugins.js gives. */
export interface Config {
  url: string;
  secret: string;
}

/** The shortest bridge secret accepted (as Refreshing's REFRESHING_BRIDGE_SECRET). */
export const MIN_SECRET_LEN = 32;

interface State {
  strapi: Strapi;
  client: Client;
  keys: Keys;
  secretDigest: Buffer;
}

let state: State | undefined;

function current(): State {
  if (!state) throw new Error('refreshing: the plugin is not registered');
  return state;
}

function validate(c: Partial<Config>): void {
  let u: URL;
  try {
    u = new URL(String(c.url ?? ''));
  } catch {
    throw new Error('refreshing: config.url (REFRESHING_URL) must be the URL of Refreshing, such as http://localhost:8080');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('refreshing: config.url must be an http or https URL');
  if (typeof c.secret !== 'string' || c.secret.length < MIN_SECRET_LEN) {
    throw new Error(`refreshing: config.secret (REFRESHING_BRIDGE_SECRET) must be at least ${MIN_SECRET_LEN} characters, the same as Refreshing's`);
  }
}

/** sameSecret compares a presented secret with ours in constant time. */
function sameSecret(presented: string): boolean {
  const d = createHash('sha256').update(presented).digest();
  return timingSafeEqual(d, current().secretDigest);
}

function bearer(ctx: Ctx): string | undefined {
  const h = ctx.get('authorization');
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : undefined;
}

/**
 * authenticateRefreshing decides a request that carries a token of
 * Refreshing's: it returns NOT_OURS for anything else (Strapi's own JWTs, API
 * tokens, no token), so that Strapi's strategies see those as before.
 */
async function authenticateRefreshing(ctx: Ctx): Promise<typeof NOT_OURS | { error: string } | { user: any; ability: any }> {
  const token = bearer(ctx);
  if (!token) return NOT_OURS;
  const seg = split(token);
  if (!seg || !isRefreshings(seg.payload)) return NOT_OURS;
  const { strapi, client, keys } = current();
  let claims;
  try {
    claims = await verifyToken(seg, keys, strapi.config.get('plugin::users-permissions.jwtSecret'), Math.floor(Date.now() / 1000));
  } catch (err) {
    if (err instanceof TokenError) return { error: 'Invalid credentials' };
    strapi.log.error(`refreshing: cannot verify a token: ${(err as Error).message}`);
    return { error: 'Invalid credentials' };
  }
  let ru;
  try {
    ru = await client.check(claims.sub, claims.sid);
  } catch (err) {
    // Fail closed: a token whose session cannot be checked is refused.
    strapi.log.error(`refreshing: cannot reach Refreshing to check a session: ${(err as Error).message}`);
    return { error: 'Invalid credentials' };
  }
  if (!ru || String(ru.id) !== claims.sub) return { error: 'Invalid credentials' };
  let user = await linkedUser(strapi, claims.sub, ru.documentId);
  if (!user) {
    // First sight of this user here (or its profile was removed): ask
    // Refreshing afresh before creating anything, never from the cache.
    const fresh = await client.check(claims.sub, claims.sid, true).catch(() => null);
    if (!fresh) return { error: 'Invalid credentials' };
    try {
      user = await ensureProfile(strapi, fresh);
    } catch (err) {
      if (!(err instanceof ProfileError)) strapi.log.error(`refreshing: cannot create the profile of user ${claims.sub}: ${(err as Error).message}`);
      return { error: 'Invalid credentials' };
    }
  }
  if (!user || user.blocked) return { error: 'Invalid credentials' };
  const permissionService = strapi.plugin('users-permissions')!.service('permission');
  const permissions = (await permissionService.findRolePermissions(user.role.id)).map(permissionService.toContentAPIPermission);
  const ability = await strapi.contentAPI.permissions.engine.generateAbility(permissions);
  ctx.state.user = user;
  if (claims.sid) ctx.state.session = { id: claims.sid };
  return { user, ability };
}

/** strategy is the content-API strategy for Refreshing's tokens. */
export const strategy: Strategy = {
  name: 'refreshing',
  async authenticate(ctx) {
    const r = await authenticateRefreshing(ctx);
    if (r === NOT_OURS) return { authenticated: false };
    if ('error' in r) return { error: r.error };
    return { authenticated: true, credentials: r.user, ability: r.ability };
  },
  // As users-permissions': an authenticated user may call routes without a
  // scope; a scoped route needs every scope in the role's ability.
  async verify(auth, config) {
    const scopes = config.scope === undefined ? [] : Array.isArray(config.scope) ? config.scope : [config.scope];
    if (scopes.length === 0) return;
    if (!auth.ability || !scopes.every((s) => auth.ability.can(s))) throw forbidden();
  },
};

function forbidden(): Error {
  // Strapi's errors.ForbiddenError, from the app's own @strapi/utils.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { errors } = require(require.resolve('@strapi/utils', { paths: [process.cwd()] }));
  return new errors.ForbiddenError();
}

function applicationError(message: string): Error {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { errors } = require(require.resolve('@strapi/utils', { paths: [process.cwd()] }));
  return new errors.ApplicationError(message);
}

/**
 * putAhead makes Refreshing's strategy run before every other content-API
 * strategy, whatever order plugins register in: Strapi keeps its strategies
 * in registration order, and users-permissions (which may register first)
 * would read a Refreshing token's numeric `id` claim as a Strapi user id in
 * legacy-support mode. Tokens that are not Refreshing's go on to Strapi's
 * own authentication unchanged.
 */
function putAhead(auth: Auth): void {
  const original = auth.authenticate.bind(auth);
  auth.authenticate = async (ctx: Ctx, next: Next) => {
    const route = ctx.state.route;
    const config = route?.config?.auth;
    if (config === false || route?.info?.type !== 'content-api' || config?.strategies) return original(ctx, next);
    const r = await authenticateRefreshing(ctx);
    if (r === NOT_OURS) return original(ctx, next);
    if ('error' in r) return ctx.unauthorized(r.error);
    ctx.state.isAuthenticated = true;
    ctx.state.auth = { strategy, credentials: r.user, ability: r.ability };
    if (typeof auth.runAuthenticated === 'function') await auth.runAuthenticated(ctx);
    return next();
  };
}

/** The user lifecycles: changes made in Strapi (its admin) reach Refreshing. */
function subscribeUsers(strapi: Strapi): void {
  const { client } = current();
  const idsOf = async (where: Record<string, unknown> | undefined): Promise<number[]> =>
    (await strapi.db.query(USER_UID).findMany({ where: where ?? {}, select: ['id'] })).map((u: { id: number }) => u.id);
  const fail = (what: string, err: unknown): never => {
    const msg = err instanceof RefreshingError ? err.message : 'Refreshing cannot be reached';
    strapi.log.error(`refreshing: ${what}: ${(err as Error).message}`);
    throw applicationError(`${what}: ${msg}`);
  };
  strapi.db.lifecycles.subscribe({
    models: [USER_UID],
    async beforeCreate(event: LifecycleEvent) {
      if (fromRefreshing.getStore()) return;
      const d = event.params.data ?? {};
      try {
        event.state.subject = await client.createUser({
          documentId: d.documentId, username: d.username, email: d.email, passwordHash: d.password || undefined,
          confirmed: Boolean(d.confirmed), blocked: Boolean(d.blocked), provider: typeof d.provider === 'string' ? d.provider : undefined,
        });
      } catch (err) {
        fail('Refreshing refused the user', err);
      }
    },
    async afterCreate(event: LifecycleEvent) {
      const sub = event.state.subject as { id: string; documentId: string } | undefined;
      if (!sub || !event.result) return;
      await strapi.db.query(LINK_UID).create({
        data: { subject: sub.id, subjectDocumentId: sub.documentId, userId: event.result.id, userDocumentId: event.result.documentId },
      });
    },
    async beforeUpdate(event: LifecycleEvent) {
      if (fromRefreshing.getStore()) return;
      const d = event.params.data ?? {};
      const change: Record<string, unknown> = {};
      for (const k of ['username', 'email', 'confirmed', 'blocked'] as const) if (d[k] !== undefined && d[k] !== null) change[k] = d[k];
      if (typeof d.password === 'string' && d.password !== '') change.passwordHash = d.password;
      if (Object.keys(change).length === 0) return;
      for (const id of await idsOf(event.params.where)) {
        const sub = await subjectOf(strapi, id);
        if (!sub) continue;
        try {
          await client.updateUser(sub, change);
        } catch (err) {
          fail('Refreshing refused the change', err);
        }
      }
    },
    async beforeUpdateMany(event: LifecycleEvent) {
      await (this as any).beforeUpdate(event);
    },
    async beforeDelete(event: LifecycleEvent) {
      for (const id of await idsOf(event.params.where)) {
        const sub = await subjectOf(strapi, id);
        if (!sub) continue;
        if (!fromRefreshing.getStore()) {
          try {
            await client.deleteUser(sub);
          } catch (err) {
            fail('Refreshing refused the deletion', err);
          }
        }
        await strapi.db.query(LINK_UID).deleteMany({ where: { subject: sub } });
      }
    },
    async beforeDeleteMany(event: LifecycleEvent) {
      await (this as any).beforeDelete(event);
    },
  });
}

/** Strapi 5's refresh cookie (users-permissions' sessions.httpOnly), which Refreshing reads too. */
const REFRESH_COOKIE = 'strapi_up_refresh';

/**
 * clientHeaders are the client's headers that Refreshing reads (device,
 * language, origin, cookie mode), with the client's address appended to
 * X-Forwarded-For.
 */
function clientHeaders(ctx: Ctx): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of ['user-agent', 'accept', 'x-strapi-refresh-cookie', 'accept-language', 'origin']) {
    const v = ctx.get(h);
    if (v) headers[h] = v;
  }
  const prior = ctx.get('x-forwarded-for');
  headers['x-forwarded-for'] = prior ? `${prior}, ${ctx.ip}` : ctx.ip;
  return headers;
}

/** The forwarder: Strapi's auth paths answered by Refreshing. */
function forwarder(strapi: Strapi) {
  const { client } = current();
  return async (ctx: Ctx, next: Next) => {
    if (!forwarded(ctx.method, ctx.path)) return next();
    const headers = clientHeaders(ctx);
    const auth = ctx.get('authorization');
    if (auth) headers.authorization = auth;
    // Of the cookies, only Strapi 5's refresh cookie is Refreshing's business.
    const cookie = ctx.get('cookie').split(';').map((c) => c.trim()).filter((c) => c.startsWith(`${REFRESH_COOKIE}=`));
    if (cookie.length > 0) headers.cookie = cookie.join('; ');
    let body: string | undefined;
    const parsed = ctx.request.body;
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD' && parsed !== undefined && parsed !== null &&
      !(typeof parsed === 'object' && Object.keys(parsed as object).length === 0 && !ctx.get('content-length'))) {
      body = JSON.stringify(parsed);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      const init: RequestInit = { method: ctx.method, headers, redirect: 'manual', signal: AbortSignal.timeout(15_000) };
      if (body !== undefined) init.body = body;
      res = await fetch(client.url(ctx.path + (ctx.querystring ? `?${ctx.querystring}` : '')), init);
    } catch (err) {
      strapi.log.error(`refreshing: cannot forward ${ctx.method} ${ctx.path}: ${(err as Error).message}`);
      ctx.status = 502;
      ctx.body = { data: null, error: { status: 502, name: 'BadGatewayError', message: 'The authentication service cannot be reached', details: {} } };
      return;
    }
    ctx.status = res.status;
    for (const h of ['content-type', 'retry-after', 'cache-control', 'location', 'www-authenticate']) {
      const v = res.headers.get(h);
      if (v) ctx.set(h, v);
    }
    const cookies = res.headers.getSetCookie();
    if (cookies.length > 0) ctx.append('set-cookie', cookies);
    const text = await res.text();
    if ((res.headers.get('content-type') ?? '').includes('json') && text) {
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        ctx.body = text; // pass it on as it came
        return;
      }
      // Refreshing's answers name Refreshing's user; at Strapi's URL the
      // client gets the Strapi profile it will see at /api/users/me, so
      // that a client using user.id here addresses the right Strapi user.
      if (json && typeof json === 'object' && json.user && typeof json.user.id === 'number') {
        const profile = await linkedUser(strapi, String(json.user.id), json.user.documentId).catch(() => undefined);
        if (profile) json.user = publicProfile(strapi, profile);
      }
      ctx.body = json;
      return;
    }
    ctx.body = text;
  };
}

/** publicProfile drops the private attributes (and the role) of a Strapi user. */
function publicProfile(strapi: Strapi, user: Record<string, unknown>): Record<string, unknown> {
  const attrs = strapi.getModel(USER_UID).attributes;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(user)) {
    if (k === 'role' || attrs[k]?.private) continue;
    out[k] = v;
  }
  return out;
}

/** The bridge controller: Refreshing's calls to Strapi. */
const bridgeController = () => ({
  async profiles(ctx: Ctx) {
    const { strapi } = current();
    const token = bearer(ctx);
    if (!token || !sameSecret(token)) {
      ctx.status = 401;
      ctx.body = { data: null, error: { status: 401, name: 'UnauthorizedError', message: 'Missing or invalid credentials', details: {} } };
      return;
    }
    const b = (ctx.request.body ?? {}) as Record<string, any>;
    if (typeof b.id !== 'number' || typeof b.username !== 'string' || typeof b.email !== 'string') {
      ctx.status = 400;
      ctx.body = { data: null, error: { status: 400, name: 'ValidationError', message: 'id, username and email are required', details: {} } };
      return;
    }
    const fields = b.fields && typeof b.fields === 'object' && !Array.isArray(b.fields) ? b.fields : {};
    try {
      customFields(strapi, fields);
      const user = await ensureProfile(strapi, {
        id: b.id, documentId: String(b.documentId ?? ''), username: b.username, email: b.email,
        confirmed: Boolean(b.confirmed), blocked: Boolean(b.blocked),
      }, fields, true);
      current().client.forget(String(b.id));
      ctx.status = 200;
      ctx.body = { id: user.id, documentId: user.documentId };
    } catch (err) {
      const e = err as { name?: string; message?: string; details?: { errors?: unknown[] } };
      if (err instanceof ProfileError) {
        ctx.status = err.status;
        ctx.body = { data: null, error: { status: err.status, name: err.status === 409 ? 'ApplicationError' : 'ValidationError', message: err.message,
          details: err.field ? { errors: [{ path: [err.field], message: err.message, name: 'ValidationError' }] } : {} } };
        return;
      }
      if (e.name === 'ValidationError') {
        ctx.status = 400;
        ctx.body = { data: null, error: { status: 400, name: 'ValidationError', message: e.message ?? 'Invalid profile', details: e.details ?? {} } };
        return;
      }
      throw err;
    }
  },
});

export default {
  config: {
    default: { url: '', secret: '' },
    validator: validate,
  },
  contentTypes: { link: { schema: linkSchema } },
  controllers: { bridge: bridgeController },
  routes: {
    'content-api': {
      type: 'content-api',
      routes: [{ method: 'POST', path: '/bridge/profiles', handler: 'bridge.profiles', config: { auth: false, policies: [] } }],
    },
  },
  register({ strapi }: { strapi: Strapi }) {
    const config = strapi.config.get('plugin::refreshing') as Config;
    validate(config);
    const client = new Client(config.url, config.secret);
    state = {
      strapi,
      client,
      keys: new Keys((path) => client.getJSON(path)),
      secretDigest: createHash('sha256').update(config.secret).digest(),
    };
    putAhead(strapi.get('auth'));
  },
  async bootstrap({ strapi }: { strapi: Strapi }) {
    subscribeUsers(strapi);
    strapi.server.use(forwarder(strapi));
    strapi.server.use(providerSignIn(strapi, current().client, clientHeaders, (u) => publicProfile(strapi, u)));
    // Warm the key cache; a Refreshing that is not up yet is not fatal.
    await current().keys.load().catch((err: Error) => strapi.log.warn(`refreshing: cannot fetch Refreshing's keys yet (${err.message}); will retry on the first token`));
  },
  destroy() {
    state = undefined;
  },
};
