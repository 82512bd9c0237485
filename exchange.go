package refreshing

// The exchange of a refresh token, top to bottom (docs/layout.md draws the
// whole walk, from the HTTP handler to the store and back): Exchange has
// locate (token.go) parse the token once and find its session, then
// exchangeLive rotates a live token with one store write
// (Store.RotateMatching, the conditions of Judge's VerdictRotate); only when
// that write answers ErrStale does exchangeOnce read the session with its
// user and act on Judge's verdict (rotation.go). recordExchange, deferred,
// tells the observer and the audit log from what the walk loaded, reading
// nothing. No step calls back into one above it.

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Outcome says how an exchange ended; metrics and the audit log use it.
type Outcome string

// Exchange outcomes.
const (
	OutcomeRotated       Outcome = "rotated"        // a new token replaced the presented one
	OutcomeKept          Outcome = "kept"           // rotation is off: the same token goes on
	OutcomeGrace         Outcome = "grace"          // a just-retired token, within the grace window
	OutcomeReuseDetected Outcome = "reuse_detected" // a retired token after the window: session revoked
	OutcomeExpired       Outcome = "expired"        // past its absolute or idle expiry
	OutcomeRevoked       Outcome = "revoked"        // the session was revoked
	OutcomeInvalid       Outcome = "invalid"        // unknown or malformed
)

// ExchangeError is the error of a failed exchange: it is ErrInvalidToken
// (errors.Is) and says why in Outcome.
type ExchangeError struct {
	Outcome Outcome
	dpop    error // ErrDPoPProofRequired or ErrDPoPKeyMismatch, or nil
}

// Error implements error.
func (e *ExchangeError) Error() string { return "invalid refresh token: " + string(e.Outcome) }

// Is makes an ExchangeError match ErrInvalidToken, and a refusal for want
// of the right DPoP proof ErrDPoPProofRequired or ErrDPoPKeyMismatch.
func (e *ExchangeError) Is(target error) bool {
	return target == ErrInvalidToken || (e.dpop != nil && target == e.dpop)
}

// ExchangeOutcome returns the outcome err reports, OutcomeRotated for nil,
// and "" for errors that are not about the token (storage faults).
func ExchangeOutcome(err error) Outcome {
	var ee *ExchangeError
	switch {
	case err == nil:
		return OutcomeRotated
	case errors.As(err, &ee):
		return ee.Outcome
	}
	return ""
}

func invalid(o Outcome) error { return &ExchangeError{Outcome: o} }

// refusal returns the error of a verdict that refuses a token.
func refusal(v Verdict) error {
	switch v {
	case VerdictDPoPRequired:
		return &ExchangeError{Outcome: OutcomeInvalid, dpop: ErrDPoPProofRequired}
	case VerdictDPoPMismatch:
		return &ExchangeError{Outcome: OutcomeInvalid, dpop: ErrDPoPKeyMismatch}
	case VerdictRevoked:
		return invalid(OutcomeRevoked)
	case VerdictExpired, VerdictIdle:
		return invalid(OutcomeExpired)
	}
	return invalid(OutcomeInvalid) // unknown, or bound to another client
}

// exchanged is what an exchange learned on its way, for its record
// (recordExchange): the settings it read and the session and user it was
// about, once loaded, so that the record needs no read of its own.
type exchanged struct {
	st   *Settings
	sess *Session
	user *User
}

// Exchange trades a refresh token for a new access token and the refresh
// token to use next (the successor when rotation is on, the same token when
// off). The rules, in the contract's words:
//   - a retired token presented again within the reuse grace window of its
//     retirement succeeds and yields the live token, so racing tabs all keep
//     a working token (however many rotations happened in the window);
//   - a retired token presented after the window revokes the whole session
//     (reason reuse_detected);
//   - expired (absolute or idle) or revoked sessions, blocked users and
//     tokens bound to another client are refused.
//
// Judge states them as one function. Every refusal is an *ExchangeError,
// which errors.Is ErrInvalidToken.
func (s *Service) Exchange(ctx context.Context, token string, ci ClientInfo) (g *Grant, err error) {
	var x exchanged
	defer func() { s.recordExchange(ctx, &x, g, err, ci) }()
	p, ok, err := s.locate(ctx, token)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalid(OutcomeInvalid)
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	x.st = &st
	if st.Rotation {
		// The common case first: the live token of an active session,
		// rotated by one write without reading the session beforehand.
		if g, err := s.exchangeLive(ctx, p, st, ci, &x); !errors.Is(err, ErrStale) {
			return g, err
		}
	}
	// A lost compare-and-swap means another request rotated the token
	// between our read and our write: read again and decide again (the
	// second read sees the token as retired, inside the grace window).
	for attempt := 0; ; attempt++ {
		g, err := s.exchangeOnce(ctx, p, st, ci, &x)
		if errors.Is(err, ErrStale) {
			if attempt < 3 {
				continue
			}
			// Still contended after several rounds: ask the client to retry.
			return nil, fmt.Errorf("%w: session %s kept changing", ErrBusy, p.sid)
		}
		return g, err
	}
}

// exchangeLive exchanges token p if Judge would rotate it, with one store
// write (Store.RotateMatching): the store compares the token's hash, checks
// the conditions of VerdictRotate and swaps in the successor's hash in one
// statement. It returns ErrStale when any condition fails, whatever the
// reason; exchangeOnce then reads the session and tells which (a retired
// token within the grace window, theft, expiry, revocation, or a token that
// is no token at all).
func (s *Service) exchangeLive(ctx context.Context, p presented, st Settings, ci ClientInfo, x *exchanged) (*Grant, error) {
	now := s.clock()
	next := nextToken(s.chainKey, p.sid, p.gen, p.canon)
	r := NewMatchingRotation(p.sid, Presentation{Generation: p.gen, ClientID: ci.ClientID, DPoPJKT: ci.DPoPJKT},
		hashToken(p.canon), hashToken(next), now, st)
	sess, err := s.store.RotateMatching(ctx, r)
	if err != nil {
		if errors.Is(err, ErrStale) {
			return nil, ErrStale
		}
		return nil, fmt.Errorf("rotate session: %w", err)
	}
	x.sess = sess
	// What the answer says of the user may be as old as a change another
	// process made authRevisionBound ago, as for Authenticate.
	u, err := s.cachedUser(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid(OutcomeRevoked) // deleted since, with their sessions
	}
	if err != nil {
		return nil, err
	}
	x.user = u
	if u.Blocked {
		// Blocking revokes every session, so this is a user blocked by
		// other means (an import): the successor is never handed out.
		return nil, invalid(OutcomeRevoked)
	}
	access, exp, err := s.sign(u, sess, now, st, ci.DPoPJKT)
	if err != nil {
		return nil, err
	}
	return &Grant{AccessToken: access, AccessExpiresAt: exp, RefreshToken: next, User: u, Session: sess, Outcome: OutcomeRotated}, nil
}

// cachedUser returns user id as the authentication cache remembers it,
// reading it if need be.
func (s *Service) cachedUser(ctx context.Context, id int64) (*User, error) {
	if u, ok := s.auth.user(ctx, s.store, id); ok {
		return u, nil
	}
	epoch, read := s.auth.epoch.Load(), time.Now()
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	s.auth.putUser(u, read, epoch)
	return u, nil
}

// exchangeOnce reads the session token p names, with its user, and does
// what Judge decides: refuse, rotate (a compare-and-swap: ErrStale when it
// lost), keep, serve the live token within the grace window, or revoke the
// session for reuse.
func (s *Service) exchangeOnce(ctx context.Context, p presented, st Settings, ci ClientInfo, x *exchanged) (*Grant, error) {
	// The user comes with the session (a deleted user takes its sessions
	// with it); it is looked at only once the token proved genuine.
	sess, u, err := s.store.SessionWithUser(ctx, p.sid)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid(OutcomeInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	standing, live := s.match(sess, p.gen, p.canon)
	if standing == StandingNone {
		return nil, invalid(OutcomeInvalid) // not the session's: nothing of it to record
	}
	x.sess, x.user = sess, u
	now := s.clock()
	v := Judge(sess, Presentation{Standing: standing, Generation: p.gen, ClientID: ci.ClientID, DPoPJKT: ci.DPoPJKT}, now, st)
	if v < VerdictRotate {
		return nil, refusal(v)
	}
	if u.Blocked {
		return nil, invalid(OutcomeRevoked)
	}

	next, outcome := p.canon, OutcomeKept
	switch v {
	case VerdictKeep:
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			return nil, s.storeErr("touch session", err)
		}
	case VerdictRotate:
		next, outcome = nextToken(s.chainKey, sess.ID, p.gen, p.canon), OutcomeRotated
		r := NewRotation(sess.ID, p.gen, hashToken(next), now, st)
		if err := s.store.RotateSession(ctx, r); err != nil {
			return nil, s.storeErr("rotate session", err)
		}
		*sess = Rotated(*sess, r)
	case VerdictGrace:
		if live == "" {
			return nil, invalid(OutcomeInvalid) // the chain key changed: cannot serve it
		}
		next, outcome = live, OutcomeGrace
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			return nil, s.storeErr("touch session", err)
		}
	default: // VerdictReuse: a token retired before the grace window, theft
		if err := s.store.RevokeSession(ctx, sess.ID, ReasonReuseDetected, now); err != nil {
			return nil, fmt.Errorf("revoke reused session: %w", err)
		}
		s.audit(ctx, AuditEvent{Type: AuditReuseDetected, UserID: sess.UserID, SessionID: sess.ID, IP: ci.IP, UserAgent: ci.UserAgent,
			Detail: "session started from " + sess.IP + "; retired token presented from " + ci.IP + "; session revoked"})
		return nil, invalid(OutcomeReuseDetected)
	}
	if outcome != OutcomeRotated {
		sess.LastActivity = now
	}
	access, exp, err := s.sign(u, sess, now, st, ci.DPoPJKT)
	if err != nil {
		return nil, err
	}
	return &Grant{AccessToken: access, AccessExpiresAt: exp, RefreshToken: next, User: u, Session: sess, Outcome: outcome}, nil
}

// storeErr passes ErrStale through for a retry, and wraps anything else.
func (s *Service) storeErr(op string, err error) error {
	if errors.Is(err, ErrStale) || errors.Is(err, ErrNotFound) {
		return ErrStale
	}
	return fmt.Errorf("%s: %w", op, err)
}

// recordExchange tells the observer how an exchange ended, and records it
// in the audit log if it is of note:
//   - a refusal for a known session (expired, revoked, blocked user), with
//     the session and user the exchange loaded (an imported token's too);
//   - a retired token served within the grace window (racing tabs, or a
//     client retrying after a lost answer);
//   - a routine exchange (rotated, or kept with rotation off) only with the
//     AuditExchanges setting. Each is already on record in its session
//     (LastActivity, and Generation counts the rotations), and logging every
//     one costs a third of an exchange's work and a row per client per
//     access-token lifetime: 100 million rows a day for a million sessions
//     with 15-minute access tokens.
//
// Unknown and malformed tokens are not recorded (anyone can send garbage,
// which would only flood the log); reuse is recorded where it is detected,
// with both addresses. Recording reads nothing: x holds what it needs.
func (s *Service) recordExchange(ctx context.Context, x *exchanged, g *Grant, err error, ci ClientInfo) {
	s.observeExchange(g, err)
	o := ExchangeOutcome(err)
	if err == nil && g != nil {
		if g.Outcome != "" {
			o = g.Outcome
		}
		if (o == OutcomeRotated || o == OutcomeKept) && (x.st == nil || !x.st.AuditExchanges) {
			return
		}
		s.audit(ctx, AuditEvent{Type: AuditExchange, UserID: g.User.ID, SessionID: g.sessionID(), IP: ci.IP, UserAgent: ci.UserAgent, Detail: string(o)})
		return
	}
	if o == "" || o == OutcomeInvalid || o == OutcomeReuseDetected {
		return
	}
	e := AuditEvent{Type: AuditExchangeFailed, IP: ci.IP, UserAgent: ci.UserAgent, Detail: string(o)}
	if x.sess != nil {
		e.SessionID, e.UserID = x.sess.ID, x.sess.UserID
	}
	s.audit(ctx, e)
}

// sessionID returns the id of the grant's session, or "".
func (g *Grant) sessionID() string {
	if g == nil || g.Session == nil {
		return ""
	}
	return g.Session.ID
}

// sessionOf returns the session a refresh token genuinely belongs to (its
// live, previous or an older token), or nil if it belongs to none.
func (s *Service) sessionOf(ctx context.Context, token string) (*Session, error) {
	p, ok, err := s.locate(ctx, token)
	if err != nil || !ok {
		return nil, err
	}
	sess, err := s.store.Session(ctx, p.sid)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	if m, _ := s.match(sess, p.gen, p.canon); m == StandingNone {
		return nil, nil
	}
	return sess, nil
}

// Revoke ends the session a refresh token belongs to. Unknown, malformed and
// already revoked tokens succeed silently (nothing is revealed); a storage
// failure is an error, never a false success.
func (s *Service) Revoke(ctx context.Context, token string) error {
	sess, err := s.sessionOf(ctx, token)
	if err != nil || sess == nil || sess.Revoked() {
		return err
	}
	if err := s.store.RevokeSession(ctx, sess.ID, ReasonLogout, s.clock()); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("revoke session: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditRevoke, UserID: sess.UserID, SessionID: sess.ID, Detail: "refresh token revoked"})
	return nil
}

// Sessions lists the caller's active sessions, most recently active first.
func (s *Service) Sessions(ctx context.Context, p *Principal) ([]Session, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	all, err := s.store.UserSessions(ctx, p.User.ID, now)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	active := all[:0]
	for _, sess := range all {
		if sess.Active(now, st) {
			active = append(active, sess)
		}
	}
	return active, nil
}

// RevokeOwnSession ends one of the caller's sessions. Another user's session
// id, or an unknown one, is ErrNotFound.
func (s *Service) RevokeOwnSession(ctx context.Context, p *Principal, id string) error {
	sess, err := s.store.Session(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && sess.UserID != p.User.ID) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("load session: %w", err)
	}
	if err := s.store.RevokeSession(ctx, id, ReasonLogout, s.clock()); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditRevoke, UserID: p.User.ID, SessionID: id, Detail: "signed out one session"})
	return nil
}

// Scopes of RevokeOwnSessions.
const (
	ScopeOthers = "others" // every session but the caller's own
	ScopeAll    = "all"    // every session, the caller's own included
)

// RevokeOwnSessions signs the caller out of every other device (ScopeOthers)
// or of all (ScopeAll). It returns how many sessions it ended.
func (s *Service) RevokeOwnSessions(ctx context.Context, p *Principal, scope string) (int, error) {
	r := Revocation{UserID: p.User.ID, Reason: ReasonLogout, At: s.clock()}
	switch scope {
	case ScopeOthers:
		r.Except, r.Reason = p.SessionID, ReasonSignOutOthers
	case ScopeAll:
	default:
		return 0, Invalid("scope", `scope must be "others" or "all"`)
	}
	n, err := s.store.RevokeSessions(ctx, r)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditRevoke, UserID: p.User.ID, SessionID: p.SessionID, Detail: fmt.Sprintf("signed out of %s sessions (%d)", scope, n)})
	return n, nil
}

// Logout is the input of Logout (Strapi 5's /api/auth/logout).
type Logout struct {
	Principal    *Principal // from a bearer access token, or nil
	RefreshToken string     // from the body or the cookie, or ""
	DeviceID     string     // revoke that device's sessions
	All          bool       // revoke every session of the user
}

// Logout ends the current session (the access token's, or the refresh
// token's), the sessions of one device, or all of the user's. It returns
// ErrUnauthenticated when neither credential identifies a user. A refresh
// token that is unknown or already revoked, alone, is a success: its session
// is already ended. It succeeds only when what was asked is ended: a dead
// refresh token cannot end a device's or all sessions (ErrInvalidToken),
// and an access token that names no session (a Strapi-shaped HS256 token)
// cannot end "the current session" (a FieldError asking for more).
func (s *Service) Logout(ctx context.Context, l Logout) error {
	if err := checkText("deviceId", l.DeviceID, false, MaxTextLen); err != nil {
		return err
	}
	var userID int64
	current := ""
	switch {
	case l.Principal != nil:
		userID, current = l.Principal.User.ID, l.Principal.SessionID
	case l.RefreshToken != "":
		sess, err := s.sessionOf(ctx, l.RefreshToken)
		if err != nil {
			return err
		}
		if sess == nil || sess.Revoked() {
			if l.All || l.DeviceID != "" {
				return fmt.Errorf("%w: the refresh token names no live session", ErrInvalidToken)
			}
			return nil
		}
		userID, current = sess.UserID, sess.ID
	default:
		return ErrUnauthenticated
	}
	if !l.All && l.DeviceID == "" && current == "" {
		return Invalid("refreshToken", `the access token names no session: send the refresh token, a deviceId or scope "all"`)
	}
	now := s.clock()
	var err error
	switch {
	case l.All:
		_, err = s.store.RevokeSessions(ctx, Revocation{UserID: userID, Reason: ReasonLogout, At: now})
	case l.DeviceID != "":
		_, err = s.store.RevokeSessions(ctx, Revocation{UserID: userID, DeviceID: l.DeviceID, Reason: ReasonLogout, At: now})
	case current != "":
		err = s.store.RevokeSession(ctx, current, ReasonLogout, now)
		if errors.Is(err, ErrNotFound) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditRevoke, UserID: userID, SessionID: current, Detail: "logout"})
	return nil
}
