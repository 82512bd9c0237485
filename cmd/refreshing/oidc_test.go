package main_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
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
		return connect(t, op, p.url, u, state)
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

// TestOIDCProvidersAtRunTime: a provider saved with `refreshing providers
// set` while the binary runs applies at once, without a restart: sign-in,
// then a changed secret (refused by the provider), a blank secret keeping
// the stored one, and delete (unknown provider) followed by a new save that
// lands the same subject on the same user. The secret never shows in the
// CLI's output or the logs, and a name REFRESHING_OIDC_PROVIDERS configures
// cannot be saved over.
func TestOIDCProvidersAtRunTime(t *testing.T) {
	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Shutdown() })
	db := filepath.Join(t.TempDir(), "refreshing.db")
	p := startProc(t, serveEnv(db))
	env := map[string]string{"REFRESHING_DB": "sqlite:" + db}
	secretFile := filepath.Join(t.TempDir(), "corp.secret")
	if err := os.WriteFile(secretFile, []byte(op.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		out, code, errOut := runBinary(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		if strings.Contains(out, op.ClientSecret) {
			t.Fatalf("%v shows the client secret: %s", args, out)
		}
		return out
	}
	signIn := func(u mockoidc.User) (int, map[string]any) {
		t.Helper()
		return connect(t, op, p.url, u, nil)
	}
	ada := &mockoidc.MockUser{Subject: "ada-1", Email: "ada@corp.example", EmailVerified: true, PreferredUsername: "ada"}

	if code, body := signIn(ada); code != http.StatusNotFound {
		t.Fatalf("before any provider: %d %v, want 404", code, body)
	}
	set := []string{"providers", "set", "--name", "corp", "--issuer", op.Issuer(), "--client-id", op.ClientID}
	cli(append(set, "--client-secret-file", secretFile)...)
	code, first := signIn(ada)
	if code != http.StatusOK || first["jwt"] == nil || first["refreshToken"] == nil {
		t.Fatalf("sign-in through the saved provider: %d %v", code, first)
	}
	ex := call(t.Context(), http.DefaultClient, p.url, http.MethodPost, "/api/auth/token", map[string]any{"token": first["refreshToken"]}, "")
	if ex.status != http.StatusOK || ex.str("refreshToken") == "" {
		t.Fatalf("exchange: %d %s", ex.status, ex.raw)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(cli("providers", "list", "--json")), &listed); err != nil || len(listed) != 1 ||
		listed[0]["name"] != "corp" || listed[0]["clientSecretSet"] != true || listed[0]["source"] != "settings" || listed[0]["clientSecret"] != nil {
		t.Fatalf("providers list: %v %v", err, listed)
	}

	// A wrong secret applies at once: the provider refuses the code.
	cli(append(set, "--client-secret", "not-the-secret")...)
	if code, body := signIn(ada); code != http.StatusBadRequest {
		t.Fatalf("with a wrong secret: %d %v, want 400", code, body)
	}
	cli(append(set, "--client-secret-file", secretFile)...)
	// No secret given: the stored one stays.
	cli(append(set, "--redirect-url", "https://app.example/signed-in")...)
	if code, body := signIn(ada); code != http.StatusOK {
		t.Fatalf("after a save without a secret: %d %v", code, body)
	}

	if out := cli("providers", "delete", "--name", "corp"); !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %q", out)
	}
	if code, body := signIn(ada); code != http.StatusNotFound {
		t.Fatalf("after delete: %d %v, want 404", code, body)
	}
	if _, code, _ := runBinary(t, env, "providers", "delete", "--name", "corp"); code == 0 {
		t.Fatal("a second delete succeeded")
	}
	cli(append(set, "--client-secret-file", secretFile)...)
	code, again := signIn(ada)
	if code != http.StatusOK || again["user"].(map[string]any)["id"] != first["user"].(map[string]any)["id"] {
		t.Fatalf("saved again: %d %v, want user %v", code, again, first["user"])
	}

	// An issuer that cannot be read is saved, with a warning.
	if out, code, errOut := runBinary(t, env, "providers", "set", "--name", "down", "--issuer", "http://127.0.0.1:1/nothing", "--client-id", "c"); code != 0 || !strings.Contains(errOut, "warning: saved, but the issuer's discovery document cannot be read") || !strings.Contains(out, "saved sign-in provider down") {
		t.Fatalf("a provider that cannot be reached: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, code, errOut := runBinary(t, env, append(set, "--client-secret-file", secretFile)...); code != 0 || strings.Contains(errOut, "warning") {
		t.Fatalf("saving a reachable provider: exit %d: %s", code, errOut)
	}
	cli("providers", "delete", "--name", "down")

	// Refused values change nothing, and say which flag is wrong.
	for name, args := range map[string][]string{
		"BadName":         {"providers", "set", "--name", "Corp", "--issuer", op.Issuer(), "--client-id", "x"},
		"NoClientID":      {"providers", "set", "--name", "corp", "--issuer", op.Issuer()},
		"BadIssuer":       {"providers", "set", "--name", "corp", "--issuer", "ftp://x", "--client-id", "x"},
		"BadRedirect":     {"providers", "set", "--name", "corp", "--issuer", op.Issuer(), "--client-id", "x", "--redirect-url", "/relative"},
		"GitHubURLOnOIDC": {"providers", "set", "--name", "corp", "--issuer", op.Issuer(), "--client-id", "x", "--token-url", "https://t.example"},
	} {
		_, code, errOut := runBinary(t, env, args...)
		if code != 2 || !strings.Contains(errOut, "--") {
			t.Errorf("%s: exit %d: %s; want a usage error naming a flag", name, code, errOut)
		}
	}
	if code, body := signIn(ada); code != http.StatusOK {
		t.Fatalf("after refused saves: %d %v", code, body)
	}

	// The environment's provider wins; its name cannot be saved over.
	envWith := map[string]string{"REFRESHING_DB": "sqlite:" + db,
		"REFRESHING_OIDC_PROVIDERS": fmt.Sprintf(`[{"name":"corp","issuer":%q,"clientId":"env-client","clientSecret":"env-secret"}]`, op.Issuer())}
	if _, code, errOut := runBinary(t, envWith, append(set, "--client-secret-file", secretFile)...); code == 0 || !strings.Contains(errOut, "REFRESHING_OIDC_PROVIDERS") {
		t.Fatalf("saving over the environment's provider: exit %d: %s", code, errOut)
	}
	out, code, errOut := runBinary(t, envWith, "providers", "list")
	if code != 0 || !strings.Contains(out, "REFRESHING_OIDC_PROVIDERS") || !strings.Contains(out, "not in use") || strings.Contains(out, "env-secret") {
		t.Fatalf("providers list with the environment's: exit %d %s\n%s", code, errOut, out)
	}
	for _, s := range []string{op.ClientSecret, first["refreshToken"].(string)} {
		if strings.Contains(p.Logs(), s) {
			t.Errorf("the logs contain a secret (%.8s...)", s)
		}
	}
}

// runBinary runs the binary once with env (and PATH and HOME) and returns
// its standard output, exit code and standard error.
func runBinary(t *testing.T, env map[string]string, args ...string) (string, int, string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode(), errOut.String()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), 0, errOut.String()
}

// connect signs u in through the provider corp of the server at base:
// connect → provider (op) → callback, in a client with a cookie jar that
// follows redirects, with the callback's state changed by state when not
// nil. It returns the final answer's status and JSON.
func connect(t *testing.T, op *mockoidc.MockOIDC, base string, u mockoidc.User, state func(string) string) (int, map[string]any) {
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
	res, err := c.Get(base + "/api/connect/corp")
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
