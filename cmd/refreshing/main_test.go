package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// instance is a running `refreshing serve`, in-process.
type instance struct {
	url    string
	db     string
	env    map[string]string
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func (in *instance) getenv(k string) string { return in.env[k] }

// start runs an instance on the SQLite file db.
func start(t *testing.T, db string, env map[string]string) *instance {
	t.Helper()
	e := map[string]string{"REFRESHING_DB": "sqlite:" + db}
	for k, v := range env {
		e[k] = v
	}
	in := startWith(t, e)
	in.db = db
	return in
}

// startWith runs an instance configured by env alone.
func startWith(t *testing.T, env map[string]string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{env: map[string]string{"REFRESHING_LOG_LEVEL": "debug"}, logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	for k, v := range env {
		in.env[k] = v
	}
	go func() {
		in.done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, in.getenv, io.Discard, in.logs)
	}()
	url, err := listeningURL(in.logs.String, in.done)
	if err != nil {
		cancel()
		in.cancel = nil
		t.Fatalf("server did not start: %v\n%s", err, in.logs)
	}
	in.url = url
	t.Cleanup(func() { in.stop(t) })
	return in
}

// listeningRE finds the URL in serve's "listening" log line, text or JSON.
var listeningRE = regexp.MustCompile(`(?m)^.*"?msg"?[=:]"?listening\b.*?"?url"?[=:]"?(http://[^" ]+)`)

// listeningURL waits until logs() has serve's "listening" line and returns
// its URL, or returns the error serve ended with first.
func listeningURL(logs func() string, done chan error) (string, error) {
	deadline := time.After(60 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(logs()); m != nil {
			return m[1], nil
		}
		select {
		case err := <-done:
			done <- err
			return "", fmt.Errorf("serve returned %v", err)
		case <-deadline:
			return "", errors.New("no listening line in 60s")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (in *instance) stop(t *testing.T) {
	t.Helper()
	if in.cancel == nil {
		return
	}
	in.cancel()
	in.cancel = nil
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("serve did not stop after cancellation")
	}
}

func (in *instance) post(t *testing.T, path, bearer string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, in.url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh) Firefox/121.0")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(t, req)
}

func (in *instance) get(t *testing.T, path, bearer string) (int, any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, in.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// cli runs one command against the same database, in-process.
func (in *instance) cli(args ...string) (string, error) {
	var out bytes.Buffer
	err := run(context.Background(), args, in.getenv, &out, io.Discard)
	return out.String(), err
}

// TestEndToEnd runs the whole program on :0 with a temporary database and
// talks to it over HTTP, the way a client and an operator would.
func TestEndToEnd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "data", "refreshing.db")
	in := start(t, db, nil)

	code, reg := in.post(t, "/api/auth/local/register", "", map[string]string{"username": "ada", "email": "Ada@Example.com", "password": "correct horse"})
	if code != 200 || reg["jwt"] == nil || reg["refreshToken"] == nil {
		t.Fatalf("register: %d %v", code, reg)
	}
	code, login := in.post(t, "/api/auth/local", "", map[string]string{"identifier": "ada@example.com", "password": "correct horse"})
	if code != 200 {
		t.Fatalf("login: %d %v", code, login)
	}
	rt := login["refreshToken"].(string)
	code, ex := in.post(t, "/api/auth/token", "", map[string]string{"token": rt})
	if code != 200 || ex["refreshToken"] == rt {
		t.Fatalf("exchange: %d %v", code, ex)
	}
	jwt := ex["jwt"].(string)
	code, list := in.get(t, "/api/users/me/sessions", jwt)
	if code != 200 || len(list.([]any)) != 2 {
		t.Fatalf("sessions: %d %v", code, list)
	}
	code, rev := in.post(t, "/api/auth/revoke", "", map[string]string{"token": reg["refreshToken"].(string)})
	if code != 200 || rev["revoked"] != true {
		t.Fatalf("revoke: %d %v", code, rev)
	}

	// The operator blocks the user from the CLI while the server runs.
	if out, err := in.cli("users", "block", "--email", "ada@example.com"); err != nil {
		t.Fatalf("users block: %v %s", err, out)
	}
	if code, _ := in.post(t, "/api/auth/token", "", map[string]string{"token": ex["refreshToken"].(string)}); code != 401 {
		t.Fatalf("blocked user's exchange: %d, want 401", code)
	}
	if code, _ := in.get(t, "/api/users/me", jwt); code != 401 {
		t.Fatalf("blocked user's JWT: %d, want 401", code)
	}
	if _, err := in.cli("users", "unblock", "--email", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	if code, _ := in.post(t, "/api/auth/local", "", map[string]string{"identifier": "ada", "password": "correct horse"}); code != 200 {
		t.Fatalf("login after unblock: %d", code)
	}

	// Restart on the same database: tokens issued before still work.
	code, last := in.post(t, "/api/auth/local", "", map[string]string{"identifier": "ada", "password": "correct horse"})
	if code != 200 {
		t.Fatal(code)
	}
	in.stop(t)
	in2 := start(t, db, nil)
	if code, _ := in2.get(t, "/api/users/me", last["jwt"].(string)); code != 200 {
		t.Fatalf("JWT after restart: %d", code)
	}
	if code, _ := in2.post(t, "/api/auth/token", "", map[string]string{"token": last["refreshToken"].(string)}); code != 200 {
		t.Fatalf("refresh token after restart: %d", code)
	}
	in2.stop(t)

	// No refresh token or password in plain text, in the database files or the logs.
	secrets := []string{rt, reg["refreshToken"].(string), ex["refreshToken"].(string), last["refreshToken"].(string), "correct horse"}
	files, _ := filepath.Glob(db + "*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains a secret in plain text", filepath.Base(f))
			}
		}
	}
	for _, logs := range []string{in.logs.String(), in2.logs.String()} {
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the logs contain a secret in plain text")
			}
		}
	}
}

func TestCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "refreshing.db")
	getenv := func(k string) string {
		if k == "REFRESHING_DB" {
			return "sqlite:" + db
		}
		return ""
	}
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, getenv, &out, io.Discard)
		return out.String(), err
	}
	// Only serve and migrate create a database.
	if out, err := cli("migrate"); err != nil {
		t.Fatalf("migrate: %v %q", err, out)
	}
	for _, bad := range [][]string{
		{"frobnicate"}, {"users"}, {"users", "create", "--email", "x@example.com"},
		{"users", "create", "--username", "zed", "--email", "zed@example.com", "--password", "123"},
		{"users", "block", "--email", "nobody@example.com"}, {"sessions", "revoke"},
		{"serve", "--addr"}, {"migrate", "extra"}, {"keys"},
	} {
		if _, err := cli(bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	var ue usageError
	if _, err := cli("frobnicate"); !errors.As(err, &ue) || exitCode(err) != 2 {
		t.Errorf("unknown command: exit code %d", exitCode(err))
	}
	if out, err := cli("users", "create", "--username", "zed", "--email", "zed@example.com", "--password", "secret12"); err != nil || !strings.Contains(out, "created user") {
		t.Fatalf("users create: %v %q", err, out)
	}
	if _, err := cli("users", "create", "--username", "zed", "--email", "zed@example.com", "--password", "secret12"); err == nil {
		t.Fatal("duplicate user created")
	}
	if out, err := cli("sessions", "list"); err != nil || !strings.Contains(out, "LAST ACTIVITY") {
		t.Fatalf("sessions list: %v %q", err, out)
	}
	if out, err := cli("keys", "rotate"); err != nil || !strings.Contains(out, "new signing key") {
		t.Fatalf("keys rotate: %v %q", err, out)
	}
	if out, err := cli("migrate"); err != nil {
		t.Fatalf("migrate: %v %q", err, out)
	}
	if out, err := cli("version"); err != nil || !strings.HasPrefix(out, "refreshing ") {
		t.Fatalf("version: %v %q", err, out)
	}
}

func TestServeWarnsExposedDatabase(t *testing.T) {
	t.Run("OKNewFileNoWarning", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "refreshing.db")
		in := start(t, db, nil)
		in.stop(t)
		if strings.Contains(in.logs.String(), "chmod 600") {
			t.Errorf("a new database file drew the warning:\n%s", in.logs)
		}
	})
	t.Run("Warning", func(t *testing.T) {
		// A file an older version created under umask 022, or one copied
		// in: serve says so and how to fix it, and leaves the mode alone.
		db := filepath.Join(t.TempDir(), "refreshing.db")
		if err := os.WriteFile(db, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(db, 0o644); err != nil {
			t.Fatal(err)
		}
		in := start(t, db, nil)
		in.stop(t)
		if logs := in.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "chmod 600 "+db) {
			t.Errorf("no warning naming chmod 600 %s:\n%s", db, logs)
		}
		if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("the file's mode changed: %v, %v", fi.Mode(), err)
		}
	})
}

func TestServeBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error
	}{
		{"ShortJWTSecretEnv", nil, map[string]string{"REFRESHING_JWT_SECRET": "x"}, "--jwt-secret"},
		{"ShortJWTSecretFlag", []string{"--jwt-secret", "fifteen-bytes!!"}, nil, "at least 16"},
		{"IssuerQueryAndFragment", []string{"--issuer", "https://auth.example.com/?tenant=a#frag"}, nil, "--issuer"},
		{"IssuerFragmentEnv", nil, map[string]string{"REFRESHING_ISSUER": "https://auth.example.com#frag"}, "fragment"},
		{"IssuerUserInfo", []string{"--issuer", "https://me:pw@auth.example.com"}, nil, "user information"},
		{"IssuerNotURL", []string{"--issuer", "auth.example.com"}, nil, "--issuer"},
		// The Strapi bridge (issue 16): both variables, a secret of 32 bytes or more, never echoed.
		{"ShortBridgeSecret", nil, map[string]string{"REFRESHING_STRAPI_URL": "http://127.0.0.1:1337", "REFRESHING_BRIDGE_SECRET": "thirty-one-bytes-secret-xxxxxxx"}, "at least 32"},
		{"BridgeSecretWithoutURL", nil, map[string]string{"REFRESHING_BRIDGE_SECRET": strings.Repeat("s", 32)}, "REFRESHING_STRAPI_URL"},
		{"StrapiURLWithoutSecret", nil, map[string]string{"REFRESHING_STRAPI_URL": "http://127.0.0.1:1337"}, "REFRESHING_BRIDGE_SECRET"},
		{"StrapiURLNotURL", nil, map[string]string{"REFRESHING_STRAPI_URL": "strapi:1337", "REFRESHING_BRIDGE_SECRET": strings.Repeat("s", 32)}, "REFRESHING_STRAPI_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "refreshing.db")
			env := map[string]string{"REFRESHING_DB": "sqlite:" + db}
			for k, v := range tc.env {
				env[k] = v
			}
			// A server that starts anyway stops after a while, and fails.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...), func(k string) string { return env[k] }, &stdout, &stderr)
			if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve = %v (exit %d), want a usage error about %q", err, exitCode(err), tc.want)
			}
			if s := tc.env["REFRESHING_BRIDGE_SECRET"]; s != "" && strings.Contains(err.Error()+stdout.String()+stderr.String(), s) {
				t.Errorf("the bridge secret was echoed: %v", err)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the database was opened before the configuration was checked: %v", err)
			}
		})
	}
	t.Run("OKIssuerTrailingSlash", func(t *testing.T) {
		in := start(t, filepath.Join(t.TempDir(), "refreshing.db"), map[string]string{"REFRESHING_ISSUER": "https://auth.example.com/"})
		status, body := in.get(t, "/.well-known/oauth-authorization-server", "")
		m, _ := body.(map[string]any)
		if status != http.StatusOK || m["issuer"] != "https://auth.example.com/" || m["token_endpoint"] != "https://auth.example.com/oauth/token" {
			t.Errorf("metadata: %d %v", status, body)
		}
	})
	t.Run("OKIssuerPlainHTTPWarns", func(t *testing.T) {
		// An internal name with TLS ending in front: accepted, with a
		// warning; the default (localhost) draws none.
		in := start(t, filepath.Join(t.TempDir(), "refreshing.db"), map[string]string{"REFRESHING_ISSUER": "http://refreshing:1337"})
		in.stop(t)
		if logs := in.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "issuer is plain http") {
			t.Errorf("no warning about the plain-http issuer:\n%s", logs)
		}
		in = start(t, filepath.Join(t.TempDir(), "refreshing.db"), nil)
		in.stop(t)
		if logs := in.logs.String(); strings.Contains(logs, "issuer is plain http") {
			t.Errorf("the default issuer drew the warning:\n%s", logs)
		}
	})
	t.Run("OKJWTSecret16Bytes", func(t *testing.T) {
		in := start(t, filepath.Join(t.TempDir(), "refreshing.db"), map[string]string{"REFRESHING_JWT_SECRET": "sixteen-bytes!!!"})
		in.stop(t)
		if logs := in.logs.String(); !strings.Contains(logs, "alg=HS256") {
			t.Errorf("not started in HS256 mode:\n%s", logs)
		}
		// Issue 16: HS256 without the Strapi plugin is how identities collided.
		if logs := in.logs.String(); !strings.Contains(logs, "install the refreshing Strapi plugin") {
			t.Errorf("no warning about HS256 without a paired Strapi app:\n%s", logs)
		}
	})
}
