package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/refreshing/refreshing/internal/metrics"
)

type ctxKey int

const requestIDKey ctxKey = iota

// requestID gives every request a random id, in its context and in the
// X-Request-Id response header, so a client's report can be matched with
// the logs.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := rand.Text()
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// requestIDFrom returns the request id requestID put in ctx.
func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog writes one line per request: method, route pattern (or
// "unmatched", as in the metrics), status, duration in milliseconds
// (duration_ms, a number with microsecond precision) and request id. It deliberately logs nothing else: no path
// values, query, headers or bodies, which may carry tokens or passwords.
func (s *server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		// The ServeMux sets r.Pattern on this very request: no middleware
		// between here and the mux replaces the request.
		d := time.Since(start)
		s.metrics.Request(r.Pattern, sw.status, d)
		s.log.InfoContext(r.Context(), "request",
			"method", r.Method, "route", metrics.Route(r.Pattern), "status", sw.status,
			"duration_ms", float64(d.Microseconds())/1000, "request_id", requestIDFrom(r.Context()))
	})
}

// securityHeaders sets the headers every response carries. Responses under
// /api (which carry tokens and personal data) must never be cached.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanic turns a handler's panic into a logged 500 in Strapi's shape
// (when nothing was written yet), instead of a dropped connection.
func (s *server) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic", "request_id", requestIDFrom(r.Context()),
				"err", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw.status == 0 {
				writeError(sw, errInternal)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// fallback serves mux, answering its "not found" and "method not allowed"
// in Strapi's JSON shape instead of plain text.
func (s *server) fallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(&fallbackWriter{ResponseWriter: w}, r)
	})
}

// fallbackWriter replaces the ServeMux's plain-text 404 and 405 answers
// with JSON ones, and passes anything else (redirects) through.
type fallbackWriter struct {
	http.ResponseWriter
	replaced bool
}

func (w *fallbackWriter) WriteHeader(code int) {
	switch code {
	case http.StatusNotFound:
		w.replaced = true
		writeError(w.ResponseWriter, errNoRoute)
	case http.StatusMethodNotAllowed:
		w.replaced = true
		writeError(w.ResponseWriter, errNoMethod)
	default:
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *fallbackWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// closeChunked closes the connection after answering a request whose body
// was sent chunked. A request with both Content-Length and Transfer-Encoding
// is the classic request-smuggling shape, and RFC 9112 section 6.1 has the
// server close the connection after answering it; net/http processes such a
// request as chunked but deletes its Content-Length before any handler sees
// it, so a handler cannot tell the two apart. Every chunked request is
// therefore answered with "Connection: close" (net/http then closes): the
// cost is a new connection after the rare chunked request (browsers never
// send one; a streaming fetch may), the gain that no byte after a body
// whose framing was in doubt is read as the next request.
func closeChunked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
