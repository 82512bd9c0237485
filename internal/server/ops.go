package server

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// handleHealthz serves GET /healthz: the process is alive.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// readyTimeout bounds a readiness check, so a hung store answers 503 rather
// than hanging the prober.
const readyTimeout = 2 * time.Second

// handleReadyz serves GET /readyz: the store answers, and no request failed
// for want of storage within unavailableHold (see health.go).
func (s *server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		err := s.svc.Ready(ctx)
		if err == nil && s.storage.recentlyFailed() {
			err = errors.New("storage failed a request within the last " + unavailableHold.String())
		}
		if err != nil {
			s.log.WarnContext(r.Context(), "not ready", "request_id", requestIDFrom(r.Context()), "err", err)
			writeError(w, &apiError{http.StatusServiceUnavailable, "ServiceUnavailableError", "Service temporarily unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}
