package refreshing

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// The operations behind the admin screens. Each one is also recorded in the
// audit log, naming the administrator the context carries (WithActor).

// Session states, as the admin screens show and filter them.
const (
	StateActive  = "active"
	StateExpired = "expired" // past its absolute expiry or idle timeout
	StateRevoked = "revoked"
)

// SessionState says whether sess is active, expired or revoked at now under st.
func SessionState(sess *Session, now time.Time, st Settings) string {
	switch {
	case sess.Revoked():
		return StateRevoked
	case sess.Active(now, st):
		return StateActive
	}
	return StateExpired
}

// SessionQuery is what the sessions screen asks for.
type SessionQuery struct {
	UserID    int64
	State     string // "", StateActive, StateExpired or StateRevoked
	IP        string
	UserAgent string
	// Oldest lists the oldest sign-ins first; newest first otherwise. The
	// order is sign-in time (CreatedAt), not last activity: see
	// Store.ListSessions.
	Oldest bool
	// Keyset cursors, at most one of them: After asks for the page after
	// that session in the listing's order, Before for the page before it
	// (the previous page). Each is the session's CreatedAt and ID.
	After, Before SessionCursor
	Limit         int // 1 to 500; 0 means 50
}

// SessionCursor is a position in the sessions listing.
type SessionCursor struct {
	CreatedAt time.Time
	ID        string
}

// IsZero reports whether c is no position (the start).
func (c SessionCursor) IsZero() bool { return c.CreatedAt.IsZero() && c.ID == "" }

// SessionPage is one page of FindSessions, in the listing's order.
type SessionPage struct {
	Sessions []Session
	// HasNext says that sessions follow the last one; HasPrev that
	// sessions precede the first one (the page was reached by a cursor).
	HasNext, HasPrev bool
}

// FindSessions lists sessions for the sessions screen and the admin API,
// newest sign-in first unless q.Oldest, one keyset page at a time in either
// direction; the page is always in the listing's order.
// The state is decided here (the idle timeout comes from the settings), and
// the Store only filters on the times it is given.
func (s *Service) FindSessions(ctx context.Context, q SessionQuery) (*SessionPage, error) {
	if err := checkText("ip", q.IP, false, 64); err != nil {
		return nil, err
	}
	if err := checkText("userAgent", q.UserAgent, false, MaxTextLen); err != nil {
		return nil, err
	}
	switch {
	case q.Limit == 0:
		q.Limit = 50
	case q.Limit < 0 || q.Limit > 500:
		return nil, Invalid("limit", "limit must be between 1 and 500")
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	if !q.After.IsZero() && !q.Before.IsZero() {
		return nil, Invalid("before", "give one page cursor at most")
	}
	// One more than asked for tells whether the listing goes on.
	f := SessionFilter{UserID: q.UserID, IP: q.IP, UserAgent: q.UserAgent, ActiveAt: now,
		Ascending: q.Oldest, AfterCreated: q.After.CreatedAt, AfterID: q.After.ID, Limit: q.Limit + 1}
	if !q.Before.IsZero() {
		f.Ascending, f.AfterCreated, f.AfterID = !q.Oldest, q.Before.CreatedAt, q.Before.ID
	}
	if st.RefreshIdle > 0 {
		f.IdleBefore = now.Add(-st.RefreshIdle)
	}
	switch q.State {
	case "":
	case StateActive:
		f.Active = true
	case StateExpired:
		f.Expired = true
	case StateRevoked:
		f.Revoked = true
	default:
		return nil, Invalid("state", "state must be active, expired or revoked")
	}
	list, err := s.store.ListSessions(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	more := len(list) > q.Limit
	if more {
		list = list[:q.Limit]
	}
	p := &SessionPage{Sessions: list, HasNext: more, HasPrev: !q.After.IsZero()}
	if !q.Before.IsZero() {
		slices.Reverse(list)
		p.HasNext, p.HasPrev = true, more
	}
	return p, nil
}

// Session returns any session by id (ErrNotFound), for administrators.
func (s *Service) Session(ctx context.Context, id string) (*Session, error) {
	sess, err := s.store.Session(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	return sess, err
}

// User returns a user by id (ErrNotFound), for administrators.
func (s *Service) User(ctx context.Context, id int64) (*User, error) {
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	return u, err
}

// FindUser resolves an email (case-insensitive) or a username to a user,
// or ErrNotFound.
func (s *Service) FindUser(ctx context.Context, identifier string) (*User, error) {
	if err := checkText("user", identifier, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	u, err := s.findUser(ctx, strings.TrimSpace(identifier))
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, ErrNotFound
	}
	return u, nil
}

// SearchUsers lists users whose email or username contains query, in id
// order after the id after, at most limit (1 to 500; 0 means 50).
func (s *Service) SearchUsers(ctx context.Context, query string, after int64, limit int) ([]User, error) {
	if err := checkText("q", query, false, MaxIdentifierLen); err != nil {
		return nil, err
	}
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > 500:
		return nil, Invalid("limit", "limit must be between 1 and 500")
	}
	users, err := s.store.SearchUsers(ctx, strings.TrimSpace(query), after, limit)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	return users, nil
}

// RevokeSessionsByID revokes each of the sessions named, as an administrator,
// and reports how many it revoked (already revoked and unknown ids are
// skipped).
func (s *Service) RevokeSessionsByID(ctx context.Context, ids []string) (int, error) {
	if len(ids) > 500 {
		return 0, Invalid("id", "at most 500 sessions at once")
	}
	n := 0
	for _, id := range ids {
		sess, err := s.store.Session(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("load session: %w", err)
		}
		if sess.Revoked() {
			continue
		}
		if err := s.RevokeSession(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}

// AdminUpdateSettings validates st as a person editing the settings screen
// would expect (ValidateForAdmin: also values that are each valid but
// together nonsense), saves it, and records what changed in the audit log.
func (s *Service) AdminUpdateSettings(ctx context.Context, st Settings) error {
	if err := st.ValidateForAdmin(); err != nil {
		return err
	}
	old, err := s.Settings(ctx)
	if err != nil {
		return err
	}
	if err := s.UpdateSettings(ctx, st); err != nil {
		return err
	}
	if d := settingsDiff(old, st); d != "" {
		s.audit(ctx, AuditEvent{Type: AuditSettingsChange, Detail: d})
	}
	return nil
}

// settingsDiff describes the fields that differ: "accessTTL 15m0s → 5m0s; ...".
func settingsDiff(a, b Settings) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var parts []string
	for i := range va.NumField() {
		x, y := va.Field(i).Interface(), vb.Field(i).Interface()
		if !reflect.DeepEqual(x, y) {
			name := va.Type().Field(i).Name
			parts = append(parts, fmt.Sprintf("%s %v → %v", strings.ToLower(name[:1])+name[1:], x, y))
		}
	}
	return strings.Join(parts, "; ")
}

// Now returns the Service's clock reading, which the admin screens use to
// tell active sessions from expired ones.
func (s *Service) Now() time.Time { return s.clock() }
