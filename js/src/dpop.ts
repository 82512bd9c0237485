/**
 * DPoP (RFC 9449): the client holds an ES256 key pair whose private half
 * JavaScript cannot read (WebCrypto, `extractable: false`), and signs a
 * small JWT, the proof, for every request that uses its tokens. The server
 * binds the tokens to the key, so a stolen refresh or access token is
 * useless without it.
 *
 * In a browser the key pair is kept in IndexedDB (CryptoKeys are stored as
 * they are, still non-extractable), under a name per storage key: every tab
 * of the origin signs with the same key, so a session refreshed by one tab
 * is usable by all. Where there is no IndexedDB (Node, React Native) the key
 * lives in the client's memory only, unless the app passes its own.
 */

import { randomId } from "./lock.js";

/** One key pair with what proofs need of it. */
export interface DPoPKey {
  keyPair: CryptoKeyPair;
  /** The public key as a JWK (crv, kty, x, y: also its RFC 7638 form). */
  jwk: { crv: string; kty: string; x: string; y: string };
  /** The key's SHA-256 JWK thumbprint (RFC 7638), base64url: the tokens' cnf.jkt. */
  jkt: string;
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url encodes bytes without padding (no btoa: some engines lack it). */
export function base64Url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  if (i < bytes.length) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]!;
    if (i + 1 < bytes.length) out += alphabet[(n >> 6) & 63]!;
  }
  return out;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!s) throw new TypeError("DPoP needs WebCrypto (crypto.subtle): a secure context in browsers, Node 20+");
  return s;
}

/** generateKeyPair makes a new ES256 key pair whose private key cannot be exported. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return subtle().generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
}

/** describeKey returns a key pair with its JWK and thumbprint. */
export async function describeKey(keyPair: CryptoKeyPair): Promise<DPoPKey> {
  const full = await subtle().exportKey("jwk", keyPair.publicKey); // a public key is always exportable
  if (full.kty !== "EC" || full.crv !== "P-256" || !full.x || !full.y) throw new TypeError("DPoP: the key must be an ECDSA P-256 key (ES256)");
  const jwk = { crv: full.crv, kty: full.kty, x: full.x, y: full.y };
  const jkt = base64Url(new Uint8Array(await subtle().digest("SHA-256", utf8(JSON.stringify(jwk)))));
  return { keyPair, jwk, jkt };
}

/** hashToken is the ath claim of a proof sent with accessToken: base64url(SHA-256). */
export async function hashToken(accessToken: string): Promise<string> {
  return base64Url(new Uint8Array(await subtle().digest("SHA-256", utf8(accessToken))));
}

/**
 * createProof signs a DPoP proof (RFC 9449 section 4.2) for a request with
 * method htm to url (its query and fragment are left out), with the
 * server's nonce when it gave one, and the hash of the access token sent
 * with the request (section 7.1).
 */
export async function createProof(key: DPoPKey, htm: string, url: string, opts: { nonce?: string; accessToken?: string; now?: number } = {}): Promise<string> {
  const u = new URL(url);
  u.search = "";
  u.hash = "";
  u.username = "";
  u.password = "";
  const claims: Record<string, string | number> = { jti: randomId(), htm: htm.toUpperCase(), htu: u.href, iat: Math.floor((opts.now ?? Date.now()) / 1000) };
  if (opts.nonce) claims.nonce = opts.nonce;
  if (opts.accessToken) claims.ath = await hashToken(opts.accessToken);
  const input = `${base64Url(utf8(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk: key.jwk })))}.${base64Url(utf8(JSON.stringify(claims)))}`;
  // WebCrypto's ECDSA signature is already JWS's R || S.
  const sig = await subtle().sign({ name: "ECDSA", hash: "SHA-256" }, key.keyPair.privateKey, utf8(input));
  return `${input}.${base64Url(new Uint8Array(sig))}`;
}

const dbName = "refreshing-dpop";
const storeName = "keys";

function idb(): IDBFactory | undefined {
  try {
    const f = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    return f && typeof f.open === "function" ? f : undefined;
  } catch {
    return undefined; // some private modes throw on access
  }
}

function openDb(f: IDBFactory): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = f.open(dbName, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(storeName);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * withStore runs fn in one readwrite transaction on the key store: the
 * transactions of every tab are serialised, so a read followed by a write
 * in fn is atomic.
 */
async function withStore<T>(f: IDBFactory, fn: (store: IDBObjectStore, done: (v: T) => void) => void): Promise<T> {
  const db = await openDb(f);
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(storeName, "readwrite");
      let out: T | undefined;
      let set = false;
      fn(tx.objectStore(storeName), (v) => {
        out = v;
        set = true;
      });
      tx.oncomplete = () => (set ? resolve(out as T) : reject(new Error("DPoP key store: no result")));
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("DPoP key store: transaction aborted"));
    });
  } finally {
    db.close();
  }
}

const isPair = (v: unknown): v is CryptoKeyPair =>
  !!v && typeof v === "object" && "privateKey" in v && "publicKey" in v && !!(v as CryptoKeyPair).privateKey;

/**
 * DPoPKeys is the client's key: one per storage key, shared through
 * IndexedDB by the tabs of an origin. A record of tokens names the key it
 * is bound to (its thumbprint), and a tab reloads the key when the record
 * it holds names another (a tab that signed in again made a new one).
 */
export class DPoPKeys {
  private cur: DPoPKey | undefined;
  private readonly name: string;
  private readonly given: CryptoKeyPair | undefined;

  constructor(name: string, given?: CryptoKeyPair) {
    this.name = name;
    this.given = given;
  }

  /** Whether the key is kept where other tabs (and later page loads) find it. */
  get persistent(): boolean {
    return !this.given && idb() !== undefined;
  }

  /** forRecord returns the key a record bound to jkt needs (the current one when jkt is not given). */
  async forRecord(jkt: string | undefined): Promise<DPoPKey> {
    if (this.cur && (jkt === undefined || this.cur.jkt === jkt)) return this.cur;
    if (this.given) return (this.cur = await describeKey(this.given));
    const f = idb();
    if (!f) return (this.cur ??= await describeKey(await generateKeyPair()));
    const stored = await withStore<CryptoKeyPair | undefined>(f, (store, done) => {
      const get = store.get(this.name);
      get.onsuccess = () => done(isPair(get.result) ? get.result : undefined);
    });
    if (stored) return (this.cur = await describeKey(stored));
    // None yet: make one, unless another tab does first.
    const fresh = await describeKey(await generateKeyPair());
    const kept = await withStore<CryptoKeyPair>(f, (store, done) => {
      const get = store.get(this.name);
      get.onsuccess = () => {
        if (isPair(get.result)) return done(get.result);
        store.put(toStore(fresh), this.name);
        done(fresh.keyPair);
      };
    });
    return (this.cur = await describeKey(kept));
  }

  /**
   * fresh makes a new key for a new sign-in, so that two sessions of one
   * browser do not share a key (an app's own key pair, when it gave one, is
   * used as it is). It is not kept until {@link keep}: a failed sign-in
   * leaves the key of the current session in place.
   */
  async fresh(): Promise<DPoPKey> {
    return describeKey(this.given ?? (await generateKeyPair()));
  }

  /** keep makes key the one every tab uses from now on: the new session is bound to it. */
  async keep(key: DPoPKey): Promise<void> {
    const f = idb();
    if (f && !this.given) {
      await withStore<true>(f, (store, done) => {
        store.put(toStore(key), this.name);
        done(true);
      });
    }
    this.cur = key;
  }

  /**
   * forget deletes the key with thumbprint jkt once the session bound to it
   * has ended (a sign-out), so that no key that signs for nothing stays in
   * the browser. A key another tab has kept since (a new sign-in) stays:
   * only the one with this thumbprint goes.
   */
  async forget(jkt: string): Promise<void> {
    if (this.cur?.jkt === jkt) this.cur = undefined;
    const f = idb();
    if (!f || this.given) return;
    await withStore<true>(f, (store, done) => {
      const get = store.get(this.name);
      get.onsuccess = () => {
        if ((get.result as { jkt?: unknown } | undefined)?.jkt === jkt) store.delete(this.name);
        done(true);
      };
    });
  }
}

/** toStore is what IndexedDB keeps of key: the pair, and its thumbprint for {@link DPoPKeys.forget}. */
function toStore(key: DPoPKey): { privateKey: CryptoKey; publicKey: CryptoKey; jkt: string } {
  return { privateKey: key.keyPair.privateKey, publicKey: key.keyPair.publicKey, jkt: key.jkt };
}

/**
 * Nonces keeps the latest DPoP-Nonce each server gave, for the next proofs
 * to it (RFC 9449 sections 8 and 9): the token endpoint's apart from the
 * resource servers' (by origin), as an authorization server and a resource
 * server on one origin may each have their own.
 */
export class Nonces {
  private readonly m = new Map<string, string>();

  private static slot(url: string, tokenEndpoint: boolean): string {
    return tokenEndpoint ? `token ${url}` : new URL(url).origin;
  }

  get(url: string, tokenEndpoint = false): string | undefined {
    return this.m.get(Nonces.slot(url, tokenEndpoint));
  }

  /** keep remembers res's DPoP-Nonce, if it has one, and returns it. */
  keep(url: string, res: Response, tokenEndpoint = false): string | undefined {
    const n = res.headers.get("DPoP-Nonce");
    if (!n || n.length > 1024) return undefined;
    if (this.m.size >= 100) this.m.clear();
    this.m.set(Nonces.slot(url, tokenEndpoint), n);
    return n;
  }
}

/**
 * ServerClock learns how far this device's clock is from the server's, from
 * the Date header of the server's answers, so that a proof's iat is in the
 * server's time. Refreshing accepts an iat from 60 s before its own time to
 * 5 s after it: on a device whose clock is a few seconds fast every proof
 * would be refused, and the user could not sign in. Offsets under 3 s are
 * ignored (Date has a resolution of a second, and the round trip blurs it).
 */
export class ServerClock {
  private offset = 0;

  /** now is the server's time as this device reckons it, in ms. */
  now(): number {
    return Date.now() + this.offset;
  }

  /**
   * observe reads the Date of res, an answer to a request sent at sentAt
   * (local ms), and reports whether the offset changed by a second or more.
   */
  observe(res: Response, sentAt: number): boolean {
    const date = Date.parse(res.headers.get("Date") ?? "");
    if (!Number.isFinite(date)) return false; // absent, or not exposed to this page (CORS)
    // The server's time when it answered is in [date, date + 1 s); ours was
    // between sending and now.
    const measured = date + 500 - (sentAt + Date.now()) / 2;
    const next = Math.abs(measured) < 3000 ? 0 : measured;
    if (Math.abs(next - this.offset) < 1000) return false;
    this.offset = next;
    return true;
  }
}

/** wantsNonce reports whether a resource server's 401 asks for its nonce (RFC 9449 section 9). */
export function wantsNonce(res: Response): boolean {
  const h = res.headers.get("WWW-Authenticate") ?? "";
  return /(^|,)\s*DPoP\b[^]*use_dpop_nonce/i.test(h);
}

/** refusedProof reports whether a resource server's 401 refuses the DPoP proof itself (a clock far off, say). */
export function refusedProof(res: Response): boolean {
  const h = res.headers.get("WWW-Authenticate") ?? "";
  return /(^|,)\s*DPoP\b[^]*invalid_dpop_proof/i.test(h);
}
