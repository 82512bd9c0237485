package sqlite_test

import (
	"database/sql"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// benchRows is how many sessions BenchmarkListSessions lists from:
// REFRESHING_BENCH_SESSIONS, default one million.
func benchRows(b *testing.B) int {
	n := 1_000_000
	if v := os.Getenv("REFRESHING_BENCH_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	return n
}

// benchBase is the first session's CreatedAt and LastActivity in the benchmark data.
var benchBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkListSessions measures one page (50 rows) of the admin sessions
// screen, with each of its filters, over a million sessions of a thousand
// users: 10% revoked, one in 7 living a day (so absolutely expired unless
// recent), one in 997 with a rare user agent, 50,000 addresses.
// A page must cost its own size, not the table's, except the user-agent
// substring filter, which reads rows until it has a page (documented).
//
//	go test ./internal/sqlite -run '^$' -bench ListSessions -benchtime 200x
func BenchmarkListSessions(b *testing.B) {
	n := benchRows(b)
	s, _ := open(b)
	base := benchBase.UnixMicro()
	err := sqlite.WriterTx(b.Context(), s, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
			INSERT INTO users (document_id, username, email, password_hash, provider, role, confirmed, blocked, created_at, updated_at)
			SELECT 'u_' || i, 'user' || i, 'user' || i || '@example.com', 'x', 'local', 'authenticated', 1, 0, ?, ? FROM n`, base, base); err != nil {
			return err
		}
		_, err := tx.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO sessions (id, user_id, client_id, device_id, description, user_agent, ip, created_at, last_activity,
				expires_at, revoked_at, revoke_reason, generation, token_hash, prev_hash, rotated_at)
			SELECT printf('s%08d', i), 1 + i % 1000, '', '', '',
				CASE WHEN i % 997 = 0 THEN 'RareAgent/1.0' ELSE 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' END,
				'10.' || (i % 200) || '.' || (i % 250) || '.1',
				? + i * 1000000, ? + i * 1000000,
				? + i * 1000000 + CASE WHEN i % 7 = 0 THEN 86400000000 ELSE 2592000000000 END,
				CASE WHEN i % 10 = 0 THEN ? + i * 1000000 END, CASE WHEN i % 10 = 0 THEN 'admin' ELSE '' END,
				0, randomblob(32), NULL, NULL
			FROM n`, n, base, base, base, base)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	now := benchBase.Add(time.Duration(n) * time.Second)
	middle := benchBase.Add(time.Duration(n/2) * time.Second)
	for _, c := range []struct {
		name string
		f    refreshing.SessionFilter
	}{
		{"FirstPage", refreshing.SessionFilter{}},
		{"DeepPage", refreshing.SessionFilter{AfterCreated: middle, AfterID: "s99999999"}},
		{"PreviousPage", refreshing.SessionFilter{Ascending: true, AfterCreated: middle, AfterID: "s99999999"}},
		{"Active", refreshing.SessionFilter{Active: true, ActiveAt: now, IdleBefore: now.Add(-240 * time.Hour)}},
		{"Revoked", refreshing.SessionFilter{Revoked: true}},
		{"RevokedDeep", refreshing.SessionFilter{Revoked: true, AfterCreated: middle, AfterID: "s99999999"}},
		{"Expired", refreshing.SessionFilter{Expired: true, ActiveAt: now, IdleBefore: now.Add(-240 * time.Hour)}},
		{"ExpiredNoIdle", refreshing.SessionFilter{Expired: true, ActiveAt: now}},
		{"User", refreshing.SessionFilter{UserID: 7}},
		{"UserActive", refreshing.SessionFilter{UserID: 7, Active: true, ActiveAt: now}},
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
