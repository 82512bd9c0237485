package sqlite_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// fillSessions inserts n sessions of one user in one statement: revoked
// ones (revoked at t0) when revoked is set, live ones otherwise.
func fillSessions(b *testing.B, st *sqlite.Store, n int, revoked bool) {
	b.Helper()
	rev := any(nil)
	if revoked {
		rev = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	}
	err := sqlite.WriterTx(b.Context(), st, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO users (id, username, email, password_hash, provider, role, confirmed, blocked, created_at, updated_at)
			VALUES (1, 'bench', 'bench@example.com', 'x', 'local', 'authenticated', 1, 0, 0, 0)`); err != nil {
			return err
		}
		_, err := tx.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO sessions (id, user_id, client_id, device_id, description, user_agent, ip, created_at, last_activity,
				expires_at, revoked_at, revoke_reason, generation, token_hash)
			SELECT hex(randomblob(16)), 1, '', '', '', 'bench', '127.0.0.1', 0, i, 4102444800000000, ?, '', 0, randomblob(32) FROM n`, n, rev)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPurgeSessions measures one janitor batch (500 deletions) on a
// table of 100,000 ended and 100,000 live sessions: how long the janitor
// holds SQLite's single writer at a time.
func BenchmarkPurgeSessions(b *testing.B) {
	st, _ := open(b)
	fillSessions(b, st, 100000, false)
	p := refreshing.Purge{RevokedBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Limit: 500}
	deleted := 0
	for b.Loop() {
		n, err := st.PurgeSessions(b.Context(), p)
		if err != nil {
			b.Fatal(err)
		}
		if n < 500 {
			b.StopTimer()
			fillSessions(b, st, 100000, true)
			b.StartTimer()
		}
		deleted += n
	}
	b.ReportMetric(float64(deleted)/float64(b.N), "sessions/op")
}

// BenchmarkCountActiveSessions measures one count of the active-sessions
// gauge over 100,000 live and 100,000 revoked sessions.
func BenchmarkCountActiveSessions(b *testing.B) {
	st, _ := open(b)
	fillSessions(b, st, 100000, false)
	fillSessions(b, st, 100000, true)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		n, err := st.CountActiveSessions(b.Context(), now, time.Time{})
		if err != nil || n != 100000 {
			b.Fatalf("count = %d, %v; want 100000", n, err)
		}
	}
}
