package refreshing

import (
	"context"
	"time"
)

// Store persists users, sessions, settings and keys. Every method is atomic:
// it either fully happens or not at all, and concurrent calls behave as if run
// one after the other. A Store never decides policy (expiry, reuse, limits,
// permissions); it is told. Times are supplied by the caller, never read from
// the database clock, and survive a round trip at microsecond precision.
//
// Errors: ErrNotFound, ErrConflict and ErrStale as documented per method;
// ErrUnavailable (wrapped) when the storage cannot be reached or cannot write;
// anything else is an internal fault. internal/storetest checks this contract.
type Store interface {
	// Ping checks that the storage answers.
	Ping(ctx context.Context) error

	// OpsStore: purging ended sessions, counting live ones, leases, imports.
	OpsStore

	// HotPathStore: the exchange's one write, and a session with its user in one read.
	HotPathStore

	// The admin screens' storage: administrators and their sessions, the
	// user search, roles and the audit log.
	AdminStore
	RoleStore
	AuditStore
	// The admin API's and screens' listings, counts, tokens and deletions
	// (issue 19, adminstore.go).
	ManageStore

	// The account life cycle (mail.go): the outbox of mail and one-time codes.
	MailStore

	// CreateUser inserts u and sets u.ID. It returns ErrConflict if u.Email,
	// u.Username (compared exactly; the Service lower-cases email) or a
	// non-empty u.UsernameKey is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns the user with the given numeric id, or ErrNotFound.
	UserByID(ctx context.Context, id int64) (*User, error)
	// UserByEmail returns the user whose Email equals email, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UserByUsername returns the user whose Username equals username, or ErrNotFound.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// UpdateUser stores every field of u (matched by u.ID) and, if revoke is
	// not nil, revokes the user's sessions as revoke says, in the same
	// transaction. It returns ErrNotFound if no such user exists and
	// ErrConflict if the new email or username is taken.
	UpdateUser(ctx context.Context, u *User, revoke *Revocation) error
	// DeleteUser deletes the user and every session of theirs. ErrNotFound if absent.
	DeleteUser(ctx context.Context, id int64) error
	// ListUsers returns up to limit users with ID > after, in ID order.
	ListUsers(ctx context.Context, after int64, limit int) ([]User, error)

	// Username keys (look-alike usernames, username.go; migration 0012).
	// UserByUsernameKey returns the user whose username key equals key, or
	// ErrNotFound.
	UserByUsernameKey(ctx context.Context, key string) (*User, error)
	// UsersWithoutUsernameKey returns up to limit users with ID > after that
	// have no username key, in ID order.
	UsersWithoutUsernameKey(ctx context.Context, after int64, limit int) ([]User, error)
	// SetUsernameKey sets the username key of the user id to key (not
	// empty). It returns ErrConflict if another user has that key and
	// ErrNotFound if no such user exists.
	SetUsernameKey(ctx context.Context, id int64, key string) error

	// CreateSession inserts s, and in the same transaction revokes
	//   - the user's other unrevoked sessions with the same non-empty DeviceID
	//     (reason ReasonReplaced), and
	//   - when limit > 0, the user's least recently active unrevoked sessions
	//     that are not expired at s.CreatedAt, so that at most limit remain
	//     (reason ReasonSessionLimit); among equally recent ones, the one
	//     with the smallest ID (byte order) goes first.
	// Revocations are stamped with s.CreatedAt. It returns ErrConflict if s.ID
	// is taken and ErrNotFound if the user does not exist.
	CreateSession(ctx context.Context, s *Session, limit int) error
	// Session returns the session with the given id, or ErrNotFound.
	Session(ctx context.Context, id string) (*Session, error)
	// RotateSession is the compare-and-swap at the heart of rotation: if the
	// session id is unrevoked and its Generation still equals r.Generation,
	// it sets PrevHash to the current TokenHash, TokenHash to r.NewHash,
	// increments Generation, and sets RotatedAt and LastActivity to r.At.
	// It keeps GraceGeneration and GraceSince if GraceSince is at or after
	// r.GraceFrom; otherwise, if RotatedAt was at or after r.GraceFrom, it
	// sets them to Generation-1 and RotatedAt (the token the last rotation
	// retired), and else to Generation and r.At (the token this one
	// retires). All of it reads the row as it was before the swap.
	// Otherwise it changes nothing and returns ErrStale (ErrNotFound if the
	// session does not exist). Exactly one of many concurrent callers with
	// the same r.Generation succeeds.
	RotateSession(ctx context.Context, r Rotation) error
	// TouchSession sets LastActivity to at if the session is unrevoked and its
	// LastActivity is earlier. It returns ErrNotFound if the session does not
	// exist and ErrStale if it is revoked.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// SetAuthTime sets the session's AuthTime to at (a re-authentication),
	// and its LastActivity to at if that is later, if the session is
	// unrevoked. It returns ErrNotFound if the session does not exist and
	// ErrStale if it is revoked.
	SetAuthTime(ctx context.Context, id string, at time.Time) error
	// RevokeSession revokes one session with reason at the given time. Revoking
	// a revoked session is a no-op that keeps the first reason. ErrNotFound if absent.
	RevokeSession(ctx context.Context, id, reason string, at time.Time) error
	// RevokeSessions revokes the sessions r selects and reports how many were
	// revoked by this call.
	RevokeSessions(ctx context.Context, r Revocation) (int, error)
	// UserSessions returns the user's unrevoked sessions whose absolute expiry
	// is after now (or never), in descending (LastActivity, ID) order. Idle expiry is the
	// caller's business.
	UserSessions(ctx context.Context, userID int64, now time.Time) ([]Session, error)
	// ListSessions returns sessions in descending (CreatedAt, ID) order, or
	// ascending when f.Ascending, after the cursor f describes, at most
	// f.Limit of them. IDs compare byte by byte, whatever the database's
	// collation. The order is sign-in time, which never changes, so that no
	// index the exchange moves is needed for it (migration 0013).
	ListSessions(ctx context.Context, f SessionFilter) ([]Session, error)

	// Settings returns the persisted runtime settings, or ErrNotFound if none
	// were ever saved.
	Settings(ctx context.Context) (Settings, error)
	// SaveSettings replaces the persisted runtime settings.
	SaveSettings(ctx context.Context, s Settings) error
	// InitSettings saves s only if no settings were ever saved, and returns
	// the settings in force afterwards (s, or those saved earlier).
	InitSettings(ctx context.Context, s Settings) (Settings, error)

	// SigningKeys returns every stored signing key, newest first (ties by ID
	// in descending byte order).
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// AddSigningKey stores k. If onlyIfNone is true and any key exists it
	// stores nothing and returns nil; this makes first-start key generation
	// safe when several instances start at once. ErrConflict if k.ID is taken.
	AddSigningKey(ctx context.Context, k SigningKey, onlyIfNone bool) error
	// DeleteSigningKey removes the key with the given id (ErrNotFound if absent).
	DeleteSigningKey(ctx context.Context, id string) error

	// Secret returns the server secret with the given name, creating it with
	// value if it does not exist yet. Every caller gets the same stored value,
	// however many race to create it. An empty value only reads: a secret
	// that does not exist yet is then an error, never an empty secret.
	Secret(ctx context.Context, name string, value []byte) ([]byte, error)

	// OAuth clients (clients.go).
	ClientStore

	// Provider identities for external sign-in (identity.go).
	IdentityStore

	// Close releases the store's resources.
	Close() error
}

// Rotation is the argument of Store.RotateSession.
type Rotation struct {
	SessionID  string
	Generation int64 // the generation the caller read; the swap happens only if it is still current
	NewHash    []byte
	At         time.Time
	// GraceFrom is the start of the reuse grace window at At (At minus
	// the window): what retired before it is no longer within the window.
	// Zero keeps only the token this rotation retires in GraceGeneration.
	GraceFrom time.Time
}

// Revocation selects sessions of one user to revoke: all unrevoked sessions
// of UserID except the one with id Except (if not empty), restricted to
// DeviceID when that is not empty.
type Revocation struct {
	UserID   int64
	Except   string
	DeviceID string
	Reason   string
	At       time.Time
}

// SessionFilter selects sessions for ListSessions (the admin listing and the
// CLI). Zero fields do not filter.
type SessionFilter struct {
	UserID int64
	// Active, when set, keeps unrevoked sessions not absolutely expired at ActiveAt.
	Active   bool
	ActiveAt time.Time
	// Expired, when set, keeps unrevoked sessions absolutely expired at
	// ActiveAt (or idle, see IdleBefore).
	Expired bool
	// IdleBefore, when not zero, makes Active and Expired count a session
	// last active at or before it as expired (the idle timeout, which the
	// caller turns into this time).
	IdleBefore time.Time
	// Revoked, when set, keeps revoked sessions only.
	Revoked   bool
	IP        string // when not empty, only sessions from this exact address
	UserAgent string // when not empty, only user agents containing it (case-insensitive for ASCII)
	// Ascending lists the oldest sign-ins first: (CreatedAt, ID) ascending.
	Ascending bool
	// Keyset cursor: return sessions strictly after (AfterCreated, AfterID)
	// in the listing's order (older ones, unless Ascending). Zero
	// AfterCreated starts from the first.
	AfterCreated time.Time
	AfterID      string
	Limit        int // at most this many; 0 means 100
}

// SigningKey is a JWT signing key as stored. Material is the private key (an
// Ed25519 seed for "EdDSA") in the encoding internal/jwt chose.
type SigningKey struct {
	ID        string // the JWT "kid"
	Algorithm string // "EdDSA"
	Material  []byte
	CreatedAt time.Time
}
