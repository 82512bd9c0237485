package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// BenchmarkRotateSession measures the compare-and-swap of a refresh: one
// conditional UPDATE per successful rotation.
func BenchmarkRotateSession(b *testing.B) {
	s := openStore(b)
	u := &refreshing.User{Username: "alice", Email: "alice@example.com", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	sess := &refreshing.Session{ID: "s", UserID: u.ID, CreatedAt: t0, LastActivity: t0, TokenHash: []byte("0")}
	if err := s.CreateSession(b.Context(), sess, 0); err != nil {
		b.Fatal(err)
	}
	for gen := int64(0); b.Loop(); gen++ {
		r := refreshing.Rotation{SessionID: "s", Generation: gen, NewHash: fmt.Appendf(nil, "%d", gen+1),
			At: t0.Add(time.Duration(gen) * time.Microsecond)}
		if err := s.RotateSession(b.Context(), r); err != nil {
			b.Fatal(err)
		}
	}
}
