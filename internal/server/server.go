// Package server is the HTTP surface of Refreshing: the Strapi-compatible
// /api endpoints (users-permissions and the "refreshing" plugin), the
// standard OAuth 2.0 endpoints (/oauth and /.well-known) and the health
// checks, on plain net/http.
//
// Every rule lives in refreshing.Service; this package only decodes requests,
// calls the Service, and encodes its answers and errors. routes.go lists the
// whole surface; encode.go holds the single table from errors to statuses
// for /api, oauth.go the one for /oauth (RFC 6749's error shape).
package server

import (
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/dpop"
	"github.com/refreshing/refreshing/internal/idp"
	"github.com/refreshing/refreshing/internal/metrics"
	"github.com/refreshing/refreshing/internal/ratelimit"
)

// Options configures the handler New returns.
type Options struct {
	// Logger receives one access line per request and internal errors. It
	// never sees request bodies, tokens, passwords, Authorization or cookies.
	// Nil discards everything.
	Logger *slog.Logger
	// TrustedProxies are the networks whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed. A request from any other peer
	// is attributed to the peer, and its scheme is unknown unless TLS.
	TrustedProxies []netip.Prefix
	// Limiter keeps the rate-limit budgets (see ratelimit.go); nil keeps
	// them in this process's memory (ratelimit.NewMemory). Several instances
	// share budgets through a ratelimit.Redis.
	Limiter ratelimit.Limiter
	// Metrics receives a count and a duration per request, served at GET
	// /metrics; nil makes a fresh set. Pass the one the Service observes
	// into (refreshing.Config.Observer) to serve its counters too.
	Metrics *metrics.Metrics
	// BridgeSecret, when set, opens the Strapi bridge routes (/api/bridge,
	// bridge.go) to callers presenting it; at least
	// refreshing.MinBridgeSecretLen bytes. Empty: those routes answer 404.
	BridgeSecret string
}

// server holds what every handler needs.
type server struct {
	svc     *refreshing.Service
	log     *slog.Logger
	trusted []netip.Prefix

	limiter       ratelimit.Limiter
	limiterLogged limiterLog
	storage       storageHealth // storage failures, for /readyz
	metrics       *metrics.Metrics
	providers     *idp.Registry               // the sign-in providers' clients (signin.go), built from the Service's configurations
	corsOrigins   corsOrigins                 // the parsed allowedOrigins setting (cors.go)
	bridgeDigest  []byte                      // SHA-256 of the bridge secret; nil when none
	dpopReplay    *dpop.ReplayCache           // DPoP proofs seen (dpop.go): per instance
	dpopNonces    atomic.Pointer[dpop.Nonces] // DPoP nonces (dpop.go), once their key is read
}

// New returns the HTTP handler of Refreshing on svc.
func New(svc *refreshing.Service, opts Options) http.Handler {
	s := &server{svc: svc, log: opts.Logger, trusted: opts.TrustedProxies, limiter: opts.Limiter,
		providers: idp.NewRegistry(idp.Options{})}
	if s.metrics = opts.Metrics; s.metrics == nil {
		s.metrics = metrics.New()
	}
	if s.limiter == nil {
		s.limiter = ratelimit.NewMemory(nil, 0)
	}
	s.dpopReplay = dpop.NewReplayCache(dpopReplayMax, svc.Now)
	if opts.BridgeSecret != "" {
		d := sha256.Sum256([]byte(opts.BridgeSecret))
		s.bridgeDigest = d[:]
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	s.routes(mux)
	var h http.Handler = s.fallback(mux)
	h = s.checkURL(h)
	h = s.recoverPanic(h)
	h = s.cors(h) // CORS for browser apps on other origins (cors.go)
	h = securityHeaders(h)
	h = s.accessLog(h)
	h = requestID(h)
	h = closeChunked(h)
	return h
}
