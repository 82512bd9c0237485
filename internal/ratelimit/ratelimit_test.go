package ratelimit_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/refreshing/refreshing/internal/ratelimit"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// exercise is what every Limiter must do; newLimiter returns a fresh limiter
// (with budgets of its own) on the clock.
func exercise(t *testing.T, newLimiter func(t *testing.T, now func() time.Time) ratelimit.Limiter) {
	ctx := context.Background()
	allow := func(t *testing.T, l ratelimit.Limiter, key string, limit int, window time.Duration) ratelimit.Decision {
		t.Helper()
		d, err := l.Allow(ctx, key, limit, window)
		if err != nil {
			t.Fatalf("Allow(%q): %v", key, err)
		}
		return d
	}
	t.Run("BurstOfLimitThenRateLimited", func(t *testing.T) {
		c := newClock()
		l := newLimiter(t, c.Now)
		for i := range 5 {
			if d := allow(t, l, "k", 5, time.Minute); !d.Allowed || d.RetryAfter != 0 {
				t.Fatalf("event %d: %+v, want allowed", i+1, d)
			}
		}
		d := allow(t, l, "k", 5, time.Minute)
		if d.Allowed {
			t.Fatal("event 6 of a budget of 5 per minute was allowed")
		}
		// One event's worth comes back every 12 s.
		if d.RetryAfter <= 11*time.Second || d.RetryAfter > 12*time.Second {
			t.Errorf("RetryAfter = %v, want 12s", d.RetryAfter)
		}
	})
	t.Run("RefillsOneIntervalAtATime", func(t *testing.T) {
		c := newClock()
		l := newLimiter(t, c.Now)
		for range 5 {
			allow(t, l, "k", 5, time.Minute)
		}
		c.Advance(11 * time.Second)
		if allow(t, l, "k", 5, time.Minute).Allowed {
			t.Fatal("allowed 11 s after the budget ran out, want 12 s")
		}
		c.Advance(time.Second)
		if !allow(t, l, "k", 5, time.Minute).Allowed {
			t.Fatal("refused 12 s after the budget ran out")
		}
		if allow(t, l, "k", 5, time.Minute).Allowed {
			t.Fatal("one interval refilled two events")
		}
		c.Advance(time.Minute)
		for i := range 5 {
			if !allow(t, l, "k", 5, time.Minute).Allowed {
				t.Fatalf("event %d after a full window refused", i+1)
			}
		}
	})
	t.Run("RefusedAttemptsCostNothing", func(t *testing.T) {
		c := newClock()
		l := newLimiter(t, c.Now)
		for range 5 {
			allow(t, l, "k", 5, time.Minute)
		}
		for range 100 {
			allow(t, l, "k", 5, time.Minute)
		}
		c.Advance(12 * time.Second)
		if !allow(t, l, "k", 5, time.Minute).Allowed {
			t.Fatal("refused attempts pushed the next allowed one further away")
		}
	})
	t.Run("KeysIndependent", func(t *testing.T) {
		c := newClock()
		l := newLimiter(t, c.Now)
		allow(t, l, "a", 1, time.Minute)
		if allow(t, l, "a", 1, time.Minute).Allowed {
			t.Fatal("a: second event allowed")
		}
		if !allow(t, l, "b", 1, time.Minute).Allowed {
			t.Fatal("b refused because of a")
		}
	})
	t.Run("ZeroLimitAllows", func(t *testing.T) {
		c := newClock()
		l := newLimiter(t, c.Now)
		for range 50 {
			if !allow(t, l, "k", 0, time.Minute).Allowed || !allow(t, l, "k", 3, 0).Allowed {
				t.Fatal("a zero limit or window limited")
			}
		}
	})
	t.Run("ExactlyLimitOfConcurrentCallers", func(t *testing.T) {
		c := newClock()
		l := newLimiter(t, c.Now)
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				d, err := l.Allow(ctx, "k", 10, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if d.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if got := allowed.Load(); got != 10 {
			t.Fatalf("%d of 40 concurrent callers allowed, want 10", got)
		}
	})
}

func TestMemory(t *testing.T) {
	exercise(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter { return ratelimit.NewMemory(now, 0) })

	t.Run("MemoryBounded", func(t *testing.T) {
		c := newClock()
		m := ratelimit.NewMemory(c.Now, 100)
		for i := range 1000 {
			if d, _ := m.Allow(context.Background(), fmt.Sprint("addr", i), 5, time.Minute); !d.Allowed {
				t.Fatalf("new key %d refused", i)
			}
			if m.Len() > 100 {
				t.Fatalf("%d keys kept, want at most 100", m.Len())
			}
		}
	})
	t.Run("RecoveredKeysDropped", func(t *testing.T) {
		c := newClock()
		m := ratelimit.NewMemory(c.Now, 10)
		for i := range 10 {
			m.Allow(context.Background(), fmt.Sprint("old", i), 5, time.Minute)
		}
		// The ten old keys were heavily used: a new key is debt-free.
		for range 4 {
			m.Allow(context.Background(), "old0", 5, time.Minute)
		}
		c.Advance(time.Minute)
		m.Allow(context.Background(), "new", 5, time.Minute)
		if got := m.Len(); got != 1 {
			t.Errorf("%d keys kept after every old budget refilled, want 1", got)
		}
	})
}

// redisURL returns REFRESHING_TEST_REDIS, skipping the test without it.
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("REFRESHING_TEST_REDIS")
	if u == "" {
		t.Skip("REFRESHING_TEST_REDIS is not set; skipping the Redis tests (set it to redis://127.0.0.1:6379/0)")
	}
	return u
}

// redisClient connects to the test Redis and deletes the prefix's keys at the end.
func redisClient(t *testing.T, prefix string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("REFRESHING_TEST_REDIS is set but Redis does not answer: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
		c.Close()
	})
	return c
}

func TestRedis(t *testing.T) {
	redisURL(t)
	exercise(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter {
		prefix := "refreshing-test:" + rand.Text() + ":"
		return ratelimit.NewRedis(redisClient(t, prefix), prefix, now)
	})

	t.Run("SharedBetweenInstances", func(t *testing.T) {
		c := newClock()
		prefix := "refreshing-test:" + rand.Text() + ":"
		a := ratelimit.NewRedis(redisClient(t, prefix), prefix, c.Now)
		b := ratelimit.NewRedis(redisClient(t, prefix), prefix, c.Now)
		allowed := 0
		for i := range 10 {
			l := a
			if i%2 == 1 {
				l = b
			}
			d, err := l.Allow(t.Context(), "ada@example.com", 4, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed {
				allowed++
			}
		}
		if allowed != 4 {
			t.Fatalf("two instances allowed %d events of a shared budget of 4", allowed)
		}
	})
	t.Run("KeysHashed", func(t *testing.T) {
		c := newClock()
		prefix := "refreshing-test:" + rand.Text() + ":"
		rc := redisClient(t, prefix)
		l := ratelimit.NewRedis(rc, prefix, c.Now)
		if _, err := l.Allow(t.Context(), "ip:192.0.2.7|ada@example.com", 4, time.Minute); err != nil {
			t.Fatal(err)
		}
		keys, err := rc.Keys(t.Context(), prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 {
			t.Fatalf("keys %v, want one", keys)
		}
		for _, secret := range []string{"ada", "192.0.2.7"} {
			if v := rc.Get(t.Context(), keys[0]).Val(); strings.Contains(keys[0]+v, secret) {
				t.Errorf("Redis keeps %q in key %q = %q", secret, keys[0], v)
			}
		}
		ttl := rc.PTTL(t.Context(), keys[0]).Val()
		if ttl <= 0 || ttl > 15*time.Second {
			t.Errorf("key expires in %v, want once its budget is full again (15s)", ttl)
		}
	})
	t.Run("FallsBackToLocalBudgetWhenDown", func(t *testing.T) {
		c := newClock()
		// Nothing listens on port 1.
		down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
		defer down.Close()
		l := ratelimit.NewRedis(down, "x:", c.Now)
		allowed := 0
		for range 5 {
			d, err := l.Allow(t.Context(), "k", 3, time.Minute)
			if err == nil {
				t.Fatal("no error from a Redis that does not answer")
			}
			if d.Allowed {
				allowed++
			}
		}
		if allowed != 3 {
			t.Fatalf("fallback allowed %d of 5 events against a budget of 3", allowed)
		}
	})
	t.Run("DialRedis", func(t *testing.T) {
		l, closeFn, err := ratelimit.DialRedis(redisURL(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		if err := l.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("DialRedisUnreachablePingFails", func(t *testing.T) {
		l, closeFn, err := ratelimit.DialRedis("redis://127.0.0.1:1/0", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		if err := l.Ping(t.Context()); err == nil {
			t.Fatal("Ping of a closed port succeeded")
		}
	})
	t.Run("DialRedisBadURL", func(t *testing.T) {
		if _, _, err := ratelimit.DialRedis("http://x", nil); err == nil {
			t.Fatal("DialRedis accepted a non-redis URL")
		}
	})
}
