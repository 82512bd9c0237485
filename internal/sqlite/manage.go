package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// The Store methods of the admin API and of the admin screens at scale
// (refreshing.Store, migrations/0013_admin_api.sql).

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// int64Args returns ids as query arguments.
func int64Args(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}

// queryUsers runs a query selecting userColumns.
func (s *Store) queryUsers(ctx context.Context, what, q string, args ...any) ([]refreshing.User, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, classify(err))
	}
	defer rows.Close()
	var users []refreshing.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, classify(err))
		}
		users = append(users, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, classify(err))
	}
	return users, nil
}

// FindUsers implements refreshing.Store. It walks the primary key
// from the cursor and stops after limit matches.
func (s *Store) FindUsers(ctx context.Context, f refreshing.UserFilter) ([]refreshing.User, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var (
		where []string
		args  []any
	)
	cmp, dir := `<`, `DESC`
	if f.Ascending {
		cmp, dir = `>`, `ASC`
	}
	if f.AfterID != 0 {
		where, args = append(where, `id `+cmp+` ?`), append(args, f.AfterID)
	}
	if f.Query != "" {
		p := likePattern(f.Query)
		where, args = append(where, `(email LIKE ? ESCAPE '\' OR username LIKE ? ESCAPE '\')`), append(args, p, p)
	}
	q := `SELECT ` + userColumns + ` FROM users`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY id ` + dir + ` LIMIT ?`
	return s.queryUsers(ctx, "find users", q, append(args, limit)...)
}

// CountUsers implements refreshing.Store.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count users: %w", classify(err))
	}
	return n, nil
}

// UsersByID implements refreshing.Store.
func (s *Store) UsersByID(ctx context.Context, ids []int64) ([]refreshing.User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.queryUsers(ctx, "users by id", `SELECT `+userColumns+` FROM users WHERE id IN (`+placeholders(len(ids))+`) ORDER BY id`, int64Args(ids)...)
}

// UserStats implements refreshing.Store, through the index on
// sessions (user_id).
func (s *Store) UserStats(ctx context.Context, ids []int64, now time.Time) ([]refreshing.UserStats, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := append([]any{micros(now)}, int64Args(ids)...)
	rows, err := s.read.QueryContext(ctx, `SELECT user_id,
		sum(revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)), max(created_at)
		FROM sessions WHERE user_id IN (`+placeholders(len(ids))+`) GROUP BY user_id ORDER BY user_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user stats: %w", classify(err))
	}
	defer rows.Close()
	var out []refreshing.UserStats
	for rows.Next() {
		var (
			st   refreshing.UserStats
			last int64
		)
		if err := rows.Scan(&st.UserID, &st.Sessions, &last); err != nil {
			return nil, fmt.Errorf("sqlite: user stats: %w", classify(err))
		}
		st.LastSignIn = fromMicros(last)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: user stats: %w", classify(err))
	}
	return out, nil
}

// ListAdmins implements refreshing.Store.
func (s *Store) ListAdmins(ctx context.Context) ([]refreshing.Admin, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, email, password_hash, created_at FROM admins ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list admins: %w", classify(err))
	}
	defer rows.Close()
	var out []refreshing.Admin
	for rows.Next() {
		var (
			a  refreshing.Admin
			us int64
		)
		if err := rows.Scan(&a.ID, &a.Email, &a.PasswordHash, &us); err != nil {
			return nil, fmt.Errorf("sqlite: list admins: %w", classify(err))
		}
		a.CreatedAt = fromMicros(us)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list admins: %w", classify(err))
	}
	return out, nil
}

// DeleteAdmin implements refreshing.Store: the foreign keys' ON
// DELETE CASCADE removes the administrator's sessions and tokens.
func (s *Store) DeleteAdmin(ctx context.Context, id int64) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM admins WHERE id = ?`, id)
		if err != nil {
			return classify(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete admin: %w", err)
	}
	return nil
}

// SetAdminPassword implements refreshing.Store.
func (s *Store) SetAdminPassword(ctx context.Context, id int64, passwordHash string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE admins SET password_hash = ? WHERE id = ?`, passwordHash, id)
		if err != nil {
			return classify(err)
		}
		if err := oneRow(res); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_id = ?`, id)
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: set admin password: %w", err)
	}
	return nil
}

// adminTokenColumns is the column list scanAdminToken reads.
const adminTokenColumns = `id, admin_id, name, token_hash, created_at, expires_at`

// scanAdminToken reads one row of adminTokenColumns.
func scanAdminToken(sc scanner) (*refreshing.AdminToken, error) {
	var (
		t       refreshing.AdminToken
		created int64
		expires sql.NullInt64
	)
	if err := sc.Scan(&t.ID, &t.AdminID, &t.Name, &t.TokenHash, &created, &expires); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromNullMicros(expires)
	return &t, nil
}

// CreateAdminToken implements refreshing.Store.
func (s *Store) CreateAdminToken(ctx context.Context, t *refreshing.AdminToken) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM admins WHERE id = ?`, t.AdminID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return refreshing.ErrNotFound
		}
		if err != nil {
			return classify(err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO admin_tokens (admin_id, name, token_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, t.AdminID, t.Name, notNullBytes(t.TokenHash), micros(t.CreatedAt), nullMicros(t.ExpiresAt))
		if err != nil {
			return classify(err)
		}
		t.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create admin token: %w", err)
	}
	return nil
}

// AdminTokenByHash implements refreshing.Store.
func (s *Store) AdminTokenByHash(ctx context.Context, tokenHash []byte) (*refreshing.AdminToken, error) {
	t, err := scanAdminToken(s.read.QueryRowContext(ctx, `SELECT `+adminTokenColumns+` FROM admin_tokens WHERE token_hash = ?`, notNullBytes(tokenHash)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite: admin token: %w", refreshing.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("sqlite: admin token: %w", classify(err))
	}
	return t, nil
}

// AdminTokens implements refreshing.Store.
func (s *Store) AdminTokens(ctx context.Context, adminID int64) ([]refreshing.AdminToken, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+adminTokenColumns+` FROM admin_tokens
		WHERE ? = 0 OR admin_id = ? ORDER BY id`, adminID, adminID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: admin tokens: %w", classify(err))
	}
	defer rows.Close()
	var out []refreshing.AdminToken
	for rows.Next() {
		t, err := scanAdminToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: admin tokens: %w", classify(err))
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: admin tokens: %w", classify(err))
	}
	return out, nil
}

// DeleteAdminToken implements refreshing.Store.
func (s *Store) DeleteAdminToken(ctx context.Context, id int64) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM admin_tokens WHERE id = ?`, id)
		if err != nil {
			return classify(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete admin token: %w", err)
	}
	return nil
}

// ListClients implements refreshing.Store.
func (s *Store) ListClients(ctx context.Context) ([]refreshing.Client, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, secret_hash, grants, created_at, require_dpop FROM oauth_clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", classify(err))
	}
	defer rows.Close()
	var out []refreshing.Client
	for rows.Next() {
		var (
			c       refreshing.Client
			grants  string
			created int64
		)
		if err := rows.Scan(&c.ID, &c.SecretHash, &grants, &created, &c.RequireDPoP); err != nil {
			return nil, fmt.Errorf("sqlite: list clients: %w", classify(err))
		}
		if len(c.SecretHash) == 0 {
			c.SecretHash = nil
		}
		c.Grants = strings.Fields(grants)
		c.CreatedAt = fromMicros(created)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", classify(err))
	}
	return out, nil
}

// SetClientDPoP implements refreshing.Store.
func (s *Store) SetClientDPoP(ctx context.Context, id string, require bool) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oauth_clients SET require_dpop = ? WHERE id = ?`, require, id)
		if err != nil {
			return classify(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: set client %q DPoP: %w", id, err)
	}
	return nil
}

// DeleteClient implements refreshing.Store.
// The client's sessions are found by the partial index of migration 0018.
func (s *Store) DeleteClient(ctx context.Context, id string, at time.Time) (int, error) {
	var n int64
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oauth_clients WHERE id = ?`, id)
		if err != nil {
			return classify(err)
		}
		if err := oneRow(res); err != nil {
			return err
		}
		n, err = affected(tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
			WHERE client_id = ? AND client_id <> '' AND revoked_at IS NULL`, micros(at), refreshing.ReasonClientDeleted, id))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete client %q: %w", id, err)
	}
	return int(n), nil
}
