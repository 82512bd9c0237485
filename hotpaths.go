package refreshing

import (
	"context"
	"time"
)

// HotPathStore holds the storage calls of the hot paths: the one write of
// an exchange (RotateMatching), the read of a session with its user
// that an access token bound to a session needs (and a refused or retired
// refresh token), both at once to spare a round trip, and the revision
// that tells when what Authenticate remembers must be read again. Store
// embeds it.
type HotPathStore interface {
	// SessionWithUser returns the session with the given id and the user
	// it belongs to, both read at one moment, or ErrNotFound if there is no
	// such session.
	SessionWithUser(ctx context.Context, id string) (*Session, *User, error)

	// RotateMatching is the exchange of a live token in one step, for a
	// caller that has not read the session: it rotates the session as
	// RotateSession does only if all of these hold at once:
	//   - its Generation is r.Generation and its TokenHash is r.TokenHash;
	//   - it is unrevoked, and its ExpiresAt is zero or after r.At;
	//   - r.IdleAfter is zero or its LastActivity is after r.IdleAfter;
	//   - its ClientID is empty or r.ClientID;
	//   - its DPoPJKT is empty or r.DPoPJKT.
	// (Whether its user is blocked is the caller's to check: blocking a
	// user revokes their sessions anyway.) It then returns the session as rotated. Otherwise it changes nothing
	// and returns ErrStale, whatever the reason (a missing session
	// included): the caller reads the session and decides, as after a lost
	// RotateSession.
	RotateMatching(ctx context.Context, r MatchingRotation) (*Session, error)

	// AuthRevision returns a number that every change which can end an
	// active session or change a user increases, in that change's own
	// transaction, whichever process makes it: a session's revocation, a
	// change of its expiry, user or client, the deletion of an unrevoked
	// session, and any update or deletion of a user. Rotations, touches and
	// new sessions leave it alone. A Service reads it a few dozen times a
	// second to know whether the sessions it remembers may have ended.
	AuthRevision(ctx context.Context) (int64, error)

	// Imported sessions (see import.go): an exchange of a token that is not
	// ours looks it up only while HasImportedSessions, as read at the
	// current AuthRevision, reports some.

	// SessionIDByImportHash returns the id of the session imported with
	// importHash, or ErrNotFound.
	SessionIDByImportHash(ctx context.Context, importHash []byte) (string, error)
	// HasImportedSessions reports whether any stored session was imported
	// (ImportSession), whatever its state.
	HasImportedSessions(ctx context.Context) (bool, error)
}

// MatchingRotation is the argument of Store.RotateMatching: a Rotation and
// the conditions under which the presented token is the session's live one
// and may be exchanged.
type MatchingRotation struct {
	Rotation
	TokenHash []byte    // SHA-256 of the presented token
	ClientID  string    // the client presenting it ("" for none)
	IdleAfter time.Time // the session must have been active after this (zero: no idle limit)
	DPoPJKT   string    // the thumbprint of the DPoP proof's key ("" for none): the session's DPoPJKT must be "" or this
}
