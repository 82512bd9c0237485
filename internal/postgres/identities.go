package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
)

// AddIdentity implements refreshing.Store.
func (s *Store) AddIdentity(ctx context.Context, id refreshing.Identity) error {
	return s.run(ctx, "add identity", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO user_identities (provider, subject, user_id, email, created_at)
			SELECT $1, $2, id, $3, $4 FROM users WHERE id = $5`,
			id.Provider, id.Subject, id.Email, id.CreatedAt, id.UserID)
		if err == nil && tag.RowsAffected() == 0 {
			err = refreshing.ErrNotFound
		}
		return err
	})
}

// IdentityBySubject implements refreshing.Store.
func (s *Store) IdentityBySubject(ctx context.Context, provider, subject string) (*refreshing.Identity, error) {
	id := refreshing.Identity{Provider: provider, Subject: subject}
	err := s.run(ctx, "identity", func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, `SELECT user_id, email, created_at FROM user_identities
			WHERE provider = $1 AND subject = $2`, provider, subject).Scan(&id.UserID, &id.Email, &id.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return refreshing.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	id.CreatedAt = id.CreatedAt.UTC()
	return &id, nil
}

// UserIdentities implements refreshing.Store.
func (s *Store) UserIdentities(ctx context.Context, userID int64) ([]refreshing.Identity, error) {
	var out []refreshing.Identity
	err := s.run(ctx, "user identities", func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, `SELECT provider, subject, email, created_at FROM user_identities
			WHERE user_id = $1 ORDER BY provider, subject`, userID)
		var err error
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (refreshing.Identity, error) {
			id := refreshing.Identity{UserID: userID}
			err := row.Scan(&id.Provider, &id.Subject, &id.Email, &id.CreatedAt)
			id.CreatedAt = id.CreatedAt.UTC()
			return id, err
		})
		return err
	})
	return out, err
}
