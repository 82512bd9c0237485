package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/refreshing/refreshing"
)

// PurgeSessions implements refreshing.Store. Each criterion is one DELETE
// whose subquery walks that criterion's index (migrations/0004_ops.sql) and
// stops at the batch's remaining size, so a batch reads only the rows it
// deletes and the writer is held for one short transaction.
func (s *Store) PurgeSessions(ctx context.Context, p refreshing.Purge) (int, error) {
	if p.Limit <= 0 {
		return 0, nil
	}
	criteria := []struct {
		cutoff time.Time
		where  string
	}{
		{p.RevokedBefore, `revoked_at IS NOT NULL AND revoked_at < ?`},
		{p.ExpiredBefore, `expires_at IS NOT NULL AND expires_at < ?`},
		{p.InactiveBefore, `last_activity < ?`},
	}
	total := 0
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		total = 0
		for _, c := range criteria {
			if c.cutoff.IsZero() || total >= p.Limit {
				continue
			}
			n, err := affected(tx.ExecContext(ctx, `DELETE FROM sessions WHERE id IN (
				SELECT id FROM sessions WHERE `+c.where+` LIMIT ?)`, micros(c.cutoff), p.Limit-total))
			if err != nil {
				return err
			}
			total += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge sessions: %w", err)
	}
	return total, nil
}

// CountActiveSessions implements refreshing.Store, from the partial index
// sessions_live alone.
func (s *Store) CountActiveSessions(ctx context.Context, now, activeAfter time.Time) (int64, error) {
	var n int64
	// INDEXED BY makes the planner's choice certain (and fails loudly if
	// the index were ever dropped): a scan of live sessions only, covering
	// unless an idle timeout makes it read last_activity from each row
	// (the index leaves that column out: rotations change it).
	q := `SELECT count(*) FROM sessions INDEXED BY sessions_live
		WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`
	args := []any{micros(now)}
	if !activeAfter.IsZero() {
		q += ` AND last_activity > ?`
		args = append(args, micros(activeAfter))
	}
	err := s.read.QueryRowContext(ctx, q, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count active sessions: %w", classify(err))
	}
	return n, nil
}

// AcquireLease implements refreshing.Store with one upsert whose update
// applies only to the holder's own lease or to an expired one.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	var n int64
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		n, err = affected(tx.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
			name, holder, micros(until), micros(now)))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: acquire lease %s: %w", name, err)
	}
	return n > 0, nil
}

// ImportUser implements refreshing.Store. An explicit id also moves the
// AUTOINCREMENT counter past it, so CreateUser never reuses it.
func (s *Store) ImportUser(ctx context.Context, u *refreshing.User) error {
	var id any
	if u.ID != 0 {
		id = u.ID
	}
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO users
			(id, document_id, username, email, password_hash, provider, role, confirmed, blocked, created_at, updated_at, username_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, nullString(u.DocumentID), u.Username, u.Email, u.PasswordHash, u.Provider, u.Role,
			u.Confirmed, u.Blocked, micros(u.CreatedAt), micros(u.UpdatedAt), nullString(u.UsernameKey))
		if err != nil {
			return classify(err)
		}
		last, err := res.LastInsertId()
		if err != nil {
			return err
		}
		u.ID = last
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: import user: %w", err)
	}
	return nil
}

// ImportSession implements refreshing.Store.
func (s *Store) ImportSession(ctx context.Context, ss *refreshing.Session, importHash []byte) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, ss.UserID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %d: %w", ss.UserID, refreshing.ErrNotFound)
		}
		if err != nil {
			return classify(err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`, import_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ss.ID, ss.UserID, ss.ClientID, ss.DeviceID, ss.Description, ss.UserAgent, ss.IP,
			micros(ss.CreatedAt), micros(ss.LastActivity), nullMicros(ss.ExpiresAt), nullMicros(ss.RevokedAt),
			ss.RevokeReason, ss.Generation, notNullBytes(ss.TokenHash), nullBytes(ss.PrevHash), nullMicros(ss.RotatedAt),
			graceGeneration(ss), nullMicros(ss.GraceSince), ss.DPoPJKT, authTime(ss), notNullBytes(importHash))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: import session: %w", err)
	}
	return nil
}

// SessionIDByImportHash implements refreshing.Store through the unique
// partial index sessions_import_hash.
func (s *Store) SessionIDByImportHash(ctx context.Context, importHash []byte) (string, error) {
	var id string
	err := s.read.QueryRowContext(ctx, `SELECT id FROM sessions WHERE import_hash = ?`, notNullBytes(importHash)).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("sqlite: session by import hash: %w", refreshing.ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("sqlite: session by import hash: %w", classify(err))
	}
	return id, nil
}

// HasImportedSessions implements refreshing.Store: one probe of the
// partial index sessions_import_hash.
func (s *Store) HasImportedSessions(ctx context.Context) (bool, error) {
	var held bool
	err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE import_hash IS NOT NULL)`).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("sqlite: has imported sessions: %w", classify(err))
	}
	return held, nil
}
