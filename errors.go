package refreshing

import (
	"errors"
	"fmt"
)

// Store-level sentinel errors. Store implementations return them (possibly
// wrapped) so that the Service can branch on them without knowing the backend.
var (
	// ErrNotFound reports that the requested record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports that a unique constraint would be violated
	// (an email or username already taken, an id already used).
	ErrConflict = errors.New("conflict")
	// ErrStale reports that a compare-and-swap lost: the record changed
	// (for a session: it was rotated or revoked) since it was read.
	ErrStale = errors.New("stale record")
	// ErrUnavailable reports that storage cannot be reached or cannot accept
	// writes right now (server down, disk full, read-only). It maps to 503.
	ErrUnavailable = errors.New("storage unavailable")
)

// Service-level sentinel errors: the outcomes a client is told about. The HTTP
// layer maps each to a status and a message in exactly one place.
var (
	// ErrInvalidCredentials: unknown identifier or wrong password (never says which).
	ErrInvalidCredentials = errors.New("invalid identifier or password")
	// ErrBlocked: the account was blocked by an administrator (said only after
	// the password was verified).
	ErrBlocked = errors.New("account blocked")
	// ErrNotConfirmed: email confirmation is required and pending (said only
	// after the password was verified).
	ErrNotConfirmed = errors.New("account email not confirmed")
	// ErrTaken: the email or username is already registered.
	ErrTaken = errors.New("email or username already taken")
	// ErrRegistrationClosed: registration is switched off in the settings.
	ErrRegistrationClosed = errors.New("registration is closed")
	// ErrInvalidToken: a refresh token that is unknown, malformed, expired or revoked.
	ErrInvalidToken = errors.New("invalid refresh token")
	// ErrUnauthenticated: a missing, malformed, expired or revoked access token.
	ErrUnauthenticated = errors.New("missing or invalid access token")
	// ErrWrongPassword: the current password given to change-password is wrong.
	ErrWrongPassword = errors.New("the provided current password is invalid")
	// ErrSamePassword: the new password equals the current one.
	ErrSamePassword = errors.New("your new password must be different than your current password")
	// ErrForbidden: the caller is authenticated but not allowed to do this.
	ErrForbidden = errors.New("forbidden")
	// ErrBusy: too many password hashes are already running; try again shortly.
	ErrBusy = errors.New("server busy")
)

// FieldError reports one invalid input field. The HTTP layer turns it into a
// 400 ValidationError whose details name the field.
type FieldError struct {
	Field   string // the request field, as the client spelled it ("identifier")
	Message string // a human sentence ("identifier must not be empty")
}

// Error implements error.
func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// Invalid returns a *FieldError for field with a formatted message.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}
