package idp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/idp"
)

func TestRegistryKeepsAProviderWhileItsConfigurationStays(t *testing.T) {
	r := idp.NewRegistry(idp.Options{})
	c := refreshing.ProviderConfig{Name: "corp", Type: "oidc", Issuer: "https://id.example", ClientID: "c", Scopes: []string{"openid"}}
	p := r.Provider(c)
	if r.Provider(c) != p {
		t.Fatal("the same configuration built a second Provider (and would discover again)")
	}
	c.Scopes = []string{"openid", "email"}
	q := r.Provider(c)
	if q == p || len(q.Config().Scopes) != 2 {
		t.Fatal("a changed configuration kept the old Provider")
	}
	c.Name = "other"
	if r.Provider(c) == q {
		t.Fatal("two names share a Provider")
	}
}

func TestState(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	st := idp.NewState("corp", "", now)
	sealed := idp.Seal(key, st)
	if got, err := idp.Open(key, sealed, "corp", st.State, now.Add(time.Minute)); err != nil || got != st {
		t.Fatalf("Open = %+v, %v", got, err)
	}
	payload, mac, _ := strings.Cut(sealed, ".")
	for name, c := range map[string]struct {
		key                     []byte
		sealed, provider, state string
		at                      time.Time
	}{
		"OtherKey":      {[]byte("another key of thirty-two bytes!"), sealed, "corp", st.State, now},
		"Tampered":      {key, payload + "x." + mac, "corp", st.State, now},
		"NoSignature":   {key, payload, "corp", st.State, now},
		"OtherProvider": {key, sealed, "other", st.State, now},
		"OtherState":    {key, sealed, "corp", st.State + "x", now},
		"EmptyState":    {key, sealed, "corp", "", now},
		"Expired":       {key, sealed, "corp", st.State, now.Add(idp.StateTTL)},
	} {
		if _, err := idp.Open(c.key, c.sealed, c.provider, c.state, c.at); !errors.Is(err, refreshing.ErrProviderState) {
			t.Errorf("%s: Open = %v, want ErrProviderState", name, err)
		}
	}
	if a, b := idp.NewState("corp", "", now), idp.NewState("corp", "", now); a.State == b.State || a.Nonce == b.Nonce || a.Verifier == b.Verifier || len(a.Verifier) < 43 {
		t.Fatal("states are not random, or the verifier is shorter than RFC 7636's 43 characters")
	}
}
