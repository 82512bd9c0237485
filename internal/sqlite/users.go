package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/refreshing/refreshing"
)

// userColumns is the column list scanUser reads, in its order.
const userColumns = `id, document_id, username, email, password_hash, provider, role, confirmed, blocked, created_at, updated_at`

// scanUser reads one row of userColumns.
func scanUser(sc scanner) (*refreshing.User, error) {
	var (
		u refreshing.User
		r userRow
	)
	if err := sc.Scan(r.dest(&u)...); err != nil {
		return nil, err
	}
	r.into(&u)
	return &u, nil
}

// userRow holds the columns of userColumns that need converting.
type userRow struct {
	documentID         sql.NullString
	created, updated   int64
	confirmed, blocked bool
}

// dest returns the scan destinations of a row of userColumns.
func (r *userRow) dest(u *refreshing.User) []any {
	return []any{&u.ID, &r.documentID, &u.Username, &u.Email, &u.PasswordHash, &u.Provider, &u.Role,
		&r.confirmed, &r.blocked, &r.created, &r.updated}
}

// into stores the converted columns in u, once scanned.
func (r *userRow) into(u *refreshing.User) {
	u.DocumentID = r.documentID.String
	u.Confirmed, u.Blocked = r.confirmed, r.blocked
	u.CreatedAt, u.UpdatedAt = fromMicros(r.created), fromMicros(r.updated)
}

// nullString stores "" as NULL, for the optional unique document_id.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// CreateUser implements refreshing.Store.
func (s *Store) CreateUser(ctx context.Context, u *refreshing.User) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO users
			(document_id, username, email, password_hash, provider, role, confirmed, blocked, created_at, updated_at, username_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			nullString(u.DocumentID), u.Username, u.Email, u.PasswordHash, u.Provider, u.Role,
			u.Confirmed, u.Blocked, micros(u.CreatedAt), micros(u.UpdatedAt), nullString(u.UsernameKey))
		if err != nil {
			return classify(err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		u.ID = id
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	return nil
}

// userBy runs one of the prepared user lookups.
func userBy(ctx context.Context, stmt *sql.Stmt, what string, arg any) (*refreshing.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: user by %s: %w", what, err)
	}
	u, err := scanUser(stmt.QueryRowContext(lookupCtx(ctx), arg))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite: user by %s: %w", what, refreshing.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("sqlite: user by %s: %w", what, classify(err))
	}
	return u, nil
}

// UserByID implements refreshing.Store.
func (s *Store) UserByID(ctx context.Context, id int64) (*refreshing.User, error) {
	return userBy(ctx, s.userByID, "id", id)
}

// UserByEmail implements refreshing.Store.
func (s *Store) UserByEmail(ctx context.Context, email string) (*refreshing.User, error) {
	return userBy(ctx, s.userByEmail, "email", email)
}

// UserByUsername implements refreshing.Store.
func (s *Store) UserByUsername(ctx context.Context, username string) (*refreshing.User, error) {
	return userBy(ctx, s.userByUsername, "username", username)
}

// UpdateUser implements refreshing.Store. A revocation applies to u's
// sessions whatever its UserID says: updating one user never revokes the
// sessions of another.
func (s *Store) UpdateUser(ctx context.Context, u *refreshing.User, revoke *refreshing.Revocation) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error { return updateUser(ctx, tx, u, revoke) })
	if err != nil {
		return fmt.Errorf("sqlite: update user %d: %w", u.ID, err)
	}
	return nil
}

// updateUser is UpdateUser within tx (RedeemCode does it too).
func updateUser(ctx context.Context, tx *sql.Tx, u *refreshing.User, revoke *refreshing.Revocation) error {
	res, err := tx.ExecContext(ctx, `UPDATE users SET
		document_id = ?, username = ?, email = ?, password_hash = ?, provider = ?, role = ?,
		confirmed = ?, blocked = ?, created_at = ?, updated_at = ?,
		username_key = CASE WHEN username = ? THEN username_key ELSE ? END
		WHERE id = ?`,
		nullString(u.DocumentID), u.Username, u.Email, u.PasswordHash, u.Provider, u.Role,
		u.Confirmed, u.Blocked, micros(u.CreatedAt), micros(u.UpdatedAt),
		u.Username, nullString(u.UsernameKey), u.ID)
	if err != nil {
		return classify(err)
	}
	if err := oneRow(res); err != nil {
		return err
	}
	if revoke != nil {
		r := *revoke
		r.UserID = u.ID
		if _, err := revokeSessions(ctx, tx, r); err != nil {
			return err
		}
	}
	return nil
}

// DeleteUser implements refreshing.Store. The sessions go with the user
// through ON DELETE CASCADE.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if err != nil {
			return classify(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete user %d: %w", id, err)
	}
	return nil
}

// ListUsers implements refreshing.Store. A limit of zero or less lists nothing.
func (s *Store) ListUsers(ctx context.Context, after int64, limit int) ([]refreshing.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", classify(err))
	}
	defer rows.Close()
	var users []refreshing.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", classify(err))
		}
		users = append(users, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", classify(err))
	}
	return users, nil
}

// oneRow returns ErrNotFound unless res reports a changed row.
func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return refreshing.ErrNotFound
	}
	return nil
}
