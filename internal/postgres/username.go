package postgres

import (
	"context"

	"github.com/refreshing/refreshing"
)

// UserByUsernameKey implements refreshing.Store.
func (s *Store) UserByUsernameKey(ctx context.Context, key string) (*refreshing.User, error) {
	return s.userBy(ctx, "user by username key", `username_key = $1`, key)
}

// UsersWithoutUsernameKey implements refreshing.Store.
func (s *Store) UsersWithoutUsernameKey(ctx context.Context, after int64, limit int) ([]refreshing.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.queryUsers(ctx, "users without username key", `SELECT `+userColumns+` FROM users
			WHERE id > $1 AND username_key IS NULL ORDER BY id LIMIT $2`, after, limit)
}

// SetUsernameKey implements refreshing.Store.
func (s *Store) SetUsernameKey(ctx context.Context, id int64, key string) error {
	return s.run(ctx, "set username key", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `UPDATE users SET username_key = $2 WHERE id = $1`, id, key)
		if err == nil && tag.RowsAffected() == 0 {
			err = refreshing.ErrNotFound
		}
		return err
	})
}
