package server_test

import (
	"net/http"
	"testing"

	"github.com/refreshing/refreshing"
)

func TestRefresh(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	t.Run("OK", func(t *testing.T) {
		r := e.post("/api/auth/refresh", map[string]any{"refreshToken": a.refresh})
		r.want(t, http.StatusOK, "", "")
		m := r.json(t)
		next := r.str(t, "refreshToken")
		if len(m) != 2 || m["jwt"] == nil || !refreshing.LooksLikeRefreshToken(next) || next == a.refresh {
			t.Fatalf("body = %s, want {jwt, refreshToken} with a rotated token", r.body)
		}
		e.post("/api/auth/refresh", map[string]any{"refreshToken": next}).want(t, http.StatusOK, "", "")
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		e.post("/api/auth/refresh", map[string]any{"refreshToken": "garbage"}).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		e.post("/api/auth/refresh", map[string]any{}).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		e.do(request{method: http.MethodPost, path: "/api/auth/refresh"}).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		e.post("/api/auth/refresh", "").want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		e.post("/api/auth/refresh", `{"refreshToken":`).want(t, http.StatusBadRequest, "ValidationError", "")
	})
}

func TestLogout(t *testing.T) {
	logout := func(e *env, jwt string, body any) response {
		return e.do(request{method: http.MethodPost, path: "/api/auth/logout", bearer: jwt, body: body})
	}
	wantOK := func(t *testing.T, r response) {
		t.Helper()
		r.want(t, http.StatusOK, "", "")
		if string(r.body) != "{\"ok\":true}\n" {
			t.Errorf("body = %s, want {\"ok\":true}", r.body)
		}
	}
	t.Run("OKWithBearerAndNoBody", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		phone := e.login(a, nil)
		wantOK(t, logout(e, a.jwt, nil))
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.exchange(phone.refresh).want(t, http.StatusOK, "", "")
	})
	t.Run("OKWithBearerAndEmptyJSONBody", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		wantOK(t, logout(e, a.jwt, ""))
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
	t.Run("OKWithRefreshToken", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		phone := e.login(a, nil)
		wantOK(t, logout(e, "", map[string]any{"refreshToken": a.refresh}))
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.exchange(phone.refresh).want(t, http.StatusOK, "", "")
	})
	t.Run("OKWithExpiredBearerAndRefreshToken", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		wantOK(t, logout(e, "not.a.jwt", map[string]any{"refreshToken": a.refresh}))
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
	t.Run("OKWithUnknownRefreshToken", func(t *testing.T) {
		e := start(t, setup{})
		wantOK(t, logout(e, "", map[string]any{"refreshToken": "garbage"}))
	})
	t.Run("OKForOneDevice", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		phone := e.login(a, map[string]any{"deviceId": "phone-1"})
		laptop := e.login(a, map[string]any{"deviceId": "laptop-1"})
		wantOK(t, logout(e, laptop.jwt, map[string]any{"deviceId": "phone-1"}))
		e.exchange(phone.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.exchange(laptop.refresh).want(t, http.StatusOK, "", "")
		e.exchange(a.refresh).want(t, http.StatusOK, "", "")
	})
	t.Run("OKForAll", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		phone := e.login(a, nil)
		wantOK(t, logout(e, "", map[string]any{"refreshToken": phone.refresh, "scope": "all"}))
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.exchange(phone.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		logout(e, "", nil).want(t, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials")
		logout(e, "", map[string]any{}).want(t, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials")
		logout(e, "not.a.jwt", nil).want(t, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials")
		e.exchange(a.refresh).want(t, http.StatusOK, "", "")
	})
	t.Run("InvalidScope", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		logout(e, a.jwt, map[string]any{"scope": "everything"}).wantField(t, "scope")
		e.exchange(a.refresh).want(t, http.StatusOK, "", "")
	})
}

func TestDeviceID(t *testing.T) {
	t.Run("NewLoginReplacesTheDevicesSession", func(t *testing.T) {
		e := start(t, setup{})
		e.post("/api/auth/local/register", map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse", "deviceId": "phone-1"}).
			want(t, http.StatusOK, "", "")
		a := account{username: "ada", password: "correct horse"}
		first := e.login(a, map[string]any{"deviceId": "phone-1"})
		second := e.login(a, map[string]any{"deviceId": "phone-1"})
		e.exchange(first.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		e.exchange(second.refresh).want(t, http.StatusOK, "", "")
		if got := len(e.sessions(second.jwt)); got != 1 {
			t.Errorf("%d sessions, want 1", got)
		}
	})
	t.Run("TokenRequestReplacesTheDevicesSession", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		first := e.login(a, map[string]any{"deviceId": "phone-1"})
		r := e.post("/api/auth/token/request", map[string]any{"identifier": "ada", "password": a.password, "deviceId": "phone-1"})
		r.want(t, http.StatusOK, "", "")
		e.exchange(first.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		e.exchange(r.str(t, "refreshToken")).want(t, http.StatusOK, "", "")
	})
}
