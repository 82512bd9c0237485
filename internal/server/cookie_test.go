package server_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// refreshCookieOf returns the strapi_up_refresh cookie r sets, or nil.
func refreshCookieOf(r response) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "strapi_up_refresh" {
			return c
		}
	}
	return nil
}

// cookieLogin logs ada in asking for cookie mode and returns the cookie.
func cookieLogin(t *testing.T, e *env, a account) *http.Cookie {
	t.Helper()
	r := e.do(request{method: http.MethodPost, path: "/api/auth/local", header: map[string]string{"x-strapi-refresh-cookie": "httpOnly"},
		body: map[string]any{"identifier": a.username, "password": a.password}})
	r.want(t, http.StatusOK, "", "")
	if _, ok := r.json(t)["refreshToken"]; ok {
		t.Fatalf("cookie mode: the body carries the refresh token: %s", r.body)
	}
	c := refreshCookieOf(r)
	if c == nil {
		t.Fatalf("no refresh cookie: %v", r.header["Set-Cookie"])
	}
	e.remember(c.Value)
	return c
}

// refreshWithCookie calls /api/auth/refresh with the cookie and an Origin.
func refreshWithCookie(e *env, c *http.Cookie, origin string) response {
	h := map[string]string{"Cookie": c.Name + "=" + c.Value}
	if origin != "" {
		h["Origin"] = origin
	}
	return e.do(request{method: http.MethodPost, path: "/api/auth/refresh", header: h})
}

func TestCookieMode(t *testing.T) {
	t.Run("Login", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		r := e.do(request{method: http.MethodPost, path: "/api/auth/local", header: map[string]string{"x-strapi-refresh-cookie": "httpOnly"},
			body: map[string]any{"identifier": a.username, "password": a.password}})
		r.want(t, http.StatusOK, "", "")
		sc := strings.Join(r.header["Set-Cookie"], "\n")
		for _, attr := range []string{"strapi_up_refresh=rt_", "Path=/api/auth", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age="} {
			if !strings.Contains(sc, attr) {
				t.Errorf("Set-Cookie %q lacks %s", sc, attr)
			}
		}
		if r.json(t)["jwt"] == "" {
			t.Error("no jwt in the body")
		}
	})
	t.Run("Register", func(t *testing.T) {
		e := start(t, setup{})
		r := e.do(request{method: http.MethodPost, path: "/api/auth/local/register", header: map[string]string{"x-strapi-refresh-cookie": "httpOnly"},
			body: map[string]any{"username": "ada", "email": "ada@example.com", "password": "pw-ada-secret"}})
		r.want(t, http.StatusOK, "", "")
		if refreshCookieOf(r) == nil || strings.Contains(string(r.body), "refreshToken") {
			t.Fatalf("register in cookie mode: %v %s", r.header["Set-Cookie"], r.body)
		}
	})
	t.Run("RefreshSameOrigin", func(t *testing.T) {
		e := start(t, setup{})
		c := cookieLogin(t, e, e.register("ada"))
		r := refreshWithCookie(e, c, e.srv.URL)
		r.want(t, http.StatusOK, "", "")
		next := refreshCookieOf(r)
		if next == nil || next.Value == c.Value || !strings.HasPrefix(next.Value, "rt_") {
			t.Fatalf("refresh did not set the next token: %v", r.header["Set-Cookie"])
		}
		e.remember(next.Value)
		m := r.json(t)
		if _, ok := m["refreshToken"]; ok || m["jwt"] == "" {
			t.Fatalf("body %s", r.body)
		}
		// The next cookie works in turn.
		refreshWithCookie(e, next, e.srv.URL).want(t, http.StatusOK, "", "")
	})
	t.Run("CrossOriginForbidden", func(t *testing.T) {
		e := start(t, setup{})
		c := cookieLogin(t, e, e.register("ada"))
		for _, origin := range []string{"https://evil.example", "null", ""} {
			r := refreshWithCookie(e, c, origin)
			r.want(t, http.StatusForbidden, "ForbiddenError", "")
			if refreshCookieOf(r) != nil {
				t.Errorf("origin %q: a refused call set a cookie", origin)
			}
		}
		logout := e.do(request{method: http.MethodPost, path: "/api/auth/logout",
			header: map[string]string{"Cookie": "strapi_up_refresh=" + c.Value, "Origin": "https://evil.example"}})
		logout.want(t, http.StatusForbidden, "ForbiddenError", "")
		// Nothing changed: past any grace window, the token is still the live one.
		e.clock.Advance(time.Minute)
		refreshWithCookie(e, c, e.srv.URL).want(t, http.StatusOK, "", "")
	})
	t.Run("AllowedOrigin", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.AllowedOrigins = "https://app.example.com" }})
		c := cookieLogin(t, e, e.register("ada"))
		r := refreshWithCookie(e, c, "https://app.example.com")
		r.want(t, http.StatusOK, "", "")
		e.remember(refreshCookieOf(r).Value)
		refreshWithCookie(e, c, "https://other.example.com").want(t, http.StatusForbidden, "ForbiddenError", "")
	})
	t.Run("OriginSchemeBehindTLSProxy", func(t *testing.T) {
		// Behind a trusted proxy that says the client came over HTTPS, a
		// page of http://host is another origin than https://host.
		e := start(t, setup{trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		c := cookieLogin(t, e, e.register("ada"))
		host := strings.TrimPrefix(e.srv.URL, "http://")
		refresh := func(c *http.Cookie, origin, proto string) response {
			return e.do(request{method: http.MethodPost, path: "/api/auth/refresh",
				header: map[string]string{"Cookie": c.Name + "=" + c.Value, "Origin": origin, "X-Forwarded-Proto": proto}})
		}
		refresh(c, "http://"+host, "https").want(t, http.StatusForbidden, "ForbiddenError", "")
		refresh(c, "https://"+host, "http").want(t, http.StatusForbidden, "ForbiddenError", "")
		r := refresh(c, "https://"+host, "https")
		r.want(t, http.StatusOK, "", "")
		next := refreshCookieOf(r)
		e.remember(next.Value)
		// Without the header the scheme is unknown, and the host decides.
		refresh(next, "http://"+host, "").want(t, http.StatusOK, "", "")
	})
	t.Run("OriginSchemeUnknownFromUntrustedPeer", func(t *testing.T) {
		// X-Forwarded-Proto from a peer that is not a trusted proxy proves
		// nothing: the scheme stays unknown and the host decides.
		e := start(t, setup{})
		c := cookieLogin(t, e, e.register("ada"))
		r := e.do(request{method: http.MethodPost, path: "/api/auth/refresh",
			header: map[string]string{"Cookie": c.Name + "=" + c.Value, "Origin": e.srv.URL, "X-Forwarded-Proto": "https"}})
		r.want(t, http.StatusOK, "", "")
		e.remember(refreshCookieOf(r).Value)
	})
	t.Run("Logout", func(t *testing.T) {
		e := start(t, setup{})
		c := cookieLogin(t, e, e.register("ada"))
		r := e.do(request{method: http.MethodPost, path: "/api/auth/logout",
			header: map[string]string{"Cookie": "strapi_up_refresh=" + c.Value, "Origin": e.srv.URL}})
		r.want(t, http.StatusOK, "", "")
		if cl := refreshCookieOf(r); cl == nil || cl.MaxAge >= 0 || cl.Value != "" {
			t.Fatalf("logout did not clear the cookie: %v", r.header["Set-Cookie"])
		}
		refreshWithCookie(e, c, e.srv.URL).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
	})
	t.Run("SettingOn", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.CookieMode = true }})
		a := e.register("ada") // the body has no refresh token now
		if a.refresh != "" {
			t.Fatalf("cookie mode setting: register returned a refresh token in the body")
		}
		r := e.post("/api/auth/local", map[string]any{"identifier": a.username, "password": a.password})
		r.want(t, http.StatusOK, "", "")
		if c := refreshCookieOf(r); c == nil {
			t.Fatal("no cookie with the cookie-mode setting on")
		} else {
			e.remember(c.Value)
		}
	})
	t.Run("BodyTokenStillWorks", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		r := e.post("/api/auth/refresh", map[string]any{"refreshToken": a.refresh})
		r.want(t, http.StatusOK, "", "")
		if refreshCookieOf(r) != nil || r.str(t, "refreshToken") == "" {
			t.Fatalf("without cookie mode: %v %s", r.header["Set-Cookie"], r.body)
		}
		e.remember(r.str(t, "refreshToken"))
	})
}
