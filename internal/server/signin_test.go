package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/idp"
)

// These tests run a real OpenID Connect provider on loopback
// (github.com/oauth2-proxy/mockoidc: discovery, JWKS, authorization code
// with PKCE, single-use codes, RS256 ID tokens) and walk the whole redirect
// flow through real listeners with a cookie-keeping client, as a browser does.

// oidcEnv is a Refreshing server with the provider "corp" at op.
type oidcEnv struct {
	*env
	op *mockoidc.MockOIDC
}

func startOIDC(t *testing.T, su setup, cfg func(*refreshing.ProviderConfig)) *oidcEnv {
	t.Helper()
	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Shutdown() })
	c := refreshing.ProviderConfig{Name: "corp", Issuer: op.Issuer(), ClientID: op.ClientID, ClientSecret: op.ClientSecret,
		RedirectURLs: []string{"https://app.example/signed-in"}}
	if cfg != nil {
		cfg(&c)
	}
	cs, err := refreshing.ParseProviders(mustJSON(t, []refreshing.ProviderConfig{c}))
	if err != nil {
		t.Fatal(err)
	}
	su.providers = cs
	return &oidcEnv{env: start(t, su), op: op}
}

// withProviders is su with the providers cs and, when not nil, settings.
func withProviders(su setup, cs []refreshing.ProviderConfig, settings func(*refreshing.Settings)) setup {
	su.providers = cs
	if settings != nil {
		su.settings = settings
	}
	return su
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// browser is a client with a cookie jar that follows redirects, except to
// the URLs stop says (then it returns the redirect).
func signInBrowser(t *testing.T, stop func(*url.URL) bool) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if stop != nil && stop(req.URL) {
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		return nil
	}}
}

func (e *oidcEnv) get(c *http.Client, u string) response {
	e.t.Helper()
	res, err := c.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{status: res.StatusCode, header: res.Header, body: []byte(b.String())}
}

// signIn runs connect → provider → callback for user and returns the answer.
func (e *oidcEnv) signIn(u mockoidc.User) response {
	e.t.Helper()
	e.op.QueueUser(u)
	r := e.get(signInBrowser(e.t, nil), e.srv.URL+"/api/connect/corp")
	if r.status == http.StatusOK {
		e.remember(r.str(e.t, "jwt"), r.str(e.t, "refreshToken"))
	}
	return r
}

// userCount is how many accounts exist.
func (e *oidcEnv) userCount() int {
	e.t.Helper()
	us, err := e.fault.ListUsers(e.t.Context(), 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(us)
}

func alice() *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "alice-sub", Email: "Alice@Corp.Example", EmailVerified: true, PreferredUsername: "alice"}
}

func TestProviderSignIn(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := startOIDC(t, su, nil)
		r := e.signIn(alice())
		if r.status != http.StatusOK {
			t.Fatalf("sign-in: %d %s", r.status, r.body)
		}
		m := r.json(t)
		user, _ := m["user"].(map[string]any)
		if m["jwt"] == "" || m["refreshToken"] == nil || user == nil {
			t.Fatalf("answer %s is not {jwt, refreshToken, user}", r.body)
		}
		if user["email"] != "alice@corp.example" || user["provider"] != "corp" || user["confirmed"] != true || user["username"] != "alice" {
			t.Fatalf("user = %v", user)
		}
		// The access token works and the refresh token exchanges and rotates,
		// exactly as after a local login.
		me := e.do(request{method: "GET", path: "/api/users/me", bearer: r.str(t, "jwt")})
		if me.status != http.StatusOK || me.json(t)["id"] != user["id"] {
			t.Fatalf("/api/users/me: %d %s", me.status, me.body)
		}
		rt := r.str(t, "refreshToken")
		x := e.exchange(rt)
		if x.status != http.StatusOK || x.str(t, "refreshToken") == rt {
			t.Fatalf("exchange: %d %s", x.status, x.body)
		}
		e.remember(x.str(t, "jwt"), x.str(t, "refreshToken"))
		// Past the grace window the retired token is a reuse: the session ends.
		e.clock.Advance(time.Minute)
		if again := e.exchange(rt); again.status != http.StatusUnauthorized {
			t.Fatalf("replayed refresh token: %d %s", again.status, again.body)
		}
		if after := e.exchange(x.str(t, "refreshToken")); after.status != http.StatusUnauthorized {
			t.Fatalf("token after reuse detection: %d %s", after.status, after.body)
		}

		// The same subject lands on the same user, even with another email.
		again := alice()
		again.Email = "alice.new@corp.example"
		r2 := e.signIn(again)
		if r2.status != http.StatusOK {
			t.Fatalf("second sign-in: %d %s", r2.status, r2.body)
		}
		if id := r2.json(t)["user"].(map[string]any)["id"]; id != user["id"] {
			t.Fatalf("second sign-in landed on user %v, want %v", id, user["id"])
		}
		if n := e.userCount(); n != 1 {
			t.Fatalf("%d users after two sign-ins of one subject", n)
		}
		// The audit log records provider sign-ins.
		evs, err := e.svc.ListAudit(t.Context(), refreshing.AuditFilter{Type: refreshing.AuditProviderLogin})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || !strings.Contains(evs[0].Detail, "corp") {
			t.Fatalf("audit: %+v", evs)
		}
		// The provider account cannot sign in locally: it has no password.
		if l := e.post("/api/auth/local", map[string]any{"identifier": "alice@corp.example", "password": "anything"}); l.status != http.StatusBadRequest {
			t.Fatalf("local login of a provider account: %d %s", l.status, l.body)
		}
	})
}

// tampered is a user whose ID token claims a test changes.
type tampered struct {
	*mockoidc.MockUser
	edit func(*mockoidc.IDTokenClaims)
}

func (u tampered) Claims(scope []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	u.edit(c)
	return u.MockUser.Claims(scope, c)
}

func TestProviderSignInRefused(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		for _, tc := range []struct {
			name    string
			user    mockoidc.User
			message string
		}{
			{"WrongNonce", tampered{alice(), func(c *mockoidc.IDTokenClaims) { c.Nonce = "not-the-nonce" }}, "The provider's answer could not be verified"},
			{"WrongAudience", tampered{alice(), func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-client"} }}, "The provider's answer could not be verified"},
			{"WrongIssuer", tampered{alice(), func(c *mockoidc.IDTokenClaims) { c.Issuer = "https://evil.example" }}, "The provider's answer could not be verified"},
			{"Expired", tampered{alice(), func(c *mockoidc.IDTokenClaims) {
				c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
				c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
			}}, "The provider's answer could not be verified"},
			{"UnverifiedEmail", &mockoidc.MockUser{Subject: "mallory", Email: "victim@corp.example", EmailVerified: false}, "The provider has not verified this email address"},
			{"NoEmail", &mockoidc.MockUser{Subject: "mallory"}, "The provider has not verified this email address"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := startOIDC(t, su, nil)
				r := e.signIn(tc.user)
				r.want(t, http.StatusBadRequest, "ValidationError", tc.message)
				if n := e.userCount(); n != 0 {
					t.Fatalf("%d users created by a refused sign-in", n)
				}
			})
		}
	})
}

// TestProviderSignInState covers the browser binding: a forged state, a
// missing cookie and a replayed code fail, and create nothing.
func TestProviderSignInState(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := startOIDC(t, su, nil)
		isCallback := func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/api/auth/corp/callback") }

		t.Run("ForgedState", func(t *testing.T) {
			b := signInBrowser(t, isCallback)
			r := e.get(b, e.srv.URL+"/api/connect/corp")
			loc, _ := url.Parse(r.header.Get("Location"))
			if r.status != http.StatusFound || !isCallback(loc) {
				t.Fatalf("expected the provider's redirect to the callback, got %d %v", r.status, loc)
			}
			q := loc.Query()
			q.Set("state", q.Get("state")+"x")
			loc.RawQuery = q.Encode()
			e.get(b, loc.String()).want(t, http.StatusBadRequest, "ValidationError", "Invalid or expired sign-in state: start again from /api/connect")
		})
		t.Run("AnotherBrowser", func(t *testing.T) {
			r := e.get(signInBrowser(t, isCallback), e.srv.URL+"/api/connect/corp")
			// The callback URL, opened in a browser that did not start the sign-in.
			e.get(signInBrowser(t, nil), r.header.Get("Location")).want(t, http.StatusBadRequest, "ValidationError", "Invalid or expired sign-in state: start again from /api/connect")
		})
		t.Run("Expired", func(t *testing.T) {
			b := signInBrowser(t, isCallback)
			r := e.get(b, e.srv.URL+"/api/connect/corp")
			e.clock.Advance(idp.StateTTL + time.Second)
			e.get(b, r.header.Get("Location")).want(t, http.StatusBadRequest, "ValidationError", "Invalid or expired sign-in state: start again from /api/connect")
		})
		if n := e.userCount(); n != 0 {
			t.Fatalf("%d users after refused callbacks", n)
		}

		t.Run("ReplayedCode", func(t *testing.T) {
			e.op.QueueUser(alice())
			b := signInBrowser(t, isCallback)
			r := e.get(b, e.srv.URL+"/api/connect/corp")
			callback := r.header.Get("Location")
			cu, _ := url.Parse(e.srv.URL + "/api/auth/corp/callback")
			cookies := b.Jar.Cookies(cu)
			ok := e.get(b, callback)
			if ok.status != http.StatusOK {
				t.Fatalf("first callback: %d %s", ok.status, ok.body)
			}
			e.remember(ok.str(t, "jwt"), ok.str(t, "refreshToken"))
			sessions := len(e.sessions(ok.str(t, "jwt")))
			// The same browser again: its state was used up.
			e.get(b, callback).want(t, http.StatusBadRequest, "ValidationError", "Invalid or expired sign-in state: start again from /api/connect")
			// With the state cookie restored, the provider refuses the used code.
			b.Jar.SetCookies(cu, cookies)
			e.get(b, callback).want(t, http.StatusBadRequest, "ValidationError", "The provider's answer could not be verified")
			if n := e.userCount(); n != 1 {
				t.Fatalf("%d users after a replay", n)
			}
			if n := len(e.sessions(ok.str(t, "jwt"))); n != sessions {
				t.Fatalf("a replay changed the sessions: %d, then %d", sessions, n)
			}
		})
	})
}

// TestProviderSignInAccounts covers which account a new identity joins.
func TestProviderSignInAccounts(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		t.Run("EmailTakenNoLinking", func(t *testing.T) {
			e := startOIDC(t, su, nil)
			a := e.register("alice")
			r := e.signIn(&mockoidc.MockUser{Subject: "s1", Email: a.email, EmailVerified: true})
			r.want(t, http.StatusBadRequest, "ApplicationError", "An account with this email already exists; sign in with it instead")
			if ids, err := e.fault.UserIdentities(t.Context(), int64(a.id)); err != nil || len(ids) != 0 {
				t.Fatalf("identities after a refused link: %v, %v", ids, err)
			}
			if n := e.userCount(); n != 1 {
				t.Fatalf("%d users", n)
			}
		})
		t.Run("LinkByVerifiedEmail", func(t *testing.T) {
			e := startOIDC(t, su, func(c *refreshing.ProviderConfig) { c.LinkByEmail = true })
			a := e.register("alice")
			// Unverified, the email links nothing even when linking is on.
			e.signIn(&mockoidc.MockUser{Subject: "s0", Email: a.email}).want(t, http.StatusBadRequest, "ValidationError", "The provider has not verified this email address")
			for _, sub := range []string{"s1", "s2"} { // several identities, one account
				r := e.signIn(&mockoidc.MockUser{Subject: sub, Email: strings.ToUpper(a.email), EmailVerified: true})
				if r.status != http.StatusOK || r.json(t)["user"].(map[string]any)["id"] != a.id {
					t.Fatalf("sign-in %s: %d %s, want user %v", sub, r.status, r.body, a.id)
				}
			}
			ids, err := e.fault.UserIdentities(t.Context(), int64(a.id))
			if err != nil || len(ids) != 2 {
				t.Fatalf("identities: %+v, %v", ids, err)
			}
			// The local password still works too.
			e.login(a, nil)
			// A blocked account is refused, whichever way it is reached.
			u, err := e.fault.UserByID(t.Context(), int64(a.id))
			if err != nil {
				t.Fatal(err)
			}
			u.Blocked = true
			if err := e.fault.UpdateUser(t.Context(), u, nil); err != nil {
				t.Fatal(err)
			}
			e.signIn(&mockoidc.MockUser{Subject: "s1", Email: a.email, EmailVerified: true}).want(t, http.StatusBadRequest, "ApplicationError", "Your account has been blocked by an administrator")
			e.signIn(&mockoidc.MockUser{Subject: "s3", Email: a.email, EmailVerified: true}).want(t, http.StatusBadRequest, "ApplicationError", "Your account has been blocked by an administrator")
			if ids, _ := e.fault.UserIdentities(t.Context(), int64(a.id)); len(ids) != 2 {
				t.Fatalf("a blocked account gained identities: %+v", ids)
			}
		})
		t.Run("RegistrationClosed", func(t *testing.T) {
			op, err := mockoidc.Run()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { op.Shutdown() })
			cs, _ := refreshing.ParseProviders(mustJSON(t, []refreshing.ProviderConfig{{Name: "corp", Issuer: op.Issuer(), ClientID: op.ClientID, ClientSecret: op.ClientSecret}}))
			e := &oidcEnv{env: start(t, withProviders(su, cs, func(s *refreshing.Settings) { s.Registration = false })), op: op}
			e.signIn(alice()).want(t, http.StatusBadRequest, "ApplicationError", "Register action is currently disabled")
			if n := e.userCount(); n != 0 {
				t.Fatalf("%d users", n)
			}
		})
		t.Run("UnknownProvider", func(t *testing.T) {
			e := startOIDC(t, su, nil)
			e.get(signInBrowser(t, nil), e.srv.URL+"/api/connect/nope").want(t, http.StatusNotFound, "NotFoundError", "This provider is not configured")
			e.get(signInBrowser(t, nil), e.srv.URL+"/api/auth/nope/callback?code=x&state=y").want(t, http.StatusNotFound, "NotFoundError", "This provider is not configured")
		})
	})
}

// TestProviderSignInRedirect ends the sign-in on an allowed front-end page
// with the tokens in the fragment; other targets are refused.
func TestProviderSignInRedirect(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := startOIDC(t, su, nil)
		e.get(signInBrowser(t, nil), e.srv.URL+"/api/connect/corp?redirect="+url.QueryEscape("https://evil.example/")).wantField(t, "redirect")
		e.op.QueueUser(alice())
		r := e.get(signInBrowser(t, func(u *url.URL) bool { return u.Host == "app.example" }),
			e.srv.URL+"/api/connect/corp?redirect="+url.QueryEscape("https://app.example/signed-in"))
		loc, err := url.Parse(r.header.Get("Location"))
		if r.status != http.StatusFound || err != nil || loc.Host != "app.example" || loc.Path != "/signed-in" {
			t.Fatalf("callback: %d, Location %q", r.status, r.header.Get("Location"))
		}
		frag, _ := url.ParseQuery(loc.Fragment)
		e.remember(frag.Get("jwt"), frag.Get("refreshToken"))
		if frag.Get("jwt") == "" || frag.Get("refreshToken") == "" || loc.RawQuery != "" {
			t.Fatalf("tokens not in the fragment: %q", r.header.Get("Location"))
		}
		if x := e.exchange(frag.Get("refreshToken")); x.status != http.StatusOK {
			t.Fatalf("exchange: %d %s", x.status, x.body)
		} else {
			e.remember(x.str(t, "jwt"), x.str(t, "refreshToken"))
		}
	})
}

// hostRouter sends requests to the Refreshing server through the contract
// checker, and the others (the provider's) directly.
type hostRouter struct {
	host     string
	checked  http.RoundTripper
	provider http.RoundTripper
}

func (h hostRouter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == h.host {
		return h.checked.RoundTrip(r)
	}
	return h.provider.RoundTrip(r)
}

// TestProviderSignInContract walks the flow with every answer of Refreshing
// checked against openapi.json.
func TestProviderSignInContract(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := startOIDC(t, su, nil)
		v := &conformance{t: t, c: loadContract(t, e.srv.URL), base: http.DefaultTransport, seen: map[string]bool{}, missing: map[string]bool{}}
		srvURL, _ := url.Parse(e.srv.URL)
		b := signInBrowser(t, func(u *url.URL) bool { return u.Host == "app.example" })
		b.Transport = hostRouter{host: srvURL.Host, checked: v, provider: http.DefaultTransport}

		e.op.QueueUser(alice())
		ok := e.get(b, e.srv.URL+"/api/connect/corp")
		if ok.status != http.StatusOK {
			t.Fatalf("sign-in: %d %s", ok.status, ok.body)
		}
		e.remember(ok.str(t, "jwt"), ok.str(t, "refreshToken"))
		e.op.QueueUser(alice())
		if r := e.get(b, e.srv.URL+"/api/connect/corp?redirect="+url.QueryEscape("https://app.example/signed-in")); r.status != http.StatusFound {
			t.Fatalf("sign-in to the front end: %d %s", r.status, r.body)
		} else {
			frag, _ := url.ParseQuery(strings.SplitN(r.header.Get("Location"), "#", 2)[1])
			e.remember(frag.Get("jwt"), frag.Get("refreshToken"))
		}
		e.get(b, e.srv.URL+"/api/auth/corp/callback?code=c&state=s").want(t, http.StatusBadRequest, "ValidationError", "Invalid or expired sign-in state: start again from /api/connect")
		e.get(b, e.srv.URL+"/api/connect/corp?redirect=https://evil.example/").wantField(t, "redirect")
		for _, op := range []string{"providerConnect", "providerCallback"} {
			if !v.seen[op] {
				t.Errorf("%s was never checked against the contract", op)
			}
		}
	})
}

// gitHub imitates the parts of GitHub's documented OAuth and REST API that
// the github preset uses (authorize, access_token with PKCE and single-use
// codes, /user, /user/emails) on loopback: GitHub itself cannot be reached
// from tests.
type gitHub struct {
	mu     sync.Mutex
	codes  map[string]string // code -> S256 challenge
	user   string            // /user's JSON
	emails string            // /user/emails' JSON
}

func (g *gitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch r.URL.Path {
	case "/login/oauth/authorize":
		q := r.URL.Query()
		code := fmt.Sprintf("code%d", len(g.codes)+1)
		g.codes[code] = q.Get("code_challenge")
		u, _ := url.Parse(q.Get("redirect_uri"))
		u.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		w.Header().Set("Location", u.String())
		w.WriteHeader(http.StatusFound)
	case "/login/oauth/access_token":
		r.ParseForm()
		challenge, ok := g.codes[r.Form.Get("code")]
		delete(g.codes, r.Form.Get("code"))
		sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
		w.Header().Set("Content-Type", "application/json")
		if !ok || r.Form.Get("client_secret") != "gh-secret" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			fmt.Fprint(w, `{"error":"bad_verification_code"}`)
			return
		}
		fmt.Fprint(w, `{"access_token":"gho_token","token_type":"bearer","scope":"read:user,user:email"}`)
	case "/api/user", "/api/user/emails":
		if r.Header.Get("Authorization") != "Bearer gho_token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/user" {
			fmt.Fprint(w, g.user)
		} else {
			fmt.Fprint(w, g.emails)
		}
	default:
		http.NotFound(w, r)
	}
}

func TestGitHubSignIn(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		gh := &gitHub{codes: map[string]string{}, user: `{"id":583231,"login":"octocat"}`,
			emails: `[{"email":"octo@users.example","primary":false,"verified":true},{"email":"octocat@github.example","primary":true,"verified":true}]`}
		ghs := httptest.NewServer(gh)
		t.Cleanup(ghs.Close)
		cs, err := refreshing.ParseProviders(mustJSON(t, []refreshing.ProviderConfig{{Name: "github", Type: "github", ClientID: "gh-client", ClientSecret: "gh-secret",
			AuthURL: ghs.URL + "/login/oauth/authorize", TokenURL: ghs.URL + "/login/oauth/access_token", APIURL: ghs.URL + "/api"}}))
		if err != nil {
			t.Fatal(err)
		}
		e := &oidcEnv{env: start(t, withProviders(su, cs, nil))}
		r := e.get(signInBrowser(t, nil), e.srv.URL+"/api/connect/github")
		if r.status != http.StatusOK {
			t.Fatalf("sign-in: %d %s", r.status, r.body)
		}
		e.remember(r.str(t, "jwt"), r.str(t, "refreshToken"))
		user := r.json(t)["user"].(map[string]any)
		if user["email"] != "octocat@github.example" || user["username"] != "octocat" || user["provider"] != "github" {
			t.Fatalf("user = %v", user)
		}
		ids, err := e.fault.UserIdentities(t.Context(), int64(user["id"].(float64)))
		if err != nil || len(ids) != 1 || ids[0].Subject != "583231" {
			t.Fatalf("identities: %+v %v", ids, err)
		}
		// A primary email GitHub has not verified creates nothing.
		gh.mu.Lock()
		gh.user, gh.emails = `{"id":7,"login":"eve"}`, `[{"email":"victim@example.com","primary":true,"verified":false}]`
		gh.mu.Unlock()
		e.get(signInBrowser(t, nil), e.srv.URL+"/api/connect/github").want(t, http.StatusBadRequest, "ValidationError", "The provider has not verified this email address")
		us, _ := e.fault.ListUsers(t.Context(), 0, 10)
		if len(us) != 1 {
			t.Fatalf("%d users", len(us))
		}
	})
}

// TestProviderSettingsScreen: the admin providers screen lists the
// environment's providers, read-only, and never shows a client secret.
func TestProviderSettingsScreen(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := startOIDC(t, su, func(c *refreshing.ProviderConfig) { c.LinkByEmail = true })
		e.remember(e.op.ClientSecret)
		r := e.admin().send(http.MethodGet, "/admin/providers", nil, nil)
		if r.status != http.StatusOK {
			t.Fatalf("providers: %d", r.status)
		}
		page := string(r.body)
		for _, want := range []string{"Sign-in providers", ">corp<", "REFRESHING_OIDC_PROVIDERS</span> (read-only)", e.op.ClientID, e.op.Issuer(), "set (not shown)", "https://app.example/signed-in", "the tokens"} {
			if !strings.Contains(page, want) {
				t.Errorf("the providers screen lacks %q", want)
			}
		}
		if strings.Contains(page, e.op.ClientSecret) {
			t.Fatal("the providers screen shows the client secret")
		}
	})
}

// TestProviderAdminScreen: a provider added on the Providers screen signs
// people in at once; editing it with the secret field left blank keeps the
// secret, which no page ever shows; a refused form changes nothing and says
// why; the environment's providers cannot be saved over; delete needs the
// box ticked and then stops sign-in through it.
func TestProviderAdminScreen(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		op, err := mockoidc.Run()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { op.Shutdown() })
		su.providers = []refreshing.ProviderConfig{{Name: "fromenv", Issuer: op.Issuer(), ClientID: "env-client", ClientSecret: "env-secret-a8d1"}}
		e := &oidcEnv{env: start(t, su), op: op}
		e.remember(op.ClientSecret, "env-secret-a8d1")
		a := e.admin()
		stored := func() refreshing.ProviderConfig {
			t.Helper()
			c, err := e.svc.SignInProvider(t.Context(), "corp")
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		noSecret := func(r response) {
			t.Helper()
			for _, s := range []string{op.ClientSecret, "env-secret-a8d1"} {
				if strings.Contains(string(r.body), s) {
					t.Fatalf("the page shows a client secret:\n%s", r.body)
				}
			}
		}
		form := url.Values{"name": {"corp"}, "type": {"oidc"}, "issuer": {op.Issuer()}, "clientId": {op.ClientID},
			"clientSecret": {op.ClientSecret}, "redirectUrls": {"https://app.example/a\r\nhttps://app.example/b"}, "redirectWith": {"tokens"}}

		if r := e.signIn(alice()); r.status != http.StatusNotFound {
			t.Fatalf("before the provider is added: %d", r.status)
		}
		r := a.post("/admin/providers", form, nil)
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/admin/providers?ok=providersaved") {
			t.Fatalf("add: %d %s %s", r.status, r.header.Get("Location"), r.body)
		}
		page := a.get("/admin/providers")
		page.wantPage(t, http.StatusOK, ">corp<", op.ClientID, "set (not shown)", "https://app.example/b", ">fromenv<", "REFRESHING_OIDC_PROVIDERS</span> (read-only)")
		noSecret(page)
		if c := stored(); c.ClientSecret != op.ClientSecret || len(c.RedirectURLs) != 2 {
			t.Fatalf("stored: %+v", c)
		}
		if r := e.signIn(alice()); r.status != http.StatusOK {
			t.Fatalf("sign-in through the added provider: %d %s", r.status, r.body)
		}

		// A provider whose issuer cannot be read is saved, and the notice says so.
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close()
		r = a.post("/admin/providers", url.Values{"name": {"down"}, "issuer": {down.URL}, "clientId": {"c"}}, nil)
		if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "ok=providerunreachable") {
			t.Fatalf("a provider that cannot be reached: %d %s", r.status, r.header.Get("Location"))
		}
		a.get(r.header.Get("Location")).wantPage(t, http.StatusOK, "discovery document could not be read", ">down<")
		if err := e.svc.DeleteSignInProvider(t.Context(), "down"); err != nil {
			t.Fatal(err)
		}

		edit := a.get("/admin/providers?edit=corp")
		edit.wantPage(t, http.StatusOK, "Edit corp", `value="`+op.ClientID+`"`, "A secret is set; leave this blank to keep it.")
		noSecret(edit)
		a.get("/admin/providers?edit=fromenv").wantPage(t, http.StatusNotFound, "No saved sign-in provider is called fromenv.")
		changed := url.Values{"editing": {"yes"}, "name": {"corp"}, "type": {"oidc"}, "issuer": {op.Issuer()}, "clientId": {op.ClientID},
			"clientSecret": {""}, "scopes": {"openid email"}, "redirectWith": {"code"}, "linkByEmail": {"on"}}
		if r := a.post("/admin/providers", changed, nil); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "ok=providersaved") {
			t.Fatalf("edit: %d %s", r.status, r.body)
		}
		if c := stored(); c.ClientSecret != op.ClientSecret || c.RedirectWith != "code" || !c.LinkByEmail || len(c.Scopes) != 2 || len(c.RedirectURLs) != 0 {
			t.Fatalf("after an edit with a blank secret: %+v", c)
		}

		before := stored()
		for name, c := range map[string]struct {
			set  url.Values
			want string
		}{
			"BadIssuer":   {url.Values{"issuer": {"ftp://id.example"}, "clientSecret": {"typed-secret-71c2"}}, "is not an http(s) URL"},
			"NoClientID":  {url.Values{"clientId": {""}}, "clientId is required"},
			"BadRedirect": {url.Values{"redirectUrls": {"/signed-in"}}, "redirectUrls"},
			"BadType":     {url.Values{"type": {"saml"}}, "is not oidc, google or github"},
			"EnvName":     {url.Values{"name": {"fromenv"}}, "configured by REFRESHING_OIDC_PROVIDERS"},
		} {
			f := url.Values{}
			for k, v := range changed {
				f[k] = v
			}
			for k, v := range c.set {
				f[k] = v
			}
			r := a.post("/admin/providers", f, nil)
			r.wantPage(t, http.StatusBadRequest, "Not saved", c.want)
			if strings.Contains(string(r.body), "typed-secret-71c2") {
				t.Errorf("%s: the refused form shows the typed secret", name)
			}
			noSecret(r)
		}
		if after := stored(); !reflect.DeepEqual(after, before) {
			t.Fatalf("refused forms changed the provider: %+v, was %+v", after, before)
		}
		if _, err := e.svc.SignInProvider(t.Context(), "fromenv"); err != nil {
			t.Fatal(err)
		}

		a.post("/admin/providers/corp/delete", url.Values{}, nil).wantPage(t, http.StatusBadRequest, "tick the box")
		if _, err := e.svc.SignInProvider(t.Context(), "corp"); err != nil {
			t.Fatalf("delete without the box: %v", err)
		}
		a.post("/admin/providers/fromenv/delete", url.Values{"confirm": {"yes"}}, nil).wantPage(t, http.StatusBadRequest, "remove it there")
		if r := a.post("/admin/providers/corp/delete", url.Values{"confirm": {"yes"}}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("delete: %d", r.status)
		}
		if r := e.signIn(alice()); r.status != http.StatusNotFound {
			t.Fatalf("after delete: %d", r.status)
		}
		a.post("/admin/providers/corp/delete", url.Values{"confirm": {"yes"}}, nil).wantPage(t, http.StatusNotFound)
	})
}

// TestProviderSignInProviderTrouble: a provider that cannot be reached is a
// 502, and one that sends the browser back with an error is a 400.
func TestProviderSignInProviderTrouble(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		t.Run("Unreachable", func(t *testing.T) {
			down := httptest.NewServer(http.NotFoundHandler())
			down.Close() // nothing listens there any more
			cs, err := refreshing.ParseProviders(mustJSON(t, []refreshing.ProviderConfig{{Name: "corp", Issuer: down.URL, ClientID: "c", ClientSecret: "s"}}))
			if err != nil {
				t.Fatal(err)
			}
			e := &oidcEnv{env: start(t, withProviders(su, cs, nil))}
			e.get(signInBrowser(t, nil), e.srv.URL+"/api/connect/corp").want(t, http.StatusBadGateway, "ApplicationError", "The sign-in provider could not be reached")
		})
		t.Run("Declined", func(t *testing.T) {
			e := startOIDC(t, su, nil)
			isCallback := func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/api/auth/corp/callback") }
			b := signInBrowser(t, isCallback)
			r := e.get(b, e.srv.URL+"/api/connect/corp")
			loc, _ := url.Parse(r.header.Get("Location"))
			q := url.Values{"state": {loc.Query().Get("state")}, "error": {"access_denied"}}
			loc.RawQuery = q.Encode()
			e.get(b, loc.String()).want(t, http.StatusBadRequest, "ApplicationError", "The sign-in was cancelled or refused at the provider")
			if n := e.userCount(); n != 0 {
				t.Fatalf("%d users", n)
			}
		})
	})
}

// TestProviderSignInCookieMode: in cookie mode the callback puts the refresh
// token in the HttpOnly cookie, as the local login does, and the body has none.
func TestProviderSignInCookieMode(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		op, err := mockoidc.Run()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { op.Shutdown() })
		cs, _ := refreshing.ParseProviders(mustJSON(t, []refreshing.ProviderConfig{{Name: "corp", Issuer: op.Issuer(), ClientID: op.ClientID, ClientSecret: op.ClientSecret}}))
		e := &oidcEnv{env: start(t, withProviders(su, cs, func(s *refreshing.Settings) { s.CookieMode = true })), op: op}
		op.QueueUser(alice())
		b := signInBrowser(t, func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/callback") })
		r := e.get(b, e.srv.URL+"/api/connect/corp")
		req, _ := http.NewRequest(http.MethodGet, r.header.Get("Location"), nil)
		for _, c := range b.Jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		var refresh *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == "strapi_up_refresh" {
				refresh = c
			}
		}
		if res.StatusCode != http.StatusOK || body["jwt"] == nil || body["refreshToken"] != nil || refresh == nil || !refresh.HttpOnly || refresh.Value == "" {
			t.Fatalf("cookie-mode callback: %d %v cookie %v", res.StatusCode, body, refresh)
		}
		e.remember(body["jwt"].(string), refresh.Value)
		if x := e.exchange(refresh.Value); x.status != http.StatusOK {
			t.Fatalf("exchange of the cookie's token: %d %s", x.status, x.body)
		} else {
			e.remember(x.str(t, "jwt"), x.str(t, "refreshToken"))
		}
	})
}

// TestProviderSignInCode: a provider set to redirect with a one-time code
// ends on the front-end page with a code in the fragment, never a token; the
// code redeems once, within 60 s, for the local login's answer.
func TestProviderSignInCode(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := startOIDC(t, su, func(c *refreshing.ProviderConfig) { c.RedirectWith = "code" })
		// codeFor runs the sign-in to the front-end page and returns the code.
		codeFor := func(u mockoidc.User) string {
			t.Helper()
			e.op.QueueUser(u)
			r := e.get(signInBrowser(t, func(u *url.URL) bool { return u.Host == "app.example" }),
				e.srv.URL+"/api/connect/corp?redirect="+url.QueryEscape("https://app.example/signed-in"))
			loc, err := url.Parse(r.header.Get("Location"))
			if r.status != http.StatusFound || err != nil || loc.Host != "app.example" {
				t.Fatalf("callback: %d, Location %q", r.status, r.header.Get("Location"))
			}
			frag, _ := url.ParseQuery(loc.Fragment)
			code := frag.Get("code")
			if code == "" || frag.Get("provider") != "corp" || frag.Has("jwt") || frag.Has("refreshToken") || loc.RawQuery != "" {
				t.Fatalf("the front end got %q, want only a code and the provider in the fragment", r.header.Get("Location"))
			}
			e.remember(code)
			return code
		}
		redeem := func(code string) response {
			t.Helper()
			return e.post("/api/auth/code", map[string]any{"code": code})
		}
		const refused = "Invalid or expired sign-in code"

		code := codeFor(alice())
		r := redeem(code)
		r.want(t, http.StatusOK, "", "")
		if r.json(t)["user"].(map[string]any)["email"] != "alice@corp.example" {
			t.Fatalf("answer %s", r.body)
		}
		jwt := r.str(t, "jwt")
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: jwt}).want(t, http.StatusOK, "", "")
		if x := e.exchange(r.str(t, "refreshToken")); x.status != http.StatusOK {
			t.Fatalf("exchange: %d %s", x.status, x.body)
		}
		sessions := len(e.sessions(jwt))

		// Twice: refused, and nothing issued.
		redeem(code).want(t, http.StatusBadRequest, "ValidationError", refused)
		// Late: refused.
		late := codeFor(alice())
		e.clock.Advance(refreshing.SignInCodeTTL + time.Second)
		redeem(late).want(t, http.StatusBadRequest, "ValidationError", refused)
		// Made up, or not a code at all: refused; missing: the field.
		redeem(strings.Repeat("A", 22)+"."+strings.Repeat("B", 43)).want(t, http.StatusBadRequest, "ValidationError", refused)
		redeem("nonsense").want(t, http.StatusBadRequest, "ValidationError", refused)
		e.post("/api/auth/code", map[string]any{}).wantField(t, "code")
		// A newer code replaces an unredeemed older one.
		older, newer := codeFor(alice()), codeFor(alice())
		redeem(older).want(t, http.StatusBadRequest, "ValidationError", refused)
		// Blocked between the sign-in and the redemption: refused.
		u, err := e.fault.UserByEmail(t.Context(), "alice@corp.example")
		if err != nil {
			t.Fatal(err)
		}
		u.Blocked = true
		if err := e.fault.UpdateUser(t.Context(), u, nil); err != nil {
			t.Fatal(err)
		}
		redeem(newer).want(t, http.StatusBadRequest, "ApplicationError", "Your account has been blocked by an administrator")
		u.Blocked = false
		if err := e.fault.UpdateUser(t.Context(), u, nil); err != nil {
			t.Fatal(err)
		}
		if n := len(e.sessions(jwt)); n != sessions {
			t.Fatalf("refused redemptions changed the sessions: %d, then %d", sessions, n)
		}
		if n := e.userCount(); n != 1 {
			t.Fatalf("%d users", n)
		}
		// Without redirect, the callback still answers JSON.
		if r := e.signIn(alice()); r.status != http.StatusOK {
			t.Fatalf("sign-in without redirect: %d %s", r.status, r.body)
		}
	})
}
