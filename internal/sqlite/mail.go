package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/refreshing/refreshing"
)

// mailColumns are the outbox's columns in the order scanMail reads them.
const mailColumns = `id, kind, recipient, user_id, state, attempts, next_attempt, lease_holder, lease_until, last_error, created_at, finished_at`

// scanMail reads one outbox row.
func scanMail(sc scanner) (refreshing.Mail, error) {
	var m refreshing.Mail
	var next, created int64
	var lease, finished sql.NullInt64
	err := sc.Scan(&m.ID, &m.Kind, &m.To, &m.UserID, &m.State, &m.Attempts, &next, &m.LeaseHolder, &lease,
		&m.LastError, &created, &finished)
	m.NextAttempt, m.CreatedAt = fromMicros(next), fromMicros(created)
	m.LeaseUntil, m.FinishedAt = fromNullMicros(lease), fromNullMicros(finished)
	return m, err
}

// EnqueueMail implements refreshing.Store.
func (s *Store) EnqueueMail(ctx context.Context, m *refreshing.Mail) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO mail_outbox (kind, recipient, user_id, state, next_attempt, created_at)
			VALUES (?, ?, ?, 'pending', ?, ?)`, m.Kind, m.To, m.UserID, micros(m.NextAttempt), micros(m.CreatedAt))
		if err != nil {
			return classify(err)
		}
		m.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: enqueue mail: %w", err)
	}
	m.State, m.Attempts, m.LeaseHolder, m.LeaseUntil, m.FinishedAt = refreshing.MailPending, 0, "", time.Time{}, time.Time{}
	return nil
}

// ClaimMail implements refreshing.Store with one UPDATE ... RETURNING
// on the writer: every write of this process goes through it one at a
// time, and BEGIN IMMEDIATE holds off other processes, so no two claims
// see the same free mail.
func (s *Store) ClaimMail(ctx context.Context, c refreshing.MailClaim) ([]refreshing.Mail, error) {
	if c.Limit <= 0 {
		return nil, nil
	}
	var out []refreshing.Mail
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE mail_outbox SET lease_holder = ?, lease_until = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM mail_outbox
				WHERE state = 'pending' AND next_attempt <= ? AND (lease_until IS NULL OR lease_until <= ?)
				ORDER BY next_attempt, id LIMIT ?)
			RETURNING `+mailColumns, c.Holder, micros(c.Until), micros(c.Now), micros(c.Now), c.Limit)
		if err != nil {
			return classify(err)
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMail(rows)
			if err != nil {
				return classify(err)
			}
			out = append(out, m)
		}
		return classify(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim mail: %w", err)
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
func mailMissing(ctx context.Context, tx *sql.Tx, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM mail_outbox WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return refreshing.ErrNotFound
	}
	if err != nil {
		return classify(err)
	}
	return refreshing.ErrStale
}

// FinishMail implements refreshing.Store.
func (s *Store) FinishMail(ctx context.Context, f refreshing.MailFinish) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var res sql.Result
		var err error
		if f.State == refreshing.MailPending {
			res, err = tx.ExecContext(ctx, `UPDATE mail_outbox SET next_attempt = ?, last_error = ?, lease_holder = '', lease_until = NULL
				WHERE id = ? AND state = 'pending' AND lease_holder = ?`, micros(f.RetryAt), f.Error, f.ID, f.Holder)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE mail_outbox SET state = ?, finished_at = ?, last_error = ?, lease_holder = '', lease_until = NULL
				WHERE id = ? AND state = 'pending' AND lease_holder = ?`, f.State, micros(f.At), f.Error, f.ID, f.Holder)
		}
		if err != nil {
			return classify(err)
		}
		if err := oneRow(res); errors.Is(err, refreshing.ErrNotFound) {
			return mailMissing(ctx, tx, f.ID)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: finish mail %d: %w", f.ID, err)
	}
	return nil
}

// RetryMail implements refreshing.Store.
func (s *Store) RetryMail(ctx context.Context, id int64, now time.Time) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET state = 'pending', attempts = 0, next_attempt = ?,
			lease_holder = '', lease_until = NULL, finished_at = NULL WHERE id = ? AND state = 'failed'`, micros(now), id)
		if err != nil {
			return classify(err)
		}
		if err := oneRow(res); errors.Is(err, refreshing.ErrNotFound) {
			return mailMissing(ctx, tx, id)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: retry mail %d: %w", id, err)
	}
	return nil
}

// ListMail implements refreshing.Store.
func (s *Store) ListMail(ctx context.Context, f refreshing.MailFilter) ([]refreshing.Mail, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+mailColumns+` FROM mail_outbox
		WHERE (? = '' OR state = ?) AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?`,
		f.State, f.State, f.BeforeID, f.BeforeID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list mail: %w", classify(err))
	}
	defer rows.Close()
	var out []refreshing.Mail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list mail: %w", classify(err))
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list mail: %w", classify(err))
	}
	return out, nil
}

// CountMail implements refreshing.Store.
func (s *Store) CountMail(ctx context.Context) (map[string]int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT state, count(*) FROM mail_outbox GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count mail: %w", classify(err))
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("sqlite: count mail: %w", classify(err))
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: count mail: %w", classify(err))
	}
	return out, nil
}

// PutCode implements refreshing.Store.
func (s *Store) PutCode(ctx context.Context, c refreshing.AccountCode) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, c.UserID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return refreshing.ErrNotFound
		}
		if err != nil {
			return classify(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_codes WHERE user_id = ? AND purpose = ?`, c.UserID, c.Purpose); err != nil {
			return classify(err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO account_codes (id, user_id, purpose, hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, c.ID, c.UserID, c.Purpose, notNullBytes(c.Hash), micros(c.CreatedAt), micros(c.ExpiresAt))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: put code: %w", err)
	}
	return nil
}

// Code implements refreshing.Store.
func (s *Store) Code(ctx context.Context, id string) (*refreshing.AccountCode, error) {
	var c refreshing.AccountCode
	var created, expires int64
	err := s.read.QueryRowContext(ctx, `SELECT id, user_id, purpose, hash, created_at, expires_at FROM account_codes WHERE id = ?`, id).
		Scan(&c.ID, &c.UserID, &c.Purpose, &c.Hash, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: code: %w", refreshing.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: code: %w", classify(err))
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &c, nil
}

// RedeemCode implements refreshing.Store. The write runs under its own
// savepoint (writer.do), so a user that is gone puts the code back.
func (s *Store) RedeemCode(ctx context.Context, id string, u *refreshing.User, revoke *refreshing.Revocation) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM account_codes WHERE id = ?`, id)
		if err != nil {
			return classify(err)
		}
		if err := oneRow(res); err != nil {
			return err
		}
		return updateUser(ctx, tx, u, revoke)
	})
	if err != nil {
		return fmt.Errorf("sqlite: redeem code: %w", err)
	}
	return nil
}

// DeleteCode implements refreshing.Store.
func (s *Store) DeleteCode(ctx context.Context, id string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM account_codes WHERE id = ?`, id)
		if err != nil {
			return classify(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete code: %w", err)
	}
	return nil
}

// PurgeMail implements refreshing.Store: two DELETEs, each walking its
// index up to the batch's remaining size.
func (s *Store) PurgeMail(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	total := 0
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		total = 0
		for _, q := range []string{
			`DELETE FROM mail_outbox WHERE id IN (SELECT id FROM mail_outbox WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT ?)`,
			`DELETE FROM account_codes WHERE id IN (SELECT id FROM account_codes WHERE expires_at < ? LIMIT ?)`,
		} {
			if total >= limit {
				break
			}
			n, err := affected(tx.ExecContext(ctx, q, micros(before), limit-total))
			if err != nil {
				return err
			}
			total += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge mail: %w", err)
	}
	return total, nil
}
