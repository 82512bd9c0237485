package refreshing_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// memMailer records the messages a Service sends, failing the first fail
// sends (with err, or a temporary error). The real SMTP path is tested in
// cmd/refreshing against a real SMTP server; this one checks the Service's
// rules: codes, expiry, single use, retries.
type memMailer struct {
	mu   sync.Mutex
	sent []refreshing.Message
	fail int
	err  error
}

func (m *memMailer) Send(_ context.Context, msg refreshing.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail > 0 {
		m.fail--
		if m.err != nil {
			return m.err
		}
		return errors.New("421 try again later")
	}
	m.sent = append(m.sent, msg)
	return nil
}

func (m *memMailer) messages() []refreshing.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]refreshing.Message(nil), m.sent...)
}

// newMailEnv returns a Service with a settable clock and m as its Mailer.
func newMailEnv(t *testing.T, m refreshing.Mailer, mod func(*refreshing.Settings)) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "refreshing.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	settings := refreshing.DefaultSettings()
	if mod != nil {
		mod(&settings)
	}
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	svc, err := refreshing.New(t.Context(), refreshing.Config{
		Store: st, Settings: &settings, Now: c.Now, Hasher: refreshing.NewHasher(cheap, 0), Mailer: m,
		Issuer: "https://auth.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, store: st, clock: c}
}

// sender is the test's mail sender: one holder, no waiting.
var sender = refreshing.MailSender{Holder: "test", Backoff: time.Minute, MaxAttempts: 3}

// round runs one sender round and returns how many mails it attempted.
func (e *env) round(t *testing.T) int {
	t.Helper()
	n, err := e.svc.SendMailRound(t.Context(), sender)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// codeIn returns the code of a message: from its link or its text.
func codeIn(t *testing.T, m refreshing.Message) string {
	t.Helper()
	if i := strings.Index(m.Text, "http"); i >= 0 {
		u, err := url.Parse(strings.Fields(m.Text[i:])[0])
		if err != nil {
			t.Fatal(err)
		}
		if c := u.Query().Get("code") + u.Query().Get("confirmation"); c != "" {
			return c
		}
	}
	if i := strings.Index(m.Text, "use this code:"); i >= 0 {
		return strings.Fields(m.Text[i+len("use this code:"):])[0]
	}
	t.Fatalf("no code in %q", m.Text)
	return ""
}

func TestResetPassword(t *testing.T) {
	ctx := t.Context()
	m := &memMailer{}
	e := newMailEnv(t, m, nil)
	g := e.register(t, "ada")
	reset := func(code, pw string) (*refreshing.Grant, error) {
		return e.svc.ResetPassword(ctx, refreshing.PasswordReset{Code: code, Password: pw, Confirmation: pw}, refreshing.ClientInfo{})
	}
	if err := e.svc.ForgotPassword(ctx, "ADA@example.com", refreshing.ClientInfo{}); err != nil {
		t.Fatal(err)
	}
	if n := e.round(t); n != 1 {
		t.Fatalf("attempted %d mails, want 1", n)
	}
	msgs := m.messages()
	if len(msgs) != 1 || msgs[0].To != "ada@example.com" || !strings.Contains(msgs[0].Subject, "Refreshing") {
		t.Fatalf("sent %+v", msgs)
	}
	code := codeIn(t, msgs[0])

	t.Run("ErrIncorrectCode", func(t *testing.T) {
		for _, bad := range []string{"", "x", code + "x", strings.Replace(code, code[len(code)-2:], "AA", 1)} {
			if _, err := reset(bad, "new password"); bad != "" && !errors.Is(err, refreshing.ErrIncorrectCode) {
				t.Errorf("code %q: %v, want ErrIncorrectCode", bad, err)
			}
		}
	})
	t.Run("OKOnce", func(t *testing.T) {
		ng, err := reset(code, "new password")
		if err != nil {
			t.Fatal(err)
		}
		if ng.AccessToken == "" || ng.RefreshToken == "" {
			t.Errorf("grant %+v: want an access and a refresh token (issue-on-login is on)", ng)
		}
		if _, err := e.exchange(t, g.RefreshToken); !errors.Is(err, refreshing.ErrInvalidToken) {
			t.Errorf("session from before the reset: %v, want ErrInvalidToken", err)
		}
		if _, err := reset(code, "third password"); !errors.Is(err, refreshing.ErrIncorrectCode) {
			t.Errorf("second use: %v, want ErrIncorrectCode", err)
		}
		if _, err := e.svc.Login(ctx, "ada", "new password", refreshing.ClientInfo{}); err != nil {
			t.Errorf("login with the new password: %v", err)
		}
	})
	t.Run("ErrIncorrectCodeExpired", func(t *testing.T) {
		if err := e.svc.ForgotPassword(ctx, "ada@example.com", refreshing.ClientInfo{}); err != nil {
			t.Fatal(err)
		}
		e.round(t)
		code := codeIn(t, m.messages()[len(m.messages())-1])
		e.clock.Add(time.Hour) // the default lifetime
		if _, err := reset(code, "later password"); !errors.Is(err, refreshing.ErrIncorrectCode) {
			t.Errorf("expired code: %v, want ErrIncorrectCode", err)
		}
	})
	t.Run("NewerCodeReplacesOlder", func(t *testing.T) {
		for range 2 {
			if err := e.svc.ForgotPassword(ctx, "ada@example.com", refreshing.ClientInfo{}); err != nil {
				t.Fatal(err)
			}
		}
		e.round(t)
		all := m.messages()
		older, newer := codeIn(t, all[len(all)-2]), codeIn(t, all[len(all)-1])
		if _, err := reset(older, "older password"); !errors.Is(err, refreshing.ErrIncorrectCode) {
			t.Errorf("older code: %v, want ErrIncorrectCode", err)
		}
		if _, err := reset(newer, "newer password"); err != nil {
			t.Errorf("newer code: %v", err)
		}
	})
	t.Run("ConfirmationCodeIsNotAResetCode", func(t *testing.T) {
		u, err := e.svc.UserByEmail(ctx, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		u.Confirmed = false
		if err := e.store.UpdateUser(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ResendConfirmation(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		e.round(t)
		code := codeIn(t, m.messages()[len(m.messages())-1])
		if _, err := reset(code, "sneaky password"); !errors.Is(err, refreshing.ErrIncorrectCode) {
			t.Errorf("a confirmation code resets the password: %v", err)
		}
		if _, err := e.svc.ConfirmEmail(ctx, code, refreshing.ClientInfo{}); err != nil {
			t.Errorf("the confirmation code: %v", err)
		}
	})
	t.Run("Validation", func(t *testing.T) {
		var fe *refreshing.FieldError
		_, err := e.svc.ResetPassword(ctx, refreshing.PasswordReset{Code: "c", Password: "new password", Confirmation: "other"}, refreshing.ClientInfo{})
		if !errors.As(err, &fe) || fe.Message != "Passwords do not match" {
			t.Errorf("mismatch: %v", err)
		}
		if err := e.svc.ForgotPassword(ctx, "not an email", refreshing.ClientInfo{}); !errors.As(err, &fe) || fe.Message != "email must be a valid email" {
			t.Errorf("bad email: %v", err)
		}
	})
}

func TestForgotPasswordDropsWithoutAccount(t *testing.T) {
	ctx := t.Context()
	m := &memMailer{}
	e := newMailEnv(t, m, nil)
	e.register(t, "bob")
	u, _ := e.svc.UserByEmail(ctx, "bob@example.com")
	if _, err := e.svc.SetBlocked(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"nobody@example.com", "bob@example.com"} {
		if err := e.svc.ForgotPassword(ctx, addr, refreshing.ClientInfo{}); err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
	}
	e.round(t)
	if n := len(m.messages()); n != 0 {
		t.Fatalf("%d mails sent, want none (unknown and blocked)", n)
	}
	list, err := e.svc.ListMail(ctx, refreshing.MailFilter{State: refreshing.MailDropped})
	if err != nil || len(list) != 2 {
		t.Fatalf("dropped: %v %v", list, err)
	}
}

func TestMailRetries(t *testing.T) {
	ctx := t.Context()
	t.Run("RetryThenSent", func(t *testing.T) {
		m := &memMailer{fail: 2}
		e := newMailEnv(t, m, nil)
		e.register(t, "ada")
		if err := e.svc.ForgotPassword(ctx, "ada@example.com", refreshing.ClientInfo{}); err != nil {
			t.Fatal(err)
		}
		e.round(t) // attempt 1 fails: retry in 1m
		if n := e.round(t); n != 0 {
			t.Fatalf("attempted %d before the backoff ended", n)
		}
		e.clock.Add(time.Minute)
		e.round(t) // attempt 2 fails: retry in 2m
		e.clock.Add(time.Minute)
		if n := e.round(t); n != 0 {
			t.Fatalf("the backoff did not double")
		}
		e.clock.Add(time.Minute)
		e.round(t) // attempt 3 succeeds
		if len(m.messages()) != 1 {
			t.Fatalf("sent %d, want 1", len(m.messages()))
		}
		list, _ := e.svc.ListMail(ctx, refreshing.MailFilter{})
		if list[0].State != refreshing.MailSent || list[0].Attempts != 3 {
			t.Errorf("mail %+v", list[0])
		}
	})
	t.Run("FailedAfterMaxAttempts", func(t *testing.T) {
		m := &memMailer{fail: 100}
		e := newMailEnv(t, m, nil)
		e.register(t, "ada")
		if err := e.svc.ForgotPassword(ctx, "ada@example.com", refreshing.ClientInfo{}); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			e.round(t)
			e.clock.Add(time.Hour)
		}
		list, _ := e.svc.ListMail(ctx, refreshing.MailFilter{})
		if list[0].State != refreshing.MailFailed || list[0].Attempts != 3 || !strings.Contains(list[0].LastError, "421") {
			t.Fatalf("mail %+v, want failed after 3 attempts", list[0])
		}
		e.svc.FlushAudit(ctx)
		ev, err := e.svc.ListAudit(ctx, refreshing.AuditFilter{Type: refreshing.AuditMailFailed})
		if err != nil || len(ev) != 1 {
			t.Fatalf("audit: %v %v", ev, err)
		}
		m.fail = 0
		if err := e.svc.RetryMail(ctx, list[0].ID); err != nil {
			t.Fatal(err)
		}
		e.round(t)
		if len(m.messages()) != 1 {
			t.Errorf("a retried mail was not sent")
		}
	})
	t.Run("RejectedFailsAtOnce", func(t *testing.T) {
		m := &memMailer{fail: 1, err: fmt.Errorf("550 no such mailbox: %w", refreshing.ErrMailRejected)}
		e := newMailEnv(t, m, nil)
		e.register(t, "ada")
		if err := e.svc.ForgotPassword(ctx, "ada@example.com", refreshing.ClientInfo{}); err != nil {
			t.Fatal(err)
		}
		e.round(t)
		list, _ := e.svc.ListMail(ctx, refreshing.MailFilter{})
		if list[0].State != refreshing.MailFailed || list[0].Attempts != 1 {
			t.Fatalf("mail %+v, want failed at once", list[0])
		}
	})
}

func TestMailWithoutMailer(t *testing.T) {
	ctx := t.Context()
	e := newMailEnv(t, nil, func(s *refreshing.Settings) { s.EmailConfirmation = true })
	if err := e.svc.ForgotPassword(ctx, "ada@example.com", refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrNoMailer) {
		t.Errorf("forgot-password: %v, want ErrNoMailer", err)
	}
	_, err := e.svc.Register(ctx, refreshing.Registration{Username: "ada", Email: "ada@example.com", Password: "correct horse"}, refreshing.ClientInfo{})
	if !errors.Is(err, refreshing.ErrConfirmationMail) {
		t.Errorf("register: %v, want ErrConfirmationMail", err)
	}
	if _, err := e.svc.UserByEmail(ctx, "ada@example.com"); err != nil {
		t.Errorf("the account is created all the same (as in Strapi): %v", err)
	}
	if _, err := e.svc.SendMailRound(ctx, sender); !errors.Is(err, refreshing.ErrNoMailer) {
		t.Errorf("SendMailRound: %v", err)
	}
}

func TestMailTemplates(t *testing.T) {
	st := refreshing.DefaultSettings()
	st.Mail.ServiceName = `Acme <script>`
	st.Mail.Reset = refreshing.MailTemplate{HTML: `<a href="{{.Link}}">{{.ServiceName}}</a>`}
	st.Mail.ResetPasswordURL = "https://app.example.com/reset?lang=en"
	subject, text, html, err := st.Mail.PreviewMail(refreshing.MailResetPassword)
	if err != nil {
		t.Fatal(err)
	}
	if subject != "Reset your Acme <script> password" || !strings.Contains(text, "https://app.example.com/reset?code=EXAMPLE-CODE&lang=en") {
		t.Errorf("subject %q, text %q", subject, text)
	}
	if html != `<a href="https://app.example.com/reset?code=EXAMPLE-CODE&amp;lang=en">Acme &lt;script&gt;</a>` {
		t.Errorf("html %q: want escaped", html)
	}
	for _, tc := range []struct {
		name  string
		mod   func(*refreshing.MailSettings)
		field string
	}{
		{"ErrSubject", func(m *refreshing.MailSettings) { m.Reset.Subject = "{{.Nope}}" }, "resetTemplateSubject"},
		{"ErrHTML", func(m *refreshing.MailSettings) { m.Confirmation.HTML = "{{if}}" }, "confirmationTemplateHtml"},
		{"ErrResetURL", func(m *refreshing.MailSettings) { m.ResetPasswordURL = "javascript:alert(1)" }, "resetPasswordURL"},
		{"ErrRedirect", func(m *refreshing.MailSettings) { m.ConfirmationRedirect = "//evil.example.com" }, "confirmationRedirect"},
		{"ErrTTL", func(m *refreshing.MailSettings) { m.ResetCodeTTL = 48 * time.Hour }, "resetCodeTTL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := refreshing.DefaultSettings()
			tc.mod(&s.Mail)
			var fe *refreshing.FieldError
			if err := s.Validate(); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("Validate: %v, want a field error on %s", err, tc.field)
			}
		})
	}
	t.Run("JSONRoundTrip", func(t *testing.T) {
		s := refreshing.DefaultSettings()
		s.Mail.ServiceName, s.Mail.Reset.Text = "Acme", "{{.Code}}"
		b, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back refreshing.Settings
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		if back != s {
			t.Errorf("round trip: %+v, want %+v", back.Mail, s.Mail)
		}
		var old refreshing.Settings
		if err := old.UnmarshalJSON([]byte(`{"accessTTL":"15m"}`)); err != nil || old.Mail != refreshing.DefaultMailSettings() {
			t.Errorf("settings saved before mail: %+v %v", old.Mail, err)
		}
	})
}
