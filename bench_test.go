package refreshing_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/benchcpu"
	"github.com/refreshing/refreshing/internal/pgtest"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// The benchmarks of the hot paths, on the real stores. Run them with
//
//	go test -run '^$' -bench . -benchtime 3s .
//
// (PostgreSQL's when REFRESHING_TEST_POSTGRES is set). They measure speed;
// nothing here asserts one.

// benchStores opens each store the benchmarks run on: SQLite (group commit
// on, then off) and, when its DSN is set, PostgreSQL in a schema of its own.
var benchStores = []struct {
	name string
	open func(b *testing.B) refreshing.Store
}{
	{"sqlite", func(b *testing.B) refreshing.Store { return openSQLite(b, "") }},
	{"sqlite-group-commit-off", func(b *testing.B) refreshing.Store { return openSQLite(b, "?group_commit=off") }},
	{"postgres", func(b *testing.B) refreshing.Store {
		st, err := postgres.Open(b.Context(), pgtest.Schema(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
}

func openSQLite(b *testing.B, options string) refreshing.Store {
	st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "refreshing.db")+options)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// benchService returns a Service on st (with the production hasher) and n
// sessions spread over n/10+1 users, with their first refresh tokens.
func benchService(b *testing.B, st refreshing.Store, n int) (*refreshing.Service, []string) {
	b.Helper()
	svc, err := refreshing.New(b.Context(), refreshing.Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	settings, err := svc.Settings(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	var users []int64
	for i := range n/10 + 1 {
		u := &refreshing.User{Username: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i),
			Provider: "local", Role: "authenticated", Confirmed: true, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(b.Context(), u); err != nil {
			b.Fatal(err)
		}
		users = append(users, u.ID)
	}
	tokens := make([]string, n)
	for i := range tokens {
		sess, token := refreshing.NewSession(users[i%len(users)], refreshing.ClientInfo{UserAgent: "bench"}, now, settings)
		if err := st.CreateSession(b.Context(), sess, 0); err != nil {
			b.Fatal(err)
		}
		tokens[i] = token
	}
	return svc, tokens
}

// BenchmarkExchange measures token exchanges with rotation from 32
// concurrent clients (rounded up to a multiple of GOMAXPROCS), each rotating
// sessions of its own, as the load tool does: read the session and its user,
// rotate (one durable write, shared by a batch with group commit), sign a
// JWT. ns/op is the inverse of the throughput.
func BenchmarkExchange(b *testing.B) {
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			const clients, perClient = 32, 8
			par, workers := benchcpu.Clients(clients)
			svc, tokens := benchService(b, bs.open(b), workers*perClient)
			var next atomic.Int64
			b.SetParallelism(par)
			defer benchcpu.Report(b)()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				// Each goroutine owns its own chains and always presents
				// the latest token of each.
				i := int(next.Add(1) - 1)
				mine := tokens[i*perClient : (i+1)*perClient : (i+1)*perClient]
				for k := 0; pb.Next(); k++ {
					j := k % len(mine)
					g, err := svc.Exchange(b.Context(), mine[j], refreshing.ClientInfo{UserAgent: "bench", IP: "127.0.0.1"})
					if err != nil {
						b.Error(err)
						return
					}
					mine[j] = g.RefreshToken
				}
			})
		})
	}
}

// BenchmarkAuthenticate measures what GET /api/users/me costs the Service:
// verify the JWT, load the user and the session.
func BenchmarkAuthenticate(b *testing.B) {
	for _, bs := range benchStores {
		if bs.name == "sqlite-group-commit-off" {
			continue // reads only: the writer does not matter
		}
		b.Run(bs.name, func(b *testing.B) {
			svc, tokens := benchService(b, bs.open(b), 64)
			var jwts []string
			for _, t := range tokens {
				g, err := svc.Exchange(b.Context(), t, refreshing.ClientInfo{})
				if err != nil {
					b.Fatal(err)
				}
				jwts = append(jwts, g.AccessToken)
			}
			var next atomic.Int64
			defer benchcpu.Report(b)()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := svc.Authenticate(b.Context(), jwts[int(next.Add(1))%len(jwts)]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkSessions measures listing a user's sessions (10 of them), as
// GET /api/users/me/sessions does after authenticating.
func BenchmarkSessions(b *testing.B) {
	for _, bs := range benchStores {
		if bs.name == "sqlite-group-commit-off" {
			continue
		}
		b.Run(bs.name, func(b *testing.B) {
			svc, tokens := benchService(b, bs.open(b), 99) // 10 users: 10 sessions each but one
			g, err := svc.Exchange(b.Context(), tokens[0], refreshing.ClientInfo{})
			if err != nil {
				b.Fatal(err)
			}
			p, err := svc.Authenticate(b.Context(), g.AccessToken)
			if err != nil {
				b.Fatal(err)
			}
			defer benchcpu.Report(b)()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					list, err := svc.Sessions(b.Context(), p)
					if err != nil || len(list) != 10 {
						b.Errorf("Sessions: %d sessions, %v; want 10", len(list), err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkHash and BenchmarkVerify measure argon2id with the production
// parameters: what a registration or a login costs in CPU, one at a time.
func BenchmarkHash(b *testing.B) {
	h := refreshing.NewHasher(refreshing.DefaultArgon2Params, 1)
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := refreshing.NewHasher(refreshing.DefaultArgon2Params, 1)
	enc, err := h.Hash(b.Context(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ok, _, err := h.Verify(b.Context(), "correct horse battery staple", enc)
		if err != nil || !ok {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}
