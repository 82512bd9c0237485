package refreshing

import "time"

// The records the Store keeps (store.go), on the ground floor: plain data,
// with the few methods that only read their own fields. The rules that act
// on them live with the Service.

// User is an end user of the applications that rely on Refreshing.
// Its JSON form (see internal/server) never includes PasswordHash.
type User struct {
	ID         int64  // numeric id, kept for Strapi compatibility; assigned by the Store
	DocumentID string // opaque string id ("u_..."), assigned by the Service
	Username   string
	// UsernameKey is Username's uniqueness key (UsernameKey), set by the
	// Service before CreateUser and ImportUser; stores keep it unique
	// ("" is no key) and do not read it back.
	UsernameKey  string
	Email        string // stored lower-cased; unique
	PasswordHash string // PHC-format argon2id, or a bcrypt hash imported from Strapi
	Provider     string // "local"
	Role         string // "authenticated" unless an administrator says otherwise
	Confirmed    bool
	Blocked      bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

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
	ReasonClientDeleted  = "client_deleted"  // its OAuth client was deleted
	ReasonSignOutOthers  = "signed_out_elsewhere"
)

// SigningKey is a JWT signing key as stored. Material is the private key (an
// Ed25519 seed for "EdDSA") in the encoding internal/jwt chose.
type SigningKey struct {
	ID        string // the JWT "kid"
	Algorithm string // "EdDSA"
	Material  []byte
	CreatedAt time.Time
}

// Client is an OAuth 2.0 client registered by an operator
// (`refreshing clients create`). A confidential client has a secret and
// authenticates with it; a public client (a mobile or single-page app, which
// cannot keep a secret) only names itself.
//
// Only SecretHash is stored, never the secret: SHA-256 and not argon2id,
// because every secret is long and random (generated, or at least
// MinClientSecretLen characters chosen by the operator), so a slow hash would
// add nothing but tens of milliseconds to each token request and compete with
// logins for the Hasher's slots. Refresh tokens are stored the same way.
type Client struct {
	ID         string
	SecretHash []byte   // SHA-256 of the secret; nil for a public client
	Grants     []string // grants allowed beyond the Implied ones (GrantPassword)
	CreatedAt  time.Time
	// RequireDPoP: every token request of this client must carry a DPoP
	// proof (RFC 9449).
	RequireDPoP bool
}

// Identity links an account at an external sign-in provider (OpenID Connect,
// see docs/oidc.md) to a local user. A user may have several; one provider
// account belongs to at most one user.
type Identity struct {
	Provider  string // the provider's configured name ("google")
	Subject   string // the provider's stable id of the account (the ID token's "sub")
	UserID    int64
	Email     string // the email the provider reported when the identity was linked
	CreatedAt time.Time
}

// SignInProvider is a sign-in provider saved at run time (providers.go):
// its whole configuration, client secret included (the provider needs it
// back; the screens never show it), and when it was saved.
type SignInProvider struct {
	Config    ProviderConfig
	UpdatedAt time.Time
}

// Admin is an administrator of the admin screens. Administrators are not end
// users: they live in their own table and sign in only at /admin.
type Admin struct {
	ID           int64 // assigned by the Store
	Email        string
	PasswordHash string // PHC-format argon2id
	CreatedAt    time.Time
}

// AdminSession is an administrator's signed-in browser. The cookie holds a
// random token; only its SHA-256 is stored.
type AdminSession struct {
	TokenHash []byte
	AdminID   int64
	CreatedAt time.Time
	LastSeen  time.Time
	IP        string
	UserAgent string
}

// AdminToken is an administrator's bearer token for the admin HTTP API
// (/admin/api). The token is random (256 bits) and shown once; only its
// SHA-256 is stored, as for refresh tokens. Deleting it revokes it.
type AdminToken struct {
	ID        int64 // assigned by the Store
	AdminID   int64
	Name      string // what the administrator called it ("deploy script")
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
}

// UserStats is what the users screen shows of a user's sessions.
type UserStats struct {
	UserID     int64
	Sessions   int64     // unrevoked, not absolutely expired
	LastSignIn time.Time // CreatedAt of the newest session on record; zero if none
}

// Role is a named set of allowed actions.
type Role struct {
	Name        string   // lower case letters, digits, '-' and '_'
	Description string   // free text for administrators
	Permissions []string // names of the allowed actions, sorted
}

// AuditEvent is one entry of the audit log: what happened, to whom, by whom,
// when and from where. It never holds a token or a password.
type AuditEvent struct {
	ID        int64     // assigned by the Store, increasing
	At        time.Time // when it happened (the Service's clock)
	Type      string    // one of the Audit* constants
	Actor     string    // who did it: "user 12", "admin ops@example.com", "unknown admin", "cli", "anonymous"
	UserID    int64     // the end user concerned, 0 if none
	SessionID string    // the session concerned, "" if none
	IP        string    // the client's address
	UserAgent string
	Detail    string // a readable sentence with the rest (outcome, old and new values)
}

// Mail is an entry of the outbox: what to send to whom, and how sending it
// went. It never holds a code or a message body.
type Mail struct {
	ID          int64  // assigned by the Store, increasing
	Kind        string // MailResetPassword or MailEmailConfirmation
	To          string // the address asked for (lower-cased)
	UserID      int64  // the account, when known at enqueue time; 0 = look To up
	State       string // one of the Mail* states
	Attempts    int    // attempts begun (a claim counts as one)
	NextAttempt time.Time
	LeaseHolder string    // the sender that claimed it, while its lease runs
	LeaseUntil  time.Time // zero when not leased
	LastError   string    // why the last attempt failed or the mail was dropped
	CreatedAt   time.Time
	FinishedAt  time.Time // when it was sent, failed or dropped; zero while pending
}

// AccountCode is a one-time code as stored: its public id and the SHA-256
// of its secret part, never the code itself.
type AccountCode struct {
	ID        string // the code's public part, its key in the store
	UserID    int64
	Purpose   string // CodeResetPassword, CodeEmailConfirmation or CodeSignIn
	Hash      []byte // SHA-256 of the secret part
	CreatedAt time.Time
	ExpiresAt time.Time
}
