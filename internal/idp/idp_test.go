package idp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/idp"
)

func TestParse(t *testing.T) {
	cs, err := idp.Parse(`[{"name":"google","type":"google","clientId":"c","clientSecret":"s"},{"name":"gh","type":"github","clientId":"c"},{"name":"corp","issuer":"https://id.example/realms/x","clientId":"c"}]`)
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].Issuer != "https://accounts.google.com" || cs[1].TokenURL != "https://github.com/login/oauth/access_token" || cs[2].Type != "oidc" || len(cs[2].Scopes) != 3 {
		t.Fatalf("defaults: %+v", cs)
	}
	for _, bad := range []string{
		`{"name":"x"}`,
		`[{"name":"Corp","issuer":"https://id.example","clientId":"c"}]`,
		`[{"name":"corp","issuer":"https://id.example"}]`,
		`[{"name":"corp","clientId":"c"}]`,
		`[{"name":"corp","issuer":"ftp://id.example","clientId":"c"}]`,
		`[{"name":"corp","issuer":"https://id.example","clientId":"c","redirectUrls":["/relative"]}]`,
		`[{"name":"corp","issuer":"https://id.example","clientId":"c","redirectUrls":["https://app.example/#x"]}]`,
		`[{"name":"corp","issuer":"https://id.example","clientId":"c","tokenUrl":"https://t.example"}]`,
		`[{"name":"corp","issuer":"https://id.example","clientId":"c"},{"name":"corp","issuer":"https://id.example","clientId":"d"}]`,
		`[{"name":"corp","type":"saml","issuer":"https://id.example","clientId":"c"}]`,
		`[{"name":"corp","issuer":"https://id.example","clientId":"c","clientSecrte":"typo"}]`,
	} {
		if _, err := idp.Parse(bad); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

func TestMask(t *testing.T) {
	m := idp.Mask(`[{"name":"g","type":"google","clientId":"cid","clientSecret":"hunter2-secret"}]`)
	if strings.Contains(m, "hunter2") || !strings.Contains(m, "cid") || !strings.Contains(m, "not shown") {
		t.Fatalf("Mask = %s", m)
	}
	if m := idp.Mask(`not json "hunter2-secret"`); strings.Contains(m, "hunter2") {
		t.Fatalf("Mask of garbage = %s", m)
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
