package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
)

// userColumns lists the users columns in the order scanUser reads them.
// document_id is NULL when the caller gave none (see migrations/0001_init.sql).
const userColumns = `id, coalesce(document_id, ''), username, email, password_hash,
	provider, role, confirmed, blocked, created_at, updated_at`

// scanUser reads one row of userColumns.
func scanUser(row pgx.Row) (refreshing.User, error) {
	var u refreshing.User
	err := row.Scan(userDest(&u)...)
	userInto(&u)
	return u, err
}

// userDest returns the scan destinations of a row of userColumns.
func userDest(u *refreshing.User) []any {
	return []any{&u.ID, &u.DocumentID, &u.Username, &u.Email, &u.PasswordHash,
		&u.Provider, &u.Role, &u.Confirmed, &u.Blocked, &u.CreatedAt, &u.UpdatedAt}
}

// userInto finishes u once scanned.
func userInto(u *refreshing.User) {
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
}

// CreateUser inserts u and sets u.ID. It returns ErrConflict if the email,
// username, non-empty username key or non-empty document id is taken.
func (s *Store) CreateUser(ctx context.Context, u *refreshing.User) error {
	var id int64
	err := s.run(ctx, "create user", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `INSERT INTO users
			(document_id, username, email, password_hash, provider, role, confirmed, blocked, created_at, updated_at, username_key)
			VALUES (NULLIF($1, ''), $2, $3, $4, $5, $6, $7, $8, $9, $10, NULLIF($11, ''))
			RETURNING id`,
			u.DocumentID, u.Username, u.Email, u.PasswordHash, u.Provider, u.Role,
			u.Confirmed, u.Blocked, u.CreatedAt, u.UpdatedAt, u.UsernameKey).Scan(&id)
	})
	if err != nil {
		return err
	}
	u.ID = id
	return nil
}

// UserByID returns the user with the given id, or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (*refreshing.User, error) {
	return s.userBy(ctx, "user by id", `id = $1`, id)
}

// UserByEmail returns the user whose email equals email exactly, or ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*refreshing.User, error) {
	return s.userBy(ctx, "user by email", `email = $1`, email)
}

// UserByUsername returns the user whose username equals username exactly, or
// ErrNotFound.
func (s *Store) UserByUsername(ctx context.Context, username string) (*refreshing.User, error) {
	return s.userBy(ctx, "user by username", `username = $1`, username)
}

// userBy returns the one user matching the condition where on arg.
func (s *Store) userBy(ctx context.Context, op, where string, arg any) (*refreshing.User, error) {
	var u refreshing.User
	err := s.run(ctx, op, func(ctx context.Context) error {
		var err error
		u, err = scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, arg))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// UpdateUser stores every field of u, matched by u.ID, and if revoke is not
// nil revokes the sessions of that user that revoke selects, in the same
// transaction. The sessions revoked are always u's: revoke.UserID is not
// consulted. It returns ErrNotFound if no such user exists and ErrConflict if
// the new email, username or document id is taken.
func (s *Store) UpdateUser(ctx context.Context, u *refreshing.User, revoke *refreshing.Revocation) error {
	return s.tx(ctx, "update user", func(tx pgx.Tx) error { return updateUser(ctx, tx, u, revoke) })
}

// updateUser is UpdateUser within tx (RedeemCode does it too).
func updateUser(ctx context.Context, tx pgx.Tx, u *refreshing.User, revoke *refreshing.Revocation) error {
	tag, err := tx.Exec(ctx, `UPDATE users SET
		document_id = NULLIF($2, ''), username = $3, email = $4, password_hash = $5,
		provider = $6, role = $7, confirmed = $8, blocked = $9, created_at = $10, updated_at = $11,
		username_key = CASE WHEN username = $3 THEN username_key ELSE NULLIF($12, '') END
		WHERE id = $1`,
		u.ID, u.DocumentID, u.Username, u.Email, u.PasswordHash, u.Provider, u.Role,
		u.Confirmed, u.Blocked, u.CreatedAt, u.UpdatedAt, u.UsernameKey)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return refreshing.ErrNotFound
	}
	if revoke != nil {
		r := *revoke
		r.UserID = u.ID
		_, err = revokeSessions(ctx, tx, r)
	}
	return err
}

// DeleteUser deletes the user; the foreign key deletes their sessions.
// ErrNotFound if absent.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.run(ctx, "delete user", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			err = refreshing.ErrNotFound
		}
		return err
	})
}

// ListUsers returns up to limit users with ID > after, in ID order. A limit
// of zero or less returns none.
func (s *Store) ListUsers(ctx context.Context, after int64, limit int) ([]refreshing.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.queryUsers(ctx, "list users", `SELECT `+userColumns+` FROM users WHERE id > $1 ORDER BY id LIMIT $2`,
		after, limit)
}
