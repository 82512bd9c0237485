package server_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// TestRacingTabs checks the contract's racing-clients rule: tabs refreshing
// at once with the same token all succeed and all end up holding a token
// that works, while a retired token presented after the grace window is
// treated as theft.
func TestRacingTabs(t *testing.T) {
	const tabs = 20
	e := start(t, setup{})
	a := e.register("ada")

	results := make([]response, tabs)
	var wg sync.WaitGroup
	for i := range tabs {
		wg.Go(func() { results[i] = e.exchange(a.refresh) })
	}
	wg.Wait()
	var returned []string
	t.Run("AllRacersSucceed", func(t *testing.T) {
		for i, r := range results {
			if r.status != http.StatusOK {
				t.Errorf("tab %d: status %d, body %s", i, r.status, r.body)
				continue
			}
			returned = append(returned, r.str(t, "refreshToken"))
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	var live string
	t.Run("EveryReturnedTokenWorks", func(t *testing.T) {
		for i, tok := range returned {
			r := e.exchange(tok)
			if r.status != http.StatusOK {
				t.Fatalf("tab %d's token: status %d, body %s", i, r.status, r.body)
			}
			live = r.str(t, "refreshToken")
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	e.clock.Advance(refreshing.DefaultSettings().ReuseGrace + time.Second)
	t.Run("ErrInvalidTokenForRetiredTokenAfterGrace", func(t *testing.T) {
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
	})
	t.Run("ErrInvalidTokenForLiveTokenOfRevokedSession", func(t *testing.T) {
		e.exchange(live).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: a.jwt}).
			want(t, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials")
	})
}
