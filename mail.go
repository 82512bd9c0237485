package refreshing

import "context"

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

// Purposes of an AccountCode: the kinds of mail that carry one, and the
// one-time code a provider sign-in ends with on a front-end page (signincode.go).
const (
	CodeResetPassword     = MailResetPassword
	CodeEmailConfirmation = MailEmailConfirmation
	CodeSignIn            = "signin"
)

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
