package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/refreshing/refreshing"
)

// AddIdentity implements refreshing.Store.
func (s *Store) AddIdentity(ctx context.Context, id refreshing.Identity) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO user_identities (provider, subject, user_id, email, created_at)
			SELECT ?, ?, id, ?, ? FROM users WHERE id = ?`,
			id.Provider, id.Subject, id.Email, micros(id.CreatedAt), id.UserID)
		if err != nil {
			return classify(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: add identity: %w", err)
	}
	return nil
}

// IdentityBySubject implements refreshing.Store.
func (s *Store) IdentityBySubject(ctx context.Context, provider, subject string) (*refreshing.Identity, error) {
	id := refreshing.Identity{Provider: provider, Subject: subject}
	var created int64
	err := s.read.QueryRowContext(lookupCtx(ctx), `SELECT user_id, email, created_at FROM user_identities
		WHERE provider = ? AND subject = ?`, provider, subject).Scan(&id.UserID, &id.Email, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: identity: %w", refreshing.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: identity: %w", classify(err))
	}
	id.CreatedAt = fromMicros(created)
	return &id, nil
}

// UserIdentities implements refreshing.Store.
func (s *Store) UserIdentities(ctx context.Context, userID int64) ([]refreshing.Identity, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT provider, subject, email, created_at FROM user_identities
		WHERE user_id = ? ORDER BY provider, subject`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user identities: %w", classify(err))
	}
	defer rows.Close()
	var out []refreshing.Identity
	for rows.Next() {
		id := refreshing.Identity{UserID: userID}
		var created int64
		if err := rows.Scan(&id.Provider, &id.Subject, &id.Email, &created); err != nil {
			return nil, fmt.Errorf("sqlite: user identities: %w", classify(err))
		}
		id.CreatedAt = fromMicros(created)
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: user identities: %w", classify(err))
	}
	return out, nil
}
