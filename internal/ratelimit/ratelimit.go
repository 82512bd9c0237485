// Package ratelimit decides whether a client may make one more attempt at
// something expensive or sensitive (a password check, a token exchange).
//
// A Limiter keeps one budget per key: at most limit events per window, refilled
// smoothly (the generic cell rate algorithm, GCRA: one event's worth every
// window/limit, with a burst of limit). Memory keeps the budgets of one
// process; Redis shares them between every instance that uses the same Redis.
// Both take the time from a clock the caller injects, so that tests need no
// sleeping and instances agree on a budget to within their clock skew.
//
// Keys are hashed before they are kept, so neither the process memory nor
// Redis holds the identifiers or addresses they were made from.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Limiter decides whether one more event fits in a key's budget.
//
// Allow records one event under key against a budget of limit events per
// window, and says whether it is allowed. A refused event is not recorded
// (a client that keeps trying while refused does not push its own retry
// further away). limit <= 0 or window <= 0 means no limit: Allow allows.
//
// If err is not nil the Limiter could not reach its shared backend; the
// Decision it still returns is the best it could make without it (a local
// one) and is to be honoured. Implementations are safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (Decision, error)
}

// Decision is the answer of Limiter.Allow.
type Decision struct {
	Allowed bool
	// RetryAfter is how long until an event would be allowed again; zero
	// when Allowed.
	RetryAfter time.Duration
}

// gcra is the arithmetic both limiters share. tat is the key's theoretical
// arrival time (zero for a key not seen or expired); it returns the new tat
// to keep (zero if the event is refused) and the decision.
func gcra(now, tat time.Time, limit int, window time.Duration) (time.Time, Decision) {
	interval := window / time.Duration(limit)
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	if allowAt := next.Add(-window); now.Before(allowAt) {
		return time.Time{}, Decision{RetryAfter: allowAt.Sub(now)}
	}
	return next, Decision{Allowed: true}
}

// hashKey is what a limiter keeps of a key: 128 bits of its SHA-256.
func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// unlimited reports whether limit and window switch limiting off.
func unlimited(limit int, window time.Duration) bool { return limit <= 0 || window <= 0 }
