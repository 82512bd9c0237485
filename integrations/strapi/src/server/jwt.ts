// Verification of Refreshing's access tokens: EdDSA against Refreshing's
// JWKS (fetched, cached, refetched on an unknown kid at most once per
// refetchInterval), or HS256 with Strapi's users-permissions jwtSecret (the
// secret Refreshing is given as REFRESHING_JWT_SECRET in that mode).

import { createHmac, createPublicKey, KeyObject, timingSafeEqual, verify } from 'node:crypto';

/** The claims the plugin relies on. */
export interface AccessClaims {
  /** Refreshing's user id, as a decimal string: the stable subject. */
  sub: string;
  /** The session the token was issued from ("" when none). */
  sid: string;
  iss: string;
  exp: number;
}

/** A token that is not Refreshing's: another strategy may look at it. */
export const NOT_OURS = Symbol('not ours');

/** Why a token of Refreshing's was refused. */
export class TokenError extends Error {}

/** Leeway on exp and iat, in seconds. */
const LEEWAY = 1;

interface Segments {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signed: Buffer;
  signature: Buffer;
}

function b64json(s: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * split parses a compact JWS without verifying it. It returns undefined for
 * anything that is not a JWT (an API token, garbage).
 */
export function split(token: string): Segments | undefined {
  if (token.length > 4096) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  const header = b64json(h);
  const payload = b64json(p);
  if (!header || !payload) return undefined;
  return { header, payload, signed: Buffer.from(`${h}.${p}`), signature: Buffer.from(s, 'base64url') };
}

/**
 * isRefreshings reports whether an (unverified) payload claims to come from
 * Refreshing: Strapi's own tokens never carry iss, sub or sid (legacy ones
 * carry {id}, refresh-mode ones {userId, sessionId, type}). Such a token is
 * decided by this plugin alone and never reaches users-permissions, whose
 * legacy mode would read its numeric id as a Strapi user's.
 */
export function isRefreshings(payload: Record<string, unknown>): boolean {
  return 'iss' in payload || 'sub' in payload || 'sid' in payload;
}

/** Fetches JSON; the plugin's one HTTP helper for Refreshing's public documents. */
export type FetchJSON = (path: string) => Promise<unknown>;

/** Keys caches Refreshing's JWKS and issuer. */
export class Keys {
  private keys = new Map<string, KeyObject>();
  private issuer = '';
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly fetchJSON: FetchJSON,
    private readonly now: () => number = Date.now,
    /** The least time between two fetches caused by unknown kids (ms). */
    private readonly refetchInterval = 5000,
    /** How long a fetched JWKS is used before it is fetched again (ms). */
    private readonly maxAge = 5 * 60 * 1000,
  ) {}

  /** load fetches the JWKS and the issuer, one fetch at a time. */
  async load(): Promise<void> {
    if (!this.loading) {
      this.loading = (async () => {
        try {
          const [jwks, meta] = await Promise.all([
            this.fetchJSON('/.well-known/jwks.json'),
            this.fetchJSON('/.well-known/oauth-authorization-server'),
          ]);
          const keys = new Map<string, KeyObject>();
          const list = (jwks as { keys?: unknown }).keys;
          for (const k of Array.isArray(list) ? list : []) {
            const jwk = k as Record<string, unknown>;
            if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.kid !== 'string' || typeof jwk.x !== 'string') continue;
            keys.set(jwk.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }));
          }
          const issuer = (meta as { issuer?: unknown }).issuer;
          if (typeof issuer !== 'string' || issuer === '') throw new Error('Refreshing published no issuer');
          this.keys = keys;
          this.issuer = issuer;
          this.loadedAt = this.now();
        } finally {
          this.loading = undefined;
        }
      })();
    }
    return this.loading;
  }

  /** key returns the public key named kid, fetching the JWKS when needed. */
  async key(kid: string): Promise<KeyObject | undefined> {
    const age = this.now() - this.loadedAt;
    if (this.loadedAt === 0 || age > this.maxAge) {
      await this.load();
    } else if (!this.keys.has(kid) && age > this.refetchInterval) {
      // Perhaps Refreshing rotated its key: look again, at most once per
      // refetchInterval, so that made-up kids cannot hammer Refreshing.
      await this.load();
    }
    return this.keys.get(kid);
  }

  /** expectedIssuer returns Refreshing's issuer, fetching it when needed. */
  async expectedIssuer(): Promise<string> {
    if (this.loadedAt === 0) await this.load();
    return this.issuer;
  }
}

/**
 * verifyToken verifies a token that isRefreshings and returns its claims, or
 * throws TokenError. hsSecret is Strapi's jwtSecret (for HS256 tokens).
 */
export async function verifyToken(seg: Segments, keys: Keys, hsSecret: string | undefined, nowSeconds: number): Promise<AccessClaims> {
  const alg = seg.header.alg;
  if (alg === 'EdDSA') {
    const typ = seg.header.typ;
    if (typ !== 'at+jwt' && typ !== 'application/at+jwt') throw new TokenError('not an access token');
    const kid = seg.header.kid;
    if (typeof kid !== 'string') throw new TokenError('no kid');
    const key = await keys.key(kid);
    if (!key) throw new TokenError('unknown kid');
    if (!verify(null, seg.signed, key, seg.signature)) throw new TokenError('bad signature');
  } else if (alg === 'HS256') {
    if (!hsSecret) throw new TokenError('HS256 token but Strapi has no jwtSecret');
    const mac = createHmac('sha256', hsSecret).update(seg.signed).digest();
    if (mac.length !== seg.signature.length || !timingSafeEqual(mac, seg.signature)) throw new TokenError('bad signature');
  } else {
    throw new TokenError('algorithm not accepted');
  }
  const p = seg.payload;
  const iss = await keys.expectedIssuer();
  if (p.iss !== iss) throw new TokenError('wrong issuer');
  if (typeof p.exp !== 'number' || p.exp + LEEWAY < nowSeconds) throw new TokenError('expired');
  if (typeof p.iat === 'number' && p.iat - LEEWAY > nowSeconds) throw new TokenError('issued in the future');
  if (typeof p.nbf === 'number' && p.nbf - LEEWAY > nowSeconds) throw new TokenError('not yet valid');
  if (typeof p.sub !== 'string' || !/^[1-9][0-9]{0,17}$/.test(p.sub)) throw new TokenError('bad subject');
  if (p.id !== undefined && String(p.id) !== p.sub) throw new TokenError('sub and id disagree');
  // A token bound to a DPoP key (RFC 9449: cnf.jkt) is good only with a
  // proof of that key, which Strapi's bearer routes cannot check: taken as
  // a bearer token it would be usable by whoever copied it (section 7.2).
  if (p.cnf !== undefined) throw new TokenError('a DPoP-bound token is not a bearer token');
  const sid = p.sid === undefined ? '' : p.sid;
  if (typeof sid !== 'string') throw new TokenError('bad sid');
  return { sub: p.sub, sid, iss, exp: p.exp };
}
