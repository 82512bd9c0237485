package server

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Rate limiting (see SECURITY.md). Two budgets guard the endpoints where
// credentials or tokens are tried:
//
//   - per client IP and route: limit wraps the route's handler, inside the
//     ServeMux, so its key is the canonical route pattern (r.Pattern) and not
//     the path the client wrote. A path the mux does not route (other case,
//     trailing slash) never reaches a handler and costs nothing; query
//     strings are not part of a pattern.
//   - per identifier (an email or username), across every password endpoint
//     together: the handler charges it with limitIdentifier once it has
//     decoded the body, so the key is the identifier the Service will look
//     up, whatever other fields the body carries.
//
// A route opts in with one line in routes.go:
//
//	mux.Handle("POST /oauth/token", s.limit(limitExchange, s.handleOAuthToken()))
//
// and a handler that checks a password calls s.limitIdentifier after decoding.

// limitKind selects which per-IP budget of the Settings a route draws on.
type limitKind int

const (
	// limitCredential: endpoints that check a password (RateLimitIP).
	limitCredential limitKind = iota
	// limitExchange: endpoints that exchange a refresh token (RateLimitExchangeIP).
	limitExchange
)

// limit wraps h, which the ServeMux routes to, with the per-IP budget of kind.
func (s *server) limit(kind limitKind, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := s.svc.Settings(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		n := st.RateLimitIP
		if kind == limitExchange {
			n = st.RateLimitExchangeIP
		}
		if !s.allow(w, r, "ip|"+r.Pattern+"|"+ipKey(s.clientIP(r)), n, st.RateWindow) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// limitIdentifier charges one password attempt to identifier's budget. When
// the budget is spent it answers 429 and returns false. Identifiers are
// compared trimmed and lower-cased, so spelling variants share one budget.
func (s *server) limitIdentifier(w http.ResponseWriter, r *http.Request, identifier string) bool {
	id := strings.ToLower(strings.TrimSpace(identifier))
	if id == "" {
		return true // refused by validation, before any password work
	}
	st, err := s.svc.Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	return s.allow(w, r, "id|"+id, st.RateLimitIdentifier, st.RateWindow)
}

// allow asks the limiter for one event under key and answers 429 when it is
// refused. A limiter that lost its shared backend still decides (with this
// instance's budget); the failure is logged, at most every limiterLogEvery.
func (s *server) allow(w http.ResponseWriter, r *http.Request, key string, n int, window time.Duration) bool {
	d, err := s.limiter.Allow(r.Context(), key, n, window)
	if err != nil {
		now := time.Now().UnixNano()
		if last := s.limiterLogged.Load(); now-last >= int64(limiterLogEvery) && s.limiterLogged.CompareAndSwap(last, now) {
			s.log.WarnContext(r.Context(), "rate limiter degraded", "request_id", requestIDFrom(r.Context()), "err", err)
		}
	}
	if d.Allowed {
		return true
	}
	tooManyRequests(w, r, d.RetryAfter)
	return false
}

// limiterLogEvery spaces out the warnings of a degraded limiter.
const limiterLogEvery = 10 * time.Second

// limiterLog is the time of the last "rate limiter degraded" warning.
type limiterLog = atomic.Int64

// tooManyRequests answers 429 with Retry-After (whole seconds, at least 1):
// RFC 6749's error shape on /oauth routes, Strapi's RateLimitError elsewhere.
func tooManyRequests(w http.ResponseWriter, r *http.Request, retry time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(retry.Seconds())))))
	if _, path, _ := strings.Cut(r.Pattern, " "); strings.HasPrefix(path, "/oauth/") {
		writeJSON(w, http.StatusTooManyRequests, map[string]string{
			"error": "invalid_request", "error_description": "too many requests",
		})
		return
	}
	writeError(w, errRateLimited)
}

// ipKey is the part of a client address a budget is kept for: the address
// for IPv4, its /64 network for IPv6, since one subscriber usually holds a
// whole /64 and could otherwise rotate through fresh addresses.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
