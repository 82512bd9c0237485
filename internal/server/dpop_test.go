package server_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/dpop"
	"github.com/refreshing/refreshing/internal/dpop/dpoptest"
	"github.com/refreshing/refreshing/internal/ratelimit"
)

// dpopToken posts form to /oauth/token with the given DPoP headers (none
// for a request without a proof) and optional HTTP Basic client credentials.
func (e *env) dpopToken(form url.Values, proofs []string, basic ...string) response {
	e.t.Helper()
	e.remember(form.Get("password"), form.Get("refresh_token"))
	hr, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, p := range proofs {
		hr.Header.Add("DPoP", p)
	}
	if basic != nil {
		hr.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	res, err := e.srv.Client().Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		for _, k := range []string{"access_token", "refresh_token"} {
			if s, ok := m[k].(string); ok {
				e.remember(s)
			}
		}
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// proof makes a fresh proof of k for the token endpoint at the test clock.
func (e *env) proof(k *dpoptest.Key) []string {
	return []string{k.Proof(http.MethodPost, e.srv.URL+"/oauth/token", dpoptest.Options{IAT: e.clock.Now()})}
}

// wantDPoPTokens checks a successful token response of the given
// token_type, and that the access token's cnf.jkt is jkt ("" for none).
func (r response) wantDPoPTokens(t *testing.T, tokenType, jkt string) tokens {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	m := r.json(t)
	if m["token_type"] != tokenType {
		t.Fatalf("token_type = %v, want %s", m["token_type"], tokenType)
	}
	tk := tokens{access: r.str(t, "access_token"), refresh: r.str(t, "refresh_token")}
	parts := strings.Split(tk.access, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a JWT", tk.access)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Cnf *struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	got := ""
	if claims.Cnf != nil {
		got = claims.Cnf.JKT
	}
	if got != jkt {
		t.Fatalf("cnf.jkt = %q, want %q", got, jkt)
	}
	return tk
}

func cnfOf(m map[string]any) string {
	c, _ := m["cnf"].(map[string]any)
	s, _ := c["jkt"].(string)
	return s
}

func TestDPoP(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := start(t, su)
		a := e.register("ada")
		e.client(refreshing.ClientSpec{ID: "spa", Grants: []string{refreshing.GrantPassword}})
		e.client(refreshing.ClientSpec{ID: "strict", Grants: []string{refreshing.GrantPassword}, RequireDPoP: true})
		secret := e.client(refreshing.ClientSpec{ID: "backend", GenerateSecret: true, Grants: []string{refreshing.GrantPassword}})

		for _, k := range []*dpoptest.Key{dpoptest.NewES256(), dpoptest.NewEd25519()} {
			t.Run("Bound"+k.Alg, func(t *testing.T) {
				jkt := k.Thumbprint()
				tk := e.dpopToken(passwordForm("spa", "ada", a.password), e.proof(k)).wantDPoPTokens(t, "DPoP", jkt)
				if e.me(tk.access) != http.StatusOK {
					t.Fatal("the DPoP access token does not authenticate")
				}
				// Introspection reports the binding, of both tokens.
				if in := e.introspect(tk.refresh, "backend", secret); in["active"] != true || cnfOf(in) != jkt {
					t.Fatalf("introspection of the refresh token = %v, want cnf.jkt %s", in, jkt)
				}
				if in := e.introspect(tk.access, "backend", secret); in["active"] != true || cnfOf(in) != jkt {
					t.Fatalf("introspection of the access token = %v, want cnf.jkt %s", in, jkt)
				}

				// Without a proof, with another key's proof, on /api: refused, and nothing changes.
				e.dpopToken(refreshForm("spa", tk.refresh), nil).wantOAuthError(t, http.StatusBadRequest, "invalid_dpop_proof")
				e.dpopToken(refreshForm("spa", tk.refresh), e.proof(dpoptest.NewES256())).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
				if r := e.exchange(tk.refresh); r.status == http.StatusOK {
					t.Fatalf("/api/auth/token exchanged a DPoP-bound token: %s", r.body)
				}
				if in := e.introspect(tk.refresh, "backend", secret); in["active"] != true {
					t.Fatalf("a refused exchange changed the token: %v", in)
				}

				// With a proof of its key: rotated, still bound.
				next := e.dpopToken(refreshForm("spa", tk.refresh), e.proof(k)).wantDPoPTokens(t, "DPoP", jkt)
				if next.refresh == tk.refresh {
					t.Fatal("not rotated")
				}
				// The retired token within the grace window still needs the key.
				e.dpopToken(refreshForm("spa", tk.refresh), nil).wantOAuthError(t, http.StatusBadRequest, "invalid_dpop_proof")
				e.dpopToken(refreshForm("spa", tk.refresh), e.proof(k)).wantDPoPTokens(t, "DPoP", jkt)
				e.dpopToken(refreshForm("spa", next.refresh), e.proof(k)).wantDPoPTokens(t, "DPoP", jkt)
			})
		}

		t.Run("ErrInvalidProof", func(t *testing.T) {
			k := dpoptest.NewES256()
			tk := e.dpopToken(passwordForm("spa", "ada", a.password), e.proof(k)).wantDPoPTokens(t, "DPoP", k.Thumbprint())
			htu := e.srv.URL + "/oauth/token"
			now := e.clock.Now()
			replayed := e.proof(k)
			e.dpopToken(refreshForm("spa", tk.refresh), replayed).wantDPoPTokens(t, "DPoP", k.Thumbprint())
			live := e.dpopToken(refreshForm("spa", tk.refresh), e.proof(k)).wantDPoPTokens(t, "DPoP", k.Thumbprint()) // grace
			for name, proofs := range map[string][]string{
				"Replayed":   replayed,
				"WrongHTM":   {k.Proof(http.MethodGet, htu, dpoptest.Options{IAT: now})},
				"WrongHTU":   {k.Proof(http.MethodPost, e.srv.URL+"/oauth/revoke", dpoptest.Options{IAT: now})},
				"OtherHost":  {k.Proof(http.MethodPost, "https://elsewhere.example/oauth/token", dpoptest.Options{IAT: now})},
				"StaleIAT":   {k.Proof(http.MethodPost, htu, dpoptest.Options{IAT: now.Add(-2 * dpop.Past)})},
				"FutureIAT":  {k.Proof(http.MethodPost, htu, dpoptest.Options{IAT: now.Add(time.Minute)})},
				"WrongTyp":   {k.Proof(http.MethodPost, htu, dpoptest.Options{IAT: now, Typ: "JWT"})},
				"Symmetric":  {k.Proof(http.MethodPost, htu, dpoptest.Options{IAT: now, Header: map[string]any{"alg": "HS256"}})},
				"TwoHeaders": {e.proof(k)[0], e.proof(k)[0]},
				"Garbage":    {"not-a-proof"},
			} {
				t.Run(name, func(t *testing.T) {
					e.dpopToken(refreshForm("spa", live.refresh), proofs).wantOAuthError(t, http.StatusBadRequest, "invalid_dpop_proof")
				})
			}
			// None of those changed anything.
			e.dpopToken(refreshForm("spa", live.refresh), e.proof(k)).wantDPoPTokens(t, "DPoP", k.Thumbprint())
		})

		t.Run("BearerUnaffected", func(t *testing.T) {
			tk := e.dpopToken(passwordForm("spa", "ada", a.password), nil).wantDPoPTokens(t, "Bearer", "")
			tk = e.dpopToken(refreshForm("spa", tk.refresh), nil).wantDPoPTokens(t, "Bearer", "")
			// A proof on an unbound token binds the access token only.
			k := dpoptest.NewEd25519()
			tk = e.dpopToken(refreshForm("spa", tk.refresh), e.proof(k)).wantDPoPTokens(t, "DPoP", k.Thumbprint())
			e.dpopToken(refreshForm("spa", tk.refresh), nil).wantDPoPTokens(t, "Bearer", "")
			if in := e.introspect(tk.refresh, "backend", secret); in["cnf"] != nil {
				t.Fatalf("unbound refresh token introspects with cnf: %v", in)
			}
		})

		t.Run("ConfidentialNotBound", func(t *testing.T) {
			// RFC 9449 section 5: a confidential client's refresh token is
			// bound to its credentials; the access token to the key.
			k := dpoptest.NewES256()
			tk := e.dpopToken(passwordForm("", "ada", a.password), e.proof(k), "backend", secret).wantDPoPTokens(t, "DPoP", k.Thumbprint())
			e.dpopToken(refreshForm("", tk.refresh), nil, "backend", secret).wantDPoPTokens(t, "Bearer", "")
		})

		t.Run("ClientRequiresDPoP", func(t *testing.T) {
			e.dpopToken(passwordForm("strict", "ada", a.password), nil).wantOAuthError(t, http.StatusBadRequest, "invalid_dpop_proof")
			k := dpoptest.NewES256()
			tk := e.dpopToken(passwordForm("strict", "ada", a.password), e.proof(k)).wantDPoPTokens(t, "DPoP", k.Thumbprint())
			e.dpopToken(refreshForm("strict", tk.refresh), nil).wantOAuthError(t, http.StatusBadRequest, "invalid_dpop_proof")
			e.dpopToken(refreshForm("strict", tk.refresh), e.proof(k)).wantDPoPTokens(t, "DPoP", k.Thumbprint())
		})

		t.Run("Metadata", func(t *testing.T) {
			r := e.do(request{method: http.MethodGet, path: "/.well-known/oauth-authorization-server"})
			var m struct {
				Algs []string `json:"dpop_signing_alg_values_supported"`
			}
			if err := json.Unmarshal(r.body, &m); err != nil {
				t.Fatal(err)
			}
			for _, alg := range []string{"ES256", "EdDSA"} {
				if !slices.Contains(m.Algs, alg) {
					t.Errorf("dpop_signing_alg_values_supported = %v, want %s in it", m.Algs, alg)
				}
			}
			if slices.Contains(m.Algs, "HS256") || slices.Contains(m.Algs, "none") {
				t.Errorf("dpop_signing_alg_values_supported = %v advertises a symmetric alg", m.Algs)
			}
		})
	})
}

// TestDPoPReplayAcrossInstances: with the rate limiter on Redis, a proof
// used at one instance is refused at another (the replay cache is shared).
func TestDPoPReplayAcrossInstances(t *testing.T) {
	c := testRedis(t)
	prefix := "refreshing-test:" + rand.Text() + ":"
	t.Cleanup(func() {
		if keys, _ := c.Keys(t.Context(), prefix+"*").Result(); len(keys) > 0 {
			c.Del(t.Context(), keys...)
		}
	})
	onRedis := func(now func() time.Time) ratelimit.Limiter { return ratelimit.NewRedis(c, prefix, now) }
	e1, e2 := start(t, setup{limiter: onRedis}), start(t, setup{limiter: onRedis})
	for _, e := range []*env{e1, e2} {
		e.register("ada")
		e.client(refreshing.ClientSpec{ID: "spa", Grants: []string{refreshing.GrantPassword}})
	}
	a := account{username: "ada", password: "pw-ada-secret"}
	k := dpoptest.NewES256()
	// Both instances answer for the configured issuer's token endpoint.
	htu := e1.svc.Issuer() + "/oauth/token"
	p := []string{k.Proof(http.MethodPost, htu, dpoptest.Options{IAT: e1.clock.Now()})}
	e1.dpopToken(passwordForm("spa", "ada", a.password), p).wantDPoPTokens(t, "DPoP", k.Thumbprint())
	e2.dpopToken(passwordForm("spa", "ada", a.password), p).wantOAuthError(t, http.StatusBadRequest, "invalid_dpop_proof")
	// A fresh proof works at the second instance.
	p2 := []string{k.Proof(http.MethodPost, htu, dpoptest.Options{IAT: e2.clock.Now()})}
	e2.dpopToken(passwordForm("spa", "ada", a.password), p2).wantDPoPTokens(t, "DPoP", k.Thumbprint())
}
