package server_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/dpop"
	"github.com/refreshing/refreshing/internal/dpop/dpoptest"
	"github.com/refreshing/refreshing/internal/ratelimit"
	"github.com/refreshing/refreshing/internal/server"
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
				if r := e.dpopMe(tk.access, e.meProof(k, tk.access, dpoptest.Options{})); r.status != http.StatusOK {
					t.Fatalf("the DPoP access token does not authenticate: %d %s", r.status, r.body)
				}
				if e.me(tk.access) != http.StatusUnauthorized {
					t.Fatal("the DPoP access token authenticates as a bearer token")
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

// dpopMe calls GET /api/users/me with a DPoP access token and the given
// DPoP headers.
func (e *env) dpopMe(access string, proofs []string) response {
	e.t.Helper()
	return e.do(request{method: http.MethodGet, path: "/api/users/me", header: map[string]string{"Authorization": "DPoP " + access}, dpop: proofs})
}

// meProof makes a proof of k for GET /api/users/me with access, at the
// test clock.
func (e *env) meProof(k *dpoptest.Key, access string, o dpoptest.Options) []string {
	if o.IAT.IsZero() {
		o.IAT = e.clock.Now()
	}
	if o.AccessToken == "" {
		o.AccessToken = access
	}
	return []string{k.Proof(http.MethodGet, e.srv.URL+"/api/users/me", o)}
}

// wantNonce checks that r carries a DPoP-Nonce header, and returns it.
func (r response) wantNonce(t *testing.T) string {
	t.Helper()
	n := r.header.Get("DPoP-Nonce")
	if n == "" {
		t.Fatalf("no DPoP-Nonce header in the answer (%d %s)", r.status, r.body)
	}
	return n
}

// wantChallenge checks a 401 refusal at a resource in RFC 9449 section
// 7.1's terms: a DPoP challenge with the error code, and Strapi's shape.
func (r response) wantChallenge(t *testing.T, code string) {
	t.Helper()
	r.want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	c := r.header.Get("WWW-Authenticate")
	if !strings.HasPrefix(c, `DPoP error="`+code+`"`) || !strings.Contains(c, `algs="`) {
		t.Errorf("WWW-Authenticate = %q, want a DPoP challenge with error %s and algs", c, code)
	}
}

func setNonceRequired(t *testing.T, e *env, on bool) {
	t.Helper()
	st, err := e.svc.Settings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st.DPoPNonceRequired = on
	if err := e.svc.UpdateSettings(t.Context(), st); err != nil {
		t.Fatal(err)
	}
}

// TestDPoPNonce: every answer of the token endpoint to a request with a
// proof carries a nonce (and no other does); a proof with a nonce of this
// server is accepted, with a wrong or expired one it is refused with
// use_dpop_nonce and a fresh nonce, changing nothing; with the setting on,
// a proof without a nonce is refused the same way (both stores).
func TestDPoPNonce(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := start(t, su)
		a := e.register("ada")
		e.client(refreshing.ClientSpec{ID: "spa", Grants: []string{refreshing.GrantPassword}})
		k := dpoptest.NewES256()
		htu := e.srv.URL + "/oauth/token"
		withNonce := func(n string) []string {
			return []string{k.Proof(http.MethodPost, htu, dpoptest.Options{IAT: e.clock.Now(), Nonce: n})}
		}

		// Not required: a proof without a nonce works, and learns one.
		r := e.dpopToken(passwordForm("spa", "ada", a.password), e.proof(k))
		tk := r.wantDPoPTokens(t, "DPoP", k.Thumbprint())
		nonce := r.wantNonce(t)
		if r := e.dpopToken(passwordForm("spa", "ada", "wrong password"), e.proof(k)); r.status != http.StatusBadRequest {
			t.Fatalf("wrong password: %d", r.status)
		} else if r.wantNonce(t) != nonce {
			t.Error("the nonce of an error differs from the one of the same period")
		}
		if r := e.dpopToken(refreshForm("spa", a.refresh), nil); r.header.Get("DPoP-Nonce") != "" {
			t.Errorf("an answer to a request without a proof carries DPoP-Nonce %q", r.header.Get("DPoP-Nonce"))
		}

		// A nonce of this server is accepted.
		tk = e.dpopToken(refreshForm("spa", tk.refresh), withNonce(nonce)).wantDPoPTokens(t, "DPoP", k.Thumbprint())

		// A wrong or expired nonce: use_dpop_nonce with a fresh one, and
		// the refresh token still works.
		expired := nonce
		e.clock.Advance(2*dpop.NoncePeriod + time.Second)
		for name, n := range map[string]string{"Expired": expired, "Garbage": "not-a-nonce", "Forged": base64.RawURLEncoding.EncodeToString(make([]byte, 24))} {
			t.Run("ErrUseNonce"+name, func(t *testing.T) {
				r := e.dpopToken(refreshForm("spa", tk.refresh), withNonce(n))
				r.wantOAuthError(t, http.StatusBadRequest, "use_dpop_nonce")
				if fresh := r.wantNonce(t); fresh == expired {
					t.Error("the refusal carries the expired nonce again")
				}
			})
		}
		// None of those used the token up; the nonce of the new period works.
		r = e.dpopToken(refreshForm("spa", tk.refresh), e.proof(k))
		tk = r.wantDPoPTokens(t, "DPoP", k.Thumbprint())
		tk = e.dpopToken(refreshForm("spa", tk.refresh), withNonce(r.wantNonce(t))).wantDPoPTokens(t, "DPoP", k.Thumbprint())

		t.Run("Required", func(t *testing.T) {
			setNonceRequired(t, e, true)
			defer setNonceRequired(t, e, false)
			r := e.dpopToken(refreshForm("spa", tk.refresh), e.proof(k))
			r.wantOAuthError(t, http.StatusBadRequest, "use_dpop_nonce")
			tk = e.dpopToken(refreshForm("spa", tk.refresh), withNonce(r.wantNonce(t))).wantDPoPTokens(t, "DPoP", k.Thumbprint())
			// Requests without a proof are not concerned.
			b := e.register("bob")
			e.dpopToken(refreshForm("", b.refresh), nil).wantDPoPTokens(t, "Bearer", "")
			// The resource endpoints too: no nonce, use_dpop_nonce with one.
			r = e.dpopMe(tk.access, e.meProof(k, tk.access, dpoptest.Options{}))
			r.wantChallenge(t, "use_dpop_nonce")
			if r := e.dpopMe(tk.access, e.meProof(k, tk.access, dpoptest.Options{Nonce: r.wantNonce(t)})); r.status != http.StatusOK {
				t.Fatalf("me with the nonce: %d %s", r.status, r.body)
			}
		})
	})
}

// twin starts another instance on e's database, as a second process would
// be: its own Service (which reads the keys and secrets from the store) and
// its own server, sharing nothing with e but the database and the clock.
func (e *env) twin() *env {
	e.t.Helper()
	svc, err := refreshing.New(e.t.Context(), refreshing.Config{
		Store:  e.fault.Store,
		Hasher: refreshing.NewHasher(refreshing.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0),
		Now:    e.clock.Now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	o := &env{t: e.t, svc: svc, clock: e.clock, fault: e.fault, logs: &lockedBuffer{}}
	o.srv = httptest.NewServer(server.New(svc, server.Options{Limiter: ratelimit.NewMemory(e.clock.Now, 0)}))
	e.t.Cleanup(o.srv.Close)
	return o
}

// TestDPoPNonceAcrossInstances: a nonce one instance issued is good at
// another on the same database, which shares nothing else with it.
func TestDPoPNonceAcrossInstances(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e1 := start(t, su)
		a := e1.register("ada")
		e1.client(refreshing.ClientSpec{ID: "spa", Grants: []string{refreshing.GrantPassword}})
		setNonceRequired(t, e1, true)
		e2 := e1.twin()
		k := dpoptest.NewES256()
		htu := e1.svc.Issuer() + "/oauth/token" // both answer for the issuer's endpoint
		proof := func(n string) []string {
			return []string{k.Proof(http.MethodPost, htu, dpoptest.Options{IAT: e1.clock.Now(), Nonce: n})}
		}
		r := e1.dpopToken(passwordForm("spa", "ada", a.password), proof(""))
		r.wantOAuthError(t, http.StatusBadRequest, "use_dpop_nonce")
		fromFirst := r.wantNonce(t)
		r = e2.dpopToken(passwordForm("spa", "ada", a.password), proof(fromFirst))
		r.wantDPoPTokens(t, "DPoP", k.Thumbprint())
		if r.wantNonce(t) != fromFirst {
			t.Error("two instances issue different nonces in the same period")
		}
	})
}

// TestDPoPResource: GET /api/users/me and the other endpoints of an access
// token take a DPoP-bound token with "Authorization: DPoP" and a proof of
// its key for the very request (htm, htu, ath), once; a bound token sent as
// a bearer token, or any flaw of the proof, is 401 with a DPoP challenge
// (RFC 9449 section 7), on both stores.
func TestDPoPResource(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := start(t, su)
		a := e.register("ada")
		e.client(refreshing.ClientSpec{ID: "spa", Grants: []string{refreshing.GrantPassword}})
		k := dpoptest.NewES256()
		tk := e.dpopToken(passwordForm("spa", "ada", a.password), e.proof(k)).wantDPoPTokens(t, "DPoP", k.Thumbprint())

		r := e.dpopMe(tk.access, e.meProof(k, tk.access, dpoptest.Options{}))
		r.want(t, http.StatusOK, "", "")
		if r.str(t, "username") != "ada" {
			t.Fatalf("me = %s", r.body)
		}
		r.wantNonce(t)

		t.Run("BoundTokenAsBearer", func(t *testing.T) {
			r := e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: tk.access})
			r.wantChallenge(t, "invalid_token")
		})
		t.Run("BearerUnaffected", func(t *testing.T) {
			r := e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: a.jwt})
			r.want(t, http.StatusOK, "", "")
			if r.header.Get("DPoP-Nonce") != "" || r.header.Get("WWW-Authenticate") != "" {
				t.Errorf("a bearer answer carries DPoP headers: %v", r.header)
			}
			// An unbound token is not a DPoP token.
			e.dpopMe(a.jwt, e.meProof(k, a.jwt, dpoptest.Options{})).wantChallenge(t, "invalid_token")
		})

		now := e.clock.Now()
		me := e.srv.URL + "/api/users/me"
		replayed := e.meProof(k, tk.access, dpoptest.Options{})
		e.dpopMe(tk.access, replayed).want(t, http.StatusOK, "", "")
		for name, proofs := range map[string][]string{
			"NoProof":   nil,
			"TwoProofs": {e.meProof(k, tk.access, dpoptest.Options{})[0], e.meProof(k, tk.access, dpoptest.Options{})[0]},
			"Replayed":  replayed,
			"NoATH":     {k.Proof(http.MethodGet, me, dpoptest.Options{IAT: now})},
			"OtherATH":  e.meProof(k, tk.access, dpoptest.Options{AccessToken: a.jwt}),
			"OtherKey":  e.meProof(dpoptest.NewES256(), tk.access, dpoptest.Options{}),
			"WrongHTM":  {k.Proof(http.MethodPost, me, dpoptest.Options{IAT: now, AccessToken: tk.access})},
			"WrongHTU":  {k.Proof(http.MethodGet, e.srv.URL+"/api/users/me/sessions", dpoptest.Options{IAT: now, AccessToken: tk.access})},
			"TokenHTU":  {k.Proof(http.MethodGet, e.srv.URL+"/oauth/token", dpoptest.Options{IAT: now, AccessToken: tk.access})},
			"StaleIAT":  e.meProof(k, tk.access, dpoptest.Options{IAT: now.Add(-2 * dpop.Past)}),
			"WrongTyp":  e.meProof(k, tk.access, dpoptest.Options{Typ: "JWT"}),
			"Garbage":   {"not-a-proof"},
			"BadNonce":  e.meProof(k, tk.access, dpoptest.Options{Nonce: "not-a-nonce"}),
		} {
			t.Run("ErrProof"+name, func(t *testing.T) {
				code := "invalid_dpop_proof"
				if name == "BadNonce" {
					code = "use_dpop_nonce"
				}
				r := e.dpopMe(tk.access, proofs)
				r.wantChallenge(t, code)
				if code == "use_dpop_nonce" {
					r.wantNonce(t)
				}
			})
		}
		t.Run("ErrInvalidToken", func(t *testing.T) {
			e.dpopMe("not.a.token", e.meProof(k, "not.a.token", dpoptest.Options{})).wantChallenge(t, "invalid_token")
		})

		t.Run("OtherEndpoints", func(t *testing.T) {
			hdr := func(method, path string) map[string]string {
				return map[string]string{"Authorization": "DPoP " + tk.access,
					"DPoP": k.Proof(method, e.srv.URL+path, dpoptest.Options{IAT: e.clock.Now(), AccessToken: tk.access})}
			}
			e.do(request{method: http.MethodGet, path: "/api/users/me/sessions", header: hdr(http.MethodGet, "/api/users/me/sessions")}).want(t, http.StatusOK, "", "")
			e.do(request{method: http.MethodGet, path: "/api/auth/sessions", header: hdr(http.MethodGet, "/api/auth/sessions")}).want(t, http.StatusOK, "", "")
			// A proof for another endpoint is refused.
			e.do(request{method: http.MethodGet, path: "/api/auth/sessions", header: hdr(http.MethodGet, "/api/users/me/sessions")}).wantChallenge(t, "invalid_dpop_proof")
			e.do(request{method: http.MethodPost, path: "/api/auth/logout", body: map[string]any{}, header: hdr(http.MethodPost, "/api/auth/logout")}).want(t, http.StatusOK, "", "")
			// The session is ended: the token no longer works, with any proof.
			e.dpopMe(tk.access, e.meProof(k, tk.access, dpoptest.Options{})).wantChallenge(t, "invalid_token")
		})
	})
}
