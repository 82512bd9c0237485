package ratelimit_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/refreshing/refreshing/internal/ratelimit"
)

// BenchmarkAllow measures one decision: in memory (10 000 keys in use, many
// goroutines) and on the test Redis (one round trip running the script).
func BenchmarkAllow(b *testing.B) {
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = "ip|POST /api/auth/local|192.0.2." + strconv.Itoa(i)
	}
	b.Run("Memory", func(b *testing.B) {
		m := ratelimit.NewMemory(nil, 0)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				m.Allow(context.Background(), keys[i%len(keys)], 30, time.Minute)
				i++
			}
		})
	})
	b.Run("Redis", func(b *testing.B) {
		url := os.Getenv("REFRESHING_TEST_REDIS")
		if url == "" {
			b.Skip("REFRESHING_TEST_REDIS is not set")
		}
		l, closeFn, err := ratelimit.DialRedis(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer closeFn()
		for i := 0; b.Loop(); i++ {
			if _, err := l.Allow(context.Background(), keys[i%len(keys)], 1_000_000, time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
}
