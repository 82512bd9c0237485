package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// The Store methods of the admin screens: administrators and their sessions,
// roles, the audit log and the user search (migrations/0003_admin.sql).

// CreateAdmin implements refreshing.Store.
func (s *Store) CreateAdmin(ctx context.Context, a *refreshing.Admin) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO admins (email, password_hash, created_at) VALUES (?, ?, ?)`,
			a.Email, a.PasswordHash, micros(a.CreatedAt))
		if err != nil {
			return classify(err)
		}
		a.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create admin: %w", err)
	}
	return nil
}

// adminBy returns the one administrator matching where on arg.
func (s *Store) adminBy(ctx context.Context, where string, arg any) (*refreshing.Admin, error) {
	var (
		a       refreshing.Admin
		created int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT id, email, password_hash, created_at FROM admins WHERE `+where, arg).
		Scan(&a.ID, &a.Email, &a.PasswordHash, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite: admin: %w", refreshing.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("sqlite: admin: %w", classify(err))
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// AdminByEmail implements refreshing.Store.
func (s *Store) AdminByEmail(ctx context.Context, email string) (*refreshing.Admin, error) {
	return s.adminBy(ctx, `email = ?`, email)
}

// AdminByID implements refreshing.Store.
func (s *Store) AdminByID(ctx context.Context, id int64) (*refreshing.Admin, error) {
	return s.adminBy(ctx, `id = ?`, id)
}

// CreateAdminSession implements refreshing.Store.
func (s *Store) CreateAdminSession(ctx context.Context, as *refreshing.AdminSession) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM admins WHERE id = ?`, as.AdminID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return refreshing.ErrNotFound
		}
		if err != nil {
			return classify(err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO admin_sessions (token_hash, admin_id, created_at, last_seen, ip, user_agent)
			VALUES (?, ?, ?, ?, ?, ?)`, notNullBytes(as.TokenHash), as.AdminID, micros(as.CreatedAt), micros(as.LastSeen), as.IP, as.UserAgent)
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create admin session: %w", err)
	}
	return nil
}

// AdminSession implements refreshing.Store.
func (s *Store) AdminSession(ctx context.Context, tokenHash []byte) (*refreshing.AdminSession, error) {
	var (
		as            refreshing.AdminSession
		created, seen int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT token_hash, admin_id, created_at, last_seen, ip, user_agent
		FROM admin_sessions WHERE token_hash = ?`, notNullBytes(tokenHash)).
		Scan(&as.TokenHash, &as.AdminID, &created, &seen, &as.IP, &as.UserAgent)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite: admin session: %w", refreshing.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("sqlite: admin session: %w", classify(err))
	}
	as.CreatedAt, as.LastSeen = fromMicros(created), fromMicros(seen)
	return &as, nil
}

// TouchAdminSession implements refreshing.Store.
func (s *Store) TouchAdminSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE admin_sessions SET last_seen = ? WHERE token_hash = ?`, micros(at), notNullBytes(tokenHash))
		if err != nil {
			return classify(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: touch admin session: %w", err)
	}
	return nil
}

// DeleteAdminSession implements refreshing.Store.
func (s *Store) DeleteAdminSession(ctx context.Context, tokenHash []byte) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE token_hash = ?`, notNullBytes(tokenHash))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete admin session: %w", err)
	}
	return nil
}

// DeleteAdminSessions implements refreshing.Store.
func (s *Store) DeleteAdminSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	var n int64
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		n, err = affected(tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE last_seen < ? OR created_at < ?`,
			micros(idleBefore), micros(createdBefore)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete admin sessions: %w", err)
	}
	return int(n), nil
}

// likePattern returns a LIKE pattern matching v anywhere, with LIKE's
// wildcards in v escaped by '\'.
func likePattern(v string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(v) + "%"
}

// SearchUsers implements refreshing.Store. SQLite's LIKE ignores the
// case of ASCII letters. The search reads users in id order and stops after
// limit matches.
func (s *Store) SearchUsers(ctx context.Context, query string, after int64, limit int) ([]refreshing.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	p := likePattern(query)
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE id > ? AND (? = '' OR email LIKE ? ESCAPE '\' OR username LIKE ? ESCAPE '\')
		ORDER BY id LIMIT ?`, after, query, p, p, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search users: %w", classify(err))
	}
	defer rows.Close()
	var users []refreshing.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: search users: %w", classify(err))
		}
		users = append(users, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: search users: %w", classify(err))
	}
	return users, nil
}

// Roles implements refreshing.Store.
func (s *Store) Roles(ctx context.Context) ([]refreshing.Role, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, description, permissions FROM roles ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: roles: %w", classify(err))
	}
	defer rows.Close()
	var roles []refreshing.Role
	for rows.Next() {
		var (
			r     refreshing.Role
			perms string
		)
		if err := rows.Scan(&r.Name, &r.Description, &perms); err != nil {
			return nil, fmt.Errorf("sqlite: roles: %w", classify(err))
		}
		if err := json.Unmarshal([]byte(perms), &r.Permissions); err != nil {
			return nil, fmt.Errorf("sqlite: roles: role %s: %w", r.Name, err)
		}
		roles = append(roles, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: roles: %w", classify(err))
	}
	return roles, nil
}

// SaveRole implements refreshing.Store.
func (s *Store) SaveRole(ctx context.Context, r refreshing.Role) error {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	b, err := json.Marshal(perms)
	if err != nil {
		return fmt.Errorf("sqlite: save role: %w", err)
	}
	err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO roles (name, description, permissions) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET description = excluded.description, permissions = excluded.permissions`,
			r.Name, r.Description, string(b))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: save role: %w", err)
	}
	return nil
}

// DeleteRole implements refreshing.Store.
func (s *Store) DeleteRole(ctx context.Context, name string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE name = ?`, name)
		if err != nil {
			return classify(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete role: %w", err)
	}
	return nil
}

// AppendAudit implements refreshing.Store.
func (s *Store) AppendAudit(ctx context.Context, events []refreshing.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_events (at, type, actor, user_id, session_id, ip, user_agent, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return classify(err)
		}
		defer stmt.Close()
		for i := range events {
			e := &events[i]
			res, err := stmt.ExecContext(ctx, micros(e.At), e.Type, e.Actor, e.UserID, e.SessionID, e.IP, e.UserAgent, e.Detail)
			if err != nil {
				return classify(err)
			}
			if e.ID, err = res.LastInsertId(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: append audit: %w", err)
	}
	return nil
}

// ListAudit implements refreshing.Store. Each filter has an index that
// starts with it and continues in the keyset order.
func (s *Store) ListAudit(ctx context.Context, f refreshing.AuditFilter) ([]refreshing.AuditEvent, error) {
	var (
		where []string
		args  []any
	)
	if f.Type != "" {
		where, args = append(where, `type = ?`), append(args, f.Type)
	}
	if f.UserID != 0 {
		where, args = append(where, `user_id = ?`), append(args, f.UserID)
	}
	if f.IP != "" {
		where, args = append(where, `ip = ?`), append(args, f.IP)
	}
	if f.Actor != "" {
		where, args = append(where, `actor = ?`), append(args, f.Actor)
	}
	if !f.Since.IsZero() {
		where, args = append(where, `at >= ?`), append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, `at < ?`), append(args, micros(f.Until))
	}
	if !f.BeforeAt.IsZero() {
		where, args = append(where, `(at, id) < (?, ?)`), append(args, micros(f.BeforeAt), f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT id, at, type, actor, user_id, session_id, ip, user_agent, detail FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY at DESC, id DESC LIMIT ?`
	rows, err := s.read.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit: %w", classify(err))
	}
	defer rows.Close()
	var out []refreshing.AuditEvent
	for rows.Next() {
		var (
			e  refreshing.AuditEvent
			us int64
		)
		if err := rows.Scan(&e.ID, &us, &e.Type, &e.Actor, &e.UserID, &e.SessionID, &e.IP, &e.UserAgent, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: list audit: %w", classify(err))
		}
		e.At = fromMicros(us)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list audit: %w", classify(err))
	}
	return out, nil
}

// DeleteAuditBefore implements refreshing.Store.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int64
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		n, err = affected(tx.ExecContext(ctx, `DELETE FROM audit_events WHERE id IN (
			SELECT id FROM audit_events WHERE at < ? ORDER BY at, id LIMIT ?)`, micros(before), limit))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete audit: %w", err)
	}
	return int(n), nil
}
