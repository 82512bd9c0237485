// Sign-ins with the providers configured in Strapi (Users & Permissions →
// Providers), handed to Refreshing. Strapi 5's flow: GET
// /api/connect/:provider sends the browser to the provider, which returns
// to /api/connect/:provider/callback; users-permissions redeems the code,
// keeps the provider's answer in the koa session and redirects to the
// front end, which calls GET /api/auth/:provider/callback. There the plugin
// does what users-permissions' callback does (the provider must be enabled;
// its providers service verifies the access token with the provider and
// finds or creates the Strapi user), but instead of Strapi's tokens it
// answers with Refreshing's: {jwt, refreshToken, user}, or the refresh
// cookie in cookie mode, for the same person on both sides.
//
// One identity on both sides: a Strapi user with a link record signs in the
// account the link names (Refreshing checks its document id); one without
// signs in the account Refreshing has with both its email and its document
// id (users imported from Strapi keep theirs), or a new account, which is
// then linked. Never an account by email alone: Refreshing refuses that.

import { createHash } from 'node:crypto';
import type { Client } from './refreshing';
import type { Ctx, Next, Strapi } from './strapi';
import { link, linkedUser, linkOf, USER_UID } from './users';

/** providerOf returns the provider of a provider callback request (GET /api/auth/:provider/callback), or undefined. */
export function providerOf(method: string, path: string): string | undefined {
  if (method !== 'GET') return undefined;
  const m = /^\/api\/auth\/([^/]+)\/callback\/?$/.exec(path);
  if (!m || m[1] === 'local') return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}

/**
 * Used remembers the provider answers that signed in already, by the
 * SHA-256 of their access (or ID) token, for as long as Strapi's session
 * cookie lives: koa-session keeps the session in the cookie itself, so
 * clearing it does not stop a copy of the old cookie from being replayed.
 * Per Strapi process; with several processes, a replay is refused by the
 * one that saw the sign-in only.
 */
export class Used {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly ttl = 86_400_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** first records token and reports whether it was not seen before. */
  first(token: string): boolean {
    const d = createHash('sha256').update(token).digest('base64url');
    const now = this.now();
    if (this.seen.size > 100_000) {
      for (const [k, at] of this.seen) if (now - at >= this.ttl) this.seen.delete(k);
    }
    const at = this.seen.get(d);
    if (at !== undefined && now - at < this.ttl) return false;
    this.seen.set(d, now);
    return true;
  }
}

function refuse(ctx: Ctx, status: number, name: string, message: string): void {
  ctx.status = status;
  ctx.body = { data: null, error: { status, name, message, details: {} } };
}

/**
 * providerSignIn answers GET /api/auth/:provider/callback with Refreshing's
 * tokens. headers gives the client's headers to pass on to Refreshing, and
 * profile the Strapi user as the answer shows it.
 */
export function providerSignIn(
  strapi: Strapi,
  client: Client,
  headers: (ctx: Ctx) => Record<string, string>,
  profile: (u: Record<string, unknown>) => Record<string, unknown>,
  used = new Used(),
) {
  return async (ctx: Ctx, next: Next) => {
    const provider = providerOf(ctx.method, ctx.path);
    if (provider === undefined) return next();
    ctx.set('cache-control', 'no-store');
    const grants = await strapi.store({ type: 'plugin', name: 'users-permissions' }).get({ key: 'grant' });
    if (!grants?.[provider]?.enabled) return refuse(ctx, 400, 'ApplicationError', 'This provider is disabled');
    const session = ctx.session;
    const grantResponse = session?.grant?.response;
    if (!session || !grantResponse) return refuse(ctx, 400, 'ApplicationError', 'OAuth authentication requires a completed provider session');
    // The provider's answer signs in once: the session forgets it, and a
    // copy of the old session cookie finds its token used.
    session.grant = {};
    const token = grantResponse.access_token ?? grantResponse.id_token ?? grantResponse.oauth_token;
    if (typeof token !== 'string' || !used.first(token)) {
      return refuse(ctx, 400, 'ApplicationError', 'OAuth authentication requires a completed provider session');
    }
    let user: any;
    try {
      user = await strapi.plugin('users-permissions')!.service('providers').connect(provider, grantResponse, { grantResponse });
    } catch (err) {
      // As users-permissions answers: the provider refused the token, registration is closed, the email is taken...
      return refuse(ctx, 400, 'ApplicationError', (err as Error).message);
    }
    if (!user || user.blocked) return refuse(ctx, 400, 'ApplicationError', 'Your account has been blocked by an administrator');
    const linked = await linkOf(strapi, user);
    const request = linked
      ? { provider, id: Number(linked.subject), documentId: linked.subjectDocumentId ?? '' }
      : { provider, documentId: String(user.documentId), username: String(user.username), email: String(user.email) };
    let answer;
    try {
      answer = await client.signIn(request, headers(ctx));
    } catch (err) {
      strapi.log.error(`refreshing: cannot reach Refreshing for a sign-in with ${provider}: ${(err as Error).message}`);
      return refuse(ctx, 502, 'BadGatewayError', 'The authentication service cannot be reached');
    }
    const ru = answer.json?.user;
    if (answer.status !== 200 || !ru || typeof ru.id !== 'number') {
      ctx.status = answer.status === 200 ? 502 : answer.status;
      ctx.body = answer.json;
      return;
    }
    if (!linked) {
      const sub = String(ru.id);
      const other = await linkedUser(strapi, sub, ru.documentId);
      if (other && other.id !== user.id) {
        // Refreshing's account is already another Strapi user's: end the
        // session it just made and hand out nothing.
        strapi.log.warn(`refreshing: Refreshing user ${sub} is linked to Strapi user ${other.id}, not ${user.id}; sign-in with ${provider} refused`);
        await fetch(client.url('/api/auth/logout'), { method: 'POST', headers: { authorization: `Bearer ${answer.json.jwt}` }, signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
        return refuse(ctx, 409, 'ApplicationError', 'Email or Username are already taken');
      }
      if (!other) await link(strapi, sub, user, String(ru.documentId));
    }
    if (answer.cookies.length > 0) ctx.append('set-cookie', answer.cookies);
    const fresh = await strapi.db.query(USER_UID).findOne({ where: { id: user.id } });
    ctx.status = 200;
    ctx.body = { ...answer.json, user: profile(fresh ?? user) };
  };
}
