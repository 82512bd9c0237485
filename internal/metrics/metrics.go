// Package metrics holds Refreshing's Prometheus metrics, on a registry of
// its own (never the global default one): HTTP requests by route pattern and
// status class, token exchanges and logins by outcome (it is the Service's
// refreshing.Observer), active sessions, Store operation latency (through
// the Store decorator Store), rate-limit rejections and the janitor's
// deletions.
//
// No label ever carries a user id, a token, an IP address or a raw path:
// routes are ServeMux patterns ("POST /api/auth/token"), so every label has
// a small, fixed set of values.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/refreshing/refreshing"
)

// Metrics is the set of Refreshing's metrics and the registry that serves
// them. Its methods are safe for concurrent use. Create it with New.
type Metrics struct {
	reg *prometheus.Registry

	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	exchanges      *prometheus.CounterVec
	logins         *prometheus.CounterVec
	activeSessions prometheus.Gauge
	activeAt       prometheus.Gauge
	storeLatency   *prometheus.HistogramVec
	rateLimited    *prometheus.CounterVec
	purged         prometheus.Counter
	mail           *mailMetrics // mail.go
}

var _ refreshing.Observer = (*Metrics)(nil)

// latencyBuckets suit a service whose exchanges take about a millisecond and
// whose password checks take tens of milliseconds.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New returns the metrics, registered on a new registry together with the
// Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refreshing_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status class.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "refreshing_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and status class.",
			Buckets: latencyBuckets,
		}, []string{"route", "code"}),
		exchanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refreshing_token_exchanges_total",
			Help: "Refresh-token exchanges, by outcome (rotated, kept, grace, reuse_detected, expired, revoked, invalid, error).",
		}, []string{"outcome"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refreshing_logins_total",
			Help: "Credential checks (login, token request, password grant), by outcome.",
		}, []string{"outcome"}),
		activeSessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "refreshing_active_sessions",
			Help: "Sessions that are neither revoked nor expired, as last counted.",
		}),
		activeAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "refreshing_active_sessions_counted_timestamp_seconds",
			Help: "When refreshing_active_sessions was last counted (Unix time).",
		}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "refreshing_store_operation_duration_seconds",
			Help:    "Time of each storage operation, by operation and result (ok, not_found, conflict, stale, unavailable, error).",
			Buckets: latencyBuckets,
		}, []string{"op", "result"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refreshing_rate_limited_total",
			Help: "Requests refused with 429 by the rate limits, by route pattern.",
		}, []string{"route"}),
		purged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "refreshing_janitor_deleted_sessions_total",
			Help: "Ended sessions the janitor deleted after the retention.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.exchanges, m.logins, m.activeSessions, m.activeAt,
		m.storeLatency, m.rateLimited, m.purged,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.mail = newMailMetrics(m.reg)
	// Every outcome is present from the start, at zero, so that rate()
	// and alerts see a series before its first event.
	for _, o := range []refreshing.Outcome{refreshing.OutcomeRotated, refreshing.OutcomeKept, refreshing.OutcomeGrace,
		refreshing.OutcomeReuseDetected, refreshing.OutcomeExpired, refreshing.OutcomeRevoked,
		refreshing.OutcomeInvalid, refreshing.OutcomeError} {
		m.exchanges.WithLabelValues(string(o))
	}
	for _, o := range []refreshing.LoginOutcome{refreshing.LoginSuccess, refreshing.LoginInvalid, refreshing.LoginBlocked,
		refreshing.LoginNotConfirmed, refreshing.LoginBadInput, refreshing.LoginError} {
		m.logins.WithLabelValues(string(o))
	}
	return m
}

// Registry returns the registry the metrics live on, for tests and for
// adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// unmatched is the route label of requests no pattern matched, so that
// probes of random paths cannot create series.
const unmatched = "unmatched"

// Route returns the route label of a request whose ServeMux pattern is
// pattern: the pattern, or "unmatched" when none matched. Access logs use it
// too, so that logs and metrics name routes alike.
func Route(pattern string) string {
	if pattern == "" {
		return unmatched
	}
	return pattern
}

// SetBuildInfo exports refreshing_build_info{version,goversion} 1: which
// build runs, for dashboards and for spotting instances left on an old one.
func (m *Metrics) SetBuildInfo(version, goversion string) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "refreshing_build_info",
		Help: "Always 1; its labels name the version and Go toolchain of the running binary.",
	}, []string{"version", "goversion"})
	g.WithLabelValues(version, goversion).Set(1)
	m.reg.MustRegister(g)
}

// WatchAuditDropped exports refreshing_audit_events_dropped_total, read from
// dropped (Service.AuditDropped) at each scrape: audit events dropped because
// the audit writer's buffer was full. Any increase means the audit log has
// gaps.
func (m *Metrics) WatchAuditDropped(dropped func() int64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "refreshing_audit_events_dropped_total",
		Help: "Audit events dropped because the audit writer could not keep up (the audit log has gaps).",
	}, func() float64 { return float64(dropped()) }))
}

// statusClass returns "2xx", "4xx"... for an HTTP status.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// Request records one answered request: route is the ServeMux pattern that
// matched ("" when none did), status the HTTP status sent.
func (m *Metrics) Request(route string, status int, d time.Duration) {
	route = Route(route)
	code := statusClass(status)
	m.requests.WithLabelValues(route, code).Inc()
	m.latency.WithLabelValues(route, code).Observe(d.Seconds())
	if status == http.StatusTooManyRequests {
		m.rateLimited.WithLabelValues(route).Inc()
	}
}

// Exchanged implements refreshing.Observer.
func (m *Metrics) Exchanged(o refreshing.Outcome) { m.exchanges.WithLabelValues(string(o)).Inc() }

// LoggedIn implements refreshing.Observer.
func (m *Metrics) LoggedIn(o refreshing.LoginOutcome) { m.logins.WithLabelValues(string(o)).Inc() }

// Purged implements refreshing.Observer.
func (m *Metrics) Purged(n int) { m.purged.Add(float64(n)) }

// Counter is what WatchActiveSessions reads: the Service's count of active
// sessions.
type Counter func(ctx context.Context) (int64, error)

// WatchActiveSessions sets the active-sessions gauge from count now and then
// every interval until ctx ends. Counting reads an index of live sessions;
// doing it on a timer, not per scrape, bounds its cost however often
// Prometheus scrapes. A failed count leaves the last value (and its
// timestamp, which then ages) and is logged.
func (m *Metrics) WatchActiveSessions(ctx context.Context, interval time.Duration, count Counter, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, interval)
		n, err := count(cctx)
		cancel()
		switch {
		case err == nil:
			m.activeSessions.Set(float64(n))
			m.activeAt.SetToCurrentTime()
		case ctx.Err() == nil:
			log.WarnContext(ctx, "count active sessions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
