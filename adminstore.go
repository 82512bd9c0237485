package refreshing

import (
	"context"
	"time"
)

// ManageStore is the storage of the admin HTTP API and of the admin screens
// beyond what AdminStore, RoleStore and AuditStore hold: listings that stay
// cheap at millions of sessions, counts, administrators' API tokens, and
// deleting administrators and OAuth clients. It is part of Store.
type ManageStore interface {
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

	// ListAdmins returns every administrator, in ID order.
	ListAdmins(ctx context.Context) ([]Admin, error)
	// DeleteAdmin deletes the administrator with every session and API
	// token of theirs. ErrNotFound if absent.
	DeleteAdmin(ctx context.Context, id int64) error
	// SetAdminPassword replaces the administrator's password hash and, in
	// the same transaction, deletes every admin session of theirs (API
	// tokens stay). ErrNotFound if absent.
	SetAdminPassword(ctx context.Context, id int64, passwordHash string) error

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

	// ListClients returns every OAuth client, in ID order (byte order).
	ListClients(ctx context.Context) ([]Client, error)
	// DeleteClient deletes the OAuth client with that id. Its sessions
	// stay, but can no longer be exchanged through /oauth/token. ErrNotFound
	// if absent.
	DeleteClient(ctx context.Context, id string) error
	// SetClientDPoP sets whether every token request of the OAuth client
	// with that id must carry a DPoP proof (Client.RequireDPoP).
	// ErrNotFound if absent.
	SetClientDPoP(ctx context.Context, id string, require bool) error
}

// UserFilter selects users for ManageStore.FindUsers. Zero fields do not filter.
type UserFilter struct {
	Query     string
	Ascending bool  // oldest first; newest first otherwise
	AfterID   int64 // keyset cursor: users strictly after this id in the listing's order; 0 starts from the first
	Limit     int   // at most this many; 0 means 100
}

// UserStats is what the users screen shows of a user's sessions.
type UserStats struct {
	UserID     int64
	Sessions   int64     // unrevoked, not absolutely expired
	LastSignIn time.Time // CreatedAt of the newest session on record; zero if none
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
