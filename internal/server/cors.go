package server

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/refreshing/refreshing"
)

// CORS (docs/browser.md): a single-page app served from another origin may
// call the endpoints a browser app uses (/api, /oauth and /.well-known) if
// and only if its origin is in the AllowedOrigins setting, the same list
// that admits the refresh cookie (cookie.go). A listed origin gets its own
// origin echoed back with credentials allowed; any other origin gets no
// Access-Control-* header at all, so its page cannot read an answer. There
// is never a wildcard: answers carry credentials (the refresh cookie) and
// tokens. The admin screens, /metrics and the health checks never carry
// CORS headers.
//
// What this does not do: decide who may call. A request from an unlisted
// origin still reaches its handler (a browser sends simple requests without
// asking first); it is the missing headers that stop the page from reading
// the answer, and cookie.go's Origin check that stops the cookie from
// authenticating it.

const (
	// corsMethods are the methods the browser endpoints answer.
	corsMethods = "GET, POST, DELETE"
	// corsHeaders are the request headers a browser app may send: bearer
	// tokens, JSON bodies, Strapi 5's cookie-mode switch, and DPoP proofs
	// (RFC 9449) for clients that send them.
	corsHeaders = "Authorization, Content-Type, x-strapi-refresh-cookie, DPoP"
	// corsExposed are the response headers a page may read besides the
	// CORS-safelisted ones: when to retry after a 429, why a bearer token
	// was refused, the id that matches an answer with the logs, the DPoP
	// nonce to put in the next proof (RFC 9449 section 8), and the server's
	// time, by which a client with a clock far off dates its proofs.
	corsExposed = "Retry-After, WWW-Authenticate, X-Request-Id, DPoP-Nonce, Date"
	// corsMaxAge is how long (seconds) a browser may remember a preflight;
	// Chromium caps it at 7200, Firefox at 86400.
	corsMaxAge = "600"
)

// corsPath reports whether path is one a browser app calls cross-origin.
func corsPath(path string) bool {
	for _, p := range []string{"/api/", "/oauth/", "/.well-known/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// originList is the parsed AllowedOrigins setting, kept with the text it
// was parsed from so that it is parsed again only when the setting changes.
type originList struct {
	raw     string
	origins map[string]bool
}

// corsOrigins caches the parsed allow-list between requests.
type corsOrigins struct{ cur atomic.Pointer[originList] }

// allowed reports whether origin (as a browser sends it: scheme://host[:port],
// lower case) is on the list the setting raw holds.
func (c *corsOrigins) allowed(raw, origin string) bool {
	l := c.cur.Load()
	if l == nil || l.raw != raw {
		parsed, _ := refreshing.ParseOrigins(raw) // validated when saved
		l = &originList{raw: raw, origins: make(map[string]bool, len(parsed))}
		for _, o := range parsed {
			l.origins[o] = true
		}
		c.cur.Store(l)
	}
	return l.origins[strings.ToLower(origin)]
}

// cors answers preflights and adds the CORS headers of listed origins on
// the browser paths (see above). Requests without an Origin header (every
// non-browser client) pay nothing but the Vary header.
func (s *server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !corsPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		// The answer depends on Origin whether or not this request has one:
		// a shared cache must not serve one origin's answer to another.
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		ok := false
		if st, err := s.svc.Settings(r.Context()); err == nil {
			ok = s.corsOrigins.allowed(st.AllowedOrigins, origin)
		}
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if preflight {
			// Answered here for every browser path, listed or not: an
			// unlisted origin gets a 204 without CORS headers, which the
			// browser treats as a refusal.
			if ok {
				h.Set("Access-Control-Allow-Methods", corsMethods)
				h.Set("Access-Control-Allow-Headers", corsHeaders)
				h.Set("Access-Control-Max-Age", corsMaxAge)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if ok {
			h.Set("Access-Control-Expose-Headers", corsExposed)
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin reports whether r comes from a page of a listed origin other
// than this server's own: such a page's requests to us are cross-site, or
// may be, so the refresh cookie must be SameSite=None to reach us (see
// setRefreshCookie). A request of this server's own origin, or of no
// browser at all, is not.
func (s *server) crossOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return false
	}
	if i := strings.Index(origin, "://"); i >= 0 && strings.EqualFold(origin[i+3:], r.Host) {
		return false
	}
	st, err := s.svc.Settings(r.Context())
	if err != nil {
		return false
	}
	return s.corsOrigins.allowed(st.AllowedOrigins, origin)
}
