// The plugin's client of Refreshing: its public documents (JWKS, metadata)
// and the bridge API (/api/bridge/...), authenticated by the shared secret.

/** A user as Refreshing's bridge describes it. */
export interface RemoteUser {
  id: number;
  documentId: string;
  username: string;
  email: string;
  confirmed: boolean;
  blocked: boolean;
}

/** A change pushed to Refreshing; absent fields are unchanged. */
export interface RemoteChange {
  username?: string;
  email?: string;
  passwordHash?: string;
  confirmed?: boolean;
  blocked?: boolean;
}

/** An answer of Refreshing that is not a success. */
export class RefreshingError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** How long a "this session and user are still good" answer is trusted (ms). */
export const CHECK_TTL = 2000;

interface CheckEntry {
  at: number;
  user: RemoteUser | null; // null: refused
}

/** Client calls Refreshing. */
export class Client {
  private readonly base: string;
  private readonly checks = new Map<string, CheckEntry>();
  private readonly inflight = new Map<string, Promise<RemoteUser | null>>();

  constructor(
    url: string,
    private readonly secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  /** url returns the absolute URL of a path at Refreshing. */
  url(path: string): string {
    return this.base + path;
  }

  private async call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<{ status: number; json: unknown; cookies: string[] }> {
    const headers: Record<string, string> = { ...extra, authorization: `Bearer ${this.secret}`, accept: 'application/json' };
    const init: RequestInit = { method, headers, signal: AbortSignal.timeout(10_000) };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(this.url(path), init);
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, json, cookies: res.headers.getSetCookie() };
  }

  private static message(json: unknown, fallback: string): string {
    const e = (json as { error?: { message?: unknown } } | null)?.error;
    return typeof e?.message === 'string' ? e.message : fallback;
  }

  /** getJSON fetches one of Refreshing's public documents. */
  async getJSON(path: string): Promise<unknown> {
    const res = await fetch(this.url(path), { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new RefreshingError(res.status, `GET ${path}: status ${res.status}`);
    return res.json();
  }

  /**
   * check asks whether user sub's session sid ("" for none) still stands,
   * and returns the user, or null when it does not. Answers are trusted for
   * CHECK_TTL, so a revocation on either side is seen within that time plus
   * one round trip, with one call per session per CHECK_TTL at most, not one
   * per request. fresh skips the cache. Network failures throw.
   */
  async check(sub: string, sid: string, fresh = false): Promise<RemoteUser | null> {
    const key = `${sub}|${sid}`;
    const hit = this.checks.get(key);
    const now = this.now();
    if (!fresh && hit && now - hit.at < CHECK_TTL && now >= hit.at) return hit.user;
    let p = this.inflight.get(key);
    if (!p || fresh) {
      p = (async () => {
        const started = this.now();
        try {
          const q = sid ? `?session=${encodeURIComponent(sid)}` : '';
          const { status, json } = await this.call('GET', `/api/bridge/users/${sub}${q}`);
          let user: RemoteUser | null;
          if (status === 200) user = json as RemoteUser;
          else if (status === 401 || status === 404) user = null;
          else throw new RefreshingError(status, Client.message(json, `bridge check: status ${status}`));
          this.checks.set(key, { at: started, user });
          if (this.checks.size > 100_000) this.prune();
          return user;
        } finally {
          this.inflight.delete(key);
        }
      })();
      this.inflight.set(key, p);
    }
    return p;
  }

  /** forget drops the cached checks of sub, after a change made here. */
  forget(sub: string): void {
    for (const key of this.checks.keys()) {
      if (key.startsWith(`${sub}|`)) this.checks.delete(key);
    }
  }

  private prune(): void {
    const now = this.now();
    for (const [key, e] of this.checks) {
      if (now - e.at >= CHECK_TTL) this.checks.delete(key);
    }
  }

  /** createUser creates in Refreshing a user made in Strapi (its admin, or a provider sign-in); it returns the subject and its document id there. */
  async createUser(u: { documentId?: string; username: string; email: string; passwordHash?: string; confirmed?: boolean; blocked?: boolean; provider?: string }): Promise<{ id: string; documentId: string }> {
    const { status, json } = await this.call('POST', '/api/bridge/users', u);
    if (status !== 201 && status !== 200) throw new RefreshingError(status, Client.message(json, `Refreshing refused the user (status ${status})`));
    const { id, documentId } = json as { id?: unknown; documentId?: unknown };
    if (typeof id !== 'number' || typeof documentId !== 'string') throw new RefreshingError(502, 'Refreshing answered without a user id');
    return { id: String(id), documentId };
  }

  /** updateUser pushes a change made in Strapi's admin. */
  async updateUser(sub: string, change: RemoteChange): Promise<void> {
    const { status, json } = await this.call('PATCH', `/api/bridge/users/${sub}`, change);
    this.forget(sub);
    if (status === 404) return; // gone there already: nothing to end
    if (status !== 200) throw new RefreshingError(status, Client.message(json, `Refreshing refused the change (status ${status})`));
  }

  /** deleteUser deletes the user (and every session) in Refreshing. */
  async deleteUser(sub: string): Promise<void> {
    const { status, json } = await this.call('DELETE', `/api/bridge/users/${sub}`);
    this.forget(sub);
    if (status === 404 || status === 204 || status === 200) return;
    throw new RefreshingError(status, Client.message(json, `Refreshing refused the deletion (status ${status})`));
  }

  /**
   * signIn asks Refreshing for a session of the account of a sign-in that
   * Strapi verified with one of its own providers (POST /api/bridge/sign-in).
   * headers are the client's (User-Agent, X-Forwarded-For, the cookie-mode
   * header), so that the session names the right device and cookie mode
   * works. The answer is to pass on as it came; network failures throw.
   */
  async signIn(s: SignIn, headers: Record<string, string>): Promise<SignInAnswer> {
    return this.call('POST', '/api/bridge/sign-in', s, headers);
  }
}

/**
 * A sign-in that Strapi verified with one of its own providers. id and
 * documentId are the link record's (Refreshing's id and document id of the
 * Strapi user's account there); a Strapi user not linked yet sends no id,
 * its own documentId, username and email.
 */
export interface SignIn {
  provider: string;
  id?: number;
  documentId: string;
  username?: string;
  email?: string;
}

/** Refreshing's answer to a sign-in, to pass on as it came. */
export interface SignInAnswer {
  status: number;
  json: any;
  cookies: string[];
}
