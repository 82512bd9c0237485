package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/refreshing/refreshing"
)

// sessionColumns lists the sessions columns in the order scanSession reads them.
const sessionColumns = `id, user_id, client_id, device_id, description, user_agent, ip,
	created_at, last_activity, expires_at, revoked_at, revoke_reason,
	generation, token_hash, prev_hash, rotated_at, grace_generation, grace_since, dpop_jkt, auth_time`

// scanSession reads one row of sessionColumns.
func scanSession(row pgx.Row) (refreshing.Session, error) {
	var s refreshing.Session
	var r sessionRow
	err := row.Scan(r.dest(&s)...)
	r.into(&s)
	return s, err
}

// sessionRow holds the columns of sessionColumns that need converting.
type sessionRow struct {
	expires, revoked, rotated, grace *time.Time
	authTime                         *time.Time
	graceGeneration                  *int64
}

// dest returns the scan destinations of a row of sessionColumns.
func (r *sessionRow) dest(s *refreshing.Session) []any {
	return []any{&s.ID, &s.UserID, &s.ClientID, &s.DeviceID, &s.Description, &s.UserAgent, &s.IP,
		&s.CreatedAt, &s.LastActivity, &r.expires, &r.revoked, &s.RevokeReason,
		&s.Generation, &s.TokenHash, &s.PrevHash, &r.rotated, &r.graceGeneration, &r.grace, &s.DPoPJKT, &r.authTime}
}

// into finishes s once scanned.
func (r *sessionRow) into(s *refreshing.Session) {
	s.CreatedAt = s.CreatedAt.UTC()
	s.LastActivity = s.LastActivity.UTC()
	s.ExpiresAt = timeOf(r.expires)
	s.RevokedAt = timeOf(r.revoked)
	s.RotatedAt = timeOf(r.rotated)
	s.GraceSince = timeOf(r.grace)
	if s.AuthTime = timeOf(r.authTime); s.AuthTime.IsZero() {
		s.AuthTime = s.CreatedAt // NULL: the sign-in (migration 0016)
	}
	if r.graceGeneration != nil {
		s.GraceGeneration = *r.graceGeneration
	}
	s.TokenHash = bytesOf(s.TokenHash)
	s.PrevHash = bytesOf(s.PrevHash)
}

// collectSessions reads every row of a sessionColumns query.
func collectSessions(rows pgx.Rows) ([]refreshing.Session, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (refreshing.Session, error) {
		return scanSession(row)
	})
}

// querier is what a pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CreateSession inserts sess and, in the same transaction, revokes the
// user's other sessions on the same device and those beyond limit, as
// refreshing.Store documents. It returns ErrConflict if sess.ID is taken and
// ErrNotFound if the user does not exist.
//
// The new session itself is never evicted: it takes one of the limit's
// places, and the limit-1 most recently active of the others that are live
// at sess.CreatedAt remain (ties in LastActivity broken by ID, as in
// ListSessions). internal/sqlite does the same.
func (s *Store) CreateSession(ctx context.Context, sess *refreshing.Session, limit int) error {
	return s.tx(ctx, "create session", func(tx pgx.Tx) error {
		// Lock the user's row first. Concurrent CreateSession calls for one
		// user (from any process) queue up here, so each counts the sessions
		// the previous one left and the limit holds; and the user cannot be
		// deleted before the insert. In READ COMMITTED every later statement
		// sees what the transaction we waited for committed.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, sess.UserID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return refreshing.ErrNotFound
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
			sess.ID, sess.UserID, sess.ClientID, sess.DeviceID, sess.Description, sess.UserAgent, sess.IP,
			sess.CreatedAt, sess.LastActivity, nullTime(sess.ExpiresAt), nullTime(sess.RevokedAt), sess.RevokeReason,
			sess.Generation, notNil(sess.TokenHash), sess.PrevHash, nullTime(sess.RotatedAt),
			graceGeneration(sess), nullTime(sess.GraceSince), sess.DPoPJKT, authTime(sess)); err != nil {
			return err
		}
		if sess.DeviceID != "" {
			if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $4, revoke_reason = $5
				WHERE user_id = $1 AND device_id = $2 AND id <> $3 AND revoked_at IS NULL`,
				sess.UserID, sess.DeviceID, sess.ID, sess.CreatedAt, refreshing.ReasonReplaced); err != nil {
				return err
			}
		}
		if limit > 0 {
			if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $3, revoke_reason = $4
				WHERE id IN (
					SELECT id FROM sessions
					WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL
						AND (expires_at IS NULL OR expires_at > $3)
					ORDER BY last_activity DESC, id DESC
					OFFSET $5
				)`,
				sess.UserID, sess.ID, sess.CreatedAt, refreshing.ReasonSessionLimit, limit-1); err != nil {
				return err
			}
		}
		return nil
	})
}

// Session returns the session with the given id, or ErrNotFound.
func (s *Store) Session(ctx context.Context, id string) (*refreshing.Session, error) {
	var sess refreshing.Session
	err := s.run(ctx, "session", func(ctx context.Context) error {
		var err error
		sess, err = scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &sess, nil
}

// sessionWithUserQuery reads a session and its user in one statement: the
// columns of sessionColumns, then those of userColumns, each list in its own
// derived table so that its order (and coalesce) holds as written.
const sessionWithUserQuery = `SELECT s.*, u.*
	FROM (SELECT ` + sessionColumns + ` FROM sessions WHERE id = $1) s
	JOIN LATERAL (SELECT ` + userColumns + ` FROM users WHERE users.id = s.user_id) u ON true`

// SessionWithUser returns the session with the given id and its user, read
// by one statement, or ErrNotFound.
func (s *Store) SessionWithUser(ctx context.Context, id string) (*refreshing.Session, *refreshing.User, error) {
	var (
		sess refreshing.Session
		u    refreshing.User
	)
	err := s.run(ctx, "session with user", func(ctx context.Context) error {
		var sr sessionRow
		err := s.pool.QueryRow(ctx, sessionWithUserQuery, id).Scan(append(sr.dest(&sess), userDest(&u)...)...)
		sr.into(&sess)
		userInto(&u)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return &sess, &u, nil
}

// RotateSession swaps the session's token hash if its generation is still
// r.Generation and it is unrevoked; see refreshing.Store. It is one
// conditional UPDATE: concurrent callers (in any process) queue on the row
// lock, and PostgreSQL re-checks the condition on the row the winner wrote,
// so every caller but one finds the generation moved and gets ErrStale.
func (s *Store) RotateSession(ctx context.Context, r refreshing.Rotation) error {
	return s.run(ctx, "rotate session", func(ctx context.Context) error {
		var rotated, exists bool
		// The EXISTS sub-select reads the statement's snapshot, from before
		// the update: it tells a lost swap (ErrStale) from a missing session.
		err := s.pool.QueryRow(ctx, `WITH rotated AS (
				UPDATE sessions SET prev_hash = token_hash, token_hash = $3, generation = generation + 1,
					rotated_at = $4, last_activity = $4, `+graceSet("$4", "$5")+`
				WHERE id = $1 AND generation = $2 AND revoked_at IS NULL
				RETURNING 1
			)
			SELECT EXISTS (SELECT 1 FROM rotated), EXISTS (SELECT 1 FROM sessions WHERE id = $1)`,
			r.SessionID, r.Generation, notNil(r.NewHash), r.At, nullTime(r.GraceFrom)).Scan(&rotated, &exists)
		switch {
		case err != nil:
			return err
		case rotated:
			return nil
		case exists:
			return refreshing.ErrStale
		}
		return refreshing.ErrNotFound
	})
}

// graceSet returns a rotation's bookkeeping of the tokens retired within
// the grace window (refreshing.Store.RotateSession), from the row as it was:
// at is the parameter holding the rotation's time, from the one holding the
// start of the window (NULL compares as false).
func graceSet(at, from string) string {
	return `grace_generation = CASE WHEN grace_since >= ` + from + ` THEN grace_generation
			WHEN rotated_at >= ` + from + ` THEN generation - 1 ELSE generation END,
		grace_since = CASE WHEN grace_since >= ` + from + ` THEN grace_since
			WHEN rotated_at >= ` + from + ` THEN rotated_at ELSE ` + at + ` END`
}

// graceGeneration stores a session's GraceGeneration, NULL while its
// GraceSince is zero.
func graceGeneration(s *refreshing.Session) any {
	if s.GraceSince.IsZero() {
		return nil
	}
	return s.GraceGeneration
}

// authTime stores a session's AuthTime, NULL when it is the session's
// start (migration 0016).
func authTime(s *refreshing.Session) any {
	if s.AuthTime.IsZero() || s.AuthTime.Equal(s.CreatedAt) {
		return nil
	}
	return s.AuthTime
}

// rotateMatchingQuery is RotateMatching: RotateSession's swap with every
// condition of a live token's exchange in its WHERE clause.
var rotateMatchingQuery = `UPDATE sessions SET prev_hash = token_hash, token_hash = $3, generation = generation + 1,
		rotated_at = $4, last_activity = $4, ` + graceSet("$4", "$8") + `
	WHERE id = $1 AND generation = $2 AND token_hash = $5 AND revoked_at IS NULL
		AND (expires_at IS NULL OR expires_at > $4)
		AND ($6::timestamptz IS NULL OR last_activity > $6)
		AND (client_id = '' OR client_id = $7)
		AND (dpop_jkt = '' OR dpop_jkt = $9)
	RETURNING ` + sessionColumns

// RotateMatching implements refreshing.Store in one statement: concurrent
// callers queue on the row lock as in RotateSession, and all but one find
// the generation moved.
func (s *Store) RotateMatching(ctx context.Context, r refreshing.MatchingRotation) (*refreshing.Session, error) {
	var idle any
	if !r.IdleAfter.IsZero() {
		idle = r.IdleAfter
	}
	var sess refreshing.Session
	err := s.run(ctx, "rotate matching", func(ctx context.Context) error {
		var err error
		sess, err = scanSession(s.pool.QueryRow(ctx, rotateMatchingQuery, r.SessionID, r.Generation, notNil(r.NewHash), r.At,
			notNil(r.TokenHash), idle, r.ClientID, nullTime(r.GraceFrom), r.DPoPJKT))
		if errors.Is(err, pgx.ErrNoRows) {
			return refreshing.ErrStale
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &sess, nil
}

// SetAuthTime sets the session's AuthTime to at, and its LastActivity to
// at if that is later, if it is unrevoked. It returns ErrNotFound if the
// session does not exist and ErrStale if it is revoked.
func (s *Store) SetAuthTime(ctx context.Context, id string, at time.Time) error {
	return s.run(ctx, "set auth time", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `UPDATE sessions SET auth_time = $2, last_activity = GREATEST(last_activity, $2)
			WHERE id = $1 AND revoked_at IS NULL`, id, at)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		if _, err := s.revoked(ctx, id); err != nil {
			return err
		}
		return refreshing.ErrStale // revoked: nothing else leaves the row unchanged
	})
}

// revoked reports whether session id is revoked, or ErrNotFound: why an
// update guarded by "revoked_at IS NULL" changed nothing. Revocation is
// final, so what this later read sees still explains the update.
func (s *Store) revoked(ctx context.Context, id string) (bool, error) {
	var revoked bool
	err := s.pool.QueryRow(ctx, `SELECT revoked_at IS NOT NULL FROM sessions WHERE id = $1`, id).Scan(&revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, refreshing.ErrNotFound
	}
	return revoked, err
}

// TouchSession moves the session's LastActivity forward to at if it is
// unrevoked. It returns ErrNotFound if the session does not exist and
// ErrStale if it is revoked.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	return s.run(ctx, "touch session", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `UPDATE sessions SET last_activity = $2
			WHERE id = $1 AND revoked_at IS NULL AND last_activity < $2`, id, at)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		// Nothing changed: find out why.
		revoked, err := s.revoked(ctx, id)
		switch {
		case err != nil:
			return err
		case revoked:
			return refreshing.ErrStale
		}
		return nil // already at or after at
	})
}

// RevokeSession revokes one session with reason at the given time. Revoking a
// revoked session changes nothing. ErrNotFound if absent.
func (s *Store) RevokeSession(ctx context.Context, id, reason string, at time.Time) error {
	return s.run(ctx, "revoke session", func(ctx context.Context) error {
		var found bool
		err := s.pool.QueryRow(ctx, `WITH revoked AS (
				UPDATE sessions SET revoked_at = $3, revoke_reason = $2
				WHERE id = $1 AND revoked_at IS NULL
				RETURNING 1
			)
			SELECT EXISTS (SELECT 1 FROM revoked) OR EXISTS (SELECT 1 FROM sessions WHERE id = $1)`,
			id, reason, at).Scan(&found)
		if err == nil && !found {
			err = refreshing.ErrNotFound
		}
		return err
	})
}

// RevokeSessions revokes the sessions r selects and reports how many.
func (s *Store) RevokeSessions(ctx context.Context, r refreshing.Revocation) (int, error) {
	var n int
	err := s.run(ctx, "revoke sessions", func(ctx context.Context) error {
		var err error
		n, err = revokeSessions(ctx, s.pool, r)
		return err
	})
	return n, err
}

// revokeSessions revokes the sessions r selects through q.
func revokeSessions(ctx context.Context, q querier, r refreshing.Revocation) (int, error) {
	tag, err := q.Exec(ctx, `UPDATE sessions SET revoked_at = $2, revoke_reason = $3
		WHERE user_id = $1 AND revoked_at IS NULL
			AND ($4 = '' OR id <> $4) AND ($5 = '' OR device_id = $5)`,
		r.UserID, r.At, r.Reason, r.Except, r.DeviceID)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// UserSessions returns the user's unrevoked sessions not absolutely expired
// at now, most recently active first.
func (s *Store) UserSessions(ctx context.Context, userID int64, now time.Time) ([]refreshing.Session, error) {
	var sessions []refreshing.Session
	err := s.run(ctx, "user sessions", func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
			WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
			ORDER BY last_activity DESC, id DESC`, userID, now)
		var err error
		sessions, err = collectSessions(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sessions, nil
}

// ListSessions returns sessions in descending (CreatedAt, ID) order, or
// ascending when f.Ascending, after the cursor f describes, at most f.Limit
// of them (100 if f.Limit is not positive).
func (s *Store) ListSessions(ctx context.Context, f refreshing.SessionFilter) ([]refreshing.Session, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.UserID != 0 {
		where = append(where, "user_id = "+arg(f.UserID))
	}
	if f.Active {
		where = append(where, "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > "+arg(f.ActiveAt)+")")
		if !f.IdleBefore.IsZero() {
			where = append(where, "last_activity > "+arg(f.IdleBefore))
		}
	}
	if f.Expired {
		idle := "false"
		if !f.IdleBefore.IsZero() {
			idle = "last_activity <= " + arg(f.IdleBefore)
		}
		where = append(where, "revoked_at IS NULL AND (expires_at <= "+arg(f.ActiveAt)+" OR "+idle+")")
	}
	if f.Revoked {
		// Literally so, for the partial index sessions_revoked_created.
		where = append(where, "revoked_at IS NOT NULL")
	}
	if f.IP != "" {
		where = append(where, "ip = "+arg(f.IP))
	}
	if f.UserAgent != "" {
		// ILIKE also folds non-ASCII letters, which SQLite's LIKE does not:
		// the stores differ only there.
		where = append(where, `user_agent ILIKE `+arg(likePattern(f.UserAgent))+` ESCAPE '\'`)
	}
	cmp, dir := "<", "DESC"
	if f.Ascending {
		cmp, dir = ">", "ASC"
	}
	if !f.AfterCreated.IsZero() {
		// A row comparison, which the (created_at DESC, id DESC) index
		// serves in either direction.
		where = append(where, "(created_at, id) "+cmp+" ("+arg(f.AfterCreated)+", "+arg(f.AfterID)+")")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + sessionColumns + ` FROM sessions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at ` + dir + `, id ` + dir + ` LIMIT ` + arg(limit)

	var sessions []refreshing.Session
	err := s.run(ctx, "list sessions", func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, q, args...)
		var err error
		sessions, err = collectSessions(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sessions, nil
}

// AuthRevision implements refreshing.Store: the deferred triggers of
// migration 0006 bump it at the commit of every change it counts.
func (s *Store) AuthRevision(ctx context.Context) (int64, error) {
	var n int64
	err := s.run(ctx, "auth revision", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT n FROM auth_revision WHERE id = 1`).Scan(&n)
	})
	return n, err
}
