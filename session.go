package refreshing

import "time"

// Session is one sign-in on one device, carried by a refresh token.
//
// Only hashes of refresh tokens are kept: TokenHash is SHA-256 of the token
// that is live now, PrevHash that of the token it replaced (kept so that a
// racing client presenting it within the grace window can be served). The
// token chain is deterministic (see Service), so Generation tells how many
// rotations the session has seen.
type Session struct {
	ID           string // opaque, random; also embedded in the session's refresh tokens
	UserID       int64
	ClientID     string // the OAuth client it was issued to; "" for the /api endpoints
	DeviceID     string // the client's own device identifier (Strapi 5), may be ""
	Description  string
	UserAgent    string
	IP           string
	CreatedAt    time.Time
	LastActivity time.Time
	ExpiresAt    time.Time // absolute expiry; zero means never
	RevokedAt    time.Time // zero while not revoked
	RevokeReason string    // why it was revoked (see the Reason constants)

	Generation int64     // number of rotations so far; the live token is the chain's Generation-th
	TokenHash  []byte    // SHA-256 of the live refresh token
	PrevHash   []byte    // SHA-256 of the token retired by the last rotation; nil before the first
	RotatedAt  time.Time // when the last rotation happened; zero before the first

	// Every token of a generation from GraceGeneration to Generation-1 was
	// retired at GraceSince or later, so that each of them, not only the
	// last retired one, can be served within the grace window (see
	// Store.RotateSession for how a rotation keeps these). GraceSince is
	// zero before the first rotation, and for sessions last rotated
	// before migration 0008.
	GraceGeneration int64
	GraceSince      time.Time

	// AuthTime is when the user last proved who they are in this session:
	// its sign-in (CreatedAt), or a later re-authentication
	// (Service.Reauthenticate). Access tokens carry it as auth_time, and
	// max_age is measured from it (step-up). Stores never return it zero.
	AuthTime time.Time

	// DPoPJKT is the SHA-256 thumbprint (RFC 7638) of the DPoP key the
	// session's refresh tokens are bound to (RFC 9449): "" when unbound.
	DPoPJKT string
}

// Reasons recorded in Session.RevokeReason.
const (
	ReasonLogout         = "logout"          // the user signed out this session
	ReasonReuseDetected  = "reuse_detected"  // a retired refresh token was presented after the grace window
	ReasonPasswordChange = "password_change" // the user changed their password
	ReasonPasswordReset  = "password_reset"  // the password was reset with a mailed code, or set by an administrator
	ReasonBlocked        = "blocked"         // an administrator blocked the user
	ReasonDeleted        = "user_deleted"    // the user was deleted
	ReasonSessionLimit   = "session_limit"   // evicted by the per-user session limit
	ReasonReplaced       = "replaced"        // a new login from the same device id replaced it
	ReasonAdmin          = "admin"           // an administrator revoked it
	ReasonSignOutOthers  = "signed_out_elsewhere"
)

// Revoked reports whether the session has been revoked.
func (s *Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// Active reports whether the session can still be used at now under settings:
// not revoked, not past its absolute expiry, and not idle for longer than the
// idle timeout.
func (s *Session) Active(now time.Time, st Settings) bool {
	if s.Revoked() {
		return false
	}
	if !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt) {
		return false
	}
	if st.RefreshIdle > 0 && now.Sub(s.LastActivity) >= st.RefreshIdle {
		return false
	}
	return true
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
