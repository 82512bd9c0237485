package refreshing_test

import (
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/pgtest"
	"github.com/refreshing/refreshing/internal/postgres"
)

// TestPostgres runs the Service's rules on PostgreSQL with two Service
// instances (two pools, two caches) on one database, as two servers would.
func TestPostgres(t *testing.T) {
	dsn := pgtest.Schema(t)
	open := func() refreshing.Store {
		st, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a := newEnvOn(t, open(), nil)
	b := &env{store: open(), clock: a.clock}
	var err error
	b.svc, err = refreshing.New(t.Context(), refreshing.Config{Store: b.store, Now: a.clock.Now, Hasher: refreshing.NewHasher(cheap, 0)})
	if err != nil {
		t.Fatal(err)
	}
	both := []*env{a, b}
	g := a.register(t, "ada")

	t.Run("RacingAcrossInstances", func(t *testing.T) {
		const n = 40
		got := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r, err := both[i%2].exchange(t, g.RefreshToken)
				errs[i] = err
				if err == nil {
					got[i] = r.RefreshToken
				}
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || got[i] != got[0] {
				t.Fatalf("racer %d: %v (successor same as the first: %v)", i, errs[i], got[i] == got[0])
			}
		}
		a.clock.Add(11 * time.Second)
		if _, err := b.exchange(t, g.RefreshToken); refreshing.ExchangeOutcome(err) != refreshing.OutcomeReuseDetected {
			t.Fatalf("reuse on the other instance: %v", err)
		}
		if _, err := a.exchange(t, got[0]); err == nil {
			t.Fatal("the live token survived reuse detection on the other instance")
		}
	})

	t.Run("SettingsWithinTTL", func(t *testing.T) {
		st, err := a.svc.Settings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		st.Rotation = false
		if err := a.svc.UpdateSettings(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		a.clock.Add(1100 * time.Millisecond) // the settings TTL is one second
		got, err := b.svc.Settings(t.Context())
		if err != nil || got.Rotation {
			t.Fatalf("instance B still rotates one second after A turned rotation off: %+v %v", got, err)
		}
	})
}
