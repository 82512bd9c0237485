package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// jwks fetches the JWKS and returns its keys' ids, checking that no key
// carries private material.
func (e *env) jwks() (ids []string, r response) {
	e.t.Helper()
	r = e.do(request{method: http.MethodGet, path: "/.well-known/jwks.json"})
	if r.status != http.StatusOK {
		e.t.Fatalf("GET /.well-known/jwks.json: %d %s", r.status, r.body)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.body, &set); err != nil {
		e.t.Fatalf("JWKS %s: %v", r.body, err)
	}
	for _, k := range set.Keys {
		if _, ok := k["d"]; ok {
			e.t.Fatalf("the JWKS publishes a private key: %s", r.body)
		}
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || k["x"] == "" {
			e.t.Errorf("key %v is not a public Ed25519 signing key", k)
		}
		ids = append(ids, k["kid"].(string))
	}
	return ids, r
}

// kidOf returns the key id in a JWT's header.
func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	head, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("JWT header %q: %v", head, err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func TestJWKS(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		ids, r := e.jwks()
		if len(ids) != 1 || ids[0] != kidOf(t, a.jwt) {
			t.Errorf("JWKS key ids %v, want the one that signed the access token (%s)", ids, kidOf(t, a.jwt))
		}
		if got, want := r.header.Get("Cache-Control"), "public, max-age=90"; got != want {
			t.Errorf("Cache-Control = %q, want %q (a tenth of 15 minutes)", got, want)
		}
		if got := r.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q", got)
		}
	})
	t.Run("ShortLivedTokensShortCache", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.AccessTTL = 2 * time.Second }})
		if _, r := e.jwks(); r.header.Get("Cache-Control") != "public, max-age=0" {
			t.Errorf("Cache-Control = %q, want max-age=0 for 2 s tokens", r.header.Get("Cache-Control"))
		}
	})
	t.Run("LongLivedTokensCappedCache", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.AccessTTL = 24 * time.Hour }})
		if _, r := e.jwks(); r.header.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("Cache-Control = %q, want max-age=300", r.header.Get("Cache-Control"))
		}
	})
}

func TestKeyRotation(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	oldKid := kidOf(t, a.jwt)
	e.clock.Advance(time.Minute)
	newKid, err := e.svc.RotateKey(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rotatedAt := e.clock.Now()

	b := e.register("bob")
	if got := kidOf(t, b.jwt); got != newKid || got == oldKid {
		t.Fatalf("a token issued after the rotation has kid %s, want the new key %s", got, newKid)
	}
	if ids, _ := e.jwks(); !slices.Equal(ids, []string{newKid, oldKid}) {
		t.Errorf("JWKS after the rotation: %v, want [%s %s]", ids, newKid, oldKid)
	}
	for name, jwt := range map[string]string{"old": a.jwt, "new": b.jwt} {
		if got := e.me(jwt); got != http.StatusOK {
			t.Errorf("the %s key's token: %d, want 200", name, got)
		}
	}

	// The last token the old key could have signed (on an instance that had
	// not reloaded yet) expires KeyPropagation + AccessTTL after the
	// rotation; with a second of leeway the key stays listed until then.
	lastLive := rotatedAt.Add(refreshing.KeyPropagation + 15*time.Minute + time.Second)
	e.clock.Advance(lastLive.Sub(e.clock.Now()))
	if err := e.svc.ReloadKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ids, _ := e.jwks(); len(ids) != 2 {
		t.Errorf("JWKS at the last moment the old key may verify: %v, want both keys", ids)
	}
	if pruned, err := e.svc.PruneKeys(t.Context()); err != nil || len(pruned) != 0 {
		t.Errorf("PruneKeys too early = %v, %v; want nothing", pruned, err)
	}

	e.clock.Advance(time.Microsecond)
	if err := e.svc.ReloadKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ids, _ := e.jwks(); !slices.Equal(ids, []string{newKid}) {
		t.Errorf("JWKS once the old key can have no live token: %v, want [%s]", ids, newKid)
	}
	if pruned, err := e.svc.PruneKeys(t.Context()); err != nil || !slices.Equal(pruned, []string{oldKid}) {
		t.Errorf("PruneKeys = %v, %v; want [%s]", pruned, err, oldKid)
	}
	if pruned, err := e.svc.PruneKeys(t.Context()); err != nil || len(pruned) != 0 {
		t.Errorf("PruneKeys again = %v, %v; want nothing", pruned, err)
	}
	c := e.login(b, nil)
	if got := e.me(c.jwt); got != http.StatusOK || kidOf(t, c.jwt) != newKid {
		t.Errorf("a new login after pruning: %d with kid %s, want 200 with %s", got, kidOf(t, c.jwt), newKid)
	}
}

func TestMetadata(t *testing.T) {
	e := start(t, setup{})
	r := e.do(request{method: http.MethodGet, path: "/.well-known/oauth-authorization-server"})
	r.want(t, http.StatusOK, "", "")
	m := r.json(t)
	iss := "http://localhost:1337"
	for k, want := range map[string]string{
		"issuer":                 iss,
		"token_endpoint":         iss + "/oauth/token",
		"jwks_uri":               iss + "/.well-known/jwks.json",
		"revocation_endpoint":    iss + "/oauth/revoke",
		"introspection_endpoint": iss + "/oauth/introspect",
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %s", k, m[k], want)
		}
	}
	for k, want := range map[string][]any{
		"grant_types_supported":                         {"refresh_token", "password"},
		"response_types_supported":                      {},
		"token_endpoint_auth_methods_supported":         {"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":    {"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post"},
		"access_token_signing_alg_values_supported":     {"EdDSA"},
	} {
		if got, _ := m[k].([]any); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
}
