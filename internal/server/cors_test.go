package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
)

const appOrigin = "https://app.example.com"

// corsEnv starts a server whose allow-list names appOrigin.
func corsEnv(t *testing.T) *env {
	return start(t, setup{settings: func(s *refreshing.Settings) { s.AllowedOrigins = appOrigin + ", http://localhost:5173" }})
}

// corsHeaderNames lists the Access-Control-* headers of an answer.
func corsHeaderNames(h http.Header) []string {
	var out []string
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// varies reports whether h's Vary names field.
func varies(h http.Header, field string) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), field) {
				return true
			}
		}
	}
	return false
}

func preflight(e *env, path, origin, method, headers string) response {
	h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
	if headers != "" {
		h["Access-Control-Request-Headers"] = headers
	}
	return e.do(request{method: http.MethodOptions, path: path, header: h})
}

func TestCORSPreflight(t *testing.T) {
	e := corsEnv(t)
	for _, path := range []string{"/api/auth/local", "/api/auth/local/register", "/api/auth/token", "/api/auth/refresh",
		"/api/auth/logout", "/api/users/me", "/api/users/me/sessions", "/api/users/me/sessions/abc", "/oauth/token", "/oauth/revoke"} {
		t.Run(path, func(t *testing.T) {
			r := preflight(e, path, appOrigin, "POST", "content-type,authorization,x-strapi-refresh-cookie")
			if r.status != http.StatusNoContent {
				t.Fatalf("preflight: %d %s", r.status, r.body)
			}
			want := map[string]string{
				"Access-Control-Allow-Origin":      appOrigin,
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods":     "GET, POST, DELETE",
				"Access-Control-Max-Age":           "600",
			}
			for k, v := range want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			allowed := strings.ToLower(r.header.Get("Access-Control-Allow-Headers"))
			for _, h := range []string{"authorization", "content-type", "x-strapi-refresh-cookie", "dpop"} {
				if !strings.Contains(allowed, h) {
					t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowed, h)
				}
			}
			for _, v := range []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"} {
				if !varies(r.header, v) {
					t.Errorf("Vary %v lacks %s", r.header.Values("Vary"), v)
				}
			}
		})
	}
	t.Run("OriginCase", func(t *testing.T) {
		// Browsers send origins in lower case; the list may be written otherwise.
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.AllowedOrigins = "https://App.Example.com" }})
		r := preflight(e, "/api/auth/token", appOrigin, "POST", "content-type")
		if r.header.Get("Access-Control-Allow-Origin") != appOrigin {
			t.Fatalf("headers %v", r.header)
		}
	})
}

func TestCORSActualRequest(t *testing.T) {
	e := corsEnv(t)
	a := e.register("ada")
	r := e.do(request{method: http.MethodPost, path: "/api/auth/local", header: map[string]string{"Origin": appOrigin},
		body: map[string]any{"identifier": a.username, "password": a.password}})
	r.want(t, http.StatusOK, "", "")
	if r.header.Get("Access-Control-Allow-Origin") != appOrigin || r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("CORS headers: %v", r.header)
	}
	exposed := r.header.Get("Access-Control-Expose-Headers")
	for _, h := range []string{"Retry-After", "WWW-Authenticate", "DPoP-Nonce"} {
		if !strings.Contains(exposed, h) {
			t.Errorf("Access-Control-Expose-Headers %q lacks %s", exposed, h)
		}
	}
	if !varies(r.header, "Origin") {
		t.Errorf("Vary: %v", r.header.Values("Vary"))
	}
	// Errors carry the headers too, so the page can read why.
	r = e.do(request{method: http.MethodPost, path: "/api/auth/token", header: map[string]string{"Origin": "http://localhost:5173"},
		body: map[string]any{"token": "rt_nope"}})
	if r.status < 400 || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Fatalf("error answer: %d %v", r.status, r.header)
	}
	// A 404 under /api too.
	r = e.do(request{method: http.MethodGet, path: "/api/nothing-here", header: map[string]string{"Origin": appOrigin}})
	if r.status != http.StatusNotFound || r.header.Get("Access-Control-Allow-Origin") != appOrigin {
		t.Fatalf("404: %d %v", r.status, r.header)
	}
}

func TestCORSUnlistedOrigin(t *testing.T) {
	e := corsEnv(t)
	a := e.register("ada")
	for _, origin := range []string{"https://evil.example", "https://app.example.com.evil.example", "http://app.example.com",
		"https://app.example.com:8443", "null", "*"} {
		t.Run(origin, func(t *testing.T) {
			r := preflight(e, "/api/auth/local", origin, "POST", "content-type")
			if got := corsHeaderNames(r.header); len(got) != 0 || r.status != http.StatusNoContent {
				t.Fatalf("preflight from %s: %d, CORS headers %v", origin, r.status, got)
			}
			if !varies(r.header, "Origin") {
				t.Errorf("Vary: %v", r.header.Values("Vary"))
			}
			r = e.do(request{method: http.MethodPost, path: "/api/auth/local", header: map[string]string{"Origin": origin},
				body: map[string]any{"identifier": a.username, "password": a.password}})
			if got := corsHeaderNames(r.header); len(got) != 0 {
				t.Fatalf("answer to %s carries %v", origin, got)
			}
		})
	}
	t.Run("EmptyList", func(t *testing.T) {
		e := start(t, setup{})
		r := preflight(e, "/api/auth/local", appOrigin, "POST", "content-type")
		if got := corsHeaderNames(r.header); len(got) != 0 {
			t.Fatalf("no list, yet %v", got)
		}
	})
}

func TestCORSNotOnOtherPaths(t *testing.T) {
	e := corsEnv(t)
	for _, path := range []string{"/admin/login", "/admin", "/admin/settings", "/metrics", "/healthz", "/openapi.json"} {
		t.Run(path, func(t *testing.T) {
			r := e.do(request{method: http.MethodGet, path: path, header: map[string]string{"Origin": appOrigin}})
			if got := corsHeaderNames(r.header); len(got) != 0 {
				t.Fatalf("GET %s from a listed origin carries %v", path, got)
			}
			r = preflight(e, path, appOrigin, "POST", "content-type")
			if got := corsHeaderNames(r.header); len(got) != 0 || r.status == http.StatusNoContent {
				t.Fatalf("preflight of %s answered %d with %v", path, r.status, got)
			}
		})
	}
}

func TestCORSNoOrigin(t *testing.T) {
	// A non-browser client sends no Origin: no CORS headers, only Vary, and
	// OPTIONS without a preflight's headers still gets the usual 405.
	e := corsEnv(t)
	r := e.do(request{method: http.MethodGet, path: "/.well-known/jwks.json"})
	if got := corsHeaderNames(r.header); len(got) != 0 || !varies(r.header, "Origin") {
		t.Fatalf("headers %v", r.header)
	}
	r = e.do(request{method: http.MethodOptions, path: "/api/auth/local"})
	if r.status != http.StatusMethodNotAllowed {
		t.Fatalf("plain OPTIONS: %d", r.status)
	}
}

func TestCORSCookieCrossSite(t *testing.T) {
	// A listed other origin's login in cookie mode gets a cookie it can send
	// cross-site: SameSite=None; Secure; Partitioned. The server's own pages
	// (and non-browser clients) keep SameSite=Lax without Partitioned.
	e := corsEnv(t)
	a := e.register("ada")
	login := func(origin string) response {
		h := map[string]string{"x-strapi-refresh-cookie": "httpOnly"}
		if origin != "" {
			h["Origin"] = origin
		}
		r := e.do(request{method: http.MethodPost, path: "/api/auth/local", header: h,
			body: map[string]any{"identifier": a.username, "password": a.password}})
		r.want(t, http.StatusOK, "", "")
		return r
	}
	r := login(appOrigin)
	c := refreshCookieOf(r)
	if c == nil || c.SameSite != http.SameSiteNoneMode || !c.Secure || !c.Partitioned || !c.HttpOnly {
		t.Fatalf("cross-site cookie: %v", r.header["Set-Cookie"])
	}
	e.remember(c.Value)
	// Its refresh, from the same origin, rotates it into a cookie alike.
	r = refreshWithCookie(e, c, appOrigin)
	r.want(t, http.StatusOK, "", "")
	if n := refreshCookieOf(r); n == nil || n.SameSite != http.SameSiteNoneMode || !n.Partitioned {
		t.Fatalf("rotated cookie: %v", r.header["Set-Cookie"])
	} else {
		e.remember(n.Value)
	}
	for _, origin := range []string{"", e.srv.URL} {
		r = login(origin)
		c := refreshCookieOf(r)
		if c == nil || c.SameSite != http.SameSiteLaxMode || c.Partitioned {
			t.Fatalf("origin %q: cookie %v", origin, r.header["Set-Cookie"])
		}
		e.remember(c.Value)
	}
}

func TestCORSFollowsTheSetting(t *testing.T) {
	// The admin screen saves settings through UpdateSettings: a change of
	// the list applies to the next request, in both directions.
	e := start(t, setup{})
	origin := "https://new.example.com"
	if r := preflight(e, "/api/auth/token", origin, "POST", ""); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("allowed before the change: %v", r.header)
	}
	st, err := e.svc.Settings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st.AllowedOrigins = origin
	if err := e.svc.UpdateSettings(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if r := preflight(e, "/api/auth/token", origin, "POST", ""); r.header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("not allowed after the change: %v", r.header)
	}
	st.AllowedOrigins = ""
	if err := e.svc.UpdateSettings(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if r := preflight(e, "/api/auth/token", origin, "POST", ""); len(corsHeaderNames(r.header)) != 0 {
		t.Fatalf("still allowed after its removal: %v", r.header)
	}
	// A wildcard can never be saved.
	st.AllowedOrigins = "*"
	if err := e.svc.UpdateSettings(t.Context(), st); err == nil {
		t.Fatal("a wildcard was accepted")
	}
}
