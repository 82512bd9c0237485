package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/dpop/dpoptest"
)

// jwtClaims decodes an access token's claims (unverified: the server
// signed it, the test only reads it).
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStepUp: every access token carries auth_time (the sign-in) and amr,
// a rotation keeps them, introspection reports them, and max_age at the
// token endpoint refuses a refresh whose sign-in is too old without using
// the token up; a password change is a fresh sign-in (both stores).
func TestStepUp(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := start(t, su)
		e.client(refreshing.ClientSpec{ID: "app", Grants: []string{refreshing.GrantPassword}})
		secret := e.client(refreshing.ClientSpec{ID: "rs", GenerateSecret: true})
		a := e.register("ada")
		signIn := e.clock.Now().Unix()
		wantAuth := func(what, token string, authTime int64) {
			t.Helper()
			c := jwtClaims(t, token)
			if got, _ := c["auth_time"].(float64); int64(got) != authTime {
				t.Errorf("%s: auth_time %v, want %d", what, c["auth_time"], authTime)
			}
			if amr, _ := c["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
				t.Errorf("%s: amr %v, want [pwd]", what, c["amr"])
			}
		}
		wantAuth("registration", a.jwt, signIn)

		e.clock.Advance(time.Hour)
		r := e.exchange(a.refresh)
		r.want(t, http.StatusOK, "", "")
		jwt, refresh := r.str(t, "jwt"), r.str(t, "refreshToken")
		wantAuth("rotated on /api", jwt, signIn)
		if iat, _ := jwtClaims(t, jwt)["iat"].(float64); int64(iat) != signIn+3600 {
			t.Errorf("rotated token iat %v, want the rotation's time", iat)
		}
		in := e.introspect(jwt, "rs", secret)
		if got, _ := in["auth_time"].(float64); int64(got) != signIn {
			t.Errorf("introspection of the access token: auth_time %v, want %d", in["auth_time"], signIn)
		}
		if in := e.introspect(refresh, "rs", secret); int64(in["auth_time"].(float64)) != signIn {
			t.Errorf("introspection of the refresh token: auth_time %v, want %d", in["auth_time"], signIn)
		}

		t.Run("MaxAge", func(t *testing.T) {
			form := func(maxAge string) url.Values {
				v := refreshForm("", refresh)
				v.Set("max_age", maxAge)
				return v
			}
			e.token(form("60")).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
			e.token(form("-1")).wantOAuthError(t, http.StatusBadRequest, "invalid_request")
			e.token(form("soon")).wantOAuthError(t, http.StatusBadRequest, "invalid_request")
			// The refused request used nothing up: the same token works.
			tk := e.token(form("7200")).wantTokens(t)
			wantAuth("rotated on /oauth", tk.access, signIn)
			refresh = tk.refresh
		})
		t.Run("PasswordChangeIsAFreshSignIn", func(t *testing.T) {
			r := e.do(request{method: http.MethodPost, path: "/api/auth/change-password", bearer: jwt,
				body: map[string]any{"currentPassword": a.password, "password": "a-new-long-passphrase", "passwordConfirmation": "a-new-long-passphrase"}})
			r.want(t, http.StatusOK, "", "")
			wantAuth("after the password change", r.str(t, "jwt"), e.clock.Now().Unix())
		})
	})
}

// reauth posts the password to /api/auth/reauthenticate with a bearer token.
func (e *env) reauth(jwt, password string) response {
	e.t.Helper()
	return e.do(request{method: http.MethodPost, path: "/api/auth/reauthenticate", bearer: jwt, body: map[string]any{"password": password}})
}

// TestReauthenticate: re-authentication keeps the session and its refresh
// token, answers an access token of that session whose auth_time is now,
// and the session remembers it: later rotations carry it, max_age counts
// from it, introspection reports it. A wrong password changes nothing and
// is audited as a failed sign-in (both stores).
func TestReauthenticate(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := start(t, su)
		secret := e.client(refreshing.ClientSpec{ID: "rs", GenerateSecret: true})
		a := e.register("ada")
		signIn := e.clock.Now().Unix()
		sid, _ := jwtClaims(t, a.jwt)["sid"].(string)
		authTime := func(token string) int64 {
			t.Helper()
			v, _ := jwtClaims(t, token)["auth_time"].(float64)
			return int64(v)
		}
		// An hour later, with a refreshed access token of the same session.
		e.clock.Advance(time.Hour)
		x := e.exchange(a.refresh)
		x.want(t, http.StatusOK, "", "")
		a.jwt, a.refresh = x.str(t, "jwt"), x.str(t, "refreshToken")
		if got := authTime(a.jwt); got != signIn {
			t.Fatalf("auth_time after a rotation = %d, want the sign-in's %d", got, signIn)
		}

		t.Run("ErrWrongPassword", func(t *testing.T) {
			e.reauth(a.jwt, "not the password").want(t, http.StatusBadRequest, "ValidationError", "The provided current password is invalid")
			e.svc.FlushAudit(t.Context())
			events, err := e.svc.ListAudit(t.Context(), refreshing.AuditFilter{Type: refreshing.AuditLoginFailed, UserID: int64(a.id)})
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 1 || events[0].SessionID != sid {
				t.Fatalf("audit after a wrong password: %+v, want one login.failed of the session", events)
			}
			// Nothing changed: max_age still counts from the sign-in.
			v := refreshForm("", a.refresh)
			v.Set("max_age", "600")
			e.token(v).wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
		})
		t.Run("ErrInput", func(t *testing.T) {
			e.reauth(a.jwt, "").wantField(t, "password")
			e.do(request{method: http.MethodPost, path: "/api/auth/reauthenticate", body: map[string]any{"password": a.password}}).
				want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		})

		r := e.reauth(a.jwt, a.password)
		r.want(t, http.StatusOK, "", "")
		now := e.clock.Now().Unix()
		jwt := r.str(t, "jwt")
		if got := r.str(t, "sessionId"); got != sid {
			t.Errorf("sessionId = %q, want the session's %q", got, sid)
		}
		if got, _ := jwtClaims(t, jwt)["sid"].(string); got != sid {
			t.Errorf("the new access token's sid = %q, want %q", got, sid)
		}
		if got := authTime(jwt); got != now {
			t.Errorf("auth_time of the new access token = %d, want now (%d); the sign-in was %d", got, now, signIn)
		}
		if got := r.str(t, "authTime"); got != e.clock.Now().UTC().Format(time.RFC3339Nano) {
			t.Errorf("authTime = %q, want now", got)
		}
		if e.me(jwt) != http.StatusOK || e.me(a.jwt) != http.StatusOK {
			t.Error("the new and the old access token should both work")
		}

		// The session remembers it: a rotation, on /api or with max_age.
		e.clock.Advance(time.Minute)
		x = e.exchange(a.refresh)
		x.want(t, http.StatusOK, "", "")
		if got := authTime(x.str(t, "jwt")); got != now {
			t.Errorf("auth_time after a rotation = %d, want the re-authentication's %d", got, now)
		}
		v := refreshForm("", x.str(t, "refreshToken"))
		v.Set("max_age", "600")
		tk := e.token(v).wantTokens(t)
		if got := authTime(tk.access); got != now {
			t.Errorf("auth_time after an OAuth refresh = %d, want %d", got, now)
		}
		if in := e.introspect(tk.refresh, "rs", secret); int64(in["auth_time"].(float64)) != now {
			t.Errorf("introspection: auth_time %v, want %d", in["auth_time"], now)
		}
		if len(e.sessions(jwt)) != 1 {
			t.Error("re-authentication started another session")
		}

		t.Run("ErrSessionEnded", func(t *testing.T) {
			b := e.register("bob")
			e.do(request{method: http.MethodPost, path: "/api/auth/logout", bearer: b.jwt, body: map[string]any{}}).want(t, http.StatusOK, "", "")
			e.reauth(b.jwt, b.password).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		})
		t.Run("ErrNoPassword", func(t *testing.T) {
			// An account of a provider sign-in has no password.
			u := &refreshing.User{DocumentID: "u_carol", Username: "carol", UsernameKey: refreshing.UsernameKey("carol"), Email: "carol@example.com",
				Provider: "google", Role: "authenticated", Confirmed: true, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
			if err := e.fault.Store.CreateUser(t.Context(), u); err != nil {
				t.Fatal(err)
			}
			st, _ := e.svc.Settings(t.Context())
			sess, refresh := refreshing.NewSession(u.ID, refreshing.ClientInfo{}, e.clock.Now(), st)
			if err := e.fault.Store.CreateSession(t.Context(), sess, 0); err != nil {
				t.Fatal(err)
			}
			x := e.exchange(refresh)
			x.want(t, http.StatusOK, "", "")
			e.reauth(x.str(t, "jwt"), "any password at all").want(t, http.StatusBadRequest, "ApplicationError", "")
		})
	})
}

// TestReauthenticateDPoP: a DPoP-bound access token re-authenticates with
// its proof, and the new access token is bound to the same key.
func TestReauthenticateDPoP(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	e.client(refreshing.ClientSpec{ID: "spa", Grants: []string{refreshing.GrantPassword}})
	k := dpoptest.NewES256()
	tk := e.dpopToken(passwordForm("spa", "ada", a.password), e.proof(k)).wantDPoPTokens(t, "DPoP", k.Thumbprint())
	e.reauth(tk.access, a.password).want(t, http.StatusUnauthorized, "UnauthorizedError", "") // a bound token as bearer
	path := "/api/auth/reauthenticate"
	r := e.do(request{method: http.MethodPost, path: path, body: map[string]any{"password": a.password}, header: map[string]string{
		"Authorization": "DPoP " + tk.access,
		"DPoP":          k.Proof(http.MethodPost, e.srv.URL+path, dpoptest.Options{IAT: e.clock.Now(), AccessToken: tk.access}),
	}})
	r.want(t, http.StatusOK, "", "")
	c := jwtClaims(t, r.str(t, "jwt"))
	if cnf, _ := c["cnf"].(map[string]any); cnf == nil || cnf["jkt"] != k.Thumbprint() {
		t.Fatalf("the new access token's cnf = %v, want jkt %s", c["cnf"], k.Thumbprint())
	}
}

// TestReauthenticateRateLimited: a password attempt here is charged to the
// account's budget, as a sign-in is.
func TestReauthenticateRateLimited(t *testing.T) {
	e := start(t, setup{settings: func(s *refreshing.Settings) { s.RateLimitIdentifier = 3 }})
	a := e.register("ada") // one attempt of the budget
	for range 2 {
		e.reauth(a.jwt, "wrong").want(t, http.StatusBadRequest, "ValidationError", "")
	}
	e.reauth(a.jwt, a.password).want(t, http.StatusTooManyRequests, "RateLimitError", "")
	// Sign-in with the same account shares the budget.
	e.post("/api/auth/local", map[string]any{"identifier": a.email, "password": a.password}).want(t, http.StatusTooManyRequests, "RateLimitError", "")
}
