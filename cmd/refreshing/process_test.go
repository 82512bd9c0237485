package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // PRAGMA integrity_check on the files the binary wrote
)

// These tests run the real binary, built once with `go build`, as a child
// process on a temporary SQLite file, and do to it what the world does:
// SIGKILL, SIGTERM, storms of clients.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the built binary at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// binary builds cmd/refreshing once per test run and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "refreshing-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "refreshing")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is one running `refreshing serve`.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer // stderr: the logs, at debug level
	mu   *sync.Mutex
	done chan error
	// exited is set once the exit status was taken from done.
	exited bool
}

// serveEnv is the environment every test server gets: the database file,
// debug logs, and rate limits off (the storms come from one address).
func serveEnv(db string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"REFRESHING_DB=sqlite:" + db, "REFRESHING_LOG_LEVEL=debug", "REFRESHING_LOG_FORMAT=json",
		"REFRESHING_RATE_LIMIT_IP=0", "REFRESHING_RATE_LIMIT_IDENTIFIER=0", "REFRESHING_RATE_LIMIT_EXCHANGE_IP=0",
	}
	return append(env, extra...)
}

// startProc starts the binary with env and waits until it listens.
func startProc(t *testing.T, env []string) *proc {
	t.Helper()
	p := &proc{t: t, logs: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0")
	p.cmd.Env = env
	p.cmd.Stderr = lockedWriter{p.mu, p.logs}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.exited {
			p.cmd.Process.Kill() // this test's own child, by its pid
			<-p.done
		}
	})
	url, err := listeningURL(p.Logs, p.done)
	if err != nil {
		t.Fatalf("server did not start: %v\n%s", err, p.Logs())
	}
	p.url = url
	return p
}

// Logs returns what the server wrote to stderr so far.
func (p *proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// signal sends sig to the server and waits for it to exit, returning its
// exit error (nil for exit status 0).
func (p *proc) signal(sig os.Signal) error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	return p.wait()
}

// wait waits for the server to exit and returns its exit error.
func (p *proc) wait() error {
	p.t.Helper()
	select {
	case err := <-p.done:
		p.exited = true
		return err
	case <-time.After(30 * time.Second):
		p.t.Fatal("server still running after 30 s")
	}
	return nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// answer is one HTTP response, or the transport error that stood instead.
type answer struct {
	status int
	body   map[string]any
	raw    []byte
	err    error
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

// call POSTs body as JSON to url+path (with an optional bearer token).
func call(ctx context.Context, c *http.Client, url, method, path string, body any, bearer string) answer {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url+path, rd)
	if err != nil {
		return answer{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := c.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{status: res.StatusCode, err: err}
	}
	a := answer{status: res.StatusCode, raw: raw}
	json.Unmarshal(raw, &a.body)
	return a
}

// integrityCheck runs PRAGMA integrity_check on the database file.
func integrityCheck(t *testing.T, db string) {
	t.Helper()
	h, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var res string
	if err := h.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if res != "ok" {
		t.Fatalf("PRAGMA integrity_check = %q, want ok", res)
	}
}

// exitedCleanly reports whether err is a clean exit (status 0).
func exitedCleanly(err error) bool {
	var ee *exec.ExitError
	return err == nil || (errors.As(err, &ee) && ee.ExitCode() == 0)
}

// killed reports whether err says the process died of SIGKILL.
func killed(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// listeningRE finds the URL in serve's "listening" log line, text or JSON
// (the same as main_test.go's, which this external package cannot see).
var listeningRE = regexp.MustCompile(`(?m)^.*"?msg"?[=:]"?listening\b.*?"?url"?[=:]"?(http://[^" ]+)`)

// listeningURL waits until logs() has serve's "listening" line and returns
// its URL, or returns the error the process ended with first.
func listeningURL(logs func() string, done chan error) (string, error) {
	deadline := time.After(60 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(logs()); m != nil {
			return m[1], nil
		}
		select {
		case err := <-done:
			done <- err
			return "", fmt.Errorf("serve exited: %v", err)
		case <-deadline:
			return "", errors.New("no listening line in 60s")
		case <-time.After(5 * time.Millisecond):
		}
	}
}
