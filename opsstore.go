package refreshing

import (
	"context"
	"time"
)

// OpsStore is the part of the Store that operations need: the janitor that
// deletes sessions which ended long ago, the active-sessions gauge, the
// lease that lets one instance at a time do background work, and imports
// from another system. Like every Store method, each is atomic, is told
// every time it needs, and decides no policy. Store embeds it.
type OpsStore interface {
	// PurgeSessions deletes at most p.Limit sessions that ended before the
	// cutoffs p gives (see Purge), in one short transaction, and reports how
	// many it deleted. A p.Limit of 0 or less deletes nothing.
	PurgeSessions(ctx context.Context, p Purge) (int, error)
	// CountActiveSessions counts the unrevoked sessions whose absolute
	// expiry is after now (or never) and, when activeAfter is not zero,
	// whose LastActivity is after activeAfter.
	CountActiveSessions(ctx context.Context, now, activeAfter time.Time) (int64, error)
	// AcquireLease gives the lease called name to holder until until, if
	// nobody holds it, if holder already does (a renewal), or if the
	// previous holder's lease ended at or before now. It reports whether
	// holder holds the lease afterwards.
	AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)

	// ImportUser inserts u as CreateUser does, except that a non-zero u.ID
	// is kept (later CreateUser calls never reuse it). It returns
	// ErrConflict if u.ID, u.Email or u.Username is taken.
	ImportUser(ctx context.Context, u *User) error
	// ImportSession inserts s as CreateSession does without a limit or
	// device replacement, recording importHash, the SHA-256 of the import
	// key of the session's generation-0 token issued by another system, so
	// that SessionIDByImportHash finds it. It returns ErrConflict if s.ID or
	// importHash is taken and ErrNotFound if the user does not exist. It
	// increases AuthRevision, so that every process learns that imported
	// sessions exist (HasImportedSessions).
	ImportSession(ctx context.Context, s *Session, importHash []byte) error
}

// Purge selects the sessions OpsStore.PurgeSessions deletes: those revoked
// before RevokedBefore, those whose absolute expiry is before ExpiredBefore,
// and those last active before InactiveBefore. A zero time selects nothing
// by that criterion. The Service computes the cutoffs from its settings.
type Purge struct {
	RevokedBefore  time.Time
	ExpiredBefore  time.Time
	InactiveBefore time.Time
	Limit          int // at most this many per call
}
