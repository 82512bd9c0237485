/**
 * What went wrong, in a word a program can switch on:
 *
 * - `signed_out`: there is no session (never signed in, logged out, or the
 *   server refused the refresh token: revoked, reused, expired). Stored tokens
 *   are gone; sign in again.
 * - `rate_limited`: the server answered 429. `retryAt` says when to try again;
 *   the client does not try before then.
 * - `network`: no answer (offline, DNS, timeout, CORS refusal). Tokens are kept.
 * - `server`: a 5xx. Tokens are kept.
 * - `rejected`: any other 4xx, for example wrong credentials on login
 *   (`code` is the server's error name, such as `ValidationError`).
 */
export type ErrorKind = "signed_out" | "rate_limited" | "network" | "server" | "rejected";

/** Options of {@link RefreshingError}. */
export interface RefreshingErrorOptions {
  kind: ErrorKind;
  /** The HTTP status, when the server answered. */
  status?: number;
  /** The server's error name (Strapi's `error.name`, or OAuth's `error`). */
  code?: string;
  /** The server's `error.details`, when it sent any. */
  details?: unknown;
  /** When (ms since the epoch) another attempt may be made, after a 429 or a failure. */
  retryAt?: number;
  cause?: unknown;
}

/** Every error this package throws (promises reject with it). */
export class RefreshingError extends Error {
  /** What went wrong: see {@link ErrorKind}. */
  readonly kind: ErrorKind;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly details: unknown;
  readonly retryAt: number | undefined;

  constructor(message: string, options: RefreshingErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RefreshingError";
    this.kind = options.kind;
    this.status = options.status;
    this.code = options.code;
    this.details = options.details;
    this.retryAt = options.retryAt;
  }

  /** True when the error leaves the stored tokens in place (worth retrying later). */
  get transient(): boolean {
    return this.kind === "network" || this.kind === "server" || this.kind === "rate_limited";
  }
}

/** The error of a call made while signed out. */
export function signedOutError(message = "not signed in", cause?: unknown): RefreshingError {
  return new RefreshingError(message, { kind: "signed_out", cause });
}

/**
 * errorFromResponse reads the server's error answer: Strapi's shape on /api
 * (`{error: {status, name, message, details}}`) or RFC 6749's on /oauth.
 */
export async function errorFromResponse(res: Response, what: string): Promise<RefreshingError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  let code: string | undefined;
  let message = `${what}: HTTP ${res.status}`;
  let details: unknown;
  if (body && typeof body === "object") {
    const b = body as { error?: unknown; error_description?: unknown };
    if (b.error && typeof b.error === "object") {
      const e = b.error as { name?: unknown; message?: unknown; details?: unknown };
      if (typeof e.name === "string") code = e.name;
      if (typeof e.message === "string") message = `${what}: ${e.message}`;
      details = e.details;
    } else if (typeof b.error === "string") {
      code = b.error;
      if (typeof b.error_description === "string") message = `${what}: ${b.error_description}`;
    }
  }
  const kind: ErrorKind = res.status === 429 ? "rate_limited" : res.status >= 500 ? "server" : "rejected";
  const retryAt = kind === "rate_limited" ? Date.now() + retryAfterMs(res.headers.get("Retry-After"), 1000) : undefined;
  return new RefreshingError(message, { kind, status: res.status, code, details, retryAt });
}

/** retryAfterMs parses a Retry-After header (seconds or an HTTP date). */
export function retryAfterMs(v: string | null, fallback: number): number {
  if (!v) return fallback;
  const s = Number(v.trim());
  if (Number.isFinite(s) && s >= 0) return Math.min(s * 1000, 3600_000);
  const t = Date.parse(v);
  if (Number.isFinite(t)) return Math.max(0, Math.min(t - Date.now(), 3600_000));
  return fallback;
}
