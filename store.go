package refreshing

import (
	"context"
	"time"
)

// Store persists everything the Service keeps: users, sessions, settings,
// keys, clients, administrators, roles, the audit log and the outbox. This
// file is the whole contract, grouped by what it stores; the records it
// speaks of are in records.go, its errors in errors.go. Every method is atomic:
// it either fully happens or not at all, and concurrent calls behave as if run
// one after the other. A Store never decides policy (expiry, reuse, limits,
// permissions); it is told. Times are supplied by the caller, never read from
// the database clock, and survive a round trip at microsecond precision.
//
// Errors: ErrNotFound, ErrConflict and ErrStale as documented per method;
// ErrUnavailable (wrapped) when the storage cannot be reached or cannot write;
// anything else is an internal fault. internal/storetest checks this contract.
//
// Methods that can end a session or change a user say so ("It can end
// sessions or change a user"). The Service's view of its Store
// (invalidating, authcache.go) makes its authentication cache forget what it
// holds after each of them; TestInvalidatingCoversStore fails when a method
// is added here without being classified there.
type Store interface {
	// Users. Email is stored as the Service gives it (lower-cased);
	// usernames compare exactly.

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
	// It can end sessions or change a user (see Store).
	UpdateUser(ctx context.Context, u *User, revoke *Revocation) error
	// DeleteUser deletes the user and every session of theirs. ErrNotFound if absent.
	// It can end sessions or change a user (see Store).
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

	// Sessions.

	// CreateSession inserts s, and in the same transaction revokes
	//   - the user's other unrevoked sessions with the same non-empty DeviceID
	//     (reason ReasonReplaced), and
	//   - when limit > 0, the user's least recently active unrevoked sessions
	//     that are not expired at s.CreatedAt, so that at most limit remain
	//     (reason ReasonSessionLimit); among equally recent ones, the one
	//     with the smallest ID (byte order) goes first.
	// Revocations are stamped with s.CreatedAt. It returns ErrConflict if s.ID
	// is taken and ErrNotFound if the user does not exist.
	// It can end sessions or change a user (see Store).
	CreateSession(ctx context.Context, s *Session, limit int) error
	// Session returns the session with the given id, or ErrNotFound.
	Session(ctx context.Context, id string) (*Session, error)
	// SessionWithUser returns the session with the given id and the user
	// it belongs to, both read at one moment, or ErrNotFound if there is no
	// such session.
	SessionWithUser(ctx context.Context, id string) (*Session, *User, error)
	// RevokeSession revokes one session with reason at the given time. Revoking
	// a revoked session is a no-op that keeps the first reason. ErrNotFound if absent.
	// It can end sessions or change a user (see Store).
	RevokeSession(ctx context.Context, id, reason string, at time.Time) error
	// RevokeSessions revokes the sessions r selects and reports how many were
	// revoked by this call.
	// It can end sessions or change a user (see Store).
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
	// CountActiveSessions counts the unrevoked sessions whose absolute
	// expiry is after now (or never) and, when activeAfter is not zero,
	// whose LastActivity is after activeAfter.
	CountActiveSessions(ctx context.Context, now, activeAfter time.Time) (int64, error)

	// The exchange: rotation (rotation.go states the rule these implement) and activity.

	// RotateSession is the compare-and-swap at the heart of rotation: if the
	// session id is unrevoked and its Generation still equals r.Generation,
	// it becomes Rotated(row, r) (the swap of hashes, the next
	// generation, RotatedAt and LastActivity at r.At, and the grace
	// bookkeeping Rotated states), computed from the row as it was before
	// the swap. Otherwise it changes nothing and returns ErrStale
	// (ErrNotFound if the session does not exist). Exactly one of many
	// concurrent callers with the same r.Generation succeeds.
	RotateSession(ctx context.Context, r Rotation) error
	// RotateMatching is the exchange of a live token in one step, for a
	// caller that has not read the session: it rotates the session as
	// RotateSession does only if all of these hold at once, which is
	// Judge's VerdictRotate for the MatchingRotation NewMatchingRotation
	// builds:
	//   - its Generation is r.Generation and its TokenHash is r.TokenHash;
	//   - it is unrevoked, and its ExpiresAt is zero or after r.At;
	//   - r.IdleAfter is zero or its LastActivity is after r.IdleAfter;
	//   - its ClientID is empty or r.ClientID;
	//   - its DPoPJKT is empty or r.DPoPJKT.
	// (Whether its user is blocked is the caller's to check: blocking a
	// user revokes their sessions anyway.) It then returns the session as
	// rotated. Otherwise it changes nothing and returns ErrStale, whatever
	// the reason (a missing session included): the caller reads the
	// session and decides, as after a lost RotateSession.
	RotateMatching(ctx context.Context, r MatchingRotation) (*Session, error)
	// TouchSession sets LastActivity to at if the session is unrevoked and its
	// LastActivity is earlier. It returns ErrNotFound if the session does not
	// exist and ErrStale if it is revoked.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// SetAuthTime sets the session's AuthTime to at (a re-authentication),
	// and its LastActivity to at if that is later, if the session is
	// unrevoked. It returns ErrNotFound if the session does not exist and
	// ErrStale if it is revoked.
	SetAuthTime(ctx context.Context, id string, at time.Time) error

	// What the Service's caches need to know whether what they remember may have ended.

	// AuthRevision returns a number that every change which can end an
	// active session or change a user increases, in that change's own
	// transaction, whichever process makes it: a session's revocation, a
	// change of its expiry, user or client, the deletion of an unrevoked
	// session, and any update or deletion of a user. Rotations, touches and
	// new sessions leave it alone. A Service reads it a few dozen times a
	// second to know whether the sessions it remembers may have ended.
	AuthRevision(ctx context.Context) (int64, error)

	// Imports from another system (import.go): an exchange of a token that is not
	// ours looks it up only while HasImportedSessions, as read at the current
	// AuthRevision, reports some.

	// ImportUser inserts u as CreateUser does, except that a non-zero u.ID
	// is kept (later CreateUser calls never reuse it). It returns
	// ErrConflict if u.ID, u.Email or u.Username is taken.
	// It can end sessions or change a user (see Store).
	ImportUser(ctx context.Context, u *User) error
	// ImportSession inserts s as CreateSession does without a limit or
	// device replacement, recording importHash, the SHA-256 of the import
	// key of the session's generation-0 token issued by another system, so
	// that SessionIDByImportHash finds it. It returns ErrConflict if s.ID or
	// importHash is taken and ErrNotFound if the user does not exist. It
	// increases AuthRevision, so that every process learns that imported
	// sessions exist (HasImportedSessions).
	// It can end sessions or change a user (see Store).
	ImportSession(ctx context.Context, s *Session, importHash []byte) error
	// SessionIDByImportHash returns the id of the session imported with
	// importHash, or ErrNotFound.
	SessionIDByImportHash(ctx context.Context, importHash []byte) (string, error)
	// HasImportedSessions reports whether any stored session was imported
	// (ImportSession), whatever its state.
	HasImportedSessions(ctx context.Context) (bool, error)

	// Operations: the janitor, and the lease that lets one instance at a time do
	// background work.

	// PurgeSessions deletes at most p.Limit sessions that ended before the
	// cutoffs p gives (see Purge), in one short transaction, and reports how
	// many it deleted. A p.Limit of 0 or less deletes nothing.
	PurgeSessions(ctx context.Context, p Purge) (int, error)
	// AcquireLease gives the lease called name to holder until until, if
	// nobody holds it, if holder already does (a renewal), or if the
	// previous holder's lease ended at or before now. It reports whether
	// holder holds the lease afterwards.
	AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)

	// Runtime settings, signing keys and server secrets.

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

	// The admin screens and API: the user listings.

	// SearchUsers returns up to limit users with ID > after, in ID order,
	// whose email or username contains query (case-insensitive for ASCII
	// letters; an empty query matches everyone).
	SearchUsers(ctx context.Context, query string, after int64, limit int) ([]User, error)
	// FindUsers returns users in descending ID order (ascending when
	// f.Ascending) after the cursor f.AfterID, at most f.Limit of them (0
	// means 100), whose email or username contains f.Query
	// (case-insensitive for ASCII letters; "" matches everyone).
	FindUsers(ctx context.Context, f UserFilter) ([]User, error)
	// CountUsers returns how many users exist.
	CountUsers(ctx context.Context) (int64, error)
	// UsersByID returns the users with the given ids that exist, in
	// ascending ID order. Unknown ids are skipped, not an error.
	UsersByID(ctx context.Context, ids []int64) ([]User, error)
	// UserStats returns, for each of the given users that has sessions, how
	// many of them are unrevoked and not absolutely expired at now, and the
	// newest session's CreatedAt (the last sign-in that is still on record).
	// It reads only those users' sessions, through the index on user_id.
	UserStats(ctx context.Context, ids []int64, now time.Time) ([]UserStats, error)

	// Administrators, their browser sessions and their API tokens. Admin sessions
	// are read from the store on every request, never cached.

	// CreateAdmin inserts a and sets a.ID. ErrConflict if a.Email is taken.
	CreateAdmin(ctx context.Context, a *Admin) error
	// AdminByEmail returns the administrator with that email, or ErrNotFound.
	AdminByEmail(ctx context.Context, email string) (*Admin, error)
	// AdminByID returns the administrator with that id, or ErrNotFound.
	AdminByID(ctx context.Context, id int64) (*Admin, error)
	// ListAdmins returns every administrator, in ID order.
	ListAdmins(ctx context.Context) ([]Admin, error)
	// DeleteAdmin deletes the administrator with every session and API
	// token of theirs. ErrNotFound if absent.
	DeleteAdmin(ctx context.Context, id int64) error
	// SetAdminPassword replaces the administrator's password hash and, in
	// the same transaction, deletes every admin session of theirs (API
	// tokens stay). ErrNotFound if absent.
	SetAdminPassword(ctx context.Context, id int64, passwordHash string) error
	// CreateAdminSession inserts s. ErrConflict if its TokenHash is taken,
	// ErrNotFound if the administrator does not exist.
	CreateAdminSession(ctx context.Context, s *AdminSession) error
	// AdminSession returns the session with that token hash, or ErrNotFound.
	AdminSession(ctx context.Context, tokenHash []byte) (*AdminSession, error)
	// TouchAdminSession sets LastSeen to at (ErrNotFound if absent).
	TouchAdminSession(ctx context.Context, tokenHash []byte, at time.Time) error
	// DeleteAdminSession deletes the session; deleting an absent one is not an error.
	DeleteAdminSession(ctx context.Context, tokenHash []byte) error
	// DeleteAdminSessions deletes the sessions last seen before idleBefore
	// or created before createdBefore, and reports how many.
	DeleteAdminSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error)
	// CreateAdminToken inserts t and sets t.ID. ErrNotFound if the
	// administrator does not exist, ErrConflict if t.TokenHash is taken.
	CreateAdminToken(ctx context.Context, t *AdminToken) error
	// AdminTokenByHash returns the token with that hash, or ErrNotFound.
	AdminTokenByHash(ctx context.Context, tokenHash []byte) (*AdminToken, error)
	// AdminTokens returns the tokens of one administrator (every token when
	// adminID is 0), in ID order.
	AdminTokens(ctx context.Context, adminID int64) ([]AdminToken, error)
	// DeleteAdminToken deletes the token with that id. ErrNotFound if absent.
	DeleteAdminToken(ctx context.Context, id int64) error

	// Roles: custom roles and the permissions of the built-in ones.

	// Roles returns every stored role, in name order.
	Roles(ctx context.Context) ([]Role, error)
	// SaveRole inserts or replaces the role with r.Name.
	SaveRole(ctx context.Context, r Role) error
	// DeleteRole deletes the role with that name, or returns ErrNotFound.
	DeleteRole(ctx context.Context, name string) error

	// The audit log.

	// AppendAudit stores the events in one transaction and assigns their IDs.
	AppendAudit(ctx context.Context, events []AuditEvent) error
	// ListAudit returns events in descending (At, ID) order after the
	// cursor f describes, at most f.Limit of them.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// DeleteAuditBefore deletes at most limit events with At < before, the
	// oldest first, and reports how many it deleted.
	DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int, error)

	// OAuth clients.

	// CreateClient inserts c. It returns ErrConflict if c.ID is taken.
	CreateClient(ctx context.Context, c *Client) error
	// Client returns the client with the given id, or ErrNotFound.
	Client(ctx context.Context, id string) (*Client, error)
	// ListClients returns every OAuth client, in ID order (byte order).
	ListClients(ctx context.Context) ([]Client, error)
	// DeleteClient deletes the OAuth client with that id and, in the same
	// transaction, revokes every session issued to it (Session.ClientID ==
	// id) that is not revoked yet, with ReasonClientDeleted at at. It
	// returns how many it revoked; ErrNotFound if there is no such client.
	// It can end sessions or change a user (see Store).
	DeleteClient(ctx context.Context, id string, at time.Time) (int, error)
	// SetClientDPoP sets whether every token request of the OAuth client
	// with that id must carry a DPoP proof (Client.RequireDPoP).
	// ErrNotFound if absent.
	SetClientDPoP(ctx context.Context, id string, require bool) error

	// Provider identities for external sign-in (provider.go). Deleting a user
	// deletes theirs.

	// AddIdentity stores id. It returns ErrConflict if (id.Provider,
	// id.Subject) is already linked (to anyone) and ErrNotFound if the user
	// does not exist.
	AddIdentity(ctx context.Context, id Identity) error
	// IdentityBySubject returns the identity of provider's account subject,
	// or ErrNotFound.
	IdentityBySubject(ctx context.Context, provider, subject string) (*Identity, error)
	// UserIdentities returns the user's identities ordered by provider then
	// subject (byte order).
	UserIdentities(ctx context.Context, userID int64) ([]Identity, error)

	// Sign-in providers saved at run time (providers.go; migration 0017).
	// Deleting one leaves its identities.

	// SignInProviders returns every saved provider, in name order (byte order).
	SignInProviders(ctx context.Context) ([]SignInProvider, error)
	// SaveSignInProvider inserts p, or replaces the saved provider with the
	// same Config.Name, configuration and time alike.
	SaveSignInProvider(ctx context.Context, p SignInProvider) error
	// DeleteSignInProvider deletes the saved provider called name.
	// ErrNotFound if absent.
	DeleteSignInProvider(ctx context.Context, name string) error

	// The account life cycle (mail.go, lifecycle.go): the outbox of mail and the
	// one-time codes. The Service tells the times, the leases and the outcomes.

	// EnqueueMail inserts m as a pending mail (its State, Attempts, lease
	// and FinishedAt are ignored) and sets m.ID.
	EnqueueMail(ctx context.Context, m *Mail) error
	// ClaimMail leases to c.Holder, until c.Until, at most c.Limit pending
	// mails whose NextAttempt is at or before c.Now and that nobody holds
	// (no lease, or one that ended at or before c.Now), the earliest
	// NextAttempt first (then by ID), increments their Attempts, and
	// returns them as they are afterwards. Two concurrent claims never
	// return the same mail.
	ClaimMail(ctx context.Context, c MailClaim) ([]Mail, error)
	// FinishMail records how the attempt at mail f.ID ended, if the mail is
	// still pending and leased to f.Holder: State, LastError and, for
	// MailPending, NextAttempt = f.RetryAt and no lease; for the other
	// states FinishedAt = f.At. It returns ErrStale if the mail is not
	// pending or another holder leases it, ErrNotFound if it does not exist.
	FinishMail(ctx context.Context, f MailFinish) error
	// RetryMail makes a failed mail pending again, due at now, with no
	// attempts and no lease. ErrNotFound if absent, ErrStale if not failed.
	RetryMail(ctx context.Context, id int64, now time.Time) error
	// ListMail returns mails in descending ID order after the cursor f
	// describes, at most f.Limit of them.
	ListMail(ctx context.Context, f MailFilter) ([]Mail, error)
	// CountMail returns how many mails are in each state (absent states: 0).
	CountMail(ctx context.Context) (map[string]int64, error)
	// PutCode stores c and, in the same transaction, deletes every other
	// code of c.UserID with c.Purpose, so that only the newest works. It
	// returns ErrNotFound if the user does not exist, ErrConflict if c.ID
	// is taken.
	PutCode(ctx context.Context, c AccountCode) error
	// Code returns the code with the given id, or ErrNotFound.
	Code(ctx context.Context, id string) (*AccountCode, error)
	// RedeemCode deletes the code id and, in the same transaction, stores
	// every field of u as UpdateUser does, revoking as revoke says when it
	// is not nil. It returns ErrNotFound if the code no longer exists (so
	// of concurrent callers exactly one succeeds) or the user does not, and
	// changes nothing then.
	// It can end sessions or change a user (see Store).
	RedeemCode(ctx context.Context, id string, u *User, revoke *Revocation) error
	// DeleteCode deletes the code id. It returns ErrNotFound if there is no
	// such code, so that of concurrent callers exactly one succeeds.
	DeleteCode(ctx context.Context, id string) error
	// PurgeMail deletes at most limit outbox entries finished (sent, failed
	// or dropped) before before, and codes that expired before before, and
	// reports how many rows it deleted.
	PurgeMail(ctx context.Context, before time.Time, limit int) (int, error)

	// The store itself.

	// Ping checks that the storage answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// The arguments of Store methods.

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

// Purge selects the sessions Store.PurgeSessions deletes: those revoked
// before RevokedBefore, those whose absolute expiry is before ExpiredBefore,
// and those last active before InactiveBefore. A zero time selects nothing
// by that criterion. The Service computes the cutoffs from its settings.
type Purge struct {
	RevokedBefore  time.Time
	ExpiredBefore  time.Time
	InactiveBefore time.Time
	Limit          int // at most this many per call
}

// UserFilter selects users for Store.FindUsers. Zero fields do not filter.
type UserFilter struct {
	Query     string
	Ascending bool  // oldest first; newest first otherwise
	AfterID   int64 // keyset cursor: users strictly after this id in the listing's order; 0 starts from the first
	Limit     int   // at most this many; 0 means 100
}

// AuditFilter selects events for ListAudit. Zero fields do not filter.
type AuditFilter struct {
	Type   string
	UserID int64
	IP     string    // exact address
	Actor  string    // exact actor
	Since  time.Time // At >= Since
	Until  time.Time // At < Until, when not zero (the admin screens' date range)
	// Keyset cursor: events strictly before (BeforeAt, BeforeID) in
	// descending (At, ID) order. Zero BeforeAt starts from the newest.
	BeforeAt time.Time
	BeforeID int64
	Limit    int // at most this many; 0 means 100
}

// MailClaim is the argument of Store.ClaimMail.
type MailClaim struct {
	Holder string    // who claims (a sender instance)
	Now    time.Time // mails due at or before Now, whose lease ended at or before Now
	Until  time.Time // the lease given
	Limit  int       // at most this many
}

// MailFinish is the argument of Store.FinishMail: how an attempt ended.
type MailFinish struct {
	ID     int64
	Holder string    // the holder that claimed it
	State  string    // MailSent, MailFailed, MailDropped, or MailPending to try again
	At     time.Time // when the attempt ended (FinishedAt unless State is MailPending)
	// RetryAt is the next attempt's time, when State is MailPending.
	RetryAt time.Time
	Error   string // LastError; "" keeps none
}

// MailFilter selects mails for ListMail. Zero fields do not filter.
type MailFilter struct {
	State    string
	BeforeID int64 // keyset cursor: mails with ID < BeforeID; 0 starts from the newest
	Limit    int   // at most this many; 0 means 100
}
