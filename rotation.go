package refreshing

import "time"

// The rotation and grace rule, stated once: what a presented refresh token
// earns from its session's row (Judge), and what a rotation leaves in that
// row (Rotated). Both are pure functions of their arguments. The Service
// acts on them; the stores implement the two parts it hands them in one
// statement each (RotateMatching's conditions are exactly Judge's
// VerdictRotate, RotateSession's grace bookkeeping is exactly Rotated), and
// internal/storetest runs a table of cases through these functions and
// through both stores and compares.

// Standing says where a presented token stands in its session's chain.
type Standing int

// Standings of a presented token.
const (
	StandingNone    Standing = iota // not a token of this session (or too old to recognise)
	StandingLive                    // the live token: its generation is the session's and its hash TokenHash
	StandingRetired                 // a genuine token the session retired (an earlier generation)
)

// Presentation is a refresh token as the rule sees it: where it stands in
// its session's chain, its generation, and what came with it.
type Presentation struct {
	Standing   Standing
	Generation int64
	ClientID   string // the OAuth client presenting it ("" on /api)
	DPoPJKT    string // the thumbprint of the request's DPoP proof key ("" for none)
}

// Verdict is what the rule decides of a presented refresh token.
type Verdict int

// Verdicts, in the order Judge tries them: the refusals first, each before
// anything is written, then what an exchange writes.
const (
	VerdictUnknown      Verdict = iota // not a token of this session: refused as any unknown token
	VerdictWrongClient                 // the session is bound to another client (RFC 6749 section 6)
	VerdictDPoPRequired                // the session is bound to a DPoP key and no proof came (RFC 9449 section 5)
	VerdictDPoPMismatch                // the session is bound to another DPoP key than the proof's
	VerdictRevoked                     // the session was revoked
	VerdictExpired                     // the session is past its absolute expiry
	VerdictIdle                        // the session was idle for the idle timeout or longer
	VerdictRotate                      // the live token, rotation on: swap in its successor (RotateSession, RotateMatching)
	VerdictKeep                        // the live token, rotation off: the same token goes on (TouchSession)
	VerdictGrace                       // a retired token within the grace window: hand out the live one (TouchSession)
	VerdictReuse                       // a retired token after the window: theft, the session is revoked
)

// String returns the verdict's name, for test failures.
func (v Verdict) String() string {
	names := [...]string{"unknown", "wrong client", "DPoP proof required", "DPoP key mismatch", "revoked",
		"expired", "idle", "rotate", "keep", "grace", "reuse"}
	if v < 0 || int(v) >= len(names) {
		return "verdict?"
	}
	return names[v]
}

// Judge applies the rotation and grace rule to token p presented for
// session sess at now under st. A token that is not the session's is
// unknown; then the bindings (client, DPoP key) are checked, then the
// session's state (revoked, expired, idle); a live token is then rotated
// (kept when rotation is off), and a retired one served within the reuse
// grace window (see Session.retiredWithin for which retired tokens the row
// can vouch for) and taken for theft after it. The user's state (blocked,
// deleted) is the caller's to check: blocking a user revokes their sessions
// anyway.
func Judge(sess *Session, p Presentation, now time.Time, st Settings) Verdict {
	switch {
	case p.Standing == StandingNone:
		return VerdictUnknown
	case sess.ClientID != "" && sess.ClientID != p.ClientID:
		return VerdictWrongClient
	case sess.DPoPJKT != "" && p.DPoPJKT == "":
		return VerdictDPoPRequired
	case sess.DPoPJKT != "" && sess.DPoPJKT != p.DPoPJKT:
		return VerdictDPoPMismatch
	case sess.Revoked():
		return VerdictRevoked
	case sess.expiredAt(now):
		return VerdictExpired
	case sess.idleAt(now, st):
		return VerdictIdle
	case p.Standing == StandingLive && !st.Rotation:
		return VerdictKeep
	case p.Standing == StandingLive:
		return VerdictRotate
	case sess.retiredWithin(p.Generation, now, st.ReuseGrace):
		return VerdictGrace
	}
	return VerdictReuse
}

// Rotated returns sess as rotation r leaves it: the live hash becomes
// PrevHash and r.NewHash the live one, Generation goes up by one, RotatedAt
// and LastActivity become r.At, and the grace bookkeeping (GraceGeneration,
// GraceSince: the run of tokens retired within the window) is
//   - kept if GraceSince is at or after r.GraceFrom (the run goes on);
//   - otherwise, if the last rotation (RotatedAt) is at or after
//     r.GraceFrom, the token it retired starts the run: Generation-1 and
//     RotatedAt, as they were;
//   - otherwise the token this rotation retires starts it: Generation, as
//     it was, and r.At.
//
// A zero time compares as never at or after anything (SQL's NULL). Whether
// the rotation may happen at all is Judge's business.
func Rotated(sess Session, r Rotation) Session {
	atOrAfter := func(t, from time.Time) bool { return !t.IsZero() && !from.IsZero() && !t.Before(from) }
	switch {
	case atOrAfter(sess.GraceSince, r.GraceFrom):
	case atOrAfter(sess.RotatedAt, r.GraceFrom):
		sess.GraceGeneration, sess.GraceSince = sess.Generation-1, sess.RotatedAt
	default:
		sess.GraceGeneration, sess.GraceSince = sess.Generation, r.At
	}
	sess.Generation, sess.PrevHash, sess.TokenHash = sess.Generation+1, sess.TokenHash, r.NewHash
	sess.RotatedAt, sess.LastActivity = r.At, r.At
	return sess
}

// NewRotation returns the rotation of session sid from generation gen to
// the token whose hash is newHash, at now under st: the Rotation
// RotateSession is given once Judge returned VerdictRotate.
func NewRotation(sid string, gen int64, newHash []byte, now time.Time, st Settings) Rotation {
	return Rotation{SessionID: sid, Generation: gen, NewHash: newHash, At: now, GraceFrom: now.Add(-st.ReuseGrace)}
}

// NewMatchingRotation returns the MatchingRotation under which
// RotateMatching rotates session sid exactly when Judge would return
// VerdictRotate for p (a token whose hash is tokenHash; its Standing is the
// store's to find) at now under st with rotation on. It is how the Service
// asks the store to apply the rule without reading the session first.
func NewMatchingRotation(sid string, p Presentation, tokenHash, newHash []byte, now time.Time, st Settings) MatchingRotation {
	r := MatchingRotation{
		Rotation:  NewRotation(sid, p.Generation, newHash, now, st),
		TokenHash: tokenHash,
		ClientID:  p.ClientID,
		DPoPJKT:   p.DPoPJKT,
	}
	if st.RefreshIdle > 0 {
		r.IdleAfter = now.Add(-st.RefreshIdle)
	}
	return r
}

// The session row's state as the rule reads it.

// Revoked reports whether the session has been revoked.
func (s *Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// Active reports whether the session can still be used at now under settings:
// not revoked, not past its absolute expiry, and not idle for longer than the
// idle timeout.
func (s *Session) Active(now time.Time, st Settings) bool {
	return !s.Revoked() && !s.expiredAt(now) && !s.idleAt(now, st)
}

// expiredAt reports whether the session is past its absolute expiry at now.
func (s *Session) expiredAt(now time.Time) bool {
	return !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt)
}

// idleAt reports whether the session was idle for the idle timeout of st
// or longer at now.
func (s *Session) idleAt(now time.Time, st Settings) bool {
	return st.RefreshIdle > 0 && now.Sub(s.LastActivity) >= st.RefreshIdle
}

// retiredWithin reports whether the token of generation gen, one this
// session retired, was retired at most grace before now, as far as the
// session tells: exactly for the last retired token, and otherwise through
// GraceGeneration and GraceSince, which may leave a token retired within
// the window out (a run of rotations longer than the window), never the
// reverse.
func (s *Session) retiredWithin(gen int64, now time.Time, grace time.Duration) bool {
	if gen < 0 || gen >= s.Generation {
		return false
	}
	if gen == s.Generation-1 && !s.RotatedAt.IsZero() && now.Sub(s.RotatedAt) <= grace {
		return true
	}
	return !s.GraceSince.IsZero() && gen >= s.GraceGeneration && now.Sub(s.GraceSince) <= grace
}
