package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
)

// TestOIDCBinary is the black-box check: a fresh binary configured
// by REFRESHING_OIDC_PROVIDERS with a real OpenID Connect provider on
// loopback (mockoidc): connect → provider → callback → {jwt, refreshToken,
// user}; the refresh token exchanges and rotates; the same subject lands on
// the same user; a forged state and an unverified email are refused.
func TestOIDCBinary(t *testing.T) {
	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Shutdown() })
	providers := fmt.Sprintf(`[{"name":"corp","issuer":%q,"clientId":%q,"clientSecret":%q}]`, op.Issuer(), op.ClientID, op.ClientSecret)
	p := startProc(t, serveEnv(filepath.Join(t.TempDir(), "refreshing.db"), "REFRESHING_OIDC_PROVIDERS="+providers))

	signIn := func(u mockoidc.User, state func(string) string) (int, map[string]any) {
		t.Helper()
		op.QueueUser(u)
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if state != nil && strings.HasSuffix(req.URL.Path, "/callback") {
				q := req.URL.Query()
				q.Set("state", state(q.Get("state")))
				req.URL.RawQuery = q.Encode()
			}
			return nil
		}}
		res, err := c.Get(p.url + "/api/connect/corp")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%d %s", res.StatusCode, b)
		}
		return res.StatusCode, m
	}
	ada := &mockoidc.MockUser{Subject: "ada-1", Email: "ada@corp.example", EmailVerified: true, PreferredUsername: "ada"}
	code, first := signIn(ada, nil)
	if code != http.StatusOK || first["jwt"] == nil || first["refreshToken"] == nil || first["user"] == nil {
		t.Fatalf("sign-in: %d %v", code, first)
	}
	rt := first["refreshToken"].(string)
	ex := call(t.Context(), http.DefaultClient, p.url, http.MethodPost, "/api/auth/token", map[string]any{"token": rt}, "")
	if ex.status != http.StatusOK || ex.str("refreshToken") == "" || ex.str("refreshToken") == rt {
		t.Fatalf("exchange: %d %s", ex.status, ex.raw)
	}
	code, second := signIn(ada, nil)
	if code != http.StatusOK || second["user"].(map[string]any)["id"] != first["user"].(map[string]any)["id"] {
		t.Fatalf("second sign-in: %d %v, want user %v", code, second, first["user"])
	}
	if code, body := signIn(ada, func(s string) string { return s + "x" }); code != http.StatusBadRequest {
		t.Fatalf("forged state: %d %v", code, body)
	}
	if code, body := signIn(&mockoidc.MockUser{Subject: "eve", Email: "eve@corp.example"}, nil); code != http.StatusBadRequest {
		t.Fatalf("unverified email: %d %v", code, body)
	}
	logs := p.Logs()
	for _, s := range []string{rt, ex.str("refreshToken"), op.ClientSecret} {
		if strings.Contains(logs, s) {
			t.Errorf("the logs contain a secret (%.8s...)", s)
		}
	}
}
