// The auth paths Strapi serves by forwarding them to Refreshing, so that
// clients that only know Strapi's URL change nothing. The same paths work at
// Refreshing's own URL, which saves a hop.

/** Paths forwarded whatever the method (Refreshing answers 404/405 for the rest). */
const EXACT = new Set([
  '/api/auth/local',
  '/api/auth/local/register',
  '/api/auth/local/refresh',
  '/api/auth/token/request',
  '/api/auth/token',
  '/api/auth/revoke',
  '/api/auth/refresh',
  '/api/auth/logout',
  '/api/auth/change-password',
  '/api/auth/forgot-password',
  '/api/auth/reset-password',
  '/api/auth/email-confirmation',
  '/api/auth/send-email-confirmation',
]);

/** Path prefixes forwarded, with everything under them. */
const PREFIXES = ['/api/users/me/sessions', '/api/auth/sessions'];

/** forwarded reports whether a request goes to Refreshing. */
export function forwarded(method: string, path: string): boolean {
  if (method === 'OPTIONS') return false; // CORS preflights are Strapi's to answer
  const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (EXACT.has(p)) return true;
  return PREFIXES.some((x) => p === x || p.startsWith(`${x}/`));
}
