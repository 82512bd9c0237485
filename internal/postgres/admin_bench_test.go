package postgres_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/refreshing/refreshing/internal/pgtest"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
)

// BenchmarkListSessions measures one page (50 rows) of the admin sessions
// screen with each filter over REFRESHING_BENCH_SESSIONS sessions (default
// one million) of a thousand users, shaped as internal/sqlite's benchmark:
// 10% revoked, one in 7 living a day, one in 997 with a rare user agent.
//
//	go test ./internal/postgres -run '^$' -bench ListSessions -benchtime 50x
func BenchmarkListSessions(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("REFRESHING_BENCH_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dsn := pgtest.Schema(b)
	s := openDSN(b, dsn)
	conn, err := pgx.Connect(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(b.Context())
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := conn.Exec(b.Context(), `INSERT INTO users (document_id, username, email, password_hash, provider, role, confirmed, blocked, created_at, updated_at)
		SELECT 'u_' || i, 'user' || i, 'user' || i || '@example.com', 'x', 'local', 'authenticated', true, false, $1, $1
		FROM generate_series(1, 1000) i`, base); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(b.Context(), `INSERT INTO sessions (id, user_id, client_id, device_id, description, user_agent, ip,
			created_at, last_activity, expires_at, revoked_at, revoke_reason, generation, token_hash)
		SELECT 's' || lpad(i::text, 8, '0'), (SELECT min(id) FROM users) + i % 1000, '', '', '',
			CASE WHEN i % 997 = 0 THEN 'RareAgent/1.0' ELSE 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' END,
			'10.' || (i % 200) || '.' || (i % 250) || '.1',
			$1::timestamptz + i * interval '1 second', $1::timestamptz + i * interval '1 second',
			$1::timestamptz + i * interval '1 second' + CASE WHEN i % 7 = 0 THEN interval '1 day' ELSE interval '30 days' END,
			CASE WHEN i % 10 = 0 THEN $1::timestamptz + i * interval '1 second' END, CASE WHEN i % 10 = 0 THEN 'admin' ELSE '' END,
			0, sha256(i::text::bytea)
		FROM generate_series(1, $2::int) i`, base, n); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(b.Context(), `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	var userID int64
	if err := conn.QueryRow(b.Context(), `SELECT min(id) + 7 FROM users`).Scan(&userID); err != nil {
		b.Fatal(err)
	}
	now := base.Add(time.Duration(n) * time.Second)
	middle := base.Add(time.Duration(n/2) * time.Second)
	for _, c := range []struct {
		name string
		f    refreshing.SessionFilter
	}{
		{"FirstPage", refreshing.SessionFilter{}},
		{"DeepPage", refreshing.SessionFilter{AfterCreated: middle, AfterID: "s99999999"}},
		{"PreviousPage", refreshing.SessionFilter{Ascending: true, AfterCreated: middle, AfterID: "s99999999"}},
		{"Active", refreshing.SessionFilter{Active: true, ActiveAt: now, IdleBefore: now.Add(-240 * time.Hour)}},
		{"Revoked", refreshing.SessionFilter{Revoked: true}},
		{"Expired", refreshing.SessionFilter{Expired: true, ActiveAt: now, IdleBefore: now.Add(-240 * time.Hour)}},
		{"ExpiredNoIdle", refreshing.SessionFilter{Expired: true, ActiveAt: now}},
		{"User", refreshing.SessionFilter{UserID: userID}},
		{"IP", refreshing.SessionFilter{IP: "10.7.7.1"}},
		{"UserAgentCommon", refreshing.SessionFilter{UserAgent: "firefox"}},
		{"UserAgentRare", refreshing.SessionFilter{UserAgent: "rareagent"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.f.Limit = 50
			for b.Loop() {
				list, err := s.ListSessions(b.Context(), c.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(list) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
}
