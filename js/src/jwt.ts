/** The claims the client reads from an access token (it never verifies it: the API does). */
export interface AccessClaims {
  exp?: number;
  iat?: number;
}

function base64UrlDecode(s: string): string {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** claimsOf decodes a JWT's payload, or returns {} when it cannot. */
export function claimsOf(jwt: string): AccessClaims {
  const parts = jwt.split(".");
  if (parts.length !== 3 || !parts[1]) return {};
  try {
    const c = JSON.parse(base64UrlDecode(parts[1])) as Record<string, unknown>;
    return {
      exp: typeof c.exp === "number" ? c.exp : undefined,
      iat: typeof c.iat === "number" ? c.iat : undefined,
    };
  } catch {
    return {};
  }
}

/**
 * expiryOf returns when (ms since the epoch, on this machine's clock) jwt,
 * received at receivedAt, stops being usable. It trusts the token's lifetime
 * (exp - iat) rather than its exp, so that a wrong local clock does not
 * matter, and takes a second off for the whole seconds the claims are
 * written in. A token without those claims is taken to last a minute.
 */
export function expiryOf(jwt: string, receivedAt: number): number {
  const { exp, iat } = claimsOf(jwt);
  if (exp === undefined) return receivedAt + 60_000;
  const lifetime = iat !== undefined && exp > iat ? (exp - iat) * 1000 : Math.max(0, exp * 1000 - receivedAt);
  return receivedAt + Math.max(0, lifetime - 1000);
}
