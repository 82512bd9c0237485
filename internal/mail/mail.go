// Package mail delivers Refreshing's messages over SMTP, with the
// github.com/wneessen/go-mail library. It is the refreshing.Mailer that
// serve configures from REFRESHING_SMTP_URL and REFRESHING_MAIL_FROM.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
	gomail "github.com/wneessen/go-mail"
)

var _ refreshing.Mailer = (*Mailer)(nil)

// Mailer sends messages through one SMTP server, one connection per
// message. It is safe for concurrent use.
type Mailer struct {
	host     string
	port     int
	tls      string // "starttls" (when offered), "starttls-required", "implicit"
	user     string
	password string
	from     string
	tlsConf  *tls.Config
}

// New returns a Mailer for the server rawURL names, sending from from (an
// address, optionally with a display name: "Refreshing <no-reply@example.com>").
//
//   - smtp://[user:password@]host[:port]: STARTTLS when the server offers
//     it (port 25 by default). Without TLS the password is only used with a
//     challenge mechanism (SCRAM, CRAM-MD5), never sent as PLAIN or LOGIN.
//   - smtp+starttls://...: STARTTLS required (port 587 by default).
//   - smtps://...: TLS from the first byte (port 465 by default).
//
// The user name and password are percent-decoded. Anything else (a path, a
// query, a fragment, another scheme, a missing host) is refused, so that a
// typo fails at start instead of at the first mail. Errors never repeat the
// password.
func New(rawURL, from string) (*Mailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's errors quote the whole URL, password included.
		return nil, errors.New("REFRESHING_SMTP_URL is not a URL")
	}
	m := &Mailer{host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
		m.tls, m.port = "starttls", 25
	case "smtp+starttls":
		m.tls, m.port = "starttls-required", 587
	case "smtps":
		m.tls, m.port = "implicit", 465
	default:
		return nil, fmt.Errorf("REFRESHING_SMTP_URL: scheme %q is not smtp, smtp+starttls or smtps", u.Scheme)
	}
	switch {
	case m.host == "" || u.Opaque != "":
		return nil, errors.New("REFRESHING_SMTP_URL has no host")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return nil, errors.New("REFRESHING_SMTP_URL must have no path, query or fragment")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("REFRESHING_SMTP_URL: port %q is not a port number", p)
		}
		m.port = n
	}
	if u.User != nil {
		m.user = u.User.Username()
		m.password, _ = u.User.Password()
		if m.user == "" {
			return nil, errors.New("REFRESHING_SMTP_URL has a password but no user name")
		}
	}
	if strings.TrimSpace(from) == "" {
		return nil, errors.New("REFRESHING_MAIL_FROM is required with REFRESHING_SMTP_URL")
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("REFRESHING_MAIL_FROM %q is not an email address: %w", from, err)
	}
	m.from = from
	m.tlsConf = &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12}
	return m, nil
}

// String describes the server without its credentials, for logs.
func (m *Mailer) String() string {
	who := ""
	if m.user != "" {
		who = m.user + "@"
	}
	return fmt.Sprintf("%s%s:%d (%s)", who, m.host, m.port, m.tls)
}

// client returns a go-mail client configured for the server.
func (m *Mailer) client(timeout time.Duration) (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(m.port), gomail.WithTimeout(timeout), gomail.WithTLSConfig(m.tlsConf)}
	switch m.tls {
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "starttls-required":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "implicit":
		opts = append(opts, gomail.WithSSL())
	}
	if m.user != "" {
		// The strongest mechanism the server offers; PLAIN and LOGIN only
		// over TLS.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(m.user), gomail.WithPassword(m.password))
	}
	return gomail.NewClient(m.host, opts...)
}

// Send implements refreshing.Mailer: one connection, one message with a
// plain-text and an HTML part. A permanent refusal (a 5xx reply to the
// envelope or the data) wraps refreshing.ErrMailRejected. Once the server
// accepted the data, a failure to close the connection politely is not an
// error: the message was sent, and reporting otherwise would send it again.
func (m *Mailer) Send(ctx context.Context, msg refreshing.Message) error {
	g := gomail.NewMsg()
	if err := g.From(m.from); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := g.To(msg.To); err != nil {
		return fmt.Errorf("mail to: %w: %w", refreshing.ErrMailRejected, err)
	}
	g.Subject(msg.Subject)
	g.SetDate()
	g.SetMessageID()
	g.SetBodyString(gomail.TypeTextPlain, msg.Text)
	g.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)

	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	c, err := m.client(timeout)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	conn, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("smtp %s:%d: %w", m.host, m.port, err)
	}
	if err := c.SendWithSMTPClient(conn, g); err != nil {
		_ = c.CloseWithSMTPClient(conn)
		var se *gomail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return fmt.Errorf("smtp %s:%d: %w: %w", m.host, m.port, refreshing.ErrMailRejected, err)
		}
		return fmt.Errorf("smtp %s:%d: %w", m.host, m.port, err)
	}
	_ = c.CloseWithSMTPClient(conn)
	return nil
}
