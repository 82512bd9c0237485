package postgres

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
)

// mailColumns are the outbox's columns in the order scanMail reads them.
const mailColumns = `id, kind, recipient, user_id, state, attempts, next_attempt, lease_holder, lease_until, last_error, created_at, finished_at`

// scanMail reads one outbox row.
func scanMail(row pgx.Row) (refreshing.Mail, error) {
	var m refreshing.Mail
	var lease, finished *time.Time
	err := row.Scan(&m.ID, &m.Kind, &m.To, &m.UserID, &m.State, &m.Attempts, &m.NextAttempt, &m.LeaseHolder, &lease,
		&m.LastError, &m.CreatedAt, &finished)
	m.NextAttempt, m.CreatedAt = m.NextAttempt.UTC(), m.CreatedAt.UTC()
	m.LeaseUntil, m.FinishedAt = timeOf(lease), timeOf(finished)
	return m, err
}

// EnqueueMail implements refreshing.Store.
func (s *Store) EnqueueMail(ctx context.Context, m *refreshing.Mail) error {
	var id int64
	err := s.run(ctx, "enqueue mail", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `INSERT INTO mail_outbox (kind, recipient, user_id, state, next_attempt, created_at)
			VALUES ($1, $2, $3, 'pending', $4, $5) RETURNING id`, m.Kind, m.To, m.UserID, m.NextAttempt, m.CreatedAt).Scan(&id)
	})
	if err != nil {
		return err
	}
	m.ID = id
	m.State, m.Attempts, m.LeaseHolder, m.LeaseUntil, m.FinishedAt = refreshing.MailPending, 0, "", time.Time{}, time.Time{}
	return nil
}

// ClaimMail implements refreshing.Store with one UPDATE whose subquery
// locks the due mails FOR UPDATE SKIP LOCKED: concurrent claims from other
// instances skip the rows this one is taking instead of waiting for them,
// and a row another claim took meanwhile fails the lease condition when
// PostgreSQL re-checks it on the newest version.
func (s *Store) ClaimMail(ctx context.Context, c refreshing.MailClaim) ([]refreshing.Mail, error) {
	if c.Limit <= 0 {
		return nil, nil
	}
	var out []refreshing.Mail
	err := s.run(ctx, "claim mail", func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, `UPDATE mail_outbox SET lease_holder = $1, lease_until = $2, attempts = attempts + 1
			WHERE id IN (SELECT id FROM mail_outbox
				WHERE state = 'pending' AND next_attempt <= $3 AND (lease_until IS NULL OR lease_until <= $3)
				ORDER BY next_attempt, id LIMIT $4 FOR UPDATE SKIP LOCKED)
			RETURNING `+mailColumns, c.Holder, c.Until, c.Now, c.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMail(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].NextAttempt.Equal(out[j].NextAttempt) {
			return out[i].NextAttempt.Before(out[j].NextAttempt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// mailMissing tells ErrNotFound from ErrStale after a conditional update
// of mail id changed nothing.
func mailMissing(ctx context.Context, tx pgx.Tx, id int64) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM mail_outbox WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return refreshing.ErrNotFound
	}
	if err != nil {
		return err
	}
	return refreshing.ErrStale
}

// FinishMail implements refreshing.Store.
func (s *Store) FinishMail(ctx context.Context, f refreshing.MailFinish) error {
	return s.tx(ctx, "finish mail", func(tx pgx.Tx) error {
		var n int64
		if f.State == refreshing.MailPending {
			tag, err := tx.Exec(ctx, `UPDATE mail_outbox SET next_attempt = $1, last_error = $2, lease_holder = '', lease_until = NULL
				WHERE id = $3 AND state = 'pending' AND lease_holder = $4`, f.RetryAt, f.Error, f.ID, f.Holder)
			if err != nil {
				return err
			}
			n = tag.RowsAffected()
		} else {
			tag, err := tx.Exec(ctx, `UPDATE mail_outbox SET state = $1, finished_at = $2, last_error = $3, lease_holder = '', lease_until = NULL
				WHERE id = $4 AND state = 'pending' AND lease_holder = $5`, f.State, f.At, f.Error, f.ID, f.Holder)
			if err != nil {
				return err
			}
			n = tag.RowsAffected()
		}
		if n == 0 {
			return mailMissing(ctx, tx, f.ID)
		}
		return nil
	})
}

// RetryMail implements refreshing.Store.
func (s *Store) RetryMail(ctx context.Context, id int64, now time.Time) error {
	return s.tx(ctx, "retry mail", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE mail_outbox SET state = 'pending', attempts = 0, next_attempt = $1,
			lease_holder = '', lease_until = NULL, finished_at = NULL WHERE id = $2 AND state = 'failed'`, now, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return mailMissing(ctx, tx, id)
		}
		return nil
	})
}

// ListMail implements refreshing.Store.
func (s *Store) ListMail(ctx context.Context, f refreshing.MailFilter) ([]refreshing.Mail, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var out []refreshing.Mail
	err := s.run(ctx, "list mail", func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, `SELECT `+mailColumns+` FROM mail_outbox
			WHERE ($1::text = '' OR state = $1::text) AND ($2::bigint = 0 OR id < $2::bigint) ORDER BY id DESC LIMIT $3`,
			f.State, f.BeforeID, f.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMail(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, err
}

// CountMail implements refreshing.Store.
func (s *Store) CountMail(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.run(ctx, "count mail", func(ctx context.Context) error {
		clear(out)
		rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM mail_outbox GROUP BY state`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var state string
			var n int64
			if err := rows.Scan(&state, &n); err != nil {
				return err
			}
			out[state] = n
		}
		return rows.Err()
	})
	return out, err
}

// PutCode implements refreshing.Store. The user's row is locked first,
// so that two codes stored at once for one user leave one.
func (s *Store) PutCode(ctx context.Context, c refreshing.AccountCode) error {
	return s.tx(ctx, "put code", func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, c.UserID).Scan(&one); err != nil {
			return err // pgx.ErrNoRows: wrap makes it ErrNotFound
		}
		if _, err := tx.Exec(ctx, `DELETE FROM account_codes WHERE user_id = $1 AND purpose = $2`, c.UserID, c.Purpose); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO account_codes (id, user_id, purpose, hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.UserID, c.Purpose, notNil(c.Hash), c.CreatedAt, c.ExpiresAt)
		return err
	})
}

// Code implements refreshing.Store.
func (s *Store) Code(ctx context.Context, id string) (*refreshing.AccountCode, error) {
	var c refreshing.AccountCode
	err := s.run(ctx, "code", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT id, user_id, purpose, hash, created_at, expires_at FROM account_codes WHERE id = $1`, id).
			Scan(&c.ID, &c.UserID, &c.Purpose, &c.Hash, &c.CreatedAt, &c.ExpiresAt)
	})
	if err != nil {
		return nil, err
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return &c, nil
}

// RedeemCode implements refreshing.Store. The DELETE takes the code's
// row lock: a concurrent redemption waits, then deletes nothing and fails.
func (s *Store) RedeemCode(ctx context.Context, id string, u *refreshing.User, revoke *refreshing.Revocation) error {
	return s.tx(ctx, "redeem code", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM account_codes WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return refreshing.ErrNotFound
		}
		return updateUser(ctx, tx, u, revoke)
	})
}

// DeleteCode implements refreshing.Store. Of concurrent callers, the
// second waits for the first's row lock, then deletes nothing and fails.
func (s *Store) DeleteCode(ctx context.Context, id string) error {
	return s.run(ctx, "delete code", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM account_codes WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return refreshing.ErrNotFound
		}
		return nil
	})
}

// PurgeMail implements refreshing.Store.
func (s *Store) PurgeMail(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	total := 0
	err := s.tx(ctx, "purge mail", func(tx pgx.Tx) error {
		total = 0
		for _, q := range []string{
			`DELETE FROM mail_outbox WHERE id IN (SELECT id FROM mail_outbox WHERE finished_at IS NOT NULL AND finished_at < $1 LIMIT $2)`,
			`DELETE FROM account_codes WHERE id IN (SELECT id FROM account_codes WHERE expires_at < $1 LIMIT $2)`,
		} {
			if total >= limit {
				break
			}
			tag, err := tx.Exec(ctx, q, before, limit-total)
			if err != nil {
				return err
			}
			total += int(tag.RowsAffected())
		}
		return nil
	})
	return total, err
}
