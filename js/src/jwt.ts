/** The claims the client reads from an access token (it never verifies it: the API does). */
export interface AccessClaims {
  exp?: number;
  iat?: number;
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * base64UrlDecode decodes base64url to text without atob or TextDecoder,
 * which some JavaScript engines (older React Native) lack. Bytes above 0x7f
 * come out as Latin-1 characters: only the numeric claims are read.
 */
function base64UrlDecode(s: string): string {
  let out = "";
  let buf = 0;
  let bits = 0;
  for (const ch of s.replace(/=+$/, "")) {
    const v = alphabet.indexOf(ch === "+" ? "-" : ch === "/" ? "_" : ch);
    if (v < 0) throw new SyntaxError("not base64url");
    buf = (buf << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((buf >> bits) & 0xff);
    }
  }
  return out;
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
