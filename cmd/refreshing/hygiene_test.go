package main_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSecretsHygiene walks every account and token flow against the binary
// at debug log level, including the failing ones, then looks for each
// password, refresh token and access token it sent or received in the logs,
// in every error response, and in the database files (WAL included), while
// the server runs and after it stopped.
func TestSecretsHygiene(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "refreshing.db")
	p := startProc(t, serveEnv(db))
	c := &http.Client{}
	var secrets []string
	var answers []answer
	do := func(method, path string, body map[string]any, bearer string) answer {
		t.Helper()
		for _, k := range []string{"password", "currentPassword", "passwordConfirmation", "token", "refreshToken"} {
			if v, ok := body[k].(string); ok && len(v) >= 8 {
				secrets = append(secrets, v)
			}
		}
		a := call(t.Context(), c, p.url, method, path, body, bearer)
		if a.err != nil {
			t.Fatalf("%s %s: %v", method, path, a.err)
		}
		for _, k := range []string{"jwt", "refreshToken", "refresh_token"} {
			if v := a.str(k); v != "" {
				secrets = append(secrets, v)
			}
		}
		answers = append(answers, a)
		return a
	}
	reg := do(http.MethodPost, "/api/auth/local/register", map[string]any{"username": "ada", "email": "ada@example.com", "password": "first-secret-pw"}, "")
	do(http.MethodPost, "/api/auth/local", map[string]any{"identifier": "ada", "password": "wrong-secret-pw"}, "")
	do(http.MethodPost, "/api/auth/local", map[string]any{"identifier": "nobody@example.com", "password": "unknown-secret-pw"}, "")
	login := do(http.MethodPost, "/api/auth/local", map[string]any{"identifier": "ADA@example.com", "password": "first-secret-pw"}, "")
	req := do(http.MethodPost, "/api/auth/token/request", map[string]any{"identifier": "ada", "password": "first-secret-pw", "description": "cli"}, "")
	ex := do(http.MethodPost, "/api/auth/token", map[string]any{"token": req.str("refreshToken")}, "")
	do(http.MethodPost, "/api/auth/token", map[string]any{"token": req.str("refreshToken") + "tampered"}, "")
	do(http.MethodPost, "/api/auth/refresh", map[string]any{"refreshToken": "rt_" + strings.Repeat("A", 22) + ".0." + strings.Repeat("B", 43)}, "")
	do(http.MethodGet, "/api/users/me", nil, login.str("jwt"))
	do(http.MethodGet, "/api/users/me", nil, login.str("jwt")+"x")
	do(http.MethodGet, "/api/users/me/sessions", nil, ex.str("jwt"))
	do(http.MethodPost, "/api/auth/change-password", map[string]any{"currentPassword": "wrong-current-pw", "password": "second-secret-pw", "passwordConfirmation": "second-secret-pw"}, login.str("jwt"))
	do(http.MethodPost, "/api/auth/change-password", map[string]any{"currentPassword": "first-secret-pw", "password": "second-secret-pw", "passwordConfirmation": "second-secret-pw"}, login.str("jwt"))
	do(http.MethodPost, "/api/auth/token", map[string]any{"token": reg.str("refreshToken")}, "") // revoked by the change
	do(http.MethodPost, "/api/auth/revoke", map[string]any{"token": ex.str("refreshToken")}, "")
	do(http.MethodPost, "/api/auth/logout", map[string]any{"refreshToken": login.str("refreshToken")}, "")
	// Tokens in places they do not belong: the body of a 4xx must not echo them.
	if a := do(http.MethodPost, "/api/auth/token", map[string]any{"token": login.str("jwt")}, ""); a.status != http.StatusUnauthorized {
		t.Errorf("a JWT presented as a refresh token: %d %s", a.status, a.raw)
	}
	if a := do(http.MethodGet, "/api/users/me", nil, login.str("refreshToken")); a.status != http.StatusUnauthorized {
		t.Errorf("a refresh token presented as a JWT: %d %s", a.status, a.raw)
	}

	errors := 0
	for _, a := range answers {
		if a.status >= 400 {
			errors++
		}
	}
	if errors < 8 {
		t.Fatalf("only %d error answers; the test lost its failing cases", errors)
	}
	t.Run("NotInErrorResponses", func(t *testing.T) {
		for _, a := range answers {
			if a.status < 400 {
				continue
			}
			for _, s := range secrets {
				if strings.Contains(string(a.raw), s) {
					t.Errorf("an error answer (%d) contains the secret %q: %s", a.status, s, a.raw)
				}
			}
		}
	})
	t.Run("NotInDatabaseFilesWhileRunning", func(t *testing.T) {
		wantNoSecrets(t, secrets, filesIn(t, dir)...)
	})
	if err := p.signal(syscall.SIGTERM); !exitedCleanly(err) {
		t.Fatalf("SIGTERM: %v", err)
	}
	t.Run("NotInDebugLogs", func(t *testing.T) {
		logs := p.Logs()
		if !strings.Contains(logs, `"level":"DEBUG"`) && !strings.Contains(logs, `"msg":"request"`) {
			t.Fatalf("the logs look empty:\n%s", logs)
		}
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the logs contain the secret %q", s)
			}
		}
	})
	t.Run("NotInDatabaseFilesAfterStop", func(t *testing.T) {
		wantNoSecrets(t, secrets, filesIn(t, dir)...)
	})
}
