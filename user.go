package refreshing

import "time"

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
