package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/benchcpu"
	"github.com/refreshing/refreshing/internal/server"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// BenchmarkMeBearer measures GET /api/users/me with a bearer token through
// the whole handler (middleware, permission check, authentication, the
// answer), in process and without a listener, so that what the handler
// itself costs shows: the hot path whose cost DPoP must not raise.
//
//	go test ./internal/server -run '^$' -bench MeBearer -count 6
func BenchmarkMeBearer(b *testing.B) {
	st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	svc, err := refreshing.New(b.Context(), refreshing.Config{Store: st,
		Hasher: refreshing.NewHasher(refreshing.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)})
	if err != nil {
		b.Fatal(err)
	}
	h := server.New(svc, server.Options{})
	var jwts []string
	for i := range 64 {
		g, err := svc.Register(b.Context(), refreshing.Registration{Username: fmt.Sprintf("user%02d", i),
			Email: fmt.Sprintf("user%02d@example.com", i), Password: "correct horse battery"}, refreshing.ClientInfo{})
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
			r := httptest.NewRequest(http.MethodGet, "/api/users/me", nil)
			r.Header.Set("Authorization", "Bearer "+jwts[int(next.Add(1))%len(jwts)])
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}
