package server

import (
	"sync/atomic"
	"time"
)

// unavailableHold is how long /readyz keeps answering "not ready" after a
// request failed because storage could not write or be reached. A store's
// Ping only reads, so a database that went read-only (a full disk, a
// failover to a standby) still answers it; the failed writes are what shows
// it. Once the hold has passed with no new failure, /readyz trusts Ping again,
// so the service resumes by itself when the storage does.
const unavailableHold = 5 * time.Second

// storageHealth remembers when storage last failed a request.
type storageHealth struct {
	failedAt atomic.Int64 // unix nanoseconds; 0 = never
}

// failed records a storage failure now.
func (h *storageHealth) failed() { h.failedAt.Store(time.Now().UnixNano()) }

// recentlyFailed reports whether storage failed within unavailableHold.
func (h *storageHealth) recentlyFailed() bool {
	at := h.failedAt.Load()
	return at != 0 && time.Since(time.Unix(0, at)) < unavailableHold
}
