package server_test

import (
	"net/http"
	"testing"

	"github.com/refreshing/refreshing"
)

// TestPasswordPolicy: a new password needs the minimum length and must not
// be one of the most common passwords, at registration and at a password
// change, on both stores, with Strapi's ValidationError naming the field;
// the settings move both rules; signing in with an older password is never
// refused by them.
func TestPasswordPolicy(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		register := func(e *env, username, password string) response {
			return e.post("/api/auth/local/register", map[string]any{"username": username, "email": username + "@example.com", "password": password})
		}
		t.Run("Register", func(t *testing.T) {
			e := start(t, su)
			for name, password := range map[string]string{
				"ErrTooShort":       "Xy7#kq",
				"ErrSevenChars":     "Xy7#kqZ",
				"ErrCommon":         "password",
				"ErrCommonDigits":   "12345678",
				"ErrCommonAnyCase":  "PassWord1",
				"ErrCommonKeyboard": "qwertyuiop",
			} {
				t.Run(name, func(t *testing.T) {
					r := register(e, "u"+name, password)
					r.wantField(t, "password")
				})
			}
			register(e, "ada", "correct horse battery").want(t, http.StatusOK, "", "")
			register(e, "eve", "Xy7#kqZ!").want(t, http.StatusOK, "", "") // 8 characters, not common
		})
		t.Run("ChangePassword", func(t *testing.T) {
			e := start(t, su)
			a := e.register("ada")
			change := func(password string) response {
				return e.do(request{method: http.MethodPost, path: "/api/auth/change-password", bearer: a.jwt,
					body: map[string]any{"currentPassword": a.password, "password": password, "passwordConfirmation": password}})
			}
			change("letmein1").wantField(t, "password")
			change("short").wantField(t, "password")
			change("a-much-better-passphrase").want(t, http.StatusOK, "", "")
		})
		t.Run("Settings", func(t *testing.T) {
			s := su
			s.settings = func(st *refreshing.Settings) { st.PasswordMinLength, st.PasswordRefuseCommon = 12, false }
			e := start(t, s)
			register(e, "ada", "Xy7#kqZ!abc").wantField(t, "password") // 11 < 12
			register(e, "bob", "password1234").want(t, http.StatusOK, "", "")
			// Raising the minimum later does not lock anyone out.
			st, err := e.svc.Settings(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			st.PasswordMinLength, st.PasswordRefuseCommon = 20, true
			if err := e.svc.UpdateSettings(t.Context(), st); err != nil {
				t.Fatal(err)
			}
			e.post("/api/auth/local", map[string]any{"identifier": "bob", "password": "password1234"}).want(t, http.StatusOK, "", "")
			if err := e.svc.CheckPassword(t.Context(), "password", "password1234"); err == nil {
				t.Error("CheckPassword accepted a password shorter than the new minimum")
			}
			if err := e.svc.CheckPassword(t.Context(), "password", "a passphrase of some length"); err != nil {
				t.Errorf("CheckPassword: %v", err)
			}
		})
	})
}
