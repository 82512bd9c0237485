package ratelimit

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// DefaultMaxKeys is the number of keys a Memory limiter keeps by default.
const DefaultMaxKeys = 100_000

// Memory is a Limiter that keeps budgets in this process's memory. Its memory
// is bounded: keys whose budget is full again are dropped, and when maxKeys
// live keys are kept the ones closest to a full budget are dropped first, so
// that a flood of new keys (addresses) cannot grow it without bound.
type Memory struct {
	now     func() time.Time
	maxKeys int

	mu  sync.Mutex
	tat map[string]time.Time // hashed key → theoretical arrival time
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns a Memory limiter on the clock now (time.Now when nil)
// that keeps at most maxKeys keys (DefaultMaxKeys when <= 0).
func NewMemory(now func() time.Time, maxKeys int) *Memory {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Memory{now: now, maxKeys: maxKeys, tat: make(map[string]time.Time)}
}

// Allow implements Limiter. It never fails.
func (m *Memory) Allow(_ context.Context, key string, limit int, window time.Duration) (Decision, error) {
	if unlimited(limit, window) {
		return Decision{Allowed: true}, nil
	}
	k := hashKey(key)
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	next, d := gcra(now, m.tat[k], limit, window)
	if d.Allowed {
		if _, ok := m.tat[k]; !ok && len(m.tat) >= m.maxKeys {
			m.evict(now)
		}
		m.tat[k] = next
	}
	return d, nil
}

// evict makes room for one key: it drops every key whose budget is full
// again, and if none is, the half of the keys closest to a full budget.
func (m *Memory) evict(now time.Time) {
	for k, t := range m.tat {
		if !t.After(now) {
			delete(m.tat, k)
		}
	}
	if len(m.tat) < m.maxKeys {
		return
	}
	// Everyone is in debt: drop the half closest to a full budget.
	// Dropping a key forgives its debt; those keys lose least.
	tats := slices.SortedFunc(maps.Values(m.tat), time.Time.Compare)
	median := tats[len(tats)/2]
	for k, t := range m.tat {
		if !t.After(median) {
			delete(m.tat, k)
		}
	}
}

// Len returns the number of keys kept (for tests and metrics).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tat)
}
