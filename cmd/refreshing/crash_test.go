package main_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// stormClient follows its own rotation chain and keeps a ledger of what the
// server acknowledged.
type stormClient struct {
	id       int
	user     string
	last     string // the refresh token the last 200 handed over
	previous string // the one before it
	acked    int    // rotations acknowledged

	revokeAfter    int  // revoke the session after this many rotations (0: never)
	revoked        bool // the revoke was acknowledged
	inFlight       bool // the last exchange got no answer: it may or may not have happened
	inFlightRevoke bool // the revoke got no answer
	answers        []answer
}

// storm is a set of clients, each with a session of its own.
type storm struct {
	clients   []*stormClient
	passwords []string
	http      *http.Client
}

// newStorm registers users and starts one session per client with
// /api/auth/token/request. Every third client will revoke its session
// part way through.
func newStorm(t *testing.T, url, prefix string, users, clients int) *storm {
	t.Helper()
	s := &storm{http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 20 * time.Second}}
	t.Cleanup(s.http.CloseIdleConnections)
	for u := range users {
		name, pw := fmt.Sprintf("%s%d", prefix, u), fmt.Sprintf("pw-%d-%s", u, strings.Repeat("x", 8))
		s.passwords = append(s.passwords, pw)
		a := call(t.Context(), s.http, url, http.MethodPost, "/api/auth/local/register",
			map[string]any{"username": name, "email": name + "@example.com", "password": pw}, "")
		if a.status != http.StatusOK {
			t.Fatalf("register %s: %d %s %v", name, a.status, a.raw, a.err)
		}
	}
	for i := range clients {
		u := i % users
		a := call(t.Context(), s.http, url, http.MethodPost, "/api/auth/token/request",
			map[string]any{"identifier": fmt.Sprintf("%s%d", prefix, u), "password": s.passwords[u], "description": fmt.Sprint("client ", i)}, "")
		if a.status != http.StatusOK || a.str("refreshToken") == "" {
			t.Fatalf("token request %d: %d %s %v", i, a.status, a.raw, a.err)
		}
		c := &stormClient{id: i, user: fmt.Sprintf("%s%d", prefix, u), last: a.str("refreshToken"), answers: []answer{a}}
		if i%3 == 2 {
			c.revokeAfter = 5 + i
		}
		s.clients = append(s.clients, c)
	}
	return s
}

// run lets every client exchange its token in a loop until stop is closed
// or the server stops answering. It reports each acknowledged rotation on acks.
func (s *storm) run(t *testing.T, url string, stop <-chan struct{}, acks *atomic.Int64) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, c := range s.clients {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if c.revokeAfter > 0 && c.acked == c.revokeAfter {
					a := call(context.Background(), s.http, url, http.MethodPost, "/api/auth/revoke", map[string]any{"token": c.last}, "")
					c.answers = append(c.answers, a)
					switch {
					case a.err != nil:
						c.inFlightRevoke = true
					case a.status == http.StatusOK:
						c.revoked = true
					default:
						t.Errorf("client %d: revoke answered %d %s", c.id, a.status, a.raw)
					}
					return
				}
				// Both exchange endpoints, alternately.
				path, body := "/api/auth/token", map[string]any{"token": c.last}
				if n%2 == 1 {
					path, body = "/api/auth/refresh", map[string]any{"refreshToken": c.last}
				}
				a := call(context.Background(), s.http, url, http.MethodPost, path, body, "")
				c.answers = append(c.answers, a)
				switch {
				case a.err != nil:
					c.inFlight = true
					return
				case a.status == http.StatusOK && a.str("refreshToken") != "":
					c.previous, c.last = c.last, a.str("refreshToken")
					c.acked++
					acks.Add(1)
				default:
					t.Errorf("client %d: exchange %d answered %d %s", c.id, n, a.status, a.raw)
					return
				}
			}
		})
	}
	return &wg
}

// secrets returns every refresh token, access token and password the storm
// was handed or sent.
func (s *storm) secrets() []string {
	out := append([]string(nil), s.passwords...)
	for _, c := range s.clients {
		for _, a := range c.answers {
			for _, k := range []string{"refreshToken", "refresh_token", "jwt"} {
				if v := a.str(k); v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// TestCrashConsistency storms the server with clients that each follow their
// own rotation chain, kills it with SIGKILL mid-storm, restarts it on the
// same database and checks every client's ledger against it.
func TestCrashConsistency(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "refreshing.db")
	// The longest grace the settings allow: the request in flight at the
	// kill may have rotated without its client hearing of it, and the
	// restart must happen within the grace for the previous token to work.
	env := serveEnv(db, "REFRESHING_REUSE_GRACE=5m")
	p := startProc(t, env)
	s := newStorm(t, p.url, "user", 4, 24)

	stop := make(chan struct{})
	var acks atomic.Int64
	wg := s.run(t, p.url, stop, &acks)
	// A storm of a second or so: at least 300 rotations, at most 5 s.
	deadline := time.Now().Add(5 * time.Second)
	for acks.Load() < 300 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling, not a timing assertion
	}
	err := p.signal(syscall.SIGKILL)
	close(stop)
	wg.Wait()
	if !killed(err) {
		t.Fatalf("server exit: %v, want death by SIGKILL", err)
	}
	inFlight, revoked := 0, 0
	for _, c := range s.clients {
		if c.inFlight || c.inFlightRevoke {
			inFlight++
		}
		if c.revoked {
			revoked++
		}
	}
	t.Logf("killed after %d acknowledged rotations; %d clients had a request in flight, %d sessions revoked", acks.Load(), inFlight, revoked)
	if acks.Load() == 0 {
		t.Fatal("no rotation was acknowledged before the kill")
	}

	t.Run("NoSecretInTheFilesLeftByTheKill", func(t *testing.T) {
		// The WAL is still there: a killed process had no chance to checkpoint.
		wantNoSecrets(t, s.secrets(), filesIn(t, dir)...)
	})
	integrityCheck(t, db)

	p = startProc(t, env)
	t.Run("LastTokensWork", func(t *testing.T) {
		for _, c := range s.clients {
			if c.revoked || c.inFlightRevoke {
				continue
			}
			// Either the live token, or (if the exchange in flight at the
			// kill was stored) the just-retired one, within the grace.
			a := call(t.Context(), s.http, p.url, http.MethodPost, "/api/auth/token", map[string]any{"token": c.last}, "")
			if a.status != http.StatusOK {
				t.Errorf("client %d (in flight: %v): its last acknowledged token (rotation %d) answered %d %s after the restart",
					c.id, c.inFlight, c.acked, a.status, a.raw)
				continue
			}
			b := call(t.Context(), s.http, p.url, http.MethodPost, "/api/auth/token", map[string]any{"token": a.str("refreshToken")}, "")
			if b.status != http.StatusOK {
				t.Errorf("client %d: the chain does not go on after the restart: %d %s", c.id, b.status, b.raw)
			}
			c.previous, c.last = a.str("refreshToken"), b.str("refreshToken")
			c.answers = append(c.answers, a, b)
		}
	})
	t.Run("RevokedSessionsStayRevoked", func(t *testing.T) {
		for _, c := range s.clients {
			if !c.revoked {
				continue
			}
			for _, path := range []string{"/api/auth/token", "/api/auth/refresh"} {
				a := call(t.Context(), s.http, p.url, http.MethodPost, path, map[string]any{"token": c.last, "refreshToken": c.last}, "")
				if a.status != http.StatusUnauthorized {
					t.Errorf("client %d: a session revoked before the kill answered %d on %s after the restart: %s", c.id, a.status, path, a.raw)
				}
			}
		}
	})
	t.Run("RetiredTokensStayRetired", func(t *testing.T) {
		// Rotated-away tokens must not come back to a life of their own
		// after a restart (Keycloak's bug). Every token of the storm was
		// retired within the grace window (5 minutes here), so presenting a
		// client's first one is served, and must yield the session's live
		// token and nothing else: the chain goes on as one.
		for _, c := range s.clients {
			if c.revoked || c.inFlightRevoke || c.acked == 0 || c.id%2 == 0 {
				continue
			}
			first := s.firstToken(c)
			a := call(t.Context(), s.http, p.url, http.MethodPost, "/api/auth/token", map[string]any{"token": first}, "")
			if a.status != http.StatusOK || a.str("refreshToken") != c.last {
				t.Errorf("client %d: its first, retired token answered %d after the restart, want 200 and the live token: %s", c.id, a.status, a.raw)
			}
			b := call(t.Context(), s.http, p.url, http.MethodPost, "/api/auth/token", map[string]any{"token": c.last}, "")
			if b.status != http.StatusOK {
				t.Errorf("client %d: the live token after a retired one was served: %d %s", c.id, b.status, b.raw)
			}
		}
	})
	if err := p.signal(syscall.SIGTERM); !exitedCleanly(err) {
		t.Errorf("SIGTERM: %v\n%s", err, p.Logs())
	}
	integrityCheck(t, db)
}

// firstToken returns the refresh token c started with: the token request's.
func (s *storm) firstToken(c *stormClient) string { return c.answers[0].str("refreshToken") }

// filesIn returns the paths of the files in dir.
func filesIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// wantNoSecrets fails if any file contains any secret (for refresh tokens,
// even their secret part alone).
func wantNoSecrets(t *testing.T, secrets []string, files ...string) {
	t.Helper()
	if len(secrets) == 0 {
		t.Fatal("no secret to look for")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			needles := []string{s}
			if strings.HasPrefix(s, "rt_") {
				needles = append(needles, s[strings.LastIndex(s, ".")+1:])
			}
			for _, n := range needles {
				if strings.Contains(string(b), n) {
					t.Errorf("%s (%d bytes) contains the secret %q", filepath.Base(f), len(b), n)
				}
			}
		}
	}
}
