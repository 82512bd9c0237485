package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/refreshing/refreshing"
)

// importLock is held while an import moves the users id sequence, so that
// two imports never move it backwards past each other.
const importLock int64 = 0x72656672657368_04

// PurgeSessions implements refreshing.Store. Each criterion is one DELETE
// whose subquery walks that criterion's index (migrations/0004_ops.sql) and
// stops at the batch's remaining size; the transaction holds row locks only
// on the rows it deletes, which no exchange is using any more.
func (s *Store) PurgeSessions(ctx context.Context, p refreshing.Purge) (int, error) {
	if p.Limit <= 0 {
		return 0, nil
	}
	criteria := []struct {
		cutoff time.Time
		where  string
	}{
		{p.RevokedBefore, `revoked_at IS NOT NULL AND revoked_at < $1`},
		{p.ExpiredBefore, `expires_at IS NOT NULL AND expires_at < $1`},
		{p.InactiveBefore, `last_activity < $1`},
	}
	total := 0
	err := s.tx(ctx, "purge sessions", func(tx pgx.Tx) error {
		total = 0
		for _, c := range criteria {
			if c.cutoff.IsZero() || total >= p.Limit {
				continue
			}
			tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id IN (
				SELECT id FROM sessions WHERE `+c.where+` LIMIT $2)`, c.cutoff, p.Limit-total)
			if err != nil {
				return err
			}
			total += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}

// CountActiveSessions implements refreshing.Store, from the partial index
// sessions_live.
func (s *Store) CountActiveSessions(ctx context.Context, now, activeAfter time.Time) (int64, error) {
	var n int64
	err := s.run(ctx, "count active sessions", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT count(*) FROM sessions
			WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)
			AND ($2::timestamptz IS NULL OR last_activity > $2)`,
			now, nullTime(activeAfter)).Scan(&n)
	})
	return n, err
}

// AcquireLease implements refreshing.Store with one upsert whose update
// applies only to the holder's own lease or to an expired one. Concurrent
// callers queue on the row (or on the unique index for the first insert),
// and the loser's condition is checked against the winner's row.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	var n int64
	err := s.run(ctx, "acquire lease", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE leases.holder = excluded.holder OR leases.expires_at <= $4`,
			name, holder, until, now)
		n = tag.RowsAffected()
		return err
	})
	return n > 0, err
}

// ImportUser implements refreshing.Store. After inserting an explicit id
// it moves the identity sequence past it (never backwards), so CreateUser
// never hands that id out.
func (s *Store) ImportUser(ctx context.Context, u *refreshing.User) error {
	var id int64
	err := s.tx(ctx, "import user", func(tx pgx.Tx) error {
		if u.ID == 0 {
			return tx.QueryRow(ctx, `INSERT INTO users
				(document_id, username, email, password_hash, provider, role, confirmed, blocked, created_at, updated_at, username_key)
				VALUES (NULLIF($1, ''), $2, $3, $4, $5, $6, $7, $8, $9, $10, NULLIF($11, ''))
				RETURNING id`,
				u.DocumentID, u.Username, u.Email, u.PasswordHash, u.Provider, u.Role,
				u.Confirmed, u.Blocked, u.CreatedAt, u.UpdatedAt, u.UsernameKey).Scan(&id)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, importLock); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO users
			(id, document_id, username, email, password_hash, provider, role, confirmed, blocked, created_at, updated_at, username_key)
			VALUES ($1, NULLIF($2, ''), $3, $4, $5, $6, $7, $8, $9, $10, $11, NULLIF($12, ''))
			RETURNING id`,
			u.ID, u.DocumentID, u.Username, u.Email, u.PasswordHash, u.Provider, u.Role,
			u.Confirmed, u.Blocked, u.CreatedAt, u.UpdatedAt, u.UsernameKey).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT setval(seq, GREATEST($1, coalesce(pg_sequence_last_value(seq), 0)))
			FROM (SELECT pg_get_serial_sequence('users', 'id')::regclass AS seq) AS s`, id)
		return err
	})
	if err != nil {
		return err
	}
	u.ID = id
	return nil
}

// ImportSession implements refreshing.Store.
func (s *Store) ImportSession(ctx context.Context, sess *refreshing.Session, importHash []byte) error {
	return s.tx(ctx, "import session", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`, import_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
			sess.ID, sess.UserID, sess.ClientID, sess.DeviceID, sess.Description, sess.UserAgent, sess.IP,
			sess.CreatedAt, sess.LastActivity, nullTime(sess.ExpiresAt), nullTime(sess.RevokedAt), sess.RevokeReason,
			sess.Generation, notNil(sess.TokenHash), sess.PrevHash, nullTime(sess.RotatedAt),
			graceGeneration(sess), nullTime(sess.GraceSince), sess.DPoPJKT, authTime(sess), notNil(importHash))
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation: no such user
			return refreshing.ErrNotFound
		}
		return err
	})
}

// SessionIDByImportHash implements refreshing.Store through the unique
// partial index sessions_import_hash.
func (s *Store) SessionIDByImportHash(ctx context.Context, importHash []byte) (string, error) {
	var id string
	err := s.run(ctx, "session by import hash", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT id FROM sessions WHERE import_hash = $1`, notNil(importHash)).Scan(&id)
	})
	return id, err
}

// HasImportedSessions implements refreshing.Store: one probe of the
// partial index sessions_import_hash.
func (s *Store) HasImportedSessions(ctx context.Context) (bool, error) {
	var held bool
	err := s.run(ctx, "has imported sessions", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE import_hash IS NOT NULL)`).Scan(&held)
	})
	return held, err
}
