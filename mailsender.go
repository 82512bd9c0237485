package refreshing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// The mail sender drains the outbox (mail.go) in the background of serve.
// Each round claims the due mails with a lease in the Store, so that several
// instances on one database never work on the same mail at once, and for
// each: looks the account up, makes a code and stores its hash, renders the
// message and hands it to the Mailer, then records the outcome (sent; a
// retry after a backoff; failed after MaxAttempts; dropped when there is no
// one to send to). A mail server that is down or slow delays mail; it never
// fails or slows a request, which only enqueued.
//
// Delivery is at least once: a mail the SMTP server accepted is marked sent
// in the next statement, and if the process dies in between (or its lease
// ends before it could record the outcome) the mail is sent again, with a
// new code that replaces the first. docs/email.md says more.

// MailSender configures RunMailSender and SendMailRound. Zero fields take
// the defaults given.
type MailSender struct {
	// Holder names this instance in the leases; default a random name.
	Holder string
	// Interval is the time between rounds when no enqueue in this process
	// wakes the sender sooner; default 2s (how soon mail enqueued by
	// another instance, or due for a retry, goes out).
	Interval time.Duration
	// Batch is how many mails a round claims at most; default 20.
	Batch int
	// Lease is how long a claimed mail is this sender's; default 2m. It
	// must outlast Timeout, or another instance may send the mail again.
	Lease time.Duration
	// Timeout bounds one SMTP delivery; default 30s.
	Timeout time.Duration
	// StopGrace is how long a delivery under way may go on once the
	// sender is told to stop; default 10s. One cut short is recorded as a
	// failed attempt (and retried: if the server had in fact accepted it,
	// that is the at-least-once window).
	StopGrace time.Duration
	// MaxAttempts is how many attempts a mail gets before it is marked
	// failed; default 10.
	MaxAttempts int
	// Backoff is the wait after the first failed attempt; it doubles with
	// each further one, up to MaxBackoff. Defaults 30s and 1h: ten
	// attempts span about five hours.
	Backoff, MaxBackoff time.Duration
	// Retention is how long sent, failed and dropped mails stay listed,
	// and expired codes stay stored; default 30 days.
	Retention time.Duration
	// Logger receives a line per failure; nil discards them. It never sees
	// a code or a message body.
	Logger *slog.Logger
}

// MailObserver is implemented by an Observer that also hears about mail
// (internal/metrics does): how each attempt ended ("sent", "retry",
// "failed", "dropped") by kind of mail, and the outbox's size by state
// after each round.
type MailObserver interface {
	Mailed(kind, outcome string)
	MailQueue(counts map[string]int64)
}

// WithDefaults returns m with its zero fields set to the defaults (what
// `refreshing config` shows of the mail sender).
func (m MailSender) WithDefaults() MailSender {
	if m.Holder == "" {
		m.Holder = "mailer-" + randomString(9)
	}
	if m.Interval <= 0 {
		m.Interval = 2 * time.Second
	}
	if m.Batch <= 0 {
		m.Batch = 20
	}
	if m.Timeout <= 0 {
		m.Timeout = 30 * time.Second
	}
	if m.StopGrace <= 0 {
		m.StopGrace = 10 * time.Second
	}
	if m.Lease <= 0 {
		m.Lease = 2 * time.Minute
	}
	if m.Lease < m.Timeout+10*time.Second {
		m.Lease = m.Timeout + 10*time.Second
	}
	if m.MaxAttempts <= 0 {
		m.MaxAttempts = 10
	}
	if m.Backoff <= 0 {
		m.Backoff = 30 * time.Second
	}
	if m.MaxBackoff <= 0 {
		m.MaxBackoff = time.Hour
	}
	if m.Retention <= 0 {
		m.Retention = 30 * 24 * time.Hour
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	return m
}

// backoff is the wait after the attempts-th failed attempt.
func (m MailSender) backoff(attempts int) time.Duration {
	d := m.Backoff
	for i := 1; i < attempts && d < m.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, m.MaxBackoff)
}

// RunMailSender sends the outbox's mail until ctx is done: a round every
// Interval, or at once when this process enqueued a mail. Without a Mailer
// it returns at once. A round in progress when ctx ends finishes the mail
// it is sending (for at most StopGrace more) and records it, so that a
// clean shutdown sends nothing twice.
func (s *Service) RunMailSender(ctx context.Context, m MailSender) {
	if s.mailer == nil {
		return
	}
	m = m.WithDefaults()
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	var purged time.Time
	for {
		if _, err := s.SendMailRound(ctx, m); err != nil && ctx.Err() == nil {
			m.Logger.Warn("mail sender", "err", err)
		}
		if now := s.clock(); now.Sub(purged) >= time.Hour || now.Before(purged) {
			purged = now
			if _, err := s.store.PurgeMail(ctx, now.Add(-m.Retention), 1000); err != nil && ctx.Err() == nil {
				m.Logger.Warn("mail purge", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.mailWake:
		}
	}
}

// SendMailRound claims the due mails once and attempts each; it reports how
// many it attempted. ctx ending stops it from claiming more, not from
// finishing (and recording) the mail under way.
func (s *Service) SendMailRound(ctx context.Context, m MailSender) (int, error) {
	if s.mailer == nil {
		return 0, ErrNoMailer
	}
	m = m.WithDefaults()
	n := 0
	for ctx.Err() == nil {
		now := s.clock()
		batch, err := s.store.ClaimMail(ctx, MailClaim{Holder: m.Holder, Now: now, Until: now.Add(m.Lease), Limit: m.Batch})
		if err != nil {
			return n, fmt.Errorf("claim mail: %w", err)
		}
		for _, ml := range batch {
			// A claimed mail is finished and recorded even while the
			// process stops, for at most StopGrace more.
			actx, cancel := outlive(ctx, m.StopGrace)
			s.attempt(actx, ml, m)
			cancel()
			n++
		}
		if len(batch) < m.Batch {
			break
		}
	}
	if mo, ok := s.obs.(MailObserver); ok {
		if counts, err := s.store.CountMail(ctx); err == nil {
			mo.MailQueue(counts)
		}
	}
	return n, nil
}

// attempt makes one attempt at ml and records its outcome.
func (s *Service) attempt(ctx context.Context, ml Mail, m MailSender) {
	f := MailFinish{ID: ml.ID, Holder: m.Holder}
	err := s.deliver(ctx, ml, m)
	var drop *dropReason
	f.At = s.clock()
	switch {
	case err == nil:
		f.State = MailSent
	case errors.As(err, &drop):
		f.State, f.Error = MailDropped, drop.reason
	case ml.Attempts >= m.MaxAttempts || errors.Is(err, ErrMailRejected):
		f.State, f.Error = MailFailed, clip(err.Error(), 500)
	default:
		f.State, f.Error, f.RetryAt = MailPending, clip(err.Error(), 500), f.At.Add(m.backoff(ml.Attempts))
	}
	outcome := f.State
	switch f.State {
	case MailPending:
		outcome = "retry"
		m.Logger.Warn("mail not sent; will retry", "mail", ml.ID, "kind", ml.Kind, "attempt", ml.Attempts, "retry_at", f.RetryAt, "err", f.Error)
	case MailFailed:
		m.Logger.Error("mail failed; giving up", "mail", ml.ID, "kind", ml.Kind, "attempts", ml.Attempts, "err", f.Error)
		s.audit(ctx, AuditEvent{Type: AuditMailFailed, UserID: ml.UserID,
			Detail: fmt.Sprintf("%s mail %d to %s failed after %d attempts: %s", ml.Kind, ml.ID, ml.To, ml.Attempts, f.Error)})
	}
	if mo, ok := s.obs.(MailObserver); ok {
		mo.Mailed(ml.Kind, outcome)
	}
	// Recorded even if the attempt was cut short.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.store.FinishMail(fctx, f); err != nil {
		// ErrStale: the lease ran out and another sender took the mail.
		m.Logger.Warn("mail outcome not recorded", "mail", ml.ID, "state", f.State, "err", err)
	}
}

// outlive returns a context that ends grace after ctx does (or when the
// returned function is called).
func outlive(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var t *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		t = time.AfterFunc(grace, cancel)
		mu.Unlock()
	})
	return c, func() {
		stop()
		mu.Lock()
		if t != nil {
			t.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// dropReason is deliver's answer for a mail with no one to send it to.
type dropReason struct{ reason string }

func (d *dropReason) Error() string { return d.reason }

// deliver sends ml: the account it is for, a new code whose hash is stored
// first, the message rendered from the templates in force.
func (s *Service) deliver(ctx context.Context, ml Mail, m MailSender) error {
	st, err := s.Settings(ctx)
	if err != nil {
		return err
	}
	var u *User
	if ml.UserID != 0 {
		u, err = s.store.UserByID(ctx, ml.UserID)
	} else {
		u, err = s.store.UserByEmail(ctx, strings.ToLower(ml.To))
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return &dropReason{"no account has this address"}
	case err != nil:
		return fmt.Errorf("find user: %w", err)
	case u.Blocked:
		return &dropReason{"the account is blocked"}
	case ml.Kind == MailEmailConfirmation && u.Confirmed:
		return &dropReason{"the account is already confirmed"}
	case ml.Kind != MailEmailConfirmation && ml.Kind != MailResetPassword:
		return &dropReason{"unknown kind of mail " + ml.Kind}
	}
	code, id, hash := newCode()
	now := s.clock()
	ttl := st.Mail.ResetCodeTTL
	d := MailData{ServiceName: st.Mail.ServiceName, Code: code, Username: u.Username, Email: u.Email}
	if ml.Kind == MailEmailConfirmation {
		ttl = st.Mail.ConfirmationCodeTTL
		d.Link = withQuery(strings.TrimSuffix(s.issuer, "/")+"/api/auth/email-confirmation", "confirmation", code)
	} else if st.Mail.ResetPasswordURL != "" {
		d.Link = withQuery(st.Mail.ResetPasswordURL, "code", code)
	}
	d.Expires = humanDuration(ttl)
	subject, text, html, err := st.Mail.Template(ml.Kind).Render(d)
	if err != nil {
		return fmt.Errorf("render %s mail: %w", ml.Kind, err)
	}
	if err := s.store.PutCode(ctx, AccountCode{ID: id, UserID: u.ID, Purpose: ml.Kind, Hash: hash, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		return fmt.Errorf("store code: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	return s.mailer.Send(sctx, Message{To: u.Email, Subject: subject, Text: text, HTML: html})
}
