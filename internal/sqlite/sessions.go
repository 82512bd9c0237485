package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// sessionColumns is the column list scanSession reads, in its order.
const sessionColumns = `id, user_id, client_id, device_id, description, user_agent, ip, created_at, last_activity,
	expires_at, revoked_at, revoke_reason, generation, token_hash, prev_hash, rotated_at, grace_generation, grace_since, dpop_jkt, auth_time`

// scanSession reads one row of sessionColumns.
func scanSession(sc scanner, ss *refreshing.Session) error {
	var r sessionRow
	if err := sc.Scan(r.dest(ss)...); err != nil {
		return err
	}
	r.into(ss)
	return nil
}

// sessionRow holds the columns of sessionColumns that need converting.
type sessionRow struct {
	created, lastActivity     int64
	expires, revoked, rotated sql.NullInt64
	graceGeneration, grace    sql.NullInt64
	authTime                  sql.NullInt64
	tokenHash, prevHash       []byte
}

// dest returns the scan destinations of a row of sessionColumns.
func (r *sessionRow) dest(ss *refreshing.Session) []any {
	return []any{&ss.ID, &ss.UserID, &ss.ClientID, &ss.DeviceID, &ss.Description, &ss.UserAgent, &ss.IP,
		&r.created, &r.lastActivity, &r.expires, &r.revoked, &ss.RevokeReason, &ss.Generation,
		&r.tokenHash, &r.prevHash, &r.rotated, &r.graceGeneration, &r.grace, &ss.DPoPJKT, &r.authTime}
}

// into stores the converted columns in ss, once scanned.
func (r *sessionRow) into(ss *refreshing.Session) {
	ss.CreatedAt, ss.LastActivity = fromMicros(r.created), fromMicros(r.lastActivity)
	ss.ExpiresAt, ss.RevokedAt, ss.RotatedAt = fromNullMicros(r.expires), fromNullMicros(r.revoked), fromNullMicros(r.rotated)
	ss.TokenHash, ss.PrevHash = r.tokenHash, r.prevHash
	ss.GraceGeneration, ss.GraceSince = r.graceGeneration.Int64, fromNullMicros(r.grace)
	if ss.AuthTime = fromNullMicros(r.authTime); ss.AuthTime.IsZero() {
		ss.AuthTime = ss.CreatedAt // NULL: the sign-in (migration 0016)
	}
}

// scanSessions reads every row of rows, which select sessionColumns.
func scanSessions(rows *sql.Rows) ([]refreshing.Session, error) {
	defer rows.Close()
	var out []refreshing.Session
	for rows.Next() {
		var ss refreshing.Session
		if err := scanSession(rows, &ss); err != nil {
			return nil, err
		}
		out = append(out, ss)
	}
	return out, rows.Err()
}

// nullBytes stores an empty hash as NULL, so that a nil PrevHash stays nil.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
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
func graceGeneration(ss *refreshing.Session) any {
	if ss.GraceSince.IsZero() {
		return nil
	}
	return ss.GraceGeneration
}

// authTime stores a session's AuthTime, NULL when it is the session's
// start (migration 0016).
func authTime(ss *refreshing.Session) any {
	if ss.AuthTime.IsZero() || ss.AuthTime.Equal(ss.CreatedAt) {
		return nil
	}
	return micros(ss.AuthTime)
}

// notNullBytes stores a nil hash as an empty BLOB, for NOT NULL columns.
func notNullBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// CreateSession implements refreshing.Store. The new session is never among
// those the limit evicts: it takes one of the limit's places and the others
// go to the most recently active.
func (s *Store) CreateSession(ctx context.Context, ss *refreshing.Session, limit int) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, ss.UserID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %d: %w", ss.UserID, refreshing.ErrNotFound)
		}
		if err != nil {
			return classify(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ss.ID, ss.UserID, ss.ClientID, ss.DeviceID, ss.Description, ss.UserAgent, ss.IP,
			micros(ss.CreatedAt), micros(ss.LastActivity), nullMicros(ss.ExpiresAt), nullMicros(ss.RevokedAt),
			ss.RevokeReason, ss.Generation, notNullBytes(ss.TokenHash), nullBytes(ss.PrevHash), nullMicros(ss.RotatedAt),
			graceGeneration(ss), nullMicros(ss.GraceSince), ss.DPoPJKT, authTime(ss),
		); err != nil {
			return classify(err)
		}
		at := micros(ss.CreatedAt)
		if ss.DeviceID != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
				WHERE user_id = ? AND device_id = ? AND revoked_at IS NULL AND id <> ?`,
				at, refreshing.ReasonReplaced, ss.UserID, ss.DeviceID, ss.ID); err != nil {
				return classify(err)
			}
		}
		if limit > 0 {
			// Keep the limit-1 most recently active of the others that
			// are live at ss.CreatedAt; revoke the rest of those.
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
				WHERE id IN (
					SELECT id FROM sessions
					WHERE user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND id <> ?
					ORDER BY last_activity DESC, id DESC
					LIMIT -1 OFFSET ?)`,
				at, refreshing.ReasonSessionLimit, ss.UserID, at, ss.ID, limit-1); err != nil {
				return classify(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// lookupCtx is the context of a lookup by key on the hot paths: ctx's values
// without its cancellation, which the caller checked just before. Such a
// lookup takes microseconds, and a cancellable context costs each statement a
// goroutine in database/sql and another in the driver to watch it.
func lookupCtx(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// Session implements refreshing.Store.
func (s *Store) Session(ctx context.Context, id string) (*refreshing.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: session: %w", err)
	}
	var ss refreshing.Session
	err := scanSession(s.sessionByID.QueryRowContext(lookupCtx(ctx), id), &ss)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite: session: %w", refreshing.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("sqlite: session: %w", classify(err))
	}
	return &ss, nil
}

// sessionWithUserQuery reads a session and its user in one statement (the
// columns of sessionColumns, then those of userColumns).
var sessionWithUserQuery = `SELECT ` + qualified("s", sessionColumns) + `, ` + qualified("u", userColumns) + `
	FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`

// qualified prefixes each column of the list cols with table.
func qualified(table, cols string) string {
	fields := strings.Split(cols, ",")
	for i, f := range fields {
		fields[i] = table + "." + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// SessionWithUser implements refreshing.Store with one statement, which reads
// both rows at one moment (and in one read transaction instead of two).
func (s *Store) SessionWithUser(ctx context.Context, id string) (*refreshing.Session, *refreshing.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlite: session with user: %w", err)
	}
	var (
		ss refreshing.Session
		u  refreshing.User
		sr sessionRow
		ur userRow
	)
	err := s.sessionWithUser.QueryRowContext(lookupCtx(ctx), id).Scan(append(sr.dest(&ss), ur.dest(&u)...)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil, fmt.Errorf("sqlite: session with user: %w", refreshing.ErrNotFound)
	case err != nil:
		return nil, nil, fmt.Errorf("sqlite: session with user: %w", classify(err))
	}
	sr.into(&ss)
	ur.into(&u)
	return &ss, &u, nil
}

// userSessionsQuery lists a user's live sessions (UserSessions) along the
// index on (user_id, last_activity DESC, id DESC).
const userSessionsQuery = `SELECT ` + sessionColumns + ` FROM sessions
	WHERE user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
	ORDER BY last_activity DESC, id DESC`

// The writer's prepared statements of the hot paths.
const (
	touchQuery = `UPDATE sessions SET last_activity = ?
		WHERE id = ? AND revoked_at IS NULL AND last_activity < ?`
	// sessionStateQuery tells why an update matched nothing: no row means
	// no session, a row tells whether it is revoked.
	sessionStateQuery = `SELECT revoked_at IS NOT NULL FROM sessions WHERE id = ?`
)

var (
	rotateQuery = `UPDATE sessions
		SET prev_hash = token_hash, token_hash = ?1, generation = generation + 1, rotated_at = ?2, last_activity = ?2,
		` + graceSet("?2", "?5") + `
		WHERE id = ?3 AND generation = ?4 AND revoked_at IS NULL`
	// rotateMatchingQuery is RotateMatching's swap: rotateQuery with every
	// condition of a live token's exchange in its WHERE clause, returning
	// the session as rotated.
	rotateMatchingQuery = `UPDATE sessions
		SET prev_hash = token_hash, token_hash = ?1, generation = generation + 1, rotated_at = ?2, last_activity = ?2,
		` + graceSet("?2", "?8") + `
		WHERE id = ?3 AND generation = ?4 AND token_hash = ?5 AND revoked_at IS NULL
			AND (expires_at IS NULL OR expires_at > ?2) AND last_activity > ?6
			AND (client_id = '' OR client_id = ?7)
			AND (dpop_jkt = '' OR dpop_jkt = ?9)
		RETURNING ` + sessionColumns
)

// RotateMatching implements refreshing.Store with one statement, which the
// writer runs in its batch: the swap, and the row it wrote.
func (s *Store) RotateMatching(ctx context.Context, r refreshing.MatchingRotation) (*refreshing.Session, error) {
	var ss refreshing.Session
	idle := int64(math.MinInt64)
	if !r.IdleAfter.IsZero() {
		idle = micros(r.IdleAfter)
	}
	err := s.w.doAtomic(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := scanSession(tx.StmtContext(ctx, s.rotateMatching).QueryRowContext(ctx,
			notNullBytes(r.NewHash), micros(r.At), r.SessionID, r.Generation, notNullBytes(r.TokenHash), idle, r.ClientID,
			nullMicros(r.GraceFrom), r.DPoPJKT), &ss)
		if errors.Is(err, sql.ErrNoRows) {
			return refreshing.ErrStale
		}
		return classify(err)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: rotate matching: %w", err)
	}
	return &ss, nil
}

// RotateSession implements refreshing.Store. Exactly one of many concurrent
// callers wins because the generation check and the swap are one UPDATE, and
// the writer runs one transaction at a time.
func (s *Store) RotateSession(ctx context.Context, r refreshing.Rotation) error {
	if err := s.w.doAtomic(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.rotateTx(ctx, tx, r) }); err != nil {
		return fmt.Errorf("sqlite: rotate session: %w", err)
	}
	return nil
}

// rotateTx is RotateSession within tx. It leaves tx usable whatever it
// returns, so that a batch of rotations could share one transaction.
func (s *Store) rotateTx(ctx context.Context, tx *sql.Tx, r refreshing.Rotation) error {
	res, err := tx.StmtContext(ctx, s.rotate).ExecContext(ctx, notNullBytes(r.NewHash), micros(r.At), r.SessionID, r.Generation,
		nullMicros(r.GraceFrom))
	if err != nil {
		return classify(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := s.sessionRevoked(ctx, tx, r.SessionID); err != nil {
		return err
	}
	return refreshing.ErrStale
}

// sessionRevoked reports whether session id is revoked, or ErrNotFound.
func (s *Store) sessionRevoked(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	var revoked bool
	err := tx.StmtContext(ctx, s.sessionState).QueryRowContext(ctx, id).Scan(&revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, refreshing.ErrNotFound
	case err != nil:
		return false, classify(err)
	}
	return revoked, nil
}

// SetAuthTime implements refreshing.Store.
func (s *Store) SetAuthTime(ctx context.Context, id string, at time.Time) error {
	err := s.w.doAtomic(ctx, func(ctx context.Context, tx *sql.Tx) error {
		us := micros(at)
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET auth_time = ?1, last_activity = MAX(last_activity, ?1)
			WHERE id = ?2 AND revoked_at IS NULL`, us, id)
		if err != nil {
			return classify(err)
		}
		n, err := res.RowsAffected()
		if err != nil || n > 0 {
			return err
		}
		if _, err := s.sessionRevoked(ctx, tx, id); err != nil {
			return err
		}
		return refreshing.ErrStale
	})
	if err != nil {
		return fmt.Errorf("sqlite: set auth time: %w", err)
	}
	return nil
}

// TouchSession implements refreshing.Store.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	err := s.w.doAtomic(ctx, func(ctx context.Context, tx *sql.Tx) error {
		us := micros(at)
		n, err := affected(tx.StmtContext(ctx, s.touch).ExecContext(ctx, us, id, us))
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		// Nothing changed: no such session, a revoked one, or activity
		// already at or after at, which is fine.
		revoked, err := s.sessionRevoked(ctx, tx, id)
		if err != nil {
			return err
		}
		if revoked {
			return refreshing.ErrStale
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: touch session: %w", err)
	}
	return nil
}

// RevokeSession implements refreshing.Store.
func (s *Store) RevokeSession(ctx context.Context, id, reason string, at time.Time) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
			WHERE id = ? AND revoked_at IS NULL`, micros(at), reason, id))
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		// Already revoked (a no-op that keeps the first reason) or absent.
		_, err = s.sessionRevoked(ctx, tx, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke session: %w", err)
	}
	return nil
}

// RevokeSessions implements refreshing.Store.
func (s *Store) RevokeSessions(ctx context.Context, r refreshing.Revocation) (int, error) {
	var n int
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		n, err = revokeSessions(ctx, tx, r)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: revoke sessions: %w", err)
	}
	return n, nil
}

// revokeSessions revokes within tx the sessions r selects and counts them.
func revokeSessions(ctx context.Context, tx *sql.Tx, r refreshing.Revocation) (int, error) {
	res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
		WHERE user_id = ? AND revoked_at IS NULL
		AND (? = '' OR id <> ?)
		AND (? = '' OR device_id = ?)`,
		micros(r.At), r.Reason, r.UserID, r.Except, r.Except, r.DeviceID, r.DeviceID)
	if err != nil {
		return 0, classify(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// UserSessions implements refreshing.Store.
func (s *Store) UserSessions(ctx context.Context, userID int64, now time.Time) ([]refreshing.Session, error) {
	rows, err := s.userSessions.QueryContext(ctx, userID, micros(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: user sessions: %w", classify(err))
	}
	out, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user sessions: %w", classify(err))
	}
	return out, nil
}

// ListSessions implements refreshing.Store. It walks the index on
// (created_at DESC, id DESC), backwards when ascending, or reads a user's
// (or an address's) sessions through their own index and sorts those, from
// the cursor on, so that a page costs about its own size.
func (s *Store) ListSessions(ctx context.Context, f refreshing.SessionFilter) ([]refreshing.Session, error) {
	var (
		where []string
		args  []any
	)
	if f.UserID != 0 {
		where = append(where, `user_id = ?`)
		args = append(args, f.UserID)
	}
	if f.Active {
		where = append(where, `revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`)
		args = append(args, micros(f.ActiveAt))
		if !f.IdleBefore.IsZero() {
			where = append(where, `last_activity > ?`)
			args = append(args, micros(f.IdleBefore))
		}
	}
	if f.Expired {
		// Past the absolute expiry, or idle since IdleBefore.
		if f.IdleBefore.IsZero() {
			where = append(where, `revoked_at IS NULL AND expires_at <= ?`)
			args = append(args, micros(f.ActiveAt))
		} else {
			where = append(where, `revoked_at IS NULL AND (expires_at <= ? OR last_activity <= ?)`)
			args = append(args, micros(f.ActiveAt), micros(f.IdleBefore))
		}
	}
	if f.Revoked {
		// Literally so, for the partial index sessions_revoked_created.
		where = append(where, `revoked_at IS NOT NULL`)
	}
	if f.IP != "" {
		where = append(where, `ip = ?`)
		args = append(args, f.IP)
	}
	if f.UserAgent != "" {
		where = append(where, `user_agent LIKE ? ESCAPE '\'`)
		args = append(args, likePattern(f.UserAgent))
	}
	cmp, dir := `<`, `DESC`
	if f.Ascending {
		cmp, dir = `>`, `ASC`
	}
	if !f.AfterCreated.IsZero() {
		where = append(where, `(created_at, id) `+cmp+` (?, ?)`)
		args = append(args, micros(f.AfterCreated), f.AfterID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	from := ` FROM sessions`
	if f.UserID == 0 && f.IP == "" && !f.Revoked {
		// Left to itself, SQLite may prefer the partial index on live
		// sessions (0004) for the state filters and sort them all.
		from += ` INDEXED BY sessions_created_id`
	}
	q := `SELECT ` + sessionColumns + from
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_at ` + dir + `, id ` + dir + ` LIMIT ?`
	rows, err := s.read.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", classify(err))
	}
	out, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", classify(err))
	}
	return out, nil
}

// AuthRevision implements refreshing.Store: the triggers of
// migration 0006 bump it.
func (s *Store) AuthRevision(ctx context.Context) (int64, error) {
	var n int64
	if err := s.read.QueryRowContext(lookupCtx(ctx), `SELECT n FROM auth_revision WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: auth revision: %w", classify(err))
	}
	return n, nil
}
