package refreshing

import (
	"context"
	"errors"
	"time"
)

// The account life cycle's storage: one-time codes (password reset, email
// confirmation) and the outbox of mail (see lifecycle.go and mailsender.go,
// and docs/email.md for the guarantees).
//
// A request that asks for a mail (forgot-password, register with
// confirmation, send-email-confirmation, an operator's resend) only enqueues
// an intent: the kind of mail and its recipient. The background sender
// claims it, looks the account up, makes the code, stores the code's hash,
// renders the message from the templates and hands it to SMTP. So the code
// exists in plain text only in the sender's memory and in the message on
// its way: the outbox never holds it, and a request for an unknown address
// does exactly the work of one for a known address (one insert).

// Kinds of mail.
const (
	MailResetPassword     = "reset-password"     // a password reset code, for forgot-password
	MailEmailConfirmation = "email-confirmation" // an email confirmation link
)

// States of a mail in the outbox.
const (
	MailPending = "pending" // waiting for (another) attempt
	MailSent    = "sent"    // the SMTP server accepted it
	MailFailed  = "failed"  // given up after the last attempt failed
	MailDropped = "dropped" // nothing to send: no such account, blocked, already confirmed
)

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

// MailClaim is the argument of MailStore.ClaimMail.
type MailClaim struct {
	Holder string    // who claims (a sender instance)
	Now    time.Time // mails due at or before Now, whose lease ended at or before Now
	Until  time.Time // the lease given
	Limit  int       // at most this many
}

// MailFinish is the argument of MailStore.FinishMail: how an attempt ended.
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

// Purposes of an AccountCode: the kinds of mail that carry one, and the
// one-time code a provider sign-in ends with on a front-end page (signincode.go).
const (
	CodeResetPassword     = MailResetPassword
	CodeEmailConfirmation = MailEmailConfirmation
	CodeSignIn            = "signin"
)

// AccountCode is a one-time code as stored: its public id and the SHA-256
// of its secret part, never the code itself.
type AccountCode struct {
	ID        string // the code's public part, its key in the store
	UserID    int64
	Purpose   string // CodeResetPassword or CodeEmailConfirmation
	Hash      []byte // SHA-256 of the secret part
	CreatedAt time.Time
	ExpiresAt time.Time
}

// MailStore persists the outbox and the one-time codes. It is part of Store;
// like every Store method, each is atomic and decides no policy: the Service
// tells it the times, the leases and the outcomes.
type MailStore interface {
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
	RedeemCode(ctx context.Context, id string, u *User, revoke *Revocation) error
	// DeleteCode deletes the code id. It returns ErrNotFound if there is no
	// such code, so that of concurrent callers exactly one succeeds.
	DeleteCode(ctx context.Context, id string) error

	// PurgeMail deletes at most limit outbox entries finished (sent, failed
	// or dropped) before before, and codes that expired before before, and
	// reports how many rows it deleted.
	PurgeMail(ctx context.Context, before time.Time, limit int) (int, error)
}

// Message is a rendered mail, as a Mailer sends it.
type Message struct {
	To      string
	Subject string
	Text    string // the plain-text part
	HTML    string // the HTML part
}

// Mailer delivers messages (internal/mail does it over SMTP). Send returns
// once the server accepted the message, or with why it did not; an error
// wrapping ErrMailRejected says that trying again will not help.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

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

// RedeemCode implements Store and invalidates the authentication cache: it
// changes a user and may revoke their sessions.
func (s invalidating) RedeemCode(ctx context.Context, id string, u *User, revoke *Revocation) error {
	defer s.cache.invalidate()
	return s.Store.RedeemCode(ctx, id, u, revoke)
}
