package refreshing

import (
	"errors"
	"fmt"
)

// Every sentinel error of the package, in one place: those of the Store
// contract first, then the outcomes the HTTP layer maps to a status and a
// message (internal/server/encode.go), feature by feature.

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

// Access and the admin screens.

// ErrTooManyAttempts: too many failed attempts; try again later. The HTTP
// layer answers 429 with Retry-After.
var ErrTooManyAttempts = errors.New("too many failed attempts; try again later")

// ErrLoginRequired: the session's sign-in is older than the max_age the
// caller asked for; the user must sign in again (step-up).
var ErrLoginRequired = errors.New("the sign-in is older than max_age: sign in again")

// Refusals of a refresh token bound to a DPoP key (RFC 9449 section 5);
// both are ErrInvalidToken too.
var (
	// ErrDPoPProofRequired: the token is bound to a DPoP key and the
	// request carried no proof.
	ErrDPoPProofRequired = errors.New("the refresh token is bound to a DPoP key: a DPoP proof is required")
	// ErrDPoPKeyMismatch: the token is bound to another DPoP key than the
	// proof's.
	ErrDPoPKeyMismatch = errors.New("the refresh token is bound to another DPoP key")
)

// OAuth clients.

// Client errors: the outcomes an OAuth client is told about.
var (
	// ErrInvalidClient: client authentication failed (unknown client, wrong
	// or missing secret, a secret presented for a public client).
	ErrInvalidClient = errors.New("client authentication failed")
	// ErrUnauthorizedClient: the client may not use this grant type or endpoint.
	ErrUnauthorizedClient = errors.New("client not authorized for this grant")
	// ErrClientRequired: a token bound to a client was presented for
	// revocation without client identification. It is an ErrInvalidClient.
	ErrClientRequired = fmt.Errorf("%w: the token was issued to a client; identify it", ErrInvalidClient)
	// ErrWrongClient: a token bound to one client was presented for
	// revocation by another. It is an ErrUnauthorizedClient.
	ErrWrongClient = fmt.Errorf("%w: the token was issued to another client", ErrUnauthorizedClient)
)

// External sign-in (provider.go).

// Errors of provider sign-in, each a 4xx for the client.
var (
	// ErrUnknownProvider: no provider of that name is configured.
	ErrUnknownProvider = errors.New("unknown sign-in provider")
	// ErrProviderState: the callback's state is missing, forged, expired,
	// or not this browser's.
	ErrProviderState = errors.New("invalid or expired sign-in state")
	// ErrProviderDenied: the provider sent the browser back with an error
	// (the user declined, or the provider refused the request).
	ErrProviderDenied = errors.New("the sign-in was cancelled or refused at the provider")
	// ErrProviderToken: the provider's answer could not be verified (the
	// code was refused, or the ID token's signature, issuer, audience,
	// expiry or nonce is wrong).
	ErrProviderToken = errors.New("the provider's answer could not be verified")
	// ErrEmailNotVerified: a new provider identity without an email the
	// provider has verified cannot create or join an account.
	ErrEmailNotVerified = errors.New("the provider has not verified this email address")
	// ErrIdentityEmailTaken: the provider's verified email belongs to an
	// existing account, and the provider is not trusted to link by email.
	ErrIdentityEmailTaken = errors.New("an account with this email already exists")
)

// The account life cycle and its mail (lifecycle.go, mail.go).

// ErrConfirmationMail: registration with email confirmation on and no mail
// server to send the confirmation (Strapi: "Error sending confirmation
// email", the account being created all the same).
var ErrConfirmationMail = errors.New("error sending confirmation email")

// ErrMailRejected marks a Mailer error that retries cannot cure (a
// permanent SMTP failure: the recipient refused, a 5xx reply).
var ErrMailRejected = errors.New("mail rejected")

// ErrNoMailer: a flow needs to send mail and no mail server is configured
// (REFRESHING_SMTP_URL). Strapi answers 500 when its email provider fails.
var ErrNoMailer = errors.New("no mail server configured")

// ErrIncorrectCode: a password reset code that is unknown, expired, already
// used or malformed (never says which).
var ErrIncorrectCode = errors.New("incorrect code provided")

// ErrInvalidConfirmation: an email confirmation code that is unknown,
// expired, already used or malformed (never says which).
var ErrInvalidConfirmation = errors.New("invalid confirmation token")

// ErrAlreadyConfirmed: send-email-confirmation for an account already confirmed.
var ErrAlreadyConfirmed = errors.New("already confirmed")

// ErrUserBlocked: send-email-confirmation for a blocked account.
var ErrUserBlocked = errors.New("user blocked")

// The Strapi bridge (bridge.go).

// ErrProfileSync reports that the paired Strapi app could not be reached or
// failed, so an operation that needs it did not happen.
var ErrProfileSync = errors.New("the paired Strapi app did not answer")

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
