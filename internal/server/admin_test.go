package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// adminPassword is the password of the administrator admin creates.
const adminPassword = "admin-secret-password"

// adminClient is a browser-like client of the admin screens: it keeps
// cookies and does not follow redirects, so tests see them.
type adminClient struct {
	e  *env
	hc *http.Client
}

// admin creates the administrator ops@example.com and returns a client
// signed in as them.
func (e *env) admin() *adminClient {
	e.t.Helper()
	if _, err := e.svc.CreateAdmin(e.t.Context(), "ops@example.com", adminPassword); err != nil {
		e.t.Fatal(err)
	}
	e.remember(adminPassword)
	c := e.adminClient()
	r := c.post("/admin/login", url.Values{"email": {"ops@example.com"}, "password": {adminPassword}}, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/sessions" {
		e.t.Fatalf("admin login: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	return c
}

// adminClient returns a client without a session.
func (e *env) adminClient() *adminClient {
	jar, _ := cookiejar.New(nil)
	return &adminClient{e: e, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// send sends one request with the given extra headers.
func (c *adminClient) send(method, path string, form url.Values, header map[string]string) response {
	c.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (c *adminClient) get(path string) response { return c.send(http.MethodGet, path, nil, nil) }
func (c *adminClient) post(path string, form url.Values, header map[string]string) response {
	return c.send(http.MethodPost, path, form, header)
}

// wantPage checks a status and that the page contains each text.
func (r response) wantPage(t *testing.T, status int, texts ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body:\n%s", r.status, status, r.body)
	}
	for _, s := range texts {
		if !strings.Contains(string(r.body), s) {
			t.Errorf("page lacks %q:\n%s", s, r.body)
		}
	}
}

func TestAdminHeaders(t *testing.T) {
	e := start(t, setup{})
	c := e.admin()
	u := e.register("ada")
	paths := []string{"/admin/login", "/admin/sessions", "/admin/users", "/admin/users/" + ftoa(u.id),
		"/admin/roles", "/admin/settings", "/admin/audit", "/admin/static/admin.css", "/admin/sessions?state=bogus"}
	for _, p := range paths {
		r := c.get(p)
		if r.status >= 500 {
			t.Errorf("%s: %d", p, r.status)
		}
		for h, want := range map[string]string{
			"X-Frame-Options":         "DENY",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           "no-store",
			"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", p, h, got, want)
			}
		}
		if strings.Contains(string(r.body), "<script") || strings.Contains(string(r.body), "style=") {
			t.Errorf("%s: page has a script or an inline style", p)
		}
	}
}

// ftoa formats a JSON user id for a path.
func ftoa(f float64) string { return strconv.FormatInt(int64(f), 10) }

func TestAdminLogin(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := start(t, setup{})
		c := e.admin()
		u, _ := url.Parse(e.srv.URL + "/admin/")
		cookies := c.hc.Jar.Cookies(u)
		if len(cookies) != 1 || cookies[0].Name != "refreshing_admin" {
			t.Fatalf("cookies = %v", cookies)
		}
		r := c.get("/admin/sessions")
		r.wantPage(t, http.StatusOK, "Sessions", "ops@example.com")
	})
	t.Run("CookieAttributes", func(t *testing.T) {
		e := start(t, setup{})
		if _, err := e.svc.CreateAdmin(t.Context(), "ops@example.com", adminPassword); err != nil {
			t.Fatal(err)
		}
		form := url.Values{"email": {"ops@example.com"}, "password": {adminPassword}}
		r := e.adminClient().post("/admin/login", form, nil)
		sc := r.header.Get("Set-Cookie")
		for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/admin"} {
			if !strings.Contains(sc, attr) {
				t.Errorf("Set-Cookie %q lacks %s", sc, attr)
			}
		}
		if strings.Contains(sc, "Secure") {
			t.Errorf("Set-Cookie %q is Secure over plain HTTP to 127.0.0.1", sc)
		}
		// Anywhere but this machine the cookie is Secure.
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/admin/login", strings.NewReader(form.Encode()))
		req.Host = "admin.example.com"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "Secure") {
			t.Errorf("Set-Cookie for admin.example.com %q is not Secure", sc)
		}
	})
	t.Run("CookieSecureBehindTLSProxy", func(t *testing.T) {
		// nginx terminating TLS sends its proxy_pass address as Host by
		// default, here the test server's own 127.0.0.1:port, and says
		// X-Forwarded-Proto: https. The cookie is Secure when that header
		// comes from a trusted proxy, and only then.
		for _, tc := range []struct {
			name    string
			trusted []netip.Prefix
			proto   string
			secure  bool
		}{
			{"TrustedHTTPS", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "https", true},
			{"TrustedHTTPSLastOfList", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "http, https", true},
			{"TrustedHTTP", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "http", false},
			{"UntrustedPeer", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "https", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := start(t, setup{trusted: tc.trusted})
				if _, err := e.svc.CreateAdmin(t.Context(), "ops@example.com", adminPassword); err != nil {
					t.Fatal(err)
				}
				e.remember(adminPassword)
				form := url.Values{"email": {"ops@example.com"}, "password": {adminPassword}}
				c := e.adminClient()
				r := c.post("/admin/login", form, map[string]string{"X-Forwarded-Proto": tc.proto})
				if r.status != http.StatusSeeOther {
					t.Fatalf("login: %d", r.status)
				}
				if got := strings.Contains(r.header.Get("Set-Cookie"), "Secure"); got != tc.secure {
					t.Errorf("Set-Cookie %q: Secure %v, want %v", r.header.Get("Set-Cookie"), got, tc.secure)
				}
				r = c.post("/admin/logout", nil, map[string]string{"X-Forwarded-Proto": tc.proto})
				if got := strings.Contains(r.header.Get("Set-Cookie"), "Secure"); got != tc.secure {
					t.Errorf("logout's Set-Cookie %q: Secure %v, want %v", r.header.Get("Set-Cookie"), got, tc.secure)
				}
			})
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		e := start(t, setup{})
		e.admin()
		r := e.adminClient().post("/admin/login", url.Values{"email": {"ops@example.com"}, "password": {"wrong password"}}, nil)
		r.wantPage(t, http.StatusBadRequest, "Wrong email or password.")
		if r.header.Get("Set-Cookie") != "" {
			t.Error("a failed login set a cookie")
		}
		r = e.adminClient().post("/admin/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password"}}, nil)
		r.wantPage(t, http.StatusBadRequest, "Wrong email or password.")
	})
	t.Run("ErrTooManyAttempts", func(t *testing.T) {
		e := start(t, setup{})
		e.admin()
		c := e.adminClient()
		for range 5 {
			c.post("/admin/login", url.Values{"email": {"ops@example.com"}, "password": {"guess guess"}}, nil).wantPage(t, http.StatusBadRequest)
		}
		// Even the right password is refused now, for this email.
		r := c.post("/admin/login", url.Values{"email": {"ops@example.com"}, "password": {adminPassword}}, nil)
		r.wantPage(t, http.StatusTooManyRequests, "Too many failed attempts")
		if r.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		// The window passes.
		e.clock.Advance(16 * time.Minute)
		r = c.post("/admin/login", url.Values{"email": {"ops@example.com"}, "password": {adminPassword}}, nil)
		if r.status != http.StatusSeeOther {
			t.Fatalf("after the window: %d", r.status)
		}
	})
	t.Run("RedirectWithoutSession", func(t *testing.T) {
		e := start(t, setup{})
		for _, p := range []string{"/admin", "/admin/sessions", "/admin/users", "/admin/settings", "/admin/audit", "/admin/roles"} {
			r := e.adminClient().get(p)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/login" {
				t.Errorf("%s: %d %q", p, r.status, r.header.Get("Location"))
			}
		}
		r := e.adminClient().post("/admin/settings", url.Values{"accessTTL": {"1m"}}, nil)
		if r.status != http.StatusSeeOther {
			t.Errorf("POST without session: %d", r.status)
		}
	})
	t.Run("IdleTimeout", func(t *testing.T) {
		e := start(t, setup{})
		c := e.admin()
		e.clock.Advance(29 * time.Minute)
		c.get("/admin/sessions").wantPage(t, http.StatusOK)
		e.clock.Advance(29 * time.Minute) // active 29 minutes ago: still fine
		c.get("/admin/sessions").wantPage(t, http.StatusOK)
		e.clock.Advance(31 * time.Minute)
		if r := c.get("/admin/sessions"); r.status != http.StatusSeeOther {
			t.Fatalf("after 31 idle minutes: %d", r.status)
		}
	})
	t.Run("AbsoluteTimeout", func(t *testing.T) {
		e := start(t, setup{})
		c := e.admin()
		for range 25 { // keep it busy for 12.5 hours
			e.clock.Advance(30*time.Minute - time.Second)
			if r := c.get("/admin/users"); r.status != http.StatusOK {
				if e.clock.Now().Sub(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) < refreshing.AdminSessionLifetime {
					t.Fatalf("signed out early: %d", r.status)
				}
				return
			}
		}
		t.Fatal("an admin session outlived its absolute lifetime")
	})
	t.Run("Logout", func(t *testing.T) {
		e := start(t, setup{})
		c := e.admin()
		u, _ := url.Parse(e.srv.URL + "/admin/")
		token := c.hc.Jar.Cookies(u)[0].Value
		e.remember(token)
		r := c.post("/admin/logout", url.Values{}, nil)
		if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
			t.Fatalf("logout: %d %q", r.status, r.header.Get("Set-Cookie"))
		}
		// The old token no longer works, even presented again.
		c2 := e.adminClient()
		c2.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "refreshing_admin", Value: token, Path: "/admin"}})
		if r := c2.get("/admin/sessions"); r.status != http.StatusSeeOther {
			t.Fatalf("token after logout: %d", r.status)
		}
	})
}

func TestAdminCSRF(t *testing.T) {
	e := start(t, setup{})
	c := e.admin()
	u := e.register("ada")
	sess := e.sessions(u.jwt)[0]["id"].(string)
	for name, h := range map[string]map[string]string{
		"SecFetchSite": {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		"Origin":       {"Origin": "https://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			r := c.post("/admin/sessions/revoke", url.Values{"one": {sess}}, h)
			r.wantPage(t, http.StatusForbidden, "another site")
			r = c.post("/admin/users/"+ftoa(u.id)+"/block", url.Values{}, h)
			r.wantPage(t, http.StatusForbidden)
			r = c.post("/admin/login", url.Values{"email": {"ops@example.com"}, "password": {adminPassword}}, h)
			r.wantPage(t, http.StatusForbidden)
		})
	}
	// Nothing happened.
	if got := len(e.sessions(u.jwt)); got != 1 {
		t.Fatalf("sessions after refused requests: %d, want 1", got)
	}
	// The same request from the same origin goes through.
	r := c.post("/admin/sessions/revoke", url.Values{"one": {sess}}, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.srv.URL})
	if r.status != http.StatusSeeOther {
		t.Fatalf("same-origin revoke: %d %s", r.status, r.body)
	}
	e.exchange(u.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
}

func TestAdminSessions(t *testing.T) {
	e := start(t, setup{})
	c := e.admin()
	ada := e.register("ada")
	bob := e.register("bob")
	bob2 := e.login(bob, nil)
	evil := e.do(request{method: http.MethodPost, path: "/api/auth/local", header: map[string]string{"User-Agent": `<script>alert("x")</script>`},
		body: map[string]any{"identifier": ada.username, "password": ada.password}})
	evil.want(t, http.StatusOK, "", "")

	t.Run("EscapesUserAgent", func(t *testing.T) {
		r := c.get("/admin/sessions")
		r.wantPage(t, http.StatusOK, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
		if strings.Contains(string(r.body), "<script>") {
			t.Fatal("a user agent reached the page unescaped")
		}
	})
	t.Run("FilterByUser", func(t *testing.T) {
		r := c.get("/admin/sessions?user=bob")
		r.wantPage(t, http.StatusOK, "bob@example.com")
		if strings.Contains(string(r.body), "ada@example.com") || strings.Count(string(r.body), `data-session=`) != 2 {
			t.Fatalf("filter by user shows the wrong sessions:\n%s", r.body)
		}
		c.get("/admin/sessions?user=nobody").wantPage(t, http.StatusOK, "No user has that email or username.")
	})
	t.Run("FilterInvalid", func(t *testing.T) {
		c.get("/admin/sessions?state=bogus").wantPage(t, http.StatusBadRequest, "state must be")
		c.get("/admin/sessions?before=garbage").wantPage(t, http.StatusBadRequest)
	})
	t.Run("RevokeSelected", func(t *testing.T) {
		ids := []string{}
		for _, s := range e.sessions(bob.jwt) {
			ids = append(ids, s["id"].(string))
		}
		r := c.post("/admin/sessions/revoke", url.Values{"id": ids, "back": {"/admin/sessions?user=bob"}}, nil)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/sessions?user=bob&ok=revoked&n=2" {
			t.Fatalf("revoke: %d %q", r.status, r.header.Get("Location"))
		}
		c.get(r.header.Get("Location")).wantPage(t, http.StatusOK, "Revoked 2 session(s).", "admin")
		for _, tok := range []string{bob.refresh, bob2.refresh} {
			e.exchange(tok).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		}
		c.get("/admin/sessions?state=revoked").wantPage(t, http.StatusOK, "bob@example.com")
	})
	t.Run("BackStaysOnAdmin", func(t *testing.T) {
		r := c.post("/admin/sessions/revoke", url.Values{"back": {"https://evil.example/"}}, nil)
		if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "/admin/sessions?") {
			t.Fatalf("Location = %q", loc)
		}
	})
}

func TestAdminUsers(t *testing.T) {
	e := start(t, setup{})
	c := e.admin()
	ada := e.register("ada")
	id := ftoa(ada.id)
	c.get("/admin/users?q=AD").wantPage(t, http.StatusOK, "ada@example.com")
	c.get("/admin/users/"+id).wantPage(t, http.StatusOK, "ada@example.com", "register")
	c.get("/admin/users/999").wantPage(t, http.StatusNotFound)
	c.get("/admin/users/abc").wantPage(t, http.StatusNotFound)

	t.Run("Block", func(t *testing.T) {
		if r := c.post("/admin/users/"+id+"/block", url.Values{}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("block: %d", r.status)
		}
		e.exchange(ada.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": ada.password}).
			want(t, http.StatusBadRequest, "ApplicationError", "Your account has been blocked by an administrator")
		c.post("/admin/users/"+id+"/unblock", url.Values{}, nil)
		e.login(ada, nil)
	})
	t.Run("SignOutEverywhere", func(t *testing.T) {
		a := e.login(ada, nil)
		r := c.post("/admin/users/"+id+"/signout", url.Values{}, nil)
		if r.status != http.StatusSeeOther {
			t.Fatal(r.status)
		}
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
	t.Run("Create", func(t *testing.T) {
		e.remember("zed-password")
		r := c.post("/admin/users", url.Values{"username": {"zed"}, "email": {"zed@example.com"}, "password": {"zed-password"}}, nil)
		if r.status != http.StatusSeeOther {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		e.post("/api/auth/local", map[string]any{"identifier": "zed", "password": "zed-password"}).want(t, http.StatusOK, "", "")
		r = c.post("/admin/users", url.Values{"username": {"zed"}, "email": {"zed@example.com"}, "password": {"zed-password"}}, nil)
		r.wantPage(t, http.StatusBadRequest, "Email or Username are already taken")
		r = c.post("/admin/users", url.Values{"username": {"yan"}, "email": {"yan@example.com"}, "password": {"123"}}, nil)
		r.wantPage(t, http.StatusBadRequest, "at least 8")
		r = c.post("/admin/users", url.Values{"username": {"yan"}, "email": {"yan@example.com"}, "password": {"password1"}}, nil)
		r.wantPage(t, http.StatusBadRequest, "most common passwords")
	})
	t.Run("Delete", func(t *testing.T) {
		doomed := e.register("doomed")
		did := ftoa(doomed.id)
		c.post("/admin/users/"+did+"/delete", url.Values{}, nil).wantPage(t, http.StatusBadRequest, "confirm")
		if r := c.post("/admin/users/"+did+"/delete", url.Values{"confirm": {"yes"}}, nil); r.status != http.StatusSeeOther {
			t.Fatal(r.status)
		}
		e.exchange(doomed.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		c.get("/admin/users/"+did).wantPage(t, http.StatusNotFound)
	})
}

func TestAdminSettings(t *testing.T) {
	e := start(t, setup{})
	c := e.admin()
	page := c.get("/admin/settings")
	page.wantPage(t, http.StatusOK, `name="accessTTL" value="15m"`, "Reuse grace window", `name="reuseGrace" value="10s"`)
	// form is the settings form as the page would post it, from the
	// settings in force (so that fields others add keep their values).
	form := func(edit map[string]string) url.Values {
		st, err := e.svc.Settings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(st)
		var m map[string]any
		json.Unmarshal(b, &m)
		v := url.Values{}
		for k, x := range m {
			switch x := x.(type) {
			case bool:
				if x {
					v.Set(k, "on")
				}
			case string:
				v.Set(k, x)
			default:
				v.Set(k, fmt.Sprint(x))
			}
		}
		for k, val := range edit {
			v.Set(k, val)
		}
		return v
	}
	for _, c2 := range []struct {
		name    string
		edit    map[string]string
		message string
	}{
		{"NegativeDuration", map[string]string{"refreshIdle": "-5m"}, "must not be negative"},
		{"GraceLongerThanAccess", map[string]string{"accessTTL": "1m", "reuseGrace": "2m"}, "must not be longer than the access token lifetime"},
		{"NotADuration", map[string]string{"accessTTL": "soon"}, "is not a duration"},
		{"NegativeLimit", map[string]string{"maxSessions": "-1"}, "must not be negative"},
		{"BadOrigin", map[string]string{"allowedOrigins": "javascript:alert(1)"}, "is not an origin"},
		{"IdleLongerThanLifetime", map[string]string{"refreshTTL": "1h", "refreshIdle": "2h"}, "must not be longer than the session lifetime"},
	} {
		t.Run(c2.name, func(t *testing.T) {
			before, _ := e.svc.Settings(t.Context())
			r := c.post("/admin/settings", form(c2.edit), nil)
			r.wantPage(t, http.StatusBadRequest, c2.message)
			after, _ := e.svc.Settings(t.Context())
			if before != after {
				t.Fatalf("settings changed by a refused form: %+v", after)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		r := c.post("/admin/settings", form(map[string]string{"accessTTL": "5m", "registration": ""}), nil)
		if r.status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", r.status, r.body)
		}
		st, _ := e.svc.Settings(t.Context())
		if st.AccessTTL != 5*time.Minute || st.Registration {
			t.Fatalf("settings = %+v", st)
		}
		// Applied at once: registration is closed.
		e.post("/api/auth/local/register", map[string]any{"username": "late", "email": "late@example.com", "password": "secret-late"}).
			want(t, http.StatusBadRequest, "ApplicationError", "")
		c.get("/admin/audit?type=settings.change").wantPage(t, http.StatusOK, "accessTTL 15m0s → 5m0s", "admin ops@example.com")
	})
}

func TestAdminRoles(t *testing.T) {
	e := start(t, setup{})
	c := e.admin()
	ada := e.register("ada")
	c.get("/admin/roles").wantPage(t, http.StatusOK, "public", "authenticated", refreshing.ActionSessionsIndex)

	perms := func(role string) []string {
		r, err := e.svc.Role(t.Context(), role)
		if err != nil {
			t.Fatal(err)
		}
		return r.Permissions
	}
	without := func(list []string, drop string) []string {
		var out []string
		for _, p := range list {
			if p != drop {
				out = append(out, p)
			}
		}
		return out
	}
	t.Run("PublicLoginForbidden", func(t *testing.T) {
		pub := perms(refreshing.RolePublic)
		c.post("/admin/roles", url.Values{"name": {"public"}, "perm": without(pub, refreshing.ActionLogin)}, nil)
		e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": ada.password}).want(t, http.StatusForbidden, "ForbiddenError", "Forbidden")
		c.post("/admin/roles", url.Values{"name": {"public"}, "perm": pub}, nil)
		e.login(ada, nil)
	})
	t.Run("AuthenticatedSessionsForbidden", func(t *testing.T) {
		auth := perms(refreshing.RoleAuthenticated)
		c.post("/admin/roles", url.Values{"name": {"authenticated"}, "perm": without(auth, refreshing.ActionSessionsIndex)}, nil)
		e.do(request{method: http.MethodGet, path: "/api/users/me/sessions", bearer: ada.jwt}).want(t, http.StatusForbidden, "ForbiddenError", "")
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: ada.jwt}).want(t, http.StatusOK, "", "")
		// No token at all is still a 401, not a 403.
		e.do(request{method: http.MethodGet, path: "/api/users/me/sessions"}).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		c.post("/admin/roles", url.Values{"name": {"authenticated"}, "perm": auth}, nil)
		e.sessions(ada.jwt)
	})
	t.Run("CustomRole", func(t *testing.T) {
		r := c.post("/admin/roles", url.Values{"new": {"1"}, "name": {"readonly"}, "perm": {refreshing.ActionMe}}, nil)
		if r.status != http.StatusSeeOther {
			t.Fatalf("create role: %d %s", r.status, r.body)
		}
		c.post("/admin/users/"+ftoa(ada.id)+"/role", url.Values{"role": {"readonly"}}, nil)
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: ada.jwt}).want(t, http.StatusOK, "", "")
		e.do(request{method: http.MethodGet, path: "/api/users/me/sessions", bearer: ada.jwt}).want(t, http.StatusForbidden, "ForbiddenError", "")
		c.post("/admin/roles", url.Values{"new": {"1"}, "name": {"readonly"}}, nil).wantPage(t, http.StatusBadRequest, "exists already")
		c.post("/admin/roles", url.Values{"name": {"Bad Name"}}, nil).wantPage(t, http.StatusBadRequest, "lower-case")
		c.post("/admin/roles", url.Values{"name": {"x"}, "perm": {"no.such.action"}}, nil).wantPage(t, http.StatusBadRequest, "unknown action")
		c.post("/admin/roles/public/delete", url.Values{}, nil).wantPage(t, http.StatusBadRequest, "cannot be deleted")
		if r := c.post("/admin/roles/readonly/delete", url.Values{}, nil); r.status != http.StatusSeeOther {
			t.Fatal(r.status)
		}
		// A user whose role is gone acts as authenticated.
		e.sessions(ada.jwt)
	})
}

func TestAdminAudit(t *testing.T) {
	e := start(t, setup{})
	c := e.admin()
	ada := e.register("ada")
	e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": "not her password"})
	next := e.exchange(ada.refresh)
	next.want(t, http.StatusOK, "", "")
	e.clock.Advance(time.Minute)
	e.exchange(ada.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "") // replay: reuse detected

	c.get("/admin/audit").wantPage(t, http.StatusOK, "login.failed", "register", "exchange", "reuse_detected", "admin.login")
	r := c.get("/admin/audit?type=reuse_detected")
	r.wantPage(t, http.StatusOK, "session started from 127.0.0.1", "retired token presented from 127.0.0.1")
	if strings.Contains(string(r.body), `<span class="badge ev">admin.login</span>`) {
		t.Error("type filter shows other events")
	}
	c.get("/admin/audit?user=ada").wantPage(t, http.StatusOK, "register", "ada@example.com")
	c.get("/admin/audit?user=nobody").wantPage(t, http.StatusBadRequest, "no user has that email or username")
	c.get("/admin/audit?after=x").wantPage(t, http.StatusBadRequest)
	// The date range: the test clock's day holds every event, the day before none.
	day := e.clock.Now().UTC().Format("2006-01-02")
	c.get("/admin/audit?from="+day+"&to="+day).wantPage(t, http.StatusOK, "reuse_detected")
	prev := e.clock.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	c.get("/admin/audit?to="+prev).wantPage(t, http.StatusOK, "No events.")
	c.get("/admin/audit?from="+day+"&to="+prev).wantPage(t, http.StatusBadRequest, "to must not be before from")
	c.get("/admin/audit?from=someday").wantPage(t, http.StatusBadRequest, "from must be a date")
	// Users are named by email, not by number.
	if body := string(c.get("/admin/audit?type=register").body); !strings.Contains(body, ">ada@example.com</a>") {
		t.Error("the audit log does not name the user by email")
	}
	// The log holds no secret.
	body := string(c.get("/admin/audit").body)
	for _, s := range []string{ada.refresh, ada.password, "not her password", adminPassword} {
		if strings.Contains(body, s) {
			t.Errorf("the audit log shows a secret")
		}
	}
}
