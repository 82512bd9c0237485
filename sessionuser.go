package refreshing

import "context"

// SessionUserReader is the read of the hot paths: an exchange needs a
// session and its user, and so does an access token bound to a session.
// Reading both at once spares a round trip to the storage per request.
// Store embeds it.
type SessionUserReader interface {
	// SessionWithUser returns the session with the given id and the user
	// it belongs to, both read at one moment, or ErrNotFound if there is no
	// such session.
	SessionWithUser(ctx context.Context, id string) (*Session, *User, error)
}
