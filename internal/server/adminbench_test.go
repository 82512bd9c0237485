package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/pgtest"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/server"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// benchScale is how many sessions BenchmarkAdminPages seeds
// (REFRESHING_BENCH_SESSIONS, default one million), with a tenth as many
// users and a fifth as many audit events.
func benchScale(b *testing.B) (sessions, users, events int) {
	n := 1_000_000
	if v := os.Getenv("REFRESHING_BENCH_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	return n, max(n/10, 1), n / 5
}

// BenchmarkAdminPages measures each admin screen, server-rendered and
// fetched over a real listener with an administrator's cookie, over 10⁶
// sessions of 10⁵ users and 2·10⁵ audit events: one op is one page.
// Sessions were signed in one per second up to now, a tenth are revoked,
// one in seven lived a day (most of those expired), from 50,000 addresses.
//
//	go test ./internal/server -run '^$' -bench AdminPages -benchtime 20x
//	REFRESHING_TEST_POSTGRES=postgres://... go test ./internal/server -run '^$' -bench AdminPages/PostgreSQL -benchtime 20x
func BenchmarkAdminPages(b *testing.B) {
	sessions, users, events := benchScale(b)
	now := time.Now().UTC().Truncate(time.Second)
	base := now.Add(-time.Duration(sessions) * time.Second)
	b.Run("SQLite", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "db")
		st, err := sqlite.Open(b.Context(), path) // migrates
		if err != nil {
			b.Fatal(err)
		}
		st.Close()
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
		if err != nil {
			b.Fatal(err)
		}
		us := func(t time.Time) int64 { return t.UnixMicro() }
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
				INSERT INTO users (document_id, username, email, password_hash, provider, role, confirmed, blocked, created_at, updated_at)
				SELECT 'u_' || i, 'user' || i, 'user' || i || '@example.com', 'x', 'local', 'authenticated', 1, i % 50 = 0, ? + i * 1000000, ? + i * 1000000 FROM n`,
				[]any{users, us(base), us(base)}},
			{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
				INSERT INTO sessions (id, user_id, client_id, device_id, description, user_agent, ip, created_at, last_activity,
					expires_at, revoked_at, revoke_reason, generation, token_hash)
				SELECT printf('s%08d', i), 1 + i % ?, '', '', '',
					CASE i % 4 WHEN 0 THEN 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' WHEN 1 THEN 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Version/18.1 Mobile/15E148 Safari/604.1'
						WHEN 2 THEN 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36' ELSE 'okhttp/4.12.0' END,
					'10.' || (i % 200) || '.' || (i % 250) || '.1',
					? + i * 1000000, ? + i * 1000000 + (i % 3600) * 1000000,
					? + i * 1000000 + CASE WHEN i % 7 = 0 THEN 86400000000 ELSE 2592000000000 END,
					CASE WHEN i % 10 = 0 THEN ? + i * 1000000 END, CASE WHEN i % 10 = 0 THEN 'logout' ELSE '' END,
					0, randomblob(32)
				FROM n`, []any{sessions, users, us(base), us(base), us(base), us(base)}},
			{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
				INSERT INTO audit_events (at, type, actor, user_id, session_id, ip, user_agent, detail)
				SELECT ? + i * 5000000, CASE i % 3 WHEN 0 THEN 'login' WHEN 1 THEN 'exchange' ELSE 'revoke' END,
					'user ' || (1 + i % ?), 1 + i % ?, '', '10.0.0.' || (i % 250), 'Firefox/140.0', '' FROM n`,
				[]any{events, us(base), users, users}},
			{`ANALYZE`, nil},
		} {
			if _, err := db.ExecContext(b.Context(), q.sql, q.args...); err != nil {
				b.Fatal(err)
			}
		}
		db.Close()
		st, err = sqlite.Open(b.Context(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		benchAdminPages(b, st, sessions, users)
	})
	b.Run("PostgreSQL", func(b *testing.B) {
		dsn := pgtest.Schema(b)
		st, err := postgres.Open(b.Context(), dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		conn, err := pgx.Connect(b.Context(), dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(context.Background())
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO users (document_id, username, email, password_hash, provider, role, confirmed, blocked, created_at, updated_at)
				SELECT 'u_' || i, 'user' || i, 'user' || i || '@example.com', 'x', 'local', 'authenticated', true, i % 50 = 0,
					$1::timestamptz + i * interval '1 second', $1::timestamptz + i * interval '1 second'
				FROM generate_series(1, $2::int) i`, []any{base, users}},
			{`INSERT INTO sessions (id, user_id, client_id, device_id, description, user_agent, ip,
					created_at, last_activity, expires_at, revoked_at, revoke_reason, generation, token_hash)
				SELECT 's' || lpad(i::text, 8, '0'), (SELECT min(id) FROM users) + i % $3, '', '', '',
					CASE i % 4 WHEN 0 THEN 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' WHEN 1 THEN 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Version/18.1 Mobile/15E148 Safari/604.1'
						WHEN 2 THEN 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36' ELSE 'okhttp/4.12.0' END,
					'10.' || (i % 200) || '.' || (i % 250) || '.1',
					$1::timestamptz + i * interval '1 second', $1::timestamptz + (i + i % 3600) * interval '1 second',
					$1::timestamptz + i * interval '1 second' + CASE WHEN i % 7 = 0 THEN interval '1 day' ELSE interval '30 days' END,
					CASE WHEN i % 10 = 0 THEN $1::timestamptz + i * interval '1 second' END, CASE WHEN i % 10 = 0 THEN 'logout' ELSE '' END,
					0, sha256(i::text::bytea)
				FROM generate_series(1, $2::int) i`, []any{base, sessions, users}},
			{`INSERT INTO audit_events (at, type, actor, user_id, session_id, ip, user_agent, detail)
				SELECT $1::timestamptz + i * interval '5 seconds', (ARRAY['login', 'exchange', 'revoke'])[1 + i % 3],
					'user ' || ((SELECT min(id) FROM users) + i % $3), (SELECT min(id) FROM users) + i % $3, '', '10.0.0.' || (i % 250), 'Firefox/140.0', ''
				FROM generate_series(1, $2::int) i`, []any{base, events, users}},
			{`ANALYZE`, nil},
		} {
			if _, err := conn.Exec(b.Context(), q.sql, q.args...); err != nil {
				b.Fatal(err)
			}
		}
		benchAdminPages(b, st, sessions, users)
	})
}

// benchAdminPages serves the admin screens on st and times each page.
func benchAdminPages(b *testing.B, st refreshing.Store, sessions, users int) {
	ctx := b.Context()
	settings := refreshing.DefaultSettings()
	svc, err := refreshing.New(ctx, refreshing.Config{Store: st, Settings: &settings,
		Hasher: refreshing.NewHasher(refreshing.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	if _, err := svc.CreateAdmin(ctx, "ops@example.com", "a long admin password"); err != nil {
		b.Fatal(err)
	}
	cookie, _, err := svc.AdminLogin(ctx, "ops@example.com", "a long admin password", refreshing.ClientInfo{IP: "127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(server.New(svc, server.Options{}))
	b.Cleanup(srv.Close)
	mid, err := svc.FindSessions(ctx, refreshing.SessionQuery{After: refreshing.SessionCursor{CreatedAt: time.Now().Add(-time.Duration(sessions/2) * time.Second), ID: "s99999999"}, Limit: 1})
	if err != nil || len(mid.Sessions) == 0 {
		b.Fatalf("a session in the middle: %v", err)
	}
	m := mid.Sessions[0]
	cur := url.QueryEscape(strconv.FormatInt(m.CreatedAt.UnixMicro(), 10) + "." + m.ID)
	u, err := svc.User(ctx, m.UserID)
	if err != nil {
		b.Fatal(err)
	}
	day := time.Now().UTC().AddDate(0, 0, -3).Format("2006-01-02")
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: "refreshing_admin", Value: cookie})
		res, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	// The totals are counted in the background (admin_screens.go); what
	// that costs is measured apart, and the pages once it is done.
	b.Run("Counts", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.CountUsers(ctx); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.ActiveSessions(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, body := get("/admin/sessions"); strings.Contains(body, `class="counts"`) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the totals were never counted")
		}
	}
	for _, p := range []struct{ name, path string }{
		{"Sessions", "/admin/sessions"},
		{"SessionsOlder", "/admin/sessions?after=" + cur},
		{"SessionsNewer", "/admin/sessions?before=" + cur},
		{"SessionsOldest", "/admin/sessions?order=oldest"},
		{"SessionsActive", "/admin/sessions?state=active"},
		{"SessionsRevoked", "/admin/sessions?state=revoked"},
		{"SessionsExpired", "/admin/sessions?state=expired"},
		{"SessionsUser", "/admin/sessions?user=" + url.QueryEscape(u.Email)},
		{"SessionsIP", "/admin/sessions?ip=10.7.7.1"},
		{"Session", "/admin/sessions/" + m.ID},
		{"Users", "/admin/users"},
		{"UsersOlder", fmt.Sprintf("/admin/users?after=%d", u.ID)},
		{"UsersNewer", fmt.Sprintf("/admin/users?before=%d", u.ID)},
		{"UsersSearch", "/admin/users?q=user4242"},
		{"User", fmt.Sprintf("/admin/users/%d", u.ID)},
		{"Audit", "/admin/audit"},
		{"AuditDay", "/admin/audit?from=" + day + "&to=" + day},
		{"AuditUser", "/admin/audit?user=" + url.QueryEscape(u.Email)},
		{"Settings", "/admin/settings"},
		{"Roles", "/admin/roles"},
		{"Clients", "/admin/clients"},
		{"Admins", "/admin/admins"},
		{"Keys", "/admin/keys"},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				if code, _ := get(p.path); code != http.StatusOK {
					b.Fatalf("GET %s: %d", p.path, code)
				}
			}
		})
	}
}
