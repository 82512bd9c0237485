package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/refreshing/refreshing"
)

// Every endpoint that ends something answers success only when the thing is
// ended (or was already): never a 200 that leaves a token working.

func TestOAuthRevokeClientBinding(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		revoke := func(e *env, values url.Values, basic ...string) response {
			e.t.Helper()
			return e.oauth(oauthReq{path: "/oauth/revoke", values: values, basic: basic})
		}
		// appToken starts a session bound to the public client "app".
		appToken := func(e *env) (account, tokens) {
			a := e.register("ada")
			e.client(refreshing.ClientSpec{ID: "app", Grants: []string{refreshing.GrantPassword}})
			e.client(refreshing.ClientSpec{ID: "other"})
			return a, e.token(passwordForm("app", "ada", a.password)).wantTokens(t)
		}
		t.Run("ErrClientRequired", func(t *testing.T) {
			e := start(t, su)
			_, tk := appToken(e)
			for _, token := range []string{tk.refresh, tk.access} {
				r := revoke(e, url.Values{"token": {token}})
				r.wantOAuthError(t, http.StatusUnauthorized, "invalid_client")
				if got := r.header.Get("WWW-Authenticate"); got == "" {
					t.Error("invalid_client without a WWW-Authenticate challenge")
				}
			}
			// Nothing was revoked: the token still works for its client.
			tk = e.token(refreshForm("app", tk.refresh)).wantTokens(t)
			if got := e.me(tk.access); got != http.StatusOK {
				t.Errorf("/api/users/me after the refused revocations: %d", got)
			}
		})
		t.Run("ErrWrongClient", func(t *testing.T) {
			e := start(t, su)
			_, tk := appToken(e)
			for _, token := range []string{tk.refresh, tk.access} {
				revoke(e, url.Values{"token": {token}, "client_id": {"other"}}).wantOAuthError(t, http.StatusBadRequest, "unauthorized_client")
			}
			e.token(refreshForm("app", tk.refresh)).wantTokens(t)
		})
		t.Run("OwnClientRevokes", func(t *testing.T) {
			e := start(t, su)
			_, tk := appToken(e)
			if r := revoke(e, url.Values{"token": {tk.refresh}, "client_id": {"app"}}); r.status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.status, r.body)
			}
			e.token(refreshForm("app", tk.refresh)).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
			if got := e.me(tk.access); got != http.StatusUnauthorized {
				t.Errorf("the session's access token after revocation: %d, want 401", got)
			}
			// Already revoked: ended, so 200 for anyone, client or not.
			for _, form := range []url.Values{{"token": {tk.refresh}}, {"token": {tk.refresh}, "client_id": {"other"}}} {
				if r := revoke(e, form); r.status != http.StatusOK {
					t.Errorf("revoking an ended session's token: status %d, body %s", r.status, r.body)
				}
			}
		})
		t.Run("AccessTokenOfOwnClient", func(t *testing.T) {
			e := start(t, su)
			_, tk := appToken(e)
			if r := revoke(e, url.Values{"token": {tk.access}, "client_id": {"app"}}); r.status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.status, r.body)
			}
			e.token(refreshForm("app", tk.refresh)).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
		})
		t.Run("APISessionByAnyCaller", func(t *testing.T) {
			// A session started on /api belongs to no client: whoever holds
			// its token may end it, with or without a client.
			e := start(t, su)
			a := e.register("bob")
			e.client(refreshing.ClientSpec{ID: "other"})
			if r := revoke(e, url.Values{"token": {a.refresh}, "client_id": {"other"}}); r.status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.status, r.body)
			}
			e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		})
	})
}

func TestLogoutEndsWhatItSays(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		logout := func(e *env, jwt string, body any) response {
			return e.do(request{method: http.MethodPost, path: "/api/auth/logout", bearer: jwt, body: body})
		}
		t.Run("DeadRefreshTokenCannotEndAll", func(t *testing.T) {
			e := start(t, su)
			a := e.register("ada")
			other := e.login(a, nil)
			wantOK := func(r response) {
				t.Helper()
				r.want(t, http.StatusOK, "", "")
			}
			wantOK(logout(e, "", map[string]any{"refreshToken": a.refresh}))
			// The same, now dead, token asking to end every session or a
			// device's: refused, and the other session lives on.
			logout(e, "", map[string]any{"refreshToken": a.refresh, "scope": "all"}).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
			logout(e, "", map[string]any{"refreshToken": a.refresh, "deviceId": "phone"}).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
			logout(e, "", map[string]any{"refreshToken": "garbage", "scope": "all"}).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
			e.exchange(other.refresh).want(t, http.StatusOK, "", "")
			// Alone, a dead token's session is already ended: success.
			wantOK(logout(e, "", map[string]any{"refreshToken": a.refresh}))
		})
	})
}

func TestDeleteSessionEnded(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := start(t, su)
		a := e.register("ada")
		b := e.login(a, nil)
		var id string
		for _, s := range e.sessions(b.jwt) {
			if s["current"] != true {
				id, _ = s["id"].(string)
			}
		}
		if id == "" {
			t.Fatal("no session id listed")
		}
		del := func(id string) response {
			return e.do(request{method: http.MethodDelete, path: "/api/users/me/sessions/" + url.PathEscape(id), bearer: b.jwt})
		}
		del(id).want(t, http.StatusNoContent, "", "")
		// Already ended: 204 again; unknown: 404, never a 204 for nothing.
		del(id).want(t, http.StatusNoContent, "", "")
		del("s_doesnotexist").want(t, http.StatusNotFound, "NotFoundError", "")
		for _, s := range e.sessions(b.jwt) {
			if s["id"] == id {
				t.Errorf("session %s still listed after its deletion", id)
			}
		}
	})
}

// TestAccessTokenWithoutRefreshTokenCanBeEnded: with issue-on-login off a
// login hands out only an access token, and that token still names a
// session (sid), so signing out ends it at once instead of answering ok
// while it keeps working until it expires.
func TestAccessTokenWithoutRefreshTokenCanBeEnded(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		su.settings = func(s *refreshing.Settings) { s.IssueOnLogin = false }
		e := start(t, su)
		a := e.register("ada")
		if a.refresh != "" {
			t.Fatalf("issue-on-login off, yet a refresh token was issued")
		}
		if got := e.me(a.jwt); got != http.StatusOK {
			t.Fatalf("/api/users/me: %d", got)
		}
		e.do(request{method: http.MethodPost, path: "/api/auth/logout", bearer: a.jwt}).want(t, http.StatusOK, "", "")
		if got := e.me(a.jwt); got != http.StatusUnauthorized {
			t.Errorf("/api/users/me after logout: %d, want 401", got)
		}
	})
}
