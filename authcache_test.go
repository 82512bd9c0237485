package refreshing_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// countingStore counts the reads Authenticate makes.
type countingStore struct {
	refreshing.Store
	reads atomic.Int64
}

func (c *countingStore) SessionWithUser(ctx context.Context, id string) (*refreshing.Session, *refreshing.User, error) {
	c.reads.Add(1)
	return c.Store.SessionWithUser(ctx, id)
}

func TestAuthCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "refreshing.db")
	open := func(ttl time.Duration) (*refreshing.Service, *countingStore) {
		st, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		cs := &countingStore{Store: st}
		svc, err := refreshing.New(t.Context(), refreshing.Config{Store: cs, Hasher: refreshing.NewHasher(cheap, 0), SettingsTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return svc, cs
	}
	a, ca := open(time.Hour)
	b, cb := open(200 * time.Millisecond)
	ctx := t.Context()
	register := func(name string) *refreshing.Grant {
		g, err := a.Register(ctx, refreshing.Registration{Username: name, Email: name + "@example.com", Password: "correct horse"}, refreshing.ClientInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	authOK := func(svc *refreshing.Service, g *refreshing.Grant) {
		t.Helper()
		if _, err := svc.Authenticate(ctx, g.AccessToken); err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
	}
	refused := func(svc *refreshing.Service, g *refreshing.Grant) {
		t.Helper()
		if _, err := svc.Authenticate(ctx, g.AccessToken); !errors.Is(err, refreshing.ErrUnauthenticated) {
			t.Fatalf("Authenticate: %v, want ErrUnauthenticated", err)
		}
	}

	t.Run("OKOneReadPerTTL", func(t *testing.T) {
		g := register("ada")
		before := ca.reads.Load()
		for range 100 {
			authOK(a, g)
		}
		if got := ca.reads.Load() - before; got != 1 {
			t.Fatalf("100 authentications read the store %d times, want 1", got)
		}
		before = cb.reads.Load()
		authOK(b, g)
		time.Sleep(250 * time.Millisecond)
		authOK(b, g)
		if got := cb.reads.Load() - before; got != 2 {
			t.Fatalf("two authentications a TTL apart read the store %d times, want 2", got)
		}
	})
	t.Run("ErrUnauthenticatedAtOnceAfterLocalWrites", func(t *testing.T) {
		for _, end := range []struct {
			name string
			do   func(g *refreshing.Grant) error
		}{
			{"logout", func(g *refreshing.Grant) error { return a.Revoke(ctx, g.RefreshToken) }},
			{"block", func(g *refreshing.Grant) error { _, err := a.SetBlocked(ctx, g.User.ID, true); return err }},
			{"delete", func(g *refreshing.Grant) error { return a.DeleteUser(ctx, g.User.ID) }},
		} {
			g := register("user-" + end.name)
			authOK(a, g)
			if err := end.do(g); err != nil {
				t.Fatalf("%s: %v", end.name, err)
			}
			refused(a, g)
		}
	})
	t.Run("OKExchangeShowsLocalUserChangesAtOnce", func(t *testing.T) {
		g := register("cleo")
		if err := a.SaveRole(ctx, refreshing.Role{Name: "editor"}); err != nil {
			t.Fatal(err)
		}
		g1, err := a.Exchange(ctx, g.RefreshToken, refreshing.ClientInfo{})
		if err != nil || g1.User.Role != "authenticated" {
			t.Fatalf("first exchange: %v, %+v", err, g1)
		}
		if _, err := a.SetUserRole(ctx, g.User.ID, "editor"); err != nil {
			t.Fatal(err)
		}
		g2, err := a.Exchange(ctx, g1.RefreshToken, refreshing.ClientInfo{})
		if err != nil || g2.User.Role != "editor" {
			t.Fatalf("exchange after the role change: %v, role %q, want editor", err, g2.User.Role)
		}
	})
	t.Run("ErrUnauthenticatedWithinTTLOfAnotherInstance", func(t *testing.T) {
		g := register("bob")
		authOK(b, g)
		if err := a.Revoke(ctx, g.RefreshToken); err != nil {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond)
		refused(b, g)
	})
	t.Run("OKConcurrentWithRevocations", func(t *testing.T) {
		// Authentications racing revocations: once a revocation returned,
		// no later authentication on this Service accepts its session.
		var wg sync.WaitGroup
		for i := range 8 {
			g := register("racer" + string(rune('a'+i)))
			wg.Go(func() {
				for range 50 {
					authOK(a, g)
				}
				if err := a.Revoke(ctx, g.RefreshToken); err != nil {
					t.Error(err)
					return
				}
				refused(a, g)
			})
			wg.Go(func() {
				for range 50 {
					a.Authenticate(ctx, g.AccessToken)
				}
			})
		}
		wg.Wait()
	})
}
