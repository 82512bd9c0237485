package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/refreshing/refreshing"
)

// UserByUsernameKey implements refreshing.Store.
func (s *Store) UserByUsernameKey(ctx context.Context, key string) (*refreshing.User, error) {
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username_key = ?`, key))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite: user by username key: %w", refreshing.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("sqlite: user by username key: %w", classify(err))
	}
	return u, nil
}

// UsersWithoutUsernameKey implements refreshing.Store.
func (s *Store) UsersWithoutUsernameKey(ctx context.Context, after int64, limit int) ([]refreshing.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE id > ? AND username_key IS NULL ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users without username key: %w", classify(err))
	}
	defer rows.Close()
	var users []refreshing.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: users without username key: %w", classify(err))
		}
		users = append(users, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: users without username key: %w", classify(err))
	}
	return users, nil
}

// SetUsernameKey implements refreshing.Store.
func (s *Store) SetUsernameKey(ctx context.Context, id int64, key string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET username_key = ? WHERE id = ?`, key, id)
		if err != nil {
			return classify(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: set username key: %w", err)
	}
	return nil
}
