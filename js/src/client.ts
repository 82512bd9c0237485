import { type DPoPKey, DPoPKeys, Nonces, ServerClock, createProof, refusedProof, wantsNonce } from "./dpop.js";
import { RefreshingError, errorFromResponse, signedOutError } from "./errors.js";
import { expiryOf } from "./jwt.js";
import { type RefreshLock, LockTimeoutError, leaseLock, noLock, randomId, webLocks } from "./lock.js";
import { type TokenStorage, defaultStorage } from "./storage.js";

/** A user as the server describes it (Strapi's users-permissions shape). */
export interface User {
  id: number;
  documentId?: string;
  username: string;
  email: string;
  provider?: string;
  confirmed?: boolean;
  blocked?: boolean;
  createdAt?: string;
  updatedAt?: string;
  [field: string]: unknown;
}

/** One sign-in on a device, as `sessions()` lists them. */
export interface Session {
  id: string;
  description: string;
  userAgent: string;
  device: string;
  ip: string;
  createdAt: string;
  lastActivity: string;
  expiresAt: string | null;
  /** True for the session this client is signed in with. */
  current: boolean;
}

/** Why a client is signed out. */
export type SignedOutReason =
  /** logout() in this tab or another. */
  | "logout"
  /** The server refused the refresh token: revoked, reused, expired, or the account is blocked. */
  | "revoked"
  /** Another tab found the session over (storage cleared there). */
  | "other-tab";

/** The payload of the `signedOut` event. */
export interface SignedOutEvent {
  reason: SignedOutReason;
  /** The server's refusal, when that is the reason. */
  error?: RefreshingError;
}

/** The payload of the `refreshed` event. */
export interface RefreshedEvent {
  accessToken: string;
  /** When the access token stops being used (ms since the epoch, local clock). */
  expiresAt: number;
  /** Whether this tab made the exchange or learned of it from another tab. */
  source: "this-tab" | "other-tab";
}

/** Events and their payloads. */
export interface ClientEvents {
  refreshed: RefreshedEvent;
  signedOut: SignedOutEvent;
}

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The Refreshing server, e.g. `https://auth.example.com` (no trailing path needed). */
  baseUrl: string;
  /** Where tokens live: localStorage in a browser, memory elsewhere by default. */
  storage?: TokenStorage;
  /**
   * Cookie mode: the refresh token stays in an HttpOnly cookie the server
   * sets (Strapi 5's `x-strapi-refresh-cookie: httpOnly`) and never reaches
   * JavaScript; the client keeps only the access token. Cross-origin, the
   * page's origin must be on the server's `allowedOrigins` list.
   */
  cookieMode?: boolean;
  /** Called once whenever the client goes from signed in to signed out (same as `on('signedOut')`). */
  onSignedOut?: (event: SignedOutEvent) => void;
  /** The storage key (default: `refreshing_` and the base URL, made safe for SecureStore). */
  storageKey?: string;
  /** The fetch to use (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /**
   * How tabs sharing a storage take turns refreshing: `auto` (Web Locks where
   * the browser has them, a lease in localStorage otherwise), or one of them
   * by name; `none` for storage no other context shares. Ignored (`none`)
   * unless the storage is `shared`.
   */
  crossTab?: "auto" | "locks" | "lease" | "none";
  /** How long one request to the server may take, in ms (default 15000). */
  timeoutMs?: number;
  /**
   * DPoP (RFC 9449): bind the session to a key this browser holds, so that a
   * stolen refresh or access token is useless elsewhere. The client then
   * signs in and refreshes through `/oauth/token` as the OAuth client
   * `clientId` (a public client allowed the password grant), and sends its
   * requests with `Authorization: DPoP` and a proof. `true` keeps a
   * non-extractable ES256 key in IndexedDB, shared by the origin's tabs
   * (in memory where there is no IndexedDB); `{ keyPair }` uses the app's own.
   */
  dpop?: boolean | { keyPair: CryptoKeyPair };
  /** The OAuth client id the DPoP mode signs in as (required with `dpop`). */
  clientId?: string;
}

/** What the client keeps in storage. */
interface Stored {
  v: 1;
  accessToken: string;
  /** Absent in cookie mode: the cookie holds it. */
  refreshToken?: string;
  /** When the access token was received (ms, local clock). */
  receivedAt: number;
  /** When it stops being used (ms, local clock): see expiryOf. */
  expiresAt: number;
  /** "DPoP" for tokens bound to the DPoP key whose thumbprint is jkt. */
  tokenType?: "DPoP";
  jkt?: string;
}

type Message = { type: "refreshed"; record: Stored; from: string } | { type: "signedOut"; reason: SignedOutReason; from: string };

/** The client {@link createClient} returns. */
export interface RefreshingClient {
  /** Creates an account and signs in with it; resolves `{ user }`. */
  register(input: { username: string; email: string; password: string; [field: string]: unknown }): Promise<{ user: User }>;
  /** Signs in with an email or username and a password; resolves `{ user }`. */
  login(input: { identifier: string; password: string }): Promise<{ user: User }>;
  /** An access token valid for a while yet, refreshing first if needed. Rejects with `signed_out` when there is no session. */
  accessToken(): Promise<string>;
  /** fetch with the access token (`Authorization: Bearer`, or `DPoP` with a proof); after a 401 it refreshes once and retries once. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** The signed-in user's sessions, newest activity first. */
  sessions(): Promise<Session[]>;
  /** Ends one of the user's sessions (signs out that device). */
  revokeSession(id: string): Promise<void>;
  /** Signs out this session (`current`, the default), every other one (`others`), or all (`all`). */
  logout(options?: { scope?: "current" | "others" | "all" }): Promise<void>;
  /** Listens to an event; returns the function that stops listening. */
  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void;
  /** Whether tokens are at hand (no request is made). */
  isSignedIn(): Promise<boolean>;
  /** Stops listening to other tabs (for tests and short-lived clients). */
  close(): void;
}

/**
 * createClient returns a client for one user at a time. In a browser, every
 * tab's client on the same storage shares the session: one of them refreshes,
 * the others use its tokens. On a server, make one client per request (with
 * the default memory storage) so that no request sees another's tokens.
 */
export function createClient(options: ClientOptions): RefreshingClient {
  return new Client(options);
}

const maxMargin = 30_000;
/** Statuses of an exchange that mean the token itself is refused for good. */
const signOutStatuses = new Set([400, 401]);
/** How long a tab keeps the cross-tab lock after writing new tokens (ms). */
const settleMs = 30;

class Client implements RefreshingClient {
  private readonly base: string;
  private readonly storage: TokenStorage;
  private readonly key: string;
  private readonly cookieMode: boolean;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly timeoutMs: number;
  private readonly lock: RefreshLock;
  private readonly id = randomId();
  private readonly listeners: { [E in keyof ClientEvents]: Set<(p: ClientEvents[E]) => void> } = {
    refreshed: new Set(),
    signedOut: new Set(),
  };
  private channel: BroadcastChannel | undefined;
  private offStorage: (() => void) | undefined;

  /** The last record this client saw; undefined until first read. */
  private cur: Stored | null | undefined;
  /** Signed in as far as this client knows: signedOut fires on its fall only. */
  private signedIn = false;
  private inflight: Promise<Stored> | undefined;
  private failures = 0;
  private backoff: RefreshingError | undefined;
  /** Cookie mode: the server found no session in the cookie; ask again only after a login. */
  private noCookieSession = false;
  /** DPoP mode: the key, the servers' nonces, and the OAuth client. */
  private readonly dpop: DPoPKeys | undefined;
  private readonly nonces = new Nonces();
  /** The server's time, for the iat of DPoP proofs (dpop.ts). */
  private readonly clock = new ServerClock();
  private readonly clientId: string | undefined;

  constructor(o: ClientOptions) {
    if (!o || typeof o.baseUrl !== "string" || !/^https?:\/\//i.test(o.baseUrl)) {
      throw new TypeError("createClient: baseUrl must be an http(s) URL");
    }
    this.base = o.baseUrl.replace(/\/+$/, "");
    this.storage = o.storage ?? defaultStorage();
    this.key = o.storageKey ?? `refreshing_${this.base.replace(/[^A-Za-z0-9._-]/g, "_")}`;
    this.cookieMode = o.cookieMode ?? false;
    const f = o.fetch ?? globalThis.fetch;
    this.fetchImpl = (input, init) => f(input, init);
    this.timeoutMs = o.timeoutMs ?? 15_000;
    if (o.onSignedOut) this.listeners.signedOut.add(o.onSignedOut);
    if (o.dpop) {
      if (typeof o.clientId !== "string" || !o.clientId) throw new TypeError("createClient: dpop needs the clientId of an OAuth client");
      if (this.cookieMode) throw new TypeError("createClient: dpop and cookieMode cannot be combined");
      this.clientId = o.clientId;
      this.dpop = new DPoPKeys(`${this.key}:dpop`, typeof o.dpop === "object" ? o.dpop.keyPair : undefined);
    }

    const mode = this.storage.shared ? (o.crossTab ?? "auto") : "none";
    let lock: RefreshLock | undefined;
    if (mode === "auto" || mode === "locks") lock = webLocks(`${this.key}:refresh`);
    if (!lock && (mode === "auto" || mode === "lease") && this.storage.webStorage) {
      lock = leaseLock(this.storage.webStorage, `${this.key}:lock`);
    }
    if (!lock && mode !== "none") throw new TypeError(`createClient: crossTab "${mode}" is not available here`);
    this.lock = lock ?? noLock;
    if (this.storage.shared) this.listen();
  }

  // ---- events -------------------------------------------------------------

  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void {
    const set = this.listeners[event] as Set<(p: ClientEvents[E]) => void>;
    if (!set) throw new TypeError(`unknown event ${String(event)}`);
    set.add(listener);
    return () => void set.delete(listener);
  }

  private emit<E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]): void {
    for (const l of [...(this.listeners[event] as Set<(p: ClientEvents[E]) => void>)]) {
      try {
        l(payload);
      } catch (e) {
        // A listener's error must not break the refresh; report it the way
        // an unhandled error would be.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  /** listen follows other tabs: their messages and their writes to storage. */
  private listen(): void {
    const BC = (globalThis as { BroadcastChannel?: typeof BroadcastChannel }).BroadcastChannel;
    if (BC) {
      this.channel = new BC(`${this.key}:events`);
      this.channel.onmessage = (e: MessageEvent<Message>) => {
        const m = e.data;
        if (!m || m.from === this.id) return;
        if (m.type === "refreshed") this.adopt(m.record, "other-tab");
        else if (m.type === "signedOut") this.signOutLocal(m.reason === "logout" ? "logout" : "other-tab");
      };
    }
    const target = globalThis as { addEventListener?: typeof addEventListener; removeEventListener?: typeof removeEventListener };
    if (typeof target.addEventListener === "function" && this.storage.webStorage) {
      const onStorage = (e: StorageEvent) => {
        if (e.key !== this.key && e.key !== null) return;
        const rec = parse(e.key === null ? null : e.newValue);
        if (rec) this.adopt(rec, "other-tab");
        else this.signOutLocal("other-tab");
      };
      target.addEventListener("storage", onStorage as EventListener);
      this.offStorage = () => target.removeEventListener?.("storage", onStorage as EventListener);
    }
  }

  private post(m: Message): void {
    try {
      this.channel?.postMessage(m);
    } catch {
      // A closed channel: the storage event still tells the other tabs.
    }
  }

  close(): void {
    this.channel?.close();
    this.channel = undefined;
    this.offStorage?.();
    this.offStorage = undefined;
  }

  // ---- state --------------------------------------------------------------

  /**
   * read returns the current record. A shared storage is read every time
   * (another tab may have written it); a private one once.
   */
  private async read(): Promise<Stored | null> {
    if (this.cur !== undefined && !this.storage.shared) return this.cur;
    const rec = parse(await this.storage.getItem(this.key));
    if (rec) {
      this.adopt(rec, "other-tab");
    } else if (this.cur !== undefined || this.signedIn) {
      this.signOutLocal("other-tab");
    } else {
      this.cur = null;
    }
    return rec;
  }

  /** adopt makes rec current if it is not already, and says so. */
  private adopt(rec: Stored, source: RefreshedEvent["source"]): void {
    const old = this.cur;
    this.cur = rec;
    this.signedIn = true;
    if (!old || !same(old, rec)) {
      if (old) this.emit("refreshed", { accessToken: rec.accessToken, expiresAt: rec.expiresAt, source });
    }
  }

  /** save stores rec as this tab's own new tokens and tells the other tabs. */
  private async save(rec: Stored, event: boolean): Promise<void> {
    await this.storage.setItem(this.key, JSON.stringify(rec));
    this.cur = rec;
    this.signedIn = true;
    this.noCookieSession = false;
    this.failures = 0;
    this.backoff = undefined;
    this.post({ type: "refreshed", record: rec, from: this.id });
    if (event) this.emit("refreshed", { accessToken: rec.accessToken, expiresAt: rec.expiresAt, source: "this-tab" });
  }

  /** signOutLocal forgets the session here; signedOut fires if it was signed in. */
  private signOutLocal(reason: SignedOutReason, error?: RefreshingError): void {
    this.cur = null;
    if (!this.signedIn) return;
    this.signedIn = false;
    this.emit("signedOut", error ? { reason, error } : { reason });
  }

  /**
   * signOut clears storage, tells every tab, and signs this one out. A DPoP
   * session's key is deleted too: it signs for nothing any more.
   */
  private async signOut(reason: SignedOutReason, error?: RefreshingError): Promise<void> {
    let jkt: string | undefined;
    try {
      jkt = parse(await this.storage.getItem(this.key))?.jkt;
      await this.storage.removeItem(this.key);
    } finally {
      this.post({ type: "signedOut", reason, from: this.id });
      this.signOutLocal(reason, error);
      if (this.dpop && jkt) await this.dpop.forget(jkt).catch(() => undefined); // a key left behind is harmless: it is bound to an ended session
    }
  }

  async isSignedIn(): Promise<boolean> {
    return (await this.read()) !== null;
  }

  // ---- requests -----------------------------------------------------------

  /** request sends one request to the server, with a timeout; network failures become RefreshingErrors. */
  private async request(path: string, init: RequestInit & { json?: unknown }, what: string): Promise<Response> {
    const headers = new Headers(init.headers);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(init.json);
    }
    if (this.cookieMode) headers.set("x-strapi-refresh-cookie", "httpOnly");
    try {
      return await this.fetchImpl(this.base + path, {
        method: init.method ?? "GET",
        headers,
        body,
        credentials: this.cookieMode ? "include" : "same-origin",
        cache: "no-store",
        signal: timeoutSignal(this.timeoutMs),
      });
    } catch (e) {
      throw new RefreshingError(`${what}: no answer from ${this.base}`, { kind: "network", cause: e });
    }
  }

  private async grant(path: string, body: unknown, what: string): Promise<{ user: User }> {
    const receivedAt = Date.now();
    const res = await this.request(path, { method: "POST", json: body }, what);
    if (!res.ok) throw await errorFromResponse(res, what);
    const out = (await res.json()) as { jwt?: string; refreshToken?: string; user: User };
    if (out.jwt) {
      const rec: Stored = { v: 1, accessToken: out.jwt, receivedAt, expiresAt: expiryOf(out.jwt, receivedAt) };
      if (!this.cookieMode && out.refreshToken) rec.refreshToken = out.refreshToken;
      await this.save(rec, false);
    }
    return { user: out.user };
  }

  async register(input: { username: string; email: string; password: string }): Promise<{ user: User }> {
    if (!this.dpop) return this.grant("/api/auth/local/register", input, "register");
    // /api/auth/local/register issues unbound tokens: end that session and
    // sign in again through /oauth/token, bound to the key.
    const res = await this.request("/api/auth/local/register", { method: "POST", json: input }, "register");
    if (!res.ok) throw await errorFromResponse(res, "register");
    const out = (await res.json()) as { jwt?: string; refreshToken?: string; user: User };
    if (!out.jwt) return { user: out.user }; // email confirmation first: not signed in
    if (out.refreshToken) await this.request("/api/auth/revoke", { method: "POST", json: { token: out.refreshToken } }, "register");
    return this.login({ identifier: input.username, password: input.password });
  }

  async login(input: { identifier: string; password: string }): Promise<{ user: User }> {
    if (!this.dpop) return this.grant("/api/auth/local", { identifier: input.identifier, password: input.password }, "login");
    const key = await this.dpop.fresh();
    const receivedAt = Date.now();
    const res = await this.tokenRequest({ grant_type: "password", username: input.identifier, password: input.password }, key, "login");
    if (!res.ok) throw await errorFromResponse(res, "login");
    const rec = await this.oauthRecord(res, receivedAt, undefined, key.jkt);
    await this.dpop.keep(key); // before the record that names it reaches other tabs
    await this.save(rec, false);
    const me = await this.fetch(`${this.base}/api/users/me`);
    if (!me.ok) throw await errorFromResponse(me, "login");
    return { user: (await me.json()) as User };
  }

  /**
   * tokenRequest posts form to /oauth/token as the OAuth client, with a
   * DPoP proof of key; when the server asks for a (new) nonce
   * it sends the request once more with it (RFC 9449 section 8).
   */
  private async tokenRequest(form: Record<string, string>, key: DPoPKey, what: string): Promise<Response> {
    const url = `${this.base}/oauth/token`;
    const body = new URLSearchParams({ ...form, client_id: this.clientId! }).toString();
    // At most one more attempt for a nonce and one for the clock.
    let nonceRetried = false;
    let clockRetried = false;
    for (;;) {
      const sent = this.nonces.get(url, true);
      const sentAt = Date.now();
      const headers = { "Content-Type": "application/x-www-form-urlencoded", DPoP: await createProof(key, "POST", url, { nonce: sent, now: this.clock.now() }) };
      const res = await this.request("/oauth/token", { method: "POST", headers, body }, what);
      const nonce = this.nonces.keep(url, res, true);
      const skewed = this.clock.observe(res, sentAt);
      if (res.status !== 400) return res;
      const err = (await res.clone().json().catch(() => ({}))) as { error?: unknown };
      // Once more, with the nonce the server asked for, or in its time when
      // the proof was refused and its clock turned out to differ from ours.
      if (err.error === "use_dpop_nonce" && nonce && nonce !== sent && !nonceRetried) {
        nonceRetried = true;
        continue;
      }
      if (err.error === "invalid_dpop_proof" && skewed && !clockRetried) {
        clockRetried = true;
        continue;
      }
      return res;
    }
  }

  /** oauthRecord reads a token answer of /oauth/token into a record. */
  private async oauthRecord(res: Response, receivedAt: number, previousRefresh: string | undefined, jkt: string): Promise<Stored> {
    let out: { access_token?: string; token_type?: string; refresh_token?: string };
    try {
      out = (await res.json()) as typeof out;
    } catch (e) {
      throw new RefreshingError("token: unreadable answer", { kind: "server", status: res.status, cause: e });
    }
    if (!out.access_token) throw new RefreshingError("token: answer without access_token", { kind: "server", status: res.status });
    const rec: Stored = { v: 1, accessToken: out.access_token, receivedAt, expiresAt: expiryOf(out.access_token, receivedAt) };
    rec.refreshToken = out.refresh_token ?? previousRefresh;
    if (out.token_type?.toLowerCase() === "dpop") {
      rec.tokenType = "DPoP";
      rec.jkt = jkt;
    }
    return rec;
  }

  async accessToken(): Promise<string> {
    return (await this.token()).accessToken;
  }

  /** token returns a usable record, refreshing when the access token is near its end. */
  private async token(): Promise<Stored> {
    const rec = await this.read();
    if (!rec) {
      // In cookie mode a new page may have a session in the cookie only.
      if (this.cookieMode && !this.noCookieSession) return this.refresh(undefined);
      throw signedOutError();
    }
    if (fresh(rec)) return rec;
    try {
      return await this.refresh(undefined);
    } catch (e) {
      // Never throw away a token that still works: a failed refresh
      // (offline, 5xx, 429) keeps using it until it really expires.
      if (e instanceof RefreshingError && e.transient && this.cur && this.cur.expiresAt > Date.now()) return this.cur;
      throw e;
    }
  }

  /**
   * refresh gets new tokens: one refresh at a time in this context
   * (single-flight) and, with a shared storage, across tabs (the lock).
   * rejected names the access token a server just refused with 401: it is
   * exchanged even if it looks fresh.
   */
  private refresh(rejected: string | undefined): Promise<Stored> {
    if (this.inflight) return this.inflight;
    const p = this.refreshLocked(rejected).finally(() => {
      if (this.inflight === p) this.inflight = undefined;
    });
    this.inflight = p;
    return p;
  }

  private async refreshLocked(rejected: string | undefined): Promise<Stored> {
    if (this.backoff?.retryAt !== undefined && Date.now() < this.backoff.retryAt) throw this.backoff;
    const seen = this.cur ?? null;
    try {
      return await this.lock.run(() => this.refreshInLock(seen, rejected), this.timeoutMs + 5000);
    } catch (e) {
      if (e instanceof LockTimeoutError) {
        throw new RefreshingError("refresh: another tab holds the refresh lock", { kind: "network", cause: e });
      }
      throw e;
    }
  }

  private async refreshInLock(seen: Stored | null, rejected: string | undefined): Promise<Stored> {
    // Read storage again inside the lock: another tab (or this one before a
    // sleep) may have rotated the token while this one waited. Exchanging
    // the old token then would be a reuse.
    const stored = this.storage.shared ? parse(await this.storage.getItem(this.key)) : (this.cur ?? null);
    if (!stored && !this.cookieMode) {
      this.signOutLocal("other-tab");
      throw signedOutError("signed out in another tab");
    }
    if (stored) {
      const changed = !seen || !same(seen, stored);
      if (changed) this.adopt(stored, "other-tab");
      if (changed && fresh(stored) && stored.accessToken !== rejected) return stored;
      // A BroadcastChannel message can arrive before the storage write is
      // visible here; take the newer of the two.
      const c = this.cur;
      if (c && (!seen || !same(c, seen)) && fresh(c) && c.accessToken !== rejected) return c;
      if (!rejected && fresh(stored)) return stored;
    }
    return this.exchange(stored);
  }

  /** exchange trades the refresh token (or the cookie) for new tokens. */
  private async exchange(stored: Stored | null): Promise<Stored> {
    if (!this.cookieMode && !stored?.refreshToken) {
      await this.signOut("revoked");
      throw signedOutError("no refresh token to exchange");
    }
    const receivedAt = Date.now();
    let res: Response;
    let rec: Stored | undefined;
    try {
      if (this.dpop) {
        const key = await this.dpop.forRecord(stored?.jkt);
        res = await this.tokenRequest({ grant_type: "refresh_token", refresh_token: stored?.refreshToken ?? "" }, key, "refresh");
        if (res.ok) rec = await this.oauthRecord(res, receivedAt, stored?.refreshToken, key.jkt);
      } else {
        res = this.cookieMode
          ? await this.request("/api/auth/refresh", { method: "POST", json: {} }, "refresh")
          : await this.request("/api/auth/token", { method: "POST", json: { token: stored?.refreshToken } }, "refresh");
        if (res.ok) {
          let out: { jwt?: string; refreshToken?: string };
          try {
            out = (await res.json()) as typeof out;
          } catch (e) {
            throw new RefreshingError("refresh: unreadable answer", { kind: "server", status: res.status, cause: e });
          }
          if (!out.jwt) throw new RefreshingError("refresh: answer without jwt", { kind: "server", status: res.status });
          rec = { v: 1, accessToken: out.jwt, receivedAt, expiresAt: expiryOf(out.jwt, receivedAt) };
          if (!this.cookieMode) rec.refreshToken = out.refreshToken ?? stored?.refreshToken;
        }
      }
    } catch (e) {
      throw this.fail(e instanceof RefreshingError ? e : new RefreshingError("refresh: failed", { kind: "server", cause: e }));
    }
    if (rec) {
      await this.save(rec, true);
      // Other tabs see a localStorage write a moment later (each renderer
      // keeps its own copy): hold the lock that moment, so the next tab in
      // line reads the new tokens instead of exchanging the old ones again.
      if (this.storage.shared) await new Promise((r) => setTimeout(r, settleMs));
      return rec;
    }
    const err = await errorFromResponse(res, "refresh");
    if (err.code === "invalid_dpop_proof") {
      // The proof was refused (a clock far off, say), not the token: keep it.
      throw new RefreshingError(err.message, { kind: "rejected", status: err.status, code: err.code, cause: err });
    }
    if (signOutStatuses.has(res.status)) {
      // The server refused the token itself (revoked, reused, expired, a
      // blocked account): it will never work again.
      const out = new RefreshingError(err.message, { kind: "signed_out", status: err.status, code: err.code, details: err.details, cause: err });
      if (this.cookieMode && !stored && !this.signedIn) {
        this.cur = null; // there was no session in the cookie either
        this.noCookieSession = true;
        throw out;
      }
      await this.signOut("revoked", out);
      throw out;
    }
    throw this.fail(err);
  }

  /** fail records a transient failure and sets when the next attempt may be made. */
  private fail(err: RefreshingError): RefreshingError {
    this.failures++;
    const backoffMs = Math.min(60_000, 1000 * 2 ** Math.min(this.failures - 1, 6)) * (0.75 + Math.random() / 2);
    const retryAt = err.retryAt ?? Date.now() + backoffMs;
    const out = new RefreshingError(err.message, { kind: err.kind, status: err.status, code: err.code, details: err.details, retryAt, cause: err.cause ?? err });
    this.backoff = out;
    return out;
  }

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const rec = await this.token();
    // A body can be sent once: each attempt sends a clone of this one.
    const template = new Request(input, init);
    const res = await this.send(template, rec, true);
    if (res.status !== 401) return res;
    let next: Stored;
    try {
      next = await this.refresh(rec.accessToken);
    } catch (e) {
      if (e instanceof RefreshingError && e.kind === "signed_out") throw e;
      return res; // could not refresh now: the caller sees the 401
    }
    return this.send(template, next, false);
  }

  /**
   * send sends a copy of template with rec's access token: a bearer token,
   * or a DPoP-bound one with a proof for this request (RFC 9449 section 7).
   * A server that answers that it wants a (new) nonce gets the request once
   * more with it (section 9); the first attempt of template keeps it
   * unsent, for the retry after a refresh.
   */
  private async send(template: Request, rec: Stored, keepTemplate: boolean): Promise<Response> {
    if (rec.tokenType !== "DPoP") {
      const req = keepTemplate ? template.clone() : template;
      req.headers.set("Authorization", `Bearer ${rec.accessToken}`);
      return this.fetchImpl(req);
    }
    if (!this.dpop) throw new RefreshingError("fetch: the tokens are DPoP-bound and this client has no dpop option", { kind: "rejected" });
    const key = await this.dpop.forRecord(rec.jkt);
    let nonceRetried = false;
    let clockRetried = false;
    for (;;) {
      const req = template.clone();
      const sent = this.nonces.get(req.url);
      const sentAt = Date.now();
      req.headers.set("Authorization", `DPoP ${rec.accessToken}`);
      req.headers.set("DPoP", await createProof(key, req.method, req.url, { nonce: sent, accessToken: rec.accessToken, now: this.clock.now() }));
      const res = await this.fetchImpl(req);
      const nonce = this.nonces.keep(req.url, res);
      // A resource server of another origin may not expose its Date: then
      // only the token endpoint's answers set the clock.
      const skewed = this.clock.observe(res, sentAt);
      if (res.status !== 401) return res;
      if (nonce && nonce !== sent && wantsNonce(res) && !nonceRetried) {
        nonceRetried = true;
        continue;
      }
      if (skewed && refusedProof(res) && !clockRetried) {
        clockRetried = true;
        continue;
      }
      return res;
    }
  }

  /** authed sends a request to the server with the access token. */
  private async authed(path: string, init: RequestInit, what: string): Promise<Response> {
    const res = await this.fetch(this.base + path, init);
    if (!res.ok) throw await errorFromResponse(res, what);
    return res;
  }

  async sessions(): Promise<Session[]> {
    const res = await this.authed("/api/users/me/sessions", { method: "GET" }, "sessions");
    return (await res.json()) as Session[];
  }

  async revokeSession(id: string): Promise<void> {
    await this.authed(`/api/users/me/sessions/${encodeURIComponent(id)}`, { method: "DELETE" }, "revokeSession");
  }

  async logout(options: { scope?: "current" | "others" | "all" } = {}): Promise<void> {
    const scope = options.scope ?? "current";
    if (scope === "others" || scope === "all") {
      await this.authed(`/api/users/me/sessions?scope=${scope}`, { method: "DELETE" }, "logout");
      if (scope === "all") await this.signOut("logout");
      return;
    }
    if (scope !== "current") throw new TypeError(`logout: unknown scope ${String(scope)}`);
    const rec = await this.read();
    try {
      if (this.cookieMode) {
        // The server revokes the cookie's session and clears the cookie.
        const res = await this.request("/api/auth/logout", { method: "POST", json: {} }, "logout");
        if (!res.ok && res.status !== 401) throw await errorFromResponse(res, "logout");
      } else if (rec?.refreshToken && this.dpop) {
        // An OAuth client's token is revoked at /oauth/revoke (RFC 7009), naming the client.
        const body = new URLSearchParams({ token: rec.refreshToken, token_type_hint: "refresh_token", client_id: this.clientId! }).toString();
        const res = await this.request("/oauth/revoke", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body }, "logout");
        if (!res.ok) throw await errorFromResponse(res, "logout");
      } else if (rec?.refreshToken) {
        const res = await this.request("/api/auth/revoke", { method: "POST", json: { token: rec.refreshToken } }, "logout");
        if (!res.ok) throw await errorFromResponse(res, "logout");
      }
    } finally {
      // Signed out here whatever the server said: the user asked for it.
      await this.signOut("logout");
    }
  }
}

/** timeoutSignal is AbortSignal.timeout where the engine has it (React Native may not). */
function timeoutSignal(ms: number): AbortSignal {
  if (typeof AbortSignal.timeout === "function") return AbortSignal.timeout(ms);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), ms);
  return ac.signal;
}

/** fresh reports whether rec's access token is not yet due for a refresh. */
function fresh(rec: Stored): boolean {
  const lifetime = Math.max(0, rec.expiresAt - rec.receivedAt);
  const margin = Math.min(maxMargin, lifetime / 10);
  return Date.now() < rec.expiresAt - margin;
}

function same(a: Stored, b: Stored): boolean {
  return a.accessToken === b.accessToken && a.refreshToken === b.refreshToken && a.expiresAt === b.expiresAt && a.jkt === b.jkt;
}

function parse(v: string | null | undefined): Stored | null {
  if (!v) return null;
  try {
    const r = JSON.parse(v) as Partial<Stored>;
    if (r.v !== 1 || typeof r.accessToken !== "string" || typeof r.expiresAt !== "number" || typeof r.receivedAt !== "number") return null;
    if (r.refreshToken !== undefined && typeof r.refreshToken !== "string") return null;
    if (r.tokenType !== undefined && (r.tokenType !== "DPoP" || typeof r.jkt !== "string")) return null;
    return r as Stored;
  } catch {
    return null;
  }
}
