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
