package refreshing

import (
	"context"
	"time"
)

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

// IdentityStore stores provider identities. Deleting a user deletes theirs.
type IdentityStore interface {
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
}
