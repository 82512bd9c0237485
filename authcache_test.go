package refreshing_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// countingStore counts the reads Authenticate makes, and fails
// AuthRevision while failRevision is set.
type countingStore struct {
	refreshing.Store
	reads, revisions atomic.Int64
	failRevision     atomic.Bool
}

func (c *countingStore) AuthRevision(ctx context.Context) (int64, error) {
	c.revisions.Add(1)
	if c.failRevision.Load() {
		return 0, errors.New("revision unavailable")
	}
	return c.Store.AuthRevision(ctx)
}

func (c *countingStore) SessionWithUser(ctx context.Context, id string) (*refreshing.Session, *refreshing.User, error) {
	c.reads.Add(1)
	return c.Store.SessionWithUser(ctx, id)
}

func TestAuthCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "refreshing.db")
	// a and b stand for two processes on one database.
	open := func() (*refreshing.Service, *countingStore) {
		st, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		cs := &countingStore{Store: st}
		svc, err := refreshing.New(t.Context(), refreshing.Config{Store: cs, Hasher: refreshing.NewHasher(cheap, 0), SettingsTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return svc, cs
	}
	a, ca := open()
	b, cb := open()
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

	t.Run("OKOneReadWhileNothingChanges", func(t *testing.T) {
		g := register("ada")
		before, revisions := ca.reads.Load(), ca.revisions.Load()
		start := time.Now()
		for range 100 {
			authOK(a, g)
		}
		// Long enough for several reads of the revision: nothing changed
		// it, so what the first authentication read is still good.
		for range 20 {
			time.Sleep(10 * time.Millisecond)
			authOK(a, g)
		}
		elapsed := time.Since(start)
		if got := ca.reads.Load() - before; got != 1 {
			t.Fatalf("120 authentications over %v read the store %d times, want 1", elapsed, got)
		}
		// One read of the revision per 20 ms at most (and one to start).
		got := ca.revisions.Load() - revisions
		if limit := int64(elapsed/(20*time.Millisecond)) + 2; got < 2 || got > limit {
			t.Fatalf("the revision was read %d times in %v, want 2 to %d", got, elapsed, limit)
		}
	})
	t.Run("OKEveryTimeWithoutRevision", func(t *testing.T) {
		// While the revision cannot be read, nothing is served from memory.
		g := register("dora")
		authOK(b, g)
		cb.failRevision.Store(true)
		defer cb.failRevision.Store(false)
		time.Sleep(60 * time.Millisecond)
		before := cb.reads.Load()
		for range 10 {
			authOK(b, g)
		}
		if got := cb.reads.Load() - before; got != 10 {
			t.Fatalf("10 authentications without the revision read the store %d times, want 10", got)
		}
	})
	// The writes, all made through a, that end a user's access.
	ends := []struct {
		name string
		do   func(g *refreshing.Grant) error
	}{
		{"logout", func(g *refreshing.Grant) error { return a.Revoke(ctx, g.RefreshToken) }},
		{"block", func(g *refreshing.Grant) error { _, err := a.SetBlocked(ctx, g.User.ID, true); return err }},
		{"delete", func(g *refreshing.Grant) error { return a.DeleteUser(ctx, g.User.ID) }},
	}
	// a sees its own writes at once; b, another process on the database,
	// through the store's revision, 50 ms after the write returned at most.
	for _, where := range []struct {
		name string
		svc  *refreshing.Service
		wait time.Duration
	}{
		{"AtOnceHere", a, 0},
		{"SoonInAnotherProcess", b, 60 * time.Millisecond},
	} {
		t.Run("ErrUnauthenticated"+where.name, func(t *testing.T) {
			for _, end := range ends {
				g := register(where.name + "-" + end.name)
				authOK(where.svc, g)
				authOK(where.svc, g)
				if err := end.do(g); err != nil {
					t.Fatalf("%s: %v", end.name, err)
				}
				time.Sleep(where.wait)
				refused(where.svc, g)
			}
		})
		t.Run("OKExchangeShowsUserChanges"+where.name, func(t *testing.T) {
			g := register(where.name + "-role")
			role := "role-" + strings.ToLower(where.name)
			if err := a.SaveRole(ctx, refreshing.Role{Name: role}); err != nil {
				t.Fatal(err)
			}
			g1, err := where.svc.Exchange(ctx, g.RefreshToken, refreshing.ClientInfo{})
			if err != nil || g1.User.Role != "authenticated" {
				t.Fatalf("first exchange: %v, %+v", err, g1)
			}
			if _, err := a.SetUserRole(ctx, g.User.ID, role); err != nil {
				t.Fatal(err)
			}
			time.Sleep(where.wait)
			g2, err := where.svc.Exchange(ctx, g1.RefreshToken, refreshing.ClientInfo{})
			if err != nil || g2.User.Role != role {
				t.Fatalf("exchange after the role change: %v, role %q, want %s", err, g2.User.Role, role)
			}
		})
	}
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
