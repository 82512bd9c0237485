package refreshing_test

import (
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// TestGrantExpiresIn: expires_in is read off the issued token's expiry,
// rounded up to whole seconds, never negative.
func TestGrantExpiresIn(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		exp  time.Time
		want int64
	}{
		{"JustIssued", t0.Add(15 * time.Minute), 900},
		{"Microseconds later", t0.Add(15*time.Minute - time.Microsecond), 900},
		{"Halfway", t0.Add(7*time.Minute + 30*time.Second), 450},
		{"Expired", t0.Add(-time.Second), 0},
	} {
		g := &refreshing.Grant{AccessExpiresAt: c.exp}
		if got := g.ExpiresIn(t0); got != c.want {
			t.Errorf("%s: ExpiresIn = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestGrantTypes: the table's answers about the grants clients may use.
func TestGrantTypes(t *testing.T) {
	if g, ok := refreshing.LookupGrantType(refreshing.GrantRefreshToken); !ok || !g.Implied || !g.RefreshToken {
		t.Errorf("refresh_token: %+v %v, want an implied grant issuing refresh tokens", g, ok)
	}
	if _, ok := refreshing.LookupGrantType("client_credentials"); ok {
		t.Error("client_credentials is described, but nothing serves it")
	}
	c := &refreshing.Client{ID: "c"}
	if !c.Allows(refreshing.GrantRefreshToken) || c.Allows(refreshing.GrantPassword) || c.Allows("client_credentials") {
		t.Error("a client without grants: Allows is wrong")
	}
	c.Grants = []string{refreshing.GrantPassword}
	if !c.Allows(refreshing.GrantPassword) {
		t.Error("a client allowed the password grant is refused it")
	}
	if got := c.AllowedGrants(); len(got) != 2 || got[0] != refreshing.GrantRefreshToken || got[1] != refreshing.GrantPassword {
		t.Errorf("AllowedGrants = %q", got)
	}
}
