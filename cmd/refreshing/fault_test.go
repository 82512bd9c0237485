package main_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing/internal/pgtest"

	"github.com/jackc/pgx/v5"
)

// wantUnavailable checks a 503 ServiceUnavailableError that says nothing of
// the storage's internals.
func wantUnavailable(t *testing.T, what string, a answer) {
	t.Helper()
	if a.err != nil {
		t.Fatalf("%s: %v", what, a.err)
	}
	e, _ := a.body["error"].(map[string]any)
	if a.status != http.StatusServiceUnavailable || e == nil || e["name"] != "ServiceUnavailableError" {
		t.Fatalf("%s: %d %s, want 503 ServiceUnavailableError", what, a.status, a.raw)
	}
	for _, leak := range []string{"sqlite", "SQLITE", "postgres", "pgx", "dial", "read-only", "readonly", "permission", "127.0.0.1", ".db"} {
		if strings.Contains(string(a.raw), leak) {
			t.Errorf("%s: the answer reveals %q: %s", what, leak, a.raw)
		}
	}
}

// waitReady polls /readyz until it answers want (or fails after 20 s).
func waitReady(t *testing.T, c *http.Client, url string, want int) {
	t.Helper()
	var last answer
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		last = call(t.Context(), c, url, http.MethodGet, "/readyz", nil, "")
		if last.status == want {
			return
		}
	}
	t.Fatalf("/readyz answered %d %s, want %d", last.status, last.raw, want)
}

// faultDrill runs the same drill on any storage: break it, check that
// nothing is acknowledged that was not stored and that /readyz says so, heal
// it, check that service resumes by itself with the state from before.
func faultDrill(t *testing.T, url string, breakIt, healIt func()) {
	c := &http.Client{Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	s := newStorm(t, url, "drill"+strings.ToLower(rand.Text()[:6]), 1, 2)
	rotating, revoking := s.clients[0], s.clients[1]
	waitReady(t, c, url, http.StatusOK)

	breakIt()
	wantUnavailable(t, "exchange", call(t.Context(), c, url, http.MethodPost, "/api/auth/token", map[string]any{"token": rotating.last}, ""))
	wantUnavailable(t, "revoke", call(t.Context(), c, url, http.MethodPost, "/api/auth/revoke", map[string]any{"token": revoking.last}, ""))
	wantUnavailable(t, "logout", call(t.Context(), c, url, http.MethodPost, "/api/auth/logout", map[string]any{"refreshToken": revoking.last}, ""))
	wantUnavailable(t, "token request", call(t.Context(), c, url, http.MethodPost, "/api/auth/token/request",
		map[string]any{"identifier": rotating.user, "password": s.passwords[0]}, ""))
	waitReady(t, c, url, http.StatusServiceUnavailable)

	healIt()
	waitReady(t, c, url, http.StatusOK)
	// Nothing the failed calls attempted happened: both tokens are live,
	// the revoked-looking one included (its revoke was never acknowledged).
	for _, cl := range []*stormClient{rotating, revoking} {
		a := call(t.Context(), c, url, http.MethodPost, "/api/auth/token", map[string]any{"token": cl.last}, "")
		if a.status != http.StatusOK {
			t.Errorf("client %d after the fault: %d %s, want 200", cl.id, a.status, a.raw)
		}
	}
	if a := call(t.Context(), c, url, http.MethodPost, "/api/auth/token/request", map[string]any{"identifier": rotating.user, "password": s.passwords[0]}, ""); a.status != http.StatusOK {
		t.Errorf("token request after the fault: %d %s", a.status, a.raw)
	}
}

// TestSQLiteReadOnly makes the database and its WAL immutable (chattr +i,
// which stops root too, like a file system remounted read-only), under a
// running server.
func TestSQLiteReadOnly(t *testing.T) {
	if _, err := exec.LookPath("chattr"); err != nil {
		t.Skip("chattr is not installed")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "refreshing.db")
	p := startProc(t, serveEnv(db))
	files := []string{db, db + "-wal"}
	chattr := func(flag string) {
		t.Helper()
		for _, f := range files {
			if out, err := exec.Command("chattr", flag, f).CombinedOutput(); err != nil {
				if flag == "+i" {
					t.Skipf("chattr +i is not permitted here (needs root on ext4 or similar): %v %s", err, out)
				}
				t.Fatalf("chattr %s %s: %v %s", flag, f, err, out)
			}
		}
	}
	t.Cleanup(func() {
		for _, f := range files {
			exec.Command("chattr", "-i", f).Run()
		}
	})
	faultDrill(t, p.url, func() { chattr("+i") }, func() { chattr("-i") })
	p.signal(os.Interrupt)
	integrityCheck(t, db)
}

// TestPostgresUnreachable puts a TCP proxy the test controls between the
// server and PostgreSQL, and cuts it (every connection, and the listener)
// under the running server; then restores it on the same port. The
// machine's PostgreSQL server itself is never touched.
func TestPostgresUnreachable(t *testing.T) {
	px, via := pgtest.NewProxy(t, pgtest.Schema(t))
	env := serveEnv(filepath.Join(t.TempDir(), "unused.db"))
	env = append(env, "REFRESHING_DB="+pgtest.WithParam(t, via, "connect_timeout", "1"))
	p := startProc(t, env)
	faultDrill(t, p.url, px.Cut, func() {
		if err := px.Restore(); err != nil {
			t.Fatal(err)
		}
	})
	p.signal(os.Interrupt)
}

// TestPostgresReadOnly turns a database of the test's own read-only under the
// running server, as a failover to a standby or a full disk would, then
// writable again. Only that database is touched.
func TestPostgresReadOnly(t *testing.T) {
	dsn := pgtest.DSN(t)
	name := "rt_ro_" + strings.ToLower(rand.Text())
	admin, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("REFRESHING_TEST_POSTGRES is set but the server does not answer: %v", err)
	}
	// Cleanups run last first: the database is dropped, then the
	// connection that drops it closed.
	t.Cleanup(func() { admin.Close(context.Background()) })
	exec := func(sql string) {
		t.Helper()
		if _, err := admin.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE DATABASE " + name)
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop the test's database %s: %v", name, err)
		}
	})

	px, via := pgtest.NewProxy(t, dsn)
	u, err := url.Parse(pgtest.WithParam(t, via, "connect_timeout", "1"))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	env := serveEnv(filepath.Join(t.TempDir(), "unused.db"))
	env = append(env, "REFRESHING_DB="+u.String())
	p := startProc(t, env)
	faultDrill(t, p.url,
		func() { exec("ALTER DATABASE " + name + " SET default_transaction_read_only = on"); px.Drop() },
		func() { exec("ALTER DATABASE " + name + " RESET default_transaction_read_only"); px.Drop() })
	p.signal(os.Interrupt)
}
