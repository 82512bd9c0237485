package sqlite_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/benchcpu"
)

// BenchmarkRotateMatching measures what an exchange's write costs the store
// alone, as the server meets it: 32 concurrent clients (rounded up to a
// multiple of GOMAXPROCS), each rotating 31 sessions of its own (992 with
// GOMAXPROCS 2), every rotation one RotateMatching through group commit.
// It reports, beside ns/op (the inverse of the throughput), the process's
// CPU per rotation (cpu-ns/op: SQLite, the driver, the writer's hand-offs,
// the fsync's kernel work) and the writes each commit held.
//
//	go test ./internal/sqlite -run '^$' -bench RotateMatching -benchtime 5s
func BenchmarkRotateMatching(b *testing.B) {
	const clients, perClient = 32, 31
	par, workers := benchcpu.Clients(clients)
	s, _ := open(b)
	now := time.Now().UTC().Truncate(time.Microsecond)
	var users []int64
	for i := range 100 {
		u := &refreshing.User{Username: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i)}
		if err := s.CreateUser(b.Context(), u); err != nil {
			b.Fatal(err)
		}
		users = append(users, u.ID)
	}
	type chain struct {
		id   string
		gen  int64
		hash []byte
	}
	chains := make([]chain, workers*perClient)
	for i := range chains {
		c := chain{id: fmt.Sprintf("session-%04d", i), hash: hash(fmt.Sprint(i, "/0"))}
		ss := &refreshing.Session{ID: c.id, UserID: users[i%len(users)], UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
			IP: "127.0.0.1", CreatedAt: now, LastActivity: now, ExpiresAt: now.Add(720 * time.Hour), TokenHash: c.hash}
		if err := s.CreateSession(b.Context(), ss, 0); err != nil {
			b.Fatal(err)
		}
		chains[i] = c
	}
	var next atomic.Int64
	before := s.WriterStats()
	b.SetParallelism(par)
	b.ResetTimer()
	report := benchcpu.Report(b)
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1) - 1) // each goroutine its own chains
		mine := chains[i*perClient : (i+1)*perClient : (i+1)*perClient]
		for k := 0; pb.Next(); k++ {
			c := &mine[k%len(mine)]
			nh := hash(fmt.Sprint(c.id, "/", c.gen+1))
			_, err := s.RotateMatching(b.Context(), refreshing.MatchingRotation{
				Rotation:  refreshing.Rotation{SessionID: c.id, Generation: c.gen, NewHash: nh, At: time.Now()},
				TokenHash: c.hash, IdleAfter: now.Add(-time.Hour),
			})
			if err != nil {
				b.Error(err)
				return
			}
			c.gen, c.hash = c.gen+1, nh
		}
	})
	b.StopTimer()
	after := s.WriterStats()
	report()
	if commits := after.Commits - before.Commits; commits > 0 {
		b.ReportMetric(float64(after.Writes-before.Writes)/float64(commits), "writes/commit")
	}
}
