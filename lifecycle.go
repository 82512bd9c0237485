package refreshing

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// The account life cycle: password reset and email confirmation by mail
// (Strapi's users-permissions forgot-password, reset-password,
// email-confirmation and send-email-confirmation), and what operators do
// for users who cannot (confirm, set a password, resend). mail.go says how
// mail flows through the outbox; mailsender.go sends it.

// Audit event types of the account life cycle.
const (
	AuditResetRequested  = "password.reset_requested" // forgot-password, for any address (UserID 0)
	AuditPasswordReset   = "password.reset"           // a reset code was used
	AuditEmailConfirmed  = "email.confirmed"          // a confirmation link was used
	AuditUserConfirm     = "user.confirm"             // an administrator confirmed a user
	AuditUserSetPassword = "user.set_password"        // an administrator set a user's password
	AuditMailResend      = "mail.resend"              // an administrator resent a confirmation
	AuditMailFailed      = "mail.failed"              // a mail was given up after its last attempt
	AuditMailRetried     = "mail.retry"               // an administrator made a failed mail pending again
)

// codeIDLen and codeSecLen are the base64url lengths of a code's two parts
// (16 and 32 random bytes).
const codeIDLen, codeSecLen = 22, 43

// checkEmail validates an email field as Strapi's yup schema does.
func checkEmail(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return Invalid(field, "%s is a required field", field)
	}
	if err := checkText(field, v, true, MaxIdentifierLen); err != nil {
		return err
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v || !strings.Contains(v[strings.LastIndexByte(v, '@'):], ".") {
		return Invalid(field, "%s must be a valid email", field)
	}
	return nil
}

// required refuses an empty field with yup's message.
func required(field, v string) error {
	if v == "" {
		return Invalid(field, "%s is a required field", field)
	}
	return nil
}

// newCode returns a fresh one-time code and what the Store keeps of it.
func newCode() (code, id string, hash []byte) {
	id, secret := randomString(16), randomString(32)
	return id + "." + secret, id, hashToken(secret)
}

// splitCode parses a code; ok is false for anything that cannot be one.
func splitCode(code string) (id, secret string, ok bool) {
	id, secret, ok = strings.Cut(code, ".")
	if !ok || len(id) != codeIDLen || len(secret) != codeSecLen {
		return "", "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(id); err != nil {
		return "", "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// checkCode returns the stored code that code stands for, if it is one of
// purpose and has not expired, with its secret compared in constant time.
// Every other case is ErrNotFound.
func (s *Service) checkCode(ctx context.Context, code, purpose string) (*AccountCode, error) {
	id, secret, ok := splitCode(code)
	if !ok {
		return nil, ErrNotFound
	}
	c, err := s.store.Code(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("load code: %w", err)
	}
	if !sameHash(hashToken(secret), c.Hash) || c.Purpose != purpose || !s.clock().Before(c.ExpiresAt) {
		return nil, ErrNotFound
	}
	return c, nil
}

// enqueue puts m in the outbox and wakes this process's sender.
func (s *Service) enqueue(ctx context.Context, m *Mail) error {
	now := s.clock()
	m.State, m.CreatedAt, m.NextAttempt = MailPending, now, now
	if err := s.store.EnqueueMail(ctx, m); err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	select {
	case s.mailWake <- struct{}{}:
	default:
	}
	return nil
}

// MailConfigured reports whether a mail server is configured.
func (s *Service) MailConfigured() bool { return s.mailer != nil }

// ForgotPassword asks for a password reset mail to email. The answer and
// the work are the same whether an account has that address or not (one
// insert into the outbox); the sender finds out, and mails only an active
// account. Without a mail server every call fails alike with ErrNoMailer.
func (s *Service) ForgotPassword(ctx context.Context, email string, ci ClientInfo) error {
	if err := checkEmail("email", email); err != nil {
		return err
	}
	if s.mailer == nil {
		return ErrNoMailer
	}
	if err := s.enqueue(ctx, &Mail{Kind: MailResetPassword, To: strings.ToLower(email)}); err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{Type: AuditResetRequested, IP: ci.IP, UserAgent: ci.UserAgent})
	return nil
}

// PasswordReset is the input of ResetPassword.
type PasswordReset struct {
	Code         string
	Password     string
	Confirmation string
}

// ResetPassword sets a new password with a mailed code, which works once.
// It ends every session of the user and signs them in afresh: an access
// token and, when issue-on-login is on, a new session.
func (s *Service) ResetPassword(ctx context.Context, r PasswordReset, ci ClientInfo) (*Grant, error) {
	for _, f := range []struct{ name, v string }{{"password", r.Password}, {"passwordConfirmation", r.Confirmation}, {"code", r.Code}} {
		if err := required(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if err := s.CheckPassword(ctx, "password", r.Password); err != nil {
		return nil, err
	}
	if r.Password != r.Confirmation {
		return nil, Invalid("passwordConfirmation", "Passwords do not match")
	}
	ci, err := clampInfo(ci)
	if err != nil {
		return nil, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.checkCode(ctx, r.Code, CodeResetPassword)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrIncorrectCode
	}
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrIncorrectCode
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if u.Blocked {
		return nil, ErrBlocked
	}
	changed, rev, err := s.newPassword(ctx, u, r.Password, ReasonPasswordReset)
	if err != nil {
		return nil, err
	}
	if err := s.store.RedeemCode(ctx, c.ID, changed, rev); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrIncorrectCode // used meanwhile by a concurrent request
		}
		return nil, fmt.Errorf("reset password: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditPasswordReset, UserID: u.ID, IP: ci.IP, UserAgent: ci.UserAgent, Detail: "password reset with a mailed code; every session revoked"})
	return s.issue(ctx, changed, st, ci, st.IssueOnLogin)
}

// ConfirmEmail confirms the account a confirmation code was mailed to, once,
// and returns where to send the browser (the ConfirmationRedirect setting,
// "/" when empty).
func (s *Service) ConfirmEmail(ctx context.Context, code string, ci ClientInfo) (string, error) {
	if err := required("confirmation", code); err != nil {
		return "", err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return "", err
	}
	c, err := s.checkCode(ctx, code, CodeEmailConfirmation)
	if errors.Is(err, ErrNotFound) {
		return "", ErrInvalidConfirmation
	}
	if err != nil {
		return "", err
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if errors.Is(err, ErrNotFound) {
		return "", ErrInvalidConfirmation
	}
	if err != nil {
		return "", fmt.Errorf("load user: %w", err)
	}
	changed := *u
	changed.Confirmed, changed.UpdatedAt = true, s.clock()
	if err := s.store.RedeemCode(ctx, c.ID, &changed, nil); err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", ErrInvalidConfirmation
		}
		return "", fmt.Errorf("confirm email: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditEmailConfirmed, UserID: u.ID, IP: ci.IP, UserAgent: ci.UserAgent})
	if st.Mail.ConfirmationRedirect == "" {
		return "/", nil
	}
	return st.Mail.ConfirmationRedirect, nil
}

// SendEmailConfirmation mails a new confirmation link to the account with
// that email, as Strapi does: an unknown address answers as if sent (and
// nothing is sent); a confirmed account is ErrAlreadyConfirmed and a
// blocked one ErrUserBlocked. It returns the address to report.
func (s *Service) SendEmailConfirmation(ctx context.Context, email string) (string, error) {
	if err := checkEmail("email", email); err != nil {
		return "", err
	}
	u, err := s.store.UserByEmail(ctx, strings.ToLower(email))
	if errors.Is(err, ErrNotFound) {
		return email, nil
	}
	if err != nil {
		return "", fmt.Errorf("find user: %w", err)
	}
	switch {
	case u.Confirmed:
		return "", ErrAlreadyConfirmed
	case u.Blocked:
		return "", ErrUserBlocked
	case s.mailer == nil:
		return "", ErrNoMailer
	}
	if err := s.enqueue(ctx, &Mail{Kind: MailEmailConfirmation, To: u.Email, UserID: u.ID}); err != nil {
		return "", err
	}
	return u.Email, nil
}

// sendConfirmation enqueues the confirmation mail of a new account.
func (s *Service) sendConfirmation(ctx context.Context, u *User) error {
	if s.mailer == nil {
		return ErrConfirmationMail
	}
	return s.enqueue(ctx, &Mail{Kind: MailEmailConfirmation, To: u.Email, UserID: u.ID})
}

// ConfirmUser confirms a user's email, as an administrator.
func (s *Service) ConfirmUser(ctx context.Context, userID int64) (*User, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if u.Confirmed {
		return u, nil
	}
	u.Confirmed, u.UpdatedAt = true, s.clock()
	if err := s.store.UpdateUser(ctx, u, nil); err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditUserConfirm, UserID: u.ID, Detail: "email confirmed by an administrator"})
	return u, nil
}

// ResendConfirmation enqueues a new confirmation mail for a user who is not
// confirmed yet, as an administrator. It works without a mail server in
// this process (the CLI): an instance that has one sends it.
func (s *Service) ResendConfirmation(ctx context.Context, userID int64) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("load user: %w", err)
	}
	if u.Confirmed {
		return ErrAlreadyConfirmed
	}
	if err := s.enqueue(ctx, &Mail{Kind: MailEmailConfirmation, To: u.Email, UserID: u.ID}); err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{Type: AuditMailResend, UserID: u.ID, Detail: "confirmation mail enqueued by an administrator"})
	return nil
}

// ListMail lists the outbox for administrators, newest first.
func (s *Service) ListMail(ctx context.Context, f MailFilter) ([]Mail, error) {
	return s.store.ListMail(ctx, f)
}

// CountMail counts the outbox's mails by state.
func (s *Service) CountMail(ctx context.Context) (map[string]int64, error) {
	return s.store.CountMail(ctx)
}

// RetryMail makes a failed mail pending again, as an administrator.
func (s *Service) RetryMail(ctx context.Context, id int64) error {
	if err := s.store.RetryMail(ctx, id, s.clock()); err != nil {
		return fmt.Errorf("retry mail: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditMailRetried, Detail: fmt.Sprintf("mail %d made pending again", id)})
	select {
	case s.mailWake <- struct{}{}:
	default:
	}
	return nil
}
