package server_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// oauthReq is one request to an /oauth endpoint.
type oauthReq struct {
	path        string
	values      url.Values // the form body
	raw         string     // a raw body instead of values, when not empty
	basic       []string   // HTTP Basic client id and secret (escaped as RFC 6749 says)
	rawBasic    string     // "id:secret" for HTTP Basic as sent, unescaped
	contentType string     // default application/x-www-form-urlencoded
	method      string     // default POST
}

// oauth sends req and returns the answer, remembering every secret it sent
// or received so that the logs can be checked for them.
func (e *env) oauth(req oauthReq) response {
	e.t.Helper()
	body := req.raw
	if body == "" {
		body = req.values.Encode()
		e.remember(req.values.Get("password"), req.values.Get("client_secret"), req.values.Get("refresh_token"), req.values.Get("token"))
	}
	method := req.method
	if method == "" {
		method = http.MethodPost
	}
	hr, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+req.path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	ct := req.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	hr.Header.Set("Content-Type", ct)
	if req.basic != nil {
		hr.SetBasicAuth(url.QueryEscape(req.basic[0]), url.QueryEscape(req.basic[1]))
		e.remember(req.basic[1])
	}
	if req.rawBasic != "" {
		hr.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(req.rawBasic)))
	}
	res, err := e.srv.Client().Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, req.path, err)
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

// token posts a form to /oauth/token.
func (e *env) token(values url.Values, basic ...string) response {
	e.t.Helper()
	return e.oauth(oauthReq{path: "/oauth/token", values: values, basic: basic})
}

// wantOAuthError checks an RFC 6749 section 5.2 error: the status, the
// error code, a description, and the challenge that goes with a 401.
func (r response) wantOAuthError(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	m := r.json(t)
	if m["error"] != code {
		t.Errorf("error = %v, want %s; body %s", m["error"], code, r.body)
	}
	if d, _ := m["error_description"].(string); d == "" {
		t.Errorf("no error_description in %s", r.body)
	}
	if len(m) != 2 {
		t.Errorf("body %s has fields beyond error and error_description", r.body)
	}
	if got, want := r.header.Get("WWW-Authenticate"), `Basic realm="refreshing"`; (status == http.StatusUnauthorized) != (got == want) {
		t.Errorf("WWW-Authenticate = %q with status %d", got, status)
	}
}

// wantNoStore checks the headers every /oauth answer carries.
func (r response) wantNoStore(t *testing.T) {
	t.Helper()
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := r.header.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
}

// tokens is a successful token response.
type tokens struct {
	access, refresh string
	expiresIn       float64
}

// wantTokens checks a successful token response and returns it.
func (r response) wantTokens(t *testing.T) tokens {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	r.wantNoStore(t)
	m := r.json(t)
	tk := tokens{access: r.str(t, "access_token"), refresh: r.str(t, "refresh_token")}
	tk.expiresIn, _ = m["expires_in"].(float64)
	if m["token_type"] != "Bearer" || tk.access == "" || !refreshing.LooksLikeRefreshToken(tk.refresh) || tk.expiresIn <= 0 || len(m) != 4 {
		t.Fatalf("body = %s, want {access_token, token_type: Bearer, expires_in, refresh_token}", r.body)
	}
	return tk
}

// client registers an OAuth client and returns its secret.
func (e *env) client(spec refreshing.ClientSpec) string {
	e.t.Helper()
	_, secret, err := e.svc.CreateClient(e.t.Context(), spec)
	if err != nil {
		e.t.Fatal(err)
	}
	e.remember(secret)
	return secret
}

// me calls GET /api/users/me with an access token and returns the status.
func (e *env) me(jwt string) int {
	e.t.Helper()
	return e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: jwt}).status
}

func passwordForm(clientID, username, password string) url.Values {
	v := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	if clientID != "" {
		v.Set("client_id", clientID)
	}
	return v
}

func refreshForm(clientID, token string) url.Values {
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
	if clientID != "" {
		v.Set("client_id", clientID)
	}
	return v
}

func TestOAuthPasswordGrant(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	e.client(refreshing.ClientSpec{ID: "app", Grants: []string{refreshing.GrantPassword}})
	e.client(refreshing.ClientSpec{ID: "spa"})
	secret := e.client(refreshing.ClientSpec{ID: "backend", GenerateSecret: true, Grants: []string{refreshing.GrantPassword}})

	t.Run("OK", func(t *testing.T) {
		tk := e.token(passwordForm("app", "ada", a.password)).wantTokens(t)
		if tk.expiresIn != 900 {
			t.Errorf("expires_in = %v, want 900 (15 minutes)", tk.expiresIn)
		}
		if got := e.me(tk.access); got != http.StatusOK {
			t.Errorf("GET /api/users/me with the access token: %d, want 200", got)
		}
		in := e.introspect(tk.refresh, "backend", secret)
		if in["client_id"] != "app" || in["active"] != true {
			t.Errorf("introspection = %v, want an active session of client app", in)
		}
	})
	t.Run("OKWithEmailAndConfidentialClient", func(t *testing.T) {
		e.token(passwordForm("", "ada@example.com", a.password), "backend", secret).wantTokens(t)
	})
	t.Run("ErrUnauthorizedClient", func(t *testing.T) {
		r := e.token(passwordForm("spa", "ada", a.password))
		r.wantOAuthError(t, http.StatusBadRequest, "unauthorized_client")
		r.wantNoStore(t)
	})
	t.Run("ErrInvalidClientWithoutClient", func(t *testing.T) {
		e.token(passwordForm("", "ada", a.password)).wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("ErrInvalidClientUnknown", func(t *testing.T) {
		e.token(passwordForm("nobody", "ada", a.password)).wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("ErrInvalidCredentials", func(t *testing.T) {
		e.token(passwordForm("app", "ada", "wrong password")).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
		e.token(passwordForm("app", "nobody", "wrong password")).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("ErrBlocked", func(t *testing.T) {
		b := e.register("bob")
		if _, err := e.svc.SetBlocked(t.Context(), int64(b.id), true); err != nil {
			t.Fatal(err)
		}
		e.token(passwordForm("app", "bob", b.password)).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("MissingFields", func(t *testing.T) {
		e.token(url.Values{"grant_type": {"password"}, "client_id": {"app"}, "password": {"x"}}).wantOAuthError(t, http.StatusBadRequest, "invalid_request")
		e.token(url.Values{"grant_type": {"password"}, "client_id": {"app"}, "username": {"ada"}}).wantOAuthError(t, http.StatusBadRequest, "invalid_request")
	})
}

// TestDeleteClientEndsItsSessions: deleting an OAuth client revokes every
// session issued to it (RFC 7592 section 2.3), on both stores: its access
// tokens stop working at once and its refresh tokens exchange nowhere, while
// another client's session and an /api session go on.
func TestDeleteClientEndsItsSessions(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := start(t, su)
		a := e.register("ada")
		e.client(refreshing.ClientSpec{ID: "app", Grants: []string{refreshing.GrantPassword}})
		e.client(refreshing.ClientSpec{ID: "other", Grants: []string{refreshing.GrantPassword}})
		doomed := e.token(passwordForm("app", "ada", a.password)).wantTokens(t)
		kept := e.token(passwordForm("other", "ada", a.password)).wantTokens(t)
		if got := e.me(doomed.access); got != http.StatusOK {
			t.Fatalf("before the delete: %d", got)
		}
		if err := e.svc.DeleteClient(t.Context(), "app"); err != nil {
			t.Fatal(err)
		}
		if got := e.me(doomed.access); got != http.StatusUnauthorized {
			t.Errorf("the deleted client's access token: %d, want 401", got)
		}
		e.token(refreshForm("app", doomed.refresh)).wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
		e.token(refreshForm("other", doomed.refresh)).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
		if r := e.do(request{method: http.MethodPost, path: "/api/auth/token", body: map[string]any{"token": doomed.refresh}}); r.status != http.StatusUnauthorized && r.status != http.StatusBadRequest {
			t.Errorf("the deleted client's refresh token at /api/auth/token: %d, want a refusal", r.status)
		}
		if got := e.me(kept.access); got != http.StatusOK {
			t.Errorf("another client's access token: %d, want 200", got)
		}
		e.token(refreshForm("other", kept.refresh)).wantTokens(t)
		if got := e.me(a.jwt); got != http.StatusOK {
			t.Errorf("the /api session's access token: %d, want 200", got)
		}
	})
}

func TestOAuthRefreshGrant(t *testing.T) {
	grace := 10 * time.Second
	t.Run("RotatesWithGraceAndReuseDetection", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		first := e.token(refreshForm("", a.refresh)).wantTokens(t)
		if first.refresh == a.refresh {
			t.Fatal("the refresh token was not rotated")
		}
		// A racing retry of the just-retired token gets the same live successor.
		again := e.token(refreshForm("", a.refresh)).wantTokens(t)
		if again.refresh != first.refresh {
			t.Errorf("retry within the grace window got %q, want the live successor %q", again.refresh, first.refresh)
		}
		second := e.token(refreshForm("", first.refresh)).wantTokens(t)
		e.clock.Advance(grace + time.Second)
		// The retired token after the window: reuse detected, the session ends.
		e.token(refreshForm("", first.refresh)).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
		e.token(refreshForm("", second.refresh)).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
		e.exchange(second.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
	})
	t.Run("SharesTheChainWithAPI", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		viaOAuth := e.token(refreshForm("", a.refresh)).wantTokens(t)
		viaAPI := e.exchange(viaOAuth.refresh)
		viaAPI.want(t, http.StatusOK, "", "")
		e.token(refreshForm("", viaAPI.str(t, "refreshToken"))).wantTokens(t)
	})
	t.Run("BoundToItsClient", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		e.client(refreshing.ClientSpec{ID: "app", Grants: []string{refreshing.GrantPassword}})
		e.client(refreshing.ClientSpec{ID: "other"})
		tk := e.token(passwordForm("app", "ada", a.password)).wantTokens(t)
		e.token(refreshForm("other", tk.refresh)).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
		e.token(refreshForm("", tk.refresh)).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
		e.exchange(tk.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		// None of that rotated or revoked anything: past the grace window,
		// the token is still the live one for its own client.
		e.clock.Advance(grace + time.Second)
		e.token(refreshForm("app", tk.refresh)).wantTokens(t)
	})
	t.Run("ConfidentialClient", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		secret := e.client(refreshing.ClientSpec{ID: "backend", GenerateSecret: true, Grants: []string{refreshing.GrantPassword}})
		tk := e.token(passwordForm("", "ada", a.password), "backend", secret).wantTokens(t)
		// client_secret_basic, then client_secret_post.
		tk = e.token(refreshForm("", tk.refresh), "backend", secret).wantTokens(t)
		post := refreshForm("backend", tk.refresh)
		post.Set("client_secret", secret)
		tk = e.token(post).wantTokens(t)
		// Without its secret, or with a wrong one, the client is refused
		// before the token is looked at.
		e.token(refreshForm("backend", tk.refresh)).wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
		e.token(refreshForm("", tk.refresh), "backend", secret+"x").wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
		e.token(refreshForm("", tk.refresh), "backend", "").wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
		both := refreshForm("", tk.refresh)
		both.Set("client_secret", secret)
		e.token(both, "backend", secret).wantOAuthError(t, http.StatusBadRequest, "invalid_request")
		e.token(refreshForm("someone-else", tk.refresh), "backend", secret).wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
		e.clock.Advance(grace + time.Second)
		e.token(refreshForm("", tk.refresh), "backend", secret).wantTokens(t)
	})
	t.Run("SecretWithReservedCharacters", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		secret := "q8Zk+3/YpWm0xV9e%2Lr7Tn4Ah6Jc1Ud5Bf=="
		e.client(refreshing.ClientSpec{ID: "b64", Secret: secret})
		// Form-encoded as RFC 6749 says (the helper escapes), then as curl -u sends it.
		tk := e.token(refreshForm("", a.refresh), "b64", secret).wantTokens(t)
		r := e.oauth(oauthReq{path: "/oauth/token", raw: refreshForm("", tk.refresh).Encode(), basic: nil, rawBasic: "b64:" + secret})
		r.wantTokens(t)
		e.token(refreshForm("", tk.refresh), "b64", strings.Replace(secret, "+", " ", 1)).wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("PublicClientPresentingASecret", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		e.client(refreshing.ClientSpec{ID: "spa"})
		e.token(refreshForm("", a.refresh), "spa", "made-up-secret").wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
		e.token(refreshForm("", a.refresh), "spa", "").wantTokens(t)
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		e := start(t, setup{})
		for _, token := range []string{"garbage", "rt_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", strings.Repeat("x", 5000)} {
			e.token(refreshForm("", token)).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.RefreshTTL = time.Hour }})
		a := e.register("ada")
		e.clock.Advance(time.Hour)
		e.token(refreshForm("", a.refresh)).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
	})
}

func TestOAuthTokenRequests(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	for _, c := range []struct {
		name   string
		req    oauthReq
		status int
		code   string
	}{
		{"MissingGrantType", oauthReq{values: url.Values{"refresh_token": {a.refresh}}}, 400, "invalid_request"},
		{"UnsupportedGrantType", oauthReq{values: url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}}, 400, "unsupported_grant_type"},
		{"ClientCredentialsGrant", oauthReq{values: url.Values{"grant_type": {"client_credentials"}}}, 400, "unsupported_grant_type"},
		{"MissingRefreshToken", oauthReq{values: url.Values{"grant_type": {"refresh_token"}}}, 400, "invalid_request"},
		{"RepeatedParameter", oauthReq{raw: "grant_type=refresh_token&refresh_token=a&refresh_token=b"}, 400, "invalid_request"},
		{"MalformedBody", oauthReq{raw: "grant_type=%zz"}, 400, "invalid_request"},
		{"SecretWithoutClientID", oauthReq{values: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {a.refresh}, "client_secret": {"s"}}}, 400, "invalid_request"},
		{"JSONBody", oauthReq{raw: `{"grant_type":"refresh_token"}`, contentType: "application/json"}, 415, "invalid_request"},
		{"NoContentType", oauthReq{raw: "grant_type=refresh_token", contentType: "text/plain"}, 415, "invalid_request"},
		{"TooLarge", oauthReq{raw: "grant_type=refresh_token&pad=" + strings.Repeat("a", 64<<10)}, 413, "invalid_request"},
		{"UnknownClientInBasic", oauthReq{values: refreshForm("", a.refresh), basic: []string{"%zz", "x"}}, 401, "invalid_client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.path = "/oauth/token"
			r := e.oauth(c.req)
			r.wantOAuthError(t, c.status, c.code)
			r.wantNoStore(t)
		})
	}
	t.Run("NothingRotated", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		e.token(refreshForm("", a.refresh)).wantTokens(t)
	})
	t.Run("QueryIgnored", func(t *testing.T) {
		e.oauth(oauthReq{path: "/oauth/token?grant_type=refresh_token&refresh_token=x", raw: "a=b"}).
			wantOAuthError(t, http.StatusBadRequest, "invalid_request")
	})
	t.Run("MethodNotAllowed", func(t *testing.T) {
		r := e.oauth(oauthReq{path: "/oauth/token", method: http.MethodGet, raw: "x"})
		r.wantOAuthError(t, http.StatusMethodNotAllowed, "invalid_request")
		if got := r.header.Get("Allow"); got != "POST" {
			t.Errorf("Allow = %q, want POST", got)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		e.oauth(oauthReq{path: "/oauth/authorize", raw: "x"}).wantOAuthError(t, http.StatusNotFound, "invalid_request")
	})
}

// introspect asks /oauth/introspect about token as a confidential client.
func (e *env) introspect(token, clientID, secret string) map[string]any {
	e.t.Helper()
	r := e.oauth(oauthReq{path: "/oauth/introspect", values: url.Values{"token": {token}}, basic: []string{clientID, secret}})
	if r.status != http.StatusOK {
		e.t.Fatalf("introspect: status %d, body %s", r.status, r.body)
	}
	r.wantNoStore(e.t)
	return r.json(e.t)
}

// wantInactive checks that m is exactly {"active": false}.
func wantInactive(t *testing.T, what string, m map[string]any) {
	t.Helper()
	if m["active"] != false || len(m) != 1 {
		t.Errorf("introspection of %s = %v, want exactly {active: false}", what, m)
	}
}

func TestOAuthIntrospect(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	secret := e.client(refreshing.ClientSpec{ID: "rs", GenerateSecret: true})
	e.client(refreshing.ClientSpec{ID: "spa"})
	now := e.clock.Now()

	t.Run("RefreshToken", func(t *testing.T) {
		m := e.introspect(a.refresh, "rs", secret)
		want := map[string]any{
			"active": true, "token_type": "refresh_token", "sub": strconv.FormatFloat(a.id, 'f', -1, 64),
			"iss": "http://localhost:1337", "iat": float64(now.Unix()), "exp": float64(now.Add(720 * time.Hour).Unix()),
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s = %v, want %v (all: %v)", k, m[k], v, m)
			}
		}
		if sid, _ := m["sid"].(string); sid == "" || !strings.Contains(a.refresh, sid) {
			t.Errorf("sid = %v, want the session id in the token %s", m["sid"], a.refresh)
		}
		if _, ok := m["client_id"]; ok {
			t.Errorf("client_id = %v for a session started on /api, want none", m["client_id"])
		}
	})
	t.Run("AccessToken", func(t *testing.T) {
		m := e.introspect(a.jwt, "rs", secret)
		want := map[string]any{
			"active": true, "token_type": "Bearer", "sub": strconv.FormatFloat(a.id, 'f', -1, 64),
			"iss": "http://localhost:1337", "iat": float64(now.Unix()), "exp": float64(now.Add(15 * time.Minute).Unix()),
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s = %v, want %v (all: %v)", k, m[k], v, m)
			}
		}
		if m["sid"] != e.introspect(a.refresh, "rs", secret)["sid"] {
			t.Errorf("the access token's sid %v is not its refresh token's", m["sid"])
		}
	})
	t.Run("ClientSecretPost", func(t *testing.T) {
		r := e.oauth(oauthReq{path: "/oauth/introspect", values: url.Values{"token": {a.jwt}, "client_id": {"rs"}, "client_secret": {secret}}})
		if r.status != http.StatusOK || r.json(t)["active"] != true {
			t.Errorf("introspection with client_secret_post: %d %s", r.status, r.body)
		}
	})
	t.Run("ErrInvalidClient", func(t *testing.T) {
		for name, req := range map[string]oauthReq{
			"NoClient":     {values: url.Values{"token": {a.jwt}}},
			"PublicClient": {values: url.Values{"token": {a.jwt}, "client_id": {"spa"}}},
			"WrongSecret":  {values: url.Values{"token": {a.jwt}}, basic: []string{"rs", secret[1:]}},
		} {
			req.path = "/oauth/introspect"
			r := e.oauth(req)
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", name, r.status)
				continue
			}
			r.wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
		}
	})
	t.Run("MissingToken", func(t *testing.T) {
		e.oauth(oauthReq{path: "/oauth/introspect", values: url.Values{}, basic: []string{"rs", secret}}).
			wantOAuthError(t, http.StatusBadRequest, "invalid_request")
	})
	t.Run("Inactive", func(t *testing.T) {
		b := e.register("bob")
		next := e.exchange(b.refresh)
		next.want(t, http.StatusOK, "", "")
		rotated := next.str(t, "refreshToken")
		wantInactive(t, "garbage", e.introspect("garbage", "rs", secret))
		wantInactive(t, "a forged refresh token", e.introspect("rt_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "rs", secret))
		// The just-retired token still exchanges within the grace window.
		if m := e.introspect(b.refresh, "rs", secret); m["active"] != true {
			t.Errorf("the just-retired token within the grace window: %v, want active", m)
		}
		e.clock.Advance(11 * time.Second)
		wantInactive(t, "a retired token after the grace window", e.introspect(b.refresh, "rs", secret))
		if m := e.introspect(rotated, "rs", secret); m["active"] != true {
			t.Fatalf("the live token: %v, want active", m)
		}
		e.post("/api/auth/revoke", map[string]any{"token": rotated}).want(t, http.StatusOK, "", "")
		wantInactive(t, "a revoked refresh token", e.introspect(rotated, "rs", secret))
		wantInactive(t, "the access token of a revoked session", e.introspect(next.str(t, "jwt"), "rs", secret))
		e.clock.Advance(15 * time.Minute)
		wantInactive(t, "an expired access token", e.introspect(a.jwt, "rs", secret))
		if m := e.introspect(a.refresh, "rs", secret); m["active"] != true {
			t.Errorf("the refresh token after its access token expired: %v, want active", m)
		}
	})
	t.Run("NoExpiryForSessionsThatNeverExpire", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.RefreshTTL = 0 }})
		a := e.register("ada")
		secret := e.client(refreshing.ClientSpec{ID: "rs", GenerateSecret: true})
		m := e.introspect(a.refresh, "rs", secret)
		if _, ok := m["exp"]; ok || m["active"] != true {
			t.Errorf("introspection = %v, want active without exp", m)
		}
	})
}

func TestOAuthRevoke(t *testing.T) {
	revoke := func(e *env, values url.Values, basic ...string) response {
		e.t.Helper()
		r := e.oauth(oauthReq{path: "/oauth/revoke", values: values, basic: basic})
		r.wantNoStore(e.t)
		return r
	}
	t.Run("RefreshTokenEndsItsSession", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		if r := revoke(e, url.Values{"token": {a.refresh}, "token_type_hint": {"refresh_token"}}); r.status != http.StatusOK {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		if got := e.me(a.jwt); got != http.StatusUnauthorized {
			t.Errorf("the session's access token after revocation: %d, want 401", got)
		}
		// Already revoked: 200 all the same.
		if r := revoke(e, url.Values{"token": {a.refresh}}); r.status != http.StatusOK {
			t.Errorf("revoking again: status %d", r.status)
		}
	})
	t.Run("AccessTokenEndsItsSession", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		if r := revoke(e, url.Values{"token": {a.jwt}, "token_type_hint": {"access_token"}}); r.status != http.StatusOK {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
	t.Run("UnknownTokens", func(t *testing.T) {
		e := start(t, setup{})
		for _, token := range []string{"garbage", "rt_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "eyJhbGciOiJub25lIn0.e30."} {
			if r := revoke(e, url.Values{"token": {token}}); r.status != http.StatusOK {
				t.Errorf("revoking %q: status %d, body %s", token, r.status, r.body)
			}
		}
	})
	t.Run("ErrInvalidClient", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		secret := e.client(refreshing.ClientSpec{ID: "backend", GenerateSecret: true})
		revoke(e, url.Values{"token": {a.refresh}}, "backend", "wrong").wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
		revoke(e, url.Values{"token": {a.refresh}, "client_id": {"backend"}}).wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
		e.exchange(a.refresh).want(t, http.StatusOK, "", "")
		b := e.register("bob")
		if r := revoke(e, url.Values{"token": {b.refresh}}, "backend", secret); r.status != http.StatusOK {
			t.Fatalf("with the right secret: status %d, body %s", r.status, r.body)
		}
		e.exchange(b.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
	t.Run("MissingToken", func(t *testing.T) {
		e := start(t, setup{})
		revoke(e, url.Values{}).wantOAuthError(t, http.StatusBadRequest, "invalid_request")
	})
}
