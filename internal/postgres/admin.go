package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
)

// The Store methods of the admin screens: administrators and their sessions,
// roles, the audit log and the user search (migrations/0003_admin.sql).

// CreateAdmin inserts a and sets a.ID. ErrConflict if the email is taken.
func (s *Store) CreateAdmin(ctx context.Context, a *refreshing.Admin) error {
	return s.run(ctx, "create admin", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `INSERT INTO admins (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id`,
			a.Email, a.PasswordHash, a.CreatedAt).Scan(&a.ID)
	})
}

// adminBy returns the one administrator matching where on arg.
func (s *Store) adminBy(ctx context.Context, where string, arg any) (*refreshing.Admin, error) {
	var a refreshing.Admin
	err := s.run(ctx, "admin", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT id, email, password_hash, created_at FROM admins WHERE `+where, arg).
			Scan(&a.ID, &a.Email, &a.PasswordHash, &a.CreatedAt)
	})
	if err != nil {
		return nil, err
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}

// AdminByEmail returns the administrator with that email, or ErrNotFound.
func (s *Store) AdminByEmail(ctx context.Context, email string) (*refreshing.Admin, error) {
	return s.adminBy(ctx, `email = $1`, email)
}

// AdminByID returns the administrator with that id, or ErrNotFound.
func (s *Store) AdminByID(ctx context.Context, id int64) (*refreshing.Admin, error) {
	return s.adminBy(ctx, `id = $1`, id)
}

// CreateAdminSession inserts as; ErrNotFound if the administrator does not
// exist (the foreign key), ErrConflict if the token hash is taken.
func (s *Store) CreateAdminSession(ctx context.Context, as *refreshing.AdminSession) error {
	return s.run(ctx, "create admin session", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO admin_sessions (token_hash, admin_id, created_at, last_seen, ip, user_agent)
			SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM admins WHERE id = $2)`,
			notNil(as.TokenHash), as.AdminID, as.CreatedAt, as.LastSeen, as.IP, as.UserAgent)
		if err == nil && tag.RowsAffected() == 0 {
			err = refreshing.ErrNotFound
		}
		return err
	})
}

// AdminSession returns the session with that token hash, or ErrNotFound.
func (s *Store) AdminSession(ctx context.Context, tokenHash []byte) (*refreshing.AdminSession, error) {
	var as refreshing.AdminSession
	err := s.run(ctx, "admin session", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT token_hash, admin_id, created_at, last_seen, ip, user_agent
			FROM admin_sessions WHERE token_hash = $1`, notNil(tokenHash)).
			Scan(&as.TokenHash, &as.AdminID, &as.CreatedAt, &as.LastSeen, &as.IP, &as.UserAgent)
	})
	if err != nil {
		return nil, err
	}
	as.CreatedAt, as.LastSeen = as.CreatedAt.UTC(), as.LastSeen.UTC()
	return &as, nil
}

// TouchAdminSession sets LastSeen (ErrNotFound if absent).
func (s *Store) TouchAdminSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	return s.run(ctx, "touch admin session", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `UPDATE admin_sessions SET last_seen = $2 WHERE token_hash = $1`, notNil(tokenHash), at)
		if err == nil && tag.RowsAffected() == 0 {
			err = refreshing.ErrNotFound
		}
		return err
	})
}

// DeleteAdminSession deletes the session, if it exists.
func (s *Store) DeleteAdminSession(ctx context.Context, tokenHash []byte) error {
	return s.run(ctx, "delete admin session", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `DELETE FROM admin_sessions WHERE token_hash = $1`, notNil(tokenHash))
		return err
	})
}

// DeleteAdminSessions deletes the sessions idle since idleBefore or created
// before createdBefore.
func (s *Store) DeleteAdminSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	var n int
	err := s.run(ctx, "delete admin sessions", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM admin_sessions WHERE last_seen < $1 OR created_at < $2`, idleBefore, createdBefore)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// likePattern returns a LIKE pattern matching v anywhere, with LIKE's
// wildcards in v escaped by '\'.
func likePattern(v string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(v) + "%"
}

// SearchUsers returns up to limit users with ID > after whose email or
// username contains query, case-insensitively, in ID order.
func (s *Store) SearchUsers(ctx context.Context, query string, after int64, limit int) ([]refreshing.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.queryUsers(ctx, "search users", `SELECT `+userColumns+` FROM users
			WHERE id > $1 AND ($2 = '' OR email ILIKE $3 ESCAPE '\' OR username ILIKE $3 ESCAPE '\')
			ORDER BY id LIMIT $4`, after, query, likePattern(query), limit)
}

// Roles returns every stored role, in name order.
func (s *Store) Roles(ctx context.Context) ([]refreshing.Role, error) {
	return collect(ctx, s, "roles", func(row pgx.CollectableRow) (refreshing.Role, error) {
		var r refreshing.Role
		var perms string
		if err := row.Scan(&r.Name, &r.Description, &perms); err != nil {
			return r, err
		}
		if err := json.Unmarshal([]byte(perms), &r.Permissions); err != nil {
			return r, fmt.Errorf("role %s: %w", r.Name, err)
		}
		return r, nil
	}, `SELECT name, description, permissions FROM roles ORDER BY name COLLATE "C"`)
}

// SaveRole inserts or replaces the role named r.Name.
func (s *Store) SaveRole(ctx context.Context, r refreshing.Role) error {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	b, err := json.Marshal(perms)
	if err != nil {
		return fmt.Errorf("postgres: save role: %w", err)
	}
	return s.run(ctx, "save role", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO roles (name, description, permissions) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET description = excluded.description, permissions = excluded.permissions`,
			r.Name, r.Description, string(b))
		return err
	})
}

// DeleteRole deletes the role, or returns ErrNotFound.
func (s *Store) DeleteRole(ctx context.Context, name string) error {
	return s.run(ctx, "delete role", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM roles WHERE name = $1`, name)
		if err == nil && tag.RowsAffected() == 0 {
			err = refreshing.ErrNotFound
		}
		return err
	})
}

// AppendAudit stores the events in one transaction and assigns their IDs.
func (s *Store) AppendAudit(ctx context.Context, events []refreshing.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	ids := make([]int64, len(events))
	err := s.tx(ctx, "append audit", func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, e := range events {
			b.Queue(`INSERT INTO audit_events (at, type, actor, user_id, session_id, ip, user_agent, detail)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
				e.At, e.Type, e.Actor, e.UserID, e.SessionID, e.IP, e.UserAgent, e.Detail)
		}
		br := tx.SendBatch(ctx, b)
		for i := range events {
			if err := br.QueryRow().Scan(&ids[i]); err != nil {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
	if err != nil {
		return err
	}
	for i := range events {
		events[i].ID = ids[i]
	}
	return nil
}

// ListAudit returns events in descending (At, ID) order after the cursor f
// describes, at most f.Limit of them.
func (s *Store) ListAudit(ctx context.Context, f refreshing.AuditFilter) ([]refreshing.AuditEvent, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Type != "" {
		where = append(where, "type = "+arg(f.Type))
	}
	if f.UserID != 0 {
		where = append(where, "user_id = "+arg(f.UserID))
	}
	if f.IP != "" {
		where = append(where, "ip = "+arg(f.IP))
	}
	if f.Actor != "" {
		where = append(where, "actor = "+arg(f.Actor))
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= "+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < "+arg(f.Until))
	}
	if !f.BeforeAt.IsZero() {
		where = append(where, "(at, id) < ("+arg(f.BeforeAt)+", "+arg(f.BeforeID)+")")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT id, at, type, actor, user_id, session_id, ip, user_agent, detail FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY at DESC, id DESC LIMIT ` + arg(limit)
	return collect(ctx, s, "list audit", func(row pgx.CollectableRow) (refreshing.AuditEvent, error) {
		var e refreshing.AuditEvent
		err := row.Scan(&e.ID, &e.At, &e.Type, &e.Actor, &e.UserID, &e.SessionID, &e.IP, &e.UserAgent, &e.Detail)
		e.At = e.At.UTC()
		return e, err
	}, q, args...)
}

// DeleteAuditBefore deletes at most limit events older than before, the
// oldest first, and reports how many.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int
	err := s.run(ctx, "delete audit", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM audit_events WHERE id IN (
			SELECT id FROM audit_events WHERE at < $1 ORDER BY at, id LIMIT $2)`, before, limit)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}
