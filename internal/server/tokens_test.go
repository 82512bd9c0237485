package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func TestTokenRequest(t *testing.T) {
	e := start(t, setup{settings: func(s *refreshing.Settings) { s.IssueOnLogin = false }})
	a := e.register("ada")
	t.Run("OK", func(t *testing.T) {
		r := e.post("/api/auth/token/request", map[string]any{"identifier": "ada", "password": a.password, "description": "my phone"})
		r.want(t, http.StatusOK, "", "")
		m := r.json(t)
		rt := r.str(t, "refreshToken")
		if !refreshing.LooksLikeRefreshToken(rt) || m["refresh_token"] != rt || len(m) != 2 {
			t.Fatalf("body = %s, want {refreshToken, refresh_token} with the same token", r.body)
		}
		ex := e.exchange(rt)
		ex.want(t, http.StatusOK, "", "")
		// Two sessions: the registration's (its access token names it, so
		// that it can be ended, though it has no refresh token out) and the
		// token request's, the current one.
		list := e.sessions(ex.str(t, "jwt"))
		current := 0
		for _, sess := range list {
			if sess["current"] == true && sess["description"] == "my phone" {
				current++
			}
		}
		if len(list) != 2 || current != 1 {
			t.Errorf("sessions = %v, want the registration's and a current one described %q", list, "my phone")
		}
	})
	t.Run("ErrInvalidCredentials", func(t *testing.T) {
		e.post("/api/auth/token/request", map[string]any{"identifier": "ada", "password": "wrong password"}).
			want(t, http.StatusBadRequest, "ValidationError", "Invalid identifier or password")
	})
	t.Run("ErrBlocked", func(t *testing.T) {
		b := e.register("bob")
		if _, err := e.svc.SetBlocked(t.Context(), int64(b.id), true); err != nil {
			t.Fatal(err)
		}
		e.post("/api/auth/token/request", map[string]any{"identifier": "bob", "password": b.password}).
			want(t, http.StatusBadRequest, "ApplicationError", "Your account has been blocked by an administrator")
	})
	t.Run("OverlongDescription", func(t *testing.T) {
		e.post("/api/auth/token/request", map[string]any{"identifier": "ada", "password": a.password, "description": strings.Repeat("d", refreshing.MaxTextLen+1)}).
			wantField(t, "description")
	})
}

func TestToken(t *testing.T) {
	t.Run("OKWithToken", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		r := e.exchange(a.refresh)
		r.want(t, http.StatusOK, "", "")
		m := r.json(t)
		next := r.str(t, "refreshToken")
		if len(m) != 2 || m["jwt"] == nil || !refreshing.LooksLikeRefreshToken(next) || next == a.refresh {
			t.Fatalf("body = %s, want {jwt, refreshToken} with a rotated token", r.body)
		}
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: r.str(t, "jwt")}).want(t, http.StatusOK, "", "")
		e.exchange(next).want(t, http.StatusOK, "", "")
	})
	t.Run("OKWithRefreshToken", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		r := e.post("/api/auth/token", map[string]any{"refreshToken": a.refresh})
		r.want(t, http.StatusOK, "", "")
		if r.str(t, "refreshToken") == a.refresh {
			t.Errorf("the token was not rotated")
		}
	})
	t.Run("SameTokenWhenRotationIsOff", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.Rotation = false }})
		a := e.register("ada")
		for range 3 {
			r := e.exchange(a.refresh)
			r.want(t, http.StatusOK, "", "")
			if got := r.str(t, "refreshToken"); got != a.refresh {
				t.Fatalf("refreshToken = %q, want the same %q", got, a.refresh)
			}
		}
	})
	e := start(t, setup{settings: func(s *refreshing.Settings) { s.RefreshTTL = time.Hour }})
	a := e.register("ada")
	for name, body := range map[string]map[string]any{
		"ErrInvalidTokenWhenUnknown":   {"token": "rt_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		"ErrInvalidTokenWhenMalformed": {"token": "garbage"},
		"ErrInvalidTokenWhenMissing":   {},
		"ErrInvalidTokenWhenJWT":       {"token": a.jwt},
		"ErrInvalidTokenWithNUL":       {"token": a.refresh + "\x00"},
	} {
		t.Run(name, func(t *testing.T) {
			e.post("/api/auth/token", body).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		})
	}
	t.Run("ErrInvalidTokenWhenExpired", func(t *testing.T) {
		b := e.register("bob")
		e.clock.Advance(time.Hour)
		defer e.clock.Advance(-time.Hour)
		e.exchange(b.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
	})
	// The failures above left ada's token alone.
	e.exchange(a.refresh).want(t, http.StatusOK, "", "")
}

func TestRevoke(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	revoke := func(token string) response {
		return e.post("/api/auth/revoke", map[string]any{"token": token})
	}
	wantRevoked := func(t *testing.T, r response) {
		t.Helper()
		r.want(t, http.StatusOK, "", "")
		if string(r.body) != "{\"revoked\":true}\n" {
			t.Errorf("body = %s, want {\"revoked\":true}", r.body)
		}
	}
	t.Run("OK", func(t *testing.T) {
		wantRevoked(t, revoke(a.refresh))
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: a.jwt}).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
	t.Run("OKWhenAlreadyRevoked", func(t *testing.T) { wantRevoked(t, revoke(a.refresh)) })
	t.Run("OKWhenUnknown", func(t *testing.T) {
		wantRevoked(t, revoke("rt_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	})
	t.Run("OKWhenMalformed", func(t *testing.T) { wantRevoked(t, revoke("garbage")) })
}

// browser is a User-Agent DeviceName knows.
const browser = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

func TestSessions(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		e.clock.Advance(time.Second)
		r := e.do(request{method: http.MethodPost, path: "/api/auth/local", body: map[string]any{"identifier": "ada", "password": a.password},
			header: map[string]string{"User-Agent": browser}})
		r.want(t, http.StatusOK, "", "")
		jwt, refresh := r.str(t, "jwt"), r.str(t, "refreshToken")
		res := e.do(request{method: http.MethodGet, path: "/api/users/me/sessions", bearer: jwt})
		res.want(t, http.StatusOK, "", "")
		if strings.Contains(string(res.body), refresh) || strings.Contains(string(res.body), a.refresh) {
			t.Errorf("the session list contains a refresh token: %s", res.body)
		}
		list := e.sessions(jwt)
		if len(list) != 2 {
			t.Fatalf("%d sessions, want 2: %v", len(list), list)
		}
		newest, oldest := list[0], list[1]
		if newest["device"] != "Chrome on macOS" || newest["userAgent"] != browser || newest["current"] != true || newest["ip"] != "127.0.0.1" {
			t.Errorf("newest session = %v", newest)
		}
		if oldest["current"] != false || oldest["device"] != "Go client" {
			t.Errorf("oldest session = %v", oldest)
		}
		for _, s := range list {
			for _, k := range []string{"id", "description", "userAgent", "device", "ip", "createdAt", "lastActivity", "expiresAt", "current"} {
				if _, ok := s[k]; !ok {
					t.Errorf("session lacks %q: %v", k, s)
				}
			}
			if len(s) != 9 {
				t.Errorf("session has %d fields, want 9: %v", len(s), s)
			}
			for _, k := range []string{"createdAt", "lastActivity", "expiresAt"} {
				if v, _ := s[k].(string); !strings.HasSuffix(v, "Z") {
					t.Errorf("%s = %v, want an RFC 3339 UTC timestamp", k, s[k])
				}
			}
		}
		if got, want := newest["expiresAt"], "2026-04-03T05:06:08Z"; got != want {
			t.Errorf("expiresAt = %v, want %v (created + 720h)", got, want)
		}
	})
	t.Run("NullExpiryWhenSessionsNeverExpire", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.RefreshTTL = 0 }})
		a := e.register("ada")
		list := e.sessions(a.jwt)
		if v, ok := list[0]["expiresAt"]; len(list) != 1 || !ok || v != nil {
			t.Errorf("sessions = %v, want one with expiresAt null", list)
		}
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		e := start(t, setup{})
		e.do(request{method: http.MethodGet, path: "/api/users/me/sessions"}).want(t, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials")
	})
}

func TestDeleteSession(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	phone := e.login(a, nil)
	b := e.register("bob")
	idOf := func(jwt string, current bool) string {
		for _, s := range e.sessions(jwt) {
			if s["current"] == current {
				return s["id"].(string)
			}
		}
		t.Fatal("no such session")
		return ""
	}
	t.Run("ErrNotFoundForAnotherUsersSession", func(t *testing.T) {
		r := e.do(request{method: http.MethodDelete, path: "/api/users/me/sessions/" + idOf(b.jwt, true), bearer: a.jwt})
		r.want(t, http.StatusNotFound, "NotFoundError", "Not Found")
		e.exchange(b.refresh).want(t, http.StatusOK, "", "")
	})
	t.Run("ErrNotFoundForUnknownSession", func(t *testing.T) {
		e.do(request{method: http.MethodDelete, path: "/api/users/me/sessions/nope", bearer: a.jwt}).want(t, http.StatusNotFound, "NotFoundError", "Not Found")
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		e.do(request{method: http.MethodDelete, path: "/api/users/me/sessions/" + idOf(a.jwt, false)}).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
	t.Run("OK", func(t *testing.T) {
		r := e.do(request{method: http.MethodDelete, path: "/api/users/me/sessions/" + idOf(a.jwt, false), bearer: a.jwt})
		r.want(t, http.StatusNoContent, "", "")
		if len(r.body) != 0 {
			t.Errorf("body = %q, want none", r.body)
		}
		e.exchange(phone.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		if got := len(e.sessions(a.jwt)); got != 1 {
			t.Errorf("%d sessions left, want 1", got)
		}
	})
}

func TestDeleteSessions(t *testing.T) {
	del := func(e *env, jwt, query string) response {
		return e.do(request{method: http.MethodDelete, path: "/api/users/me/sessions" + query, bearer: jwt})
	}
	t.Run("OKOthers", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		phone, tablet := e.login(a, nil), e.login(a, nil)
		b := e.register("bob")
		del(e, a.jwt, "?scope=others").want(t, http.StatusNoContent, "", "")
		e.exchange(phone.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.exchange(tablet.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.exchange(b.refresh).want(t, http.StatusOK, "", "")
		if list := e.sessions(a.jwt); len(list) != 1 || list[0]["current"] != true {
			t.Errorf("sessions = %v, want only the current one", list)
		}
	})
	t.Run("OKAll", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		phone := e.login(a, nil)
		del(e, a.jwt, "?scope=all").want(t, http.StatusNoContent, "", "")
		e.exchange(phone.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: a.jwt}).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
	t.Run("InvalidScope", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		del(e, a.jwt, "?scope=everything").wantField(t, "scope")
		del(e, a.jwt, "").wantField(t, "scope")
		e.exchange(a.refresh).want(t, http.StatusOK, "", "")
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		e := start(t, setup{})
		del(e, "", "?scope=all").want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
}
