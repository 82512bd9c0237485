package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/refreshing/refreshing/internal/pgtest"
)

// mailCatcher is a real SMTP server on 127.0.0.1 (emersion/go-smtp) that
// keeps every message it accepts. It can be stopped and started again on
// the same port, as a mail server that goes down and comes back.
type mailCatcher struct {
	addr string

	mu      sync.Mutex
	msgs    []caught
	srv     *smtp.Server
	ln      net.Listener
	arrived chan struct{}
}

// caught is one message as the catcher received it, decoded.
type caught struct {
	From, To, Subject string
	Text, HTML        string
	Raw               []byte
}

func newMailCatcher(t *testing.T) *mailCatcher {
	t.Helper()
	c := &mailCatcher{addr: "127.0.0.1:0", arrived: make(chan struct{}, 100)}
	c.start(t)
	t.Cleanup(c.stop)
	return c
}

// start listens on c.addr (the same port again after stop).
func (c *mailCatcher) start(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the old socket may linger an instant after stop
		if ln, err = net.Listen("tcp", c.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("smtp listen: %v", err)
	}
	srv := smtp.NewServer(catcherBackend{c})
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	c.mu.Lock()
	c.addr, c.srv, c.ln = ln.Addr().String(), srv, ln
	c.mu.Unlock()
	go srv.Serve(ln)
}

// stop closes the server and every connection.
func (c *mailCatcher) stop() {
	c.mu.Lock()
	srv, ln := c.srv, c.ln
	c.srv, c.ln = nil, nil
	c.mu.Unlock()
	if srv != nil {
		// The listener too: Close only knows it once Serve has begun.
		ln.Close()
		srv.Close()
	}
}

// url is the REFRESHING_SMTP_URL of the catcher.
func (c *mailCatcher) url() string { return "smtp://" + c.addr }

// messages returns what arrived so far.
func (c *mailCatcher) messages() []caught {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]caught(nil), c.msgs...)
}

// wait returns once n messages arrived, or fails after 20 seconds.
func (c *mailCatcher) wait(t *testing.T, n int) []caught {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if ms := c.messages(); len(ms) >= n {
			return ms
		}
		select {
		case <-c.arrived:
		case <-deadline:
			t.Fatalf("%d messages arrived in 20s, want %d", len(c.messages()), n)
		}
	}
}

type catcherBackend struct{ c *mailCatcher }

func (b catcherBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &catcherSession{c: b.c}, nil
}

type catcherSession struct {
	c        *mailCatcher
	from, to string
}

func (s *catcherSession) Reset()        { s.from, s.to = "", "" }
func (s *catcherSession) Logout() error { return nil }
func (s *catcherSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *catcherSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}
func (s *catcherSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := decodeMessage(raw)
	if err != nil {
		return err
	}
	m.From, m.To = s.from, s.to
	s.c.mu.Lock()
	s.c.msgs = append(s.c.msgs, m)
	s.c.mu.Unlock()
	select { // a full channel has wake-ups pending already
	case s.c.arrived <- struct{}{}:
	default:
	}
	return nil
}

// decodeMessage reads the subject and the text and HTML parts of raw.
func decodeMessage(raw []byte) (caught, error) {
	out := caught{Raw: raw}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return out, err
	}
	if out.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return out, err
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return out, err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return out, errors.New("not multipart: " + mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // quoted-printable is decoded here
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, err
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return out, err
		}
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			if body, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(body))); err != nil {
				return out, err
			}
		}
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			out.Text = string(body)
		case "text/html":
			out.HTML = string(body)
		}
	}
	return out, nil
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// link returns the one link of m's text part.
func (m caught) link(t *testing.T) *url.URL {
	t.Helper()
	links := linkRE.FindAllString(m.Text, -1)
	if len(links) != 1 {
		t.Fatalf("text part has links %q, want one:\n%s", links, m.Text)
	}
	u, err := url.Parse(links[0])
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// startMail runs an instance whose issuer is its own address, so that the
// links it mails lead back to it, sending mail through c.
func startMail(t *testing.T, c *mailCatcher, env map[string]string) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	db := filepath.Join(t.TempDir(), "refreshing.db")
	e := map[string]string{
		"REFRESHING_DB": "sqlite:" + db, "REFRESHING_ISSUER": "http://" + addr, "REFRESHING_LOG_LEVEL": "debug",
		"REFRESHING_MAIL_FROM": "Refreshing <no-reply@example.com>", "REFRESHING_MAIL_POLL": "100ms", "REFRESHING_MAIL_RETRY": "100ms",
		"REFRESHING_RATE_LIMIT_IP": "1000", "REFRESHING_MAIL_SERVICE_NAME": "Acme Accounts",
	}
	if c != nil {
		e["REFRESHING_SMTP_URL"] = c.url()
	}
	for k, v := range env {
		e[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{env: e, db: db, logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		in.done <- run(ctx, []string{"serve", "--addr", addr}, in.getenv, io.Discard, in.logs)
	}()
	// serve says where it listens in its log, not on stdout (startWith).
	url, err := listeningURL(in.logs.String, in.done)
	if err != nil {
		cancel()
		in.cancel = nil
		t.Fatalf("server did not start: %v\n%s", err, in.logs)
	}
	in.url = url
	t.Cleanup(func() { in.stop(t) })
	return in
}

// login signs ada in with password and returns the answer.
func login(t *testing.T, in *instance, password string) (int, map[string]any) {
	t.Helper()
	return in.post(t, "/api/auth/local", "", map[string]string{"identifier": "ada@example.com", "password": password})
}

// errorMessage returns the message of a Strapi error answer.
func errorMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// TestPasswordResetByMail: forgot-password, the mail arrives once, its code
// resets the password once, the old password and every older session stop
// working; an unknown address gets the same answer and no mail.
func TestPasswordResetByMail(t *testing.T) {
	c := newMailCatcher(t)
	in := startMail(t, c, map[string]string{"REFRESHING_RESET_PASSWORD_URL": "https://app.example.com/reset-password"})
	if out, err := in.cli("users", "create", "--username", "ada", "--email", "ada@example.com", "--password", "old password"); err != nil {
		t.Fatalf("users create: %v %s", err, out)
	}
	_, first := login(t, in, "old password")
	_, second := login(t, in, "old password")

	code, known := in.post(t, "/api/auth/forgot-password", "", map[string]string{"email": "Ada@Example.com"})
	if code != 200 || known["ok"] != true || len(known) != 1 {
		t.Fatalf("forgot-password: %d %v", code, known)
	}
	code, unknown := in.post(t, "/api/auth/forgot-password", "", map[string]string{"email": "nobody@example.com"})
	if code != 200 || unknown["ok"] != true || len(unknown) != 1 {
		t.Fatalf("forgot-password for an unknown address: %d %v, want the same as a known one", code, unknown)
	}

	m := c.wait(t, 1)[0]
	if m.To != "ada@example.com" || m.From != "no-reply@example.com" {
		t.Errorf("envelope from %q to %q", m.From, m.To)
	}
	if !strings.Contains(m.Subject, "Acme Accounts") || !strings.Contains(m.Text, "Acme Accounts") || !strings.Contains(m.HTML, "Acme Accounts") {
		t.Errorf("the service's name is missing: subject %q\n%s\n%s", m.Subject, m.Text, m.HTML)
	}
	link := m.link(t)
	resetCode := link.Query().Get("code")
	if link.Host != "app.example.com" || link.Path != "/reset-password" || resetCode == "" {
		t.Fatalf("link %s: want the reset page with ?code=", link)
	}
	if !strings.Contains(m.HTML, `href="`+strings.ReplaceAll(link.String(), "&", "&amp;")+`"`) {
		t.Errorf("the HTML part does not link to %s:\n%s", link, m.HTML)
	}

	// Exactly one mail: none for the unknown address, no second one for ada.
	waitMailState(t, in, "nobody@example.com", "dropped")
	time.Sleep(300 * time.Millisecond)
	if n := len(c.messages()); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}

	for _, bad := range []struct {
		body map[string]string
		want string
	}{
		{map[string]string{"code": resetCode, "password": "new password", "passwordConfirmation": "other"}, "Passwords do not match"},
		{map[string]string{"code": resetCode + "x", "password": "new password", "passwordConfirmation": "new password"}, "Incorrect code provided"},
		{map[string]string{"code": "nope", "password": "new password", "passwordConfirmation": "new password"}, "Incorrect code provided"},
		{map[string]string{"password": "new password", "passwordConfirmation": "new password"}, "code is a required field"},
		{map[string]string{"code": resetCode, "password": "new password", "passwordConfirmation": "new password", "extra": "x"}, "this field has unspecified keys: extra"},
	} {
		code, body := in.post(t, "/api/auth/reset-password", "", bad.body)
		if code != 400 || errorMessage(body) != bad.want {
			t.Errorf("reset-password %v: %d %v, want 400 %q", bad.body, code, body, bad.want)
		}
	}
	code, reset := in.post(t, "/api/auth/reset-password", "", map[string]string{"code": resetCode, "password": "new password", "passwordConfirmation": "new password"})
	if code != 200 || reset["jwt"] == nil || reset["refreshToken"] == nil || reset["user"].(map[string]any)["email"] != "ada@example.com" {
		t.Fatalf("reset-password: %d %v", code, reset)
	}
	if code, body := in.post(t, "/api/auth/reset-password", "", map[string]string{"code": resetCode, "password": "third password", "passwordConfirmation": "third password"}); code != 400 || errorMessage(body) != "Incorrect code provided" {
		t.Fatalf("second use of the code: %d %v", code, body)
	}

	if code, _ := login(t, in, "old password"); code != 400 {
		t.Errorf("old password: %d, want 400", code)
	}
	if code, _ := login(t, in, "new password"); code != 200 {
		t.Errorf("new password: %d, want 200", code)
	}
	for i, g := range []map[string]any{first, second} {
		if code, _ := in.post(t, "/api/auth/token", "", map[string]string{"token": g["refreshToken"].(string)}); code != 401 {
			t.Errorf("session %d from before the reset: exchange %d, want 401", i, code)
		}
		if code, _ := in.get(t, "/api/users/me", g["jwt"].(string)); code != 401 {
			t.Errorf("session %d from before the reset: /api/users/me %d, want 401", i, code)
		}
	}
	if code, _ := in.get(t, "/api/users/me", reset["jwt"].(string)); code != 200 {
		t.Errorf("the reset's own session: %d", code)
	}

	// The code is in no file and no log line; the outbox lists the mail as sent.
	in.stop(t)
	files, _ := filepath.Glob(in.db + "*")
	secret := resetCode[strings.IndexByte(resetCode, '.')+1:]
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{resetCode, secret, "new password"} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains %q", filepath.Base(f), s)
			}
		}
	}
	if strings.Contains(in.logs.String(), secret) {
		t.Error("the logs contain the reset code")
	}
	out, err := in.cli("mail", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "sent") || !strings.Contains(out, "dropped") || strings.Contains(out, secret) {
		t.Errorf("mail list:\n%s", out)
	}
}

// waitMailState waits until the outbox lists a mail to to in state.
func waitMailState(t *testing.T, in *instance, to, state string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := in.cli("mail", "list", "--state", state)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, to) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ := in.cli("mail", "list")
	t.Fatalf("no %s mail to %s in 20s:\n%s", state, to, out)
}

// TestEmailConfirmationByMail: with confirmation on, register sends a mail
// whose link confirms the account and redirects; login works afterwards.
func TestEmailConfirmationByMail(t *testing.T) {
	c := newMailCatcher(t)
	in := startMail(t, c, map[string]string{
		"REFRESHING_EMAIL_CONFIRMATION": "true", "REFRESHING_EMAIL_CONFIRMATION_REDIRECT": "https://app.example.com/welcome",
	})
	code, reg := in.post(t, "/api/auth/local/register", "", map[string]string{"username": "ada", "email": "ada@example.com", "password": "correct horse"})
	if code != 200 || reg["jwt"] != nil || reg["user"].(map[string]any)["confirmed"] != false {
		t.Fatalf("register: %d %v", code, reg)
	}
	if code, body := login(t, in, "correct horse"); code != 400 || errorMessage(body) != "Your account email is not confirmed" {
		t.Fatalf("login before confirming: %d %v", code, body)
	}
	m := c.wait(t, 1)[0]
	link := m.link(t)
	if link.Scheme+"://"+link.Host != in.url || link.Path != "/api/auth/email-confirmation" || link.Query().Get("confirmation") == "" {
		t.Fatalf("link %s: want %s/api/auth/email-confirmation?confirmation=...", link, in.url)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(link.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://app.example.com/welcome" {
		t.Fatalf("following the link: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, body := login(t, in, "correct horse"); code != 200 || body["user"].(map[string]any)["confirmed"] != true {
		t.Fatalf("login after confirming: %d %v", code, body)
	}
	resp, err = noRedirect.Get(link.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("the link a second time: %d, want 400", resp.StatusCode)
	}
	if code, body := in.get(t, "/api/auth/email-confirmation", ""); code != 400 {
		t.Errorf("no confirmation: %d %v", code, body)
	}

	if code, body := in.post(t, "/api/auth/send-email-confirmation", "", map[string]string{"email": "ada@example.com"}); code != 400 || errorMessage(body) != "Already confirmed" {
		t.Errorf("send-email-confirmation for a confirmed account: %d %v", code, body)
	}
	if code, body := in.post(t, "/api/auth/send-email-confirmation", "", map[string]string{"email": "nobody@example.com"}); code != 200 || body["sent"] != true || body["email"] != "nobody@example.com" {
		t.Errorf("send-email-confirmation for an unknown address: %d %v", code, body)
	}

	// An unconfirmed account asks again; then the operator confirms another from the CLI.
	if code, _ := in.post(t, "/api/auth/local/register", "", map[string]string{"username": "bob", "email": "bob@example.com", "password": "correct horse"}); code != 200 {
		t.Fatal(code)
	}
	c.wait(t, 2)
	if code, body := in.post(t, "/api/auth/send-email-confirmation", "", map[string]string{"email": "bob@example.com"}); code != 200 || body["sent"] != true || body["email"] != "bob@example.com" {
		t.Fatalf("send-email-confirmation: %d %v", code, body)
	}
	third := c.wait(t, 3)[2]
	if third.To != "bob@example.com" || third.link(t).Query().Get("confirmation") == "" {
		t.Errorf("resent confirmation: to %s, %s", third.To, third.Text)
	}
	if out, err := in.cli("users", "confirm", "--email", "bob@example.com"); err != nil {
		t.Fatalf("account confirm: %v %s", err, out)
	}
	if code, _ := in.post(t, "/api/auth/local", "", map[string]string{"identifier": "bob", "password": "correct horse"}); code != 200 {
		t.Errorf("login after the operator confirmed: %d", code)
	}
}

// TestMailServerDown: the SMTP server is down when the request comes; the
// request succeeds at once, and the mail goes out once the server is back.
func TestMailServerDown(t *testing.T) {
	c := newMailCatcher(t)
	c.stop()
	in := startMail(t, c, nil)
	if out, err := in.cli("users", "create", "--username", "ada", "--email", "ada@example.com", "--password", "old password"); err != nil {
		t.Fatalf("users create: %v %s", err, out)
	}
	code, body := in.post(t, "/api/auth/forgot-password", "", map[string]string{"email": "ada@example.com"})
	if code != 200 || body["ok"] != true {
		t.Fatalf("forgot-password with the mail server down: %d %v", code, body)
	}
	// The sender tried and will try again.
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := in.cli("mail", "list", "--state", "pending")
		if strings.Contains(out, "ada@example.com") && strings.Contains(out, "refused") {
			break
		}
		if time.Now().After(deadline) {
			all, _ := in.cli("mail", "list")
			t.Fatalf("no failed attempt recorded:\n%s\n%s", all, in.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.start(t)
	m := c.wait(t, 1)[0]
	resetCode := m.Text[strings.Index(m.Text, "code:")+len("code:"):]
	resetCode = strings.Fields(resetCode)[0]
	code, reset := in.post(t, "/api/auth/reset-password", "", map[string]string{"code": resetCode, "password": "new password", "passwordConfirmation": "new password"})
	if code != 200 || reset["jwt"] == nil {
		t.Fatalf("reset with the code mailed after the outage: %d %v", code, reset)
	}
	waitMailState(t, in, "ada@example.com", "sent")
	time.Sleep(300 * time.Millisecond)
	if n := len(c.messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// TestMailNotConfigured: without a mail server the flows answer as Strapi
// does when its email provider fails, alike for known and unknown addresses.
func TestMailNotConfigured(t *testing.T) {
	in := startMail(t, nil, map[string]string{"REFRESHING_EMAIL_CONFIRMATION": "true"})
	code, reg := in.post(t, "/api/auth/local/register", "", map[string]string{"username": "ada", "email": "ada@example.com", "password": "correct horse"})
	if code != 400 || errorMessage(reg) != "Error sending confirmation email" {
		t.Fatalf("register: %d %v", code, reg)
	}
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		code, body := in.post(t, "/api/auth/forgot-password", "", map[string]string{"email": email})
		if code != 500 || errorMessage(body) != "Internal Server Error" {
			t.Errorf("forgot-password %s: %d %v", email, code, body)
		}
	}
	if code, body := in.post(t, "/api/auth/forgot-password", "", map[string]string{"email": "not an email"}); code != 400 || errorMessage(body) != "email must be a valid email" {
		t.Errorf("forgot-password with a bad address: %d %v", code, body)
	}
	// The operator confirms the account the mail could not reach.
	if out, err := in.cli("users", "confirm", "--email", "ada@example.com"); err != nil {
		t.Fatalf("account confirm: %v %s", err, out)
	}
	if code, _ := login(t, in, "correct horse"); code != 200 {
		t.Errorf("login after the operator confirmed: %d", code)
	}
	if out, err := in.cli("users", "set-password", "--email", "ada@example.com", "--password", "set by ops"); err != nil {
		t.Fatalf("account set-password: %v %s", err, out)
	}
	if code, _ := login(t, in, "set by ops"); code != 200 {
		t.Errorf("login with the password the operator set: %d", code)
	}
}

// TestServeRefusesBadSMTPURL: a malformed REFRESHING_SMTP_URL stops serve
// at start, without showing the password.
func TestServeRefusesBadSMTPURL(t *testing.T) {
	for _, u := range []string{"smtp://user:hunter2@", "ftp://user:hunter2@mail.example.com", "smtp://user:hunter2@mail.example.com:99999",
		"smtp://user:hunter2@mail.example.com/path", "smtp://user:hunter2@mail.example.com?x=1", "smtp://user:hunter2%zz@mail.example.com"} {
		env := map[string]string{"REFRESHING_DB": "sqlite:" + filepath.Join(t.TempDir(), "r.db"), "REFRESHING_SMTP_URL": u, "REFRESHING_MAIL_FROM": "a@example.com"}
		var out bytes.Buffer
		err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &out, &out)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("%s: %v, want a usage error", u, err)
			continue
		}
		if strings.Contains(err.Error()+out.String(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", u, err)
		}
	}
	env := map[string]string{"REFRESHING_DB": "sqlite:" + filepath.Join(t.TempDir(), "r.db"), "REFRESHING_SMTP_URL": "smtp://127.0.0.1:25"}
	if err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "REFRESHING_MAIL_FROM") {
		t.Errorf("no REFRESHING_MAIL_FROM: %v", err)
	}
}

// TestStrapiSessions: Strapi 5.54's GET /api/auth/sessions and DELETE
// /api/auth/sessions/:sessionId, with its shapes, through a real listener.
func TestStrapiSessions(t *testing.T) {
	in := startMail(t, nil, nil)
	if out, err := in.cli("users", "create", "--username", "ada", "--email", "ada@example.com", "--password", "correct horse"); err != nil {
		t.Fatalf("users create: %v %s", err, out)
	}
	if out, err := in.cli("users", "create", "--username", "bob", "--email", "bob@example.com", "--password", "correct horse"); err != nil {
		t.Fatalf("users create: %v %s", err, out)
	}
	var grants []map[string]any
	for _, device := range []string{"phone", "laptop", "tablet"} {
		code, g := in.post(t, "/api/auth/local", "", map[string]string{"identifier": "ada", "password": "correct horse", "deviceId": device})
		if code != 200 {
			t.Fatalf("login: %d %v", code, g)
		}
		grants = append(grants, g)
	}
	_, bob := in.post(t, "/api/auth/local", "", map[string]string{"identifier": "bob", "password": "correct horse"})

	list := func(jwt string) []map[string]any {
		t.Helper()
		code, body := in.get(t, "/api/auth/sessions", jwt)
		if code != 200 {
			t.Fatalf("GET /api/auth/sessions: %d %v", code, body)
		}
		var out []map[string]any
		for _, e := range body.(map[string]any)["data"].([]any) {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	sessions := list(grants[1]["jwt"].(string))
	if len(sessions) != 3 {
		t.Fatalf("%d sessions, want 3: %v", len(sessions), sessions)
	}
	if sessions[0]["current"] != true || sessions[0]["deviceId"] != "laptop" || sessions[1]["current"] != false || sessions[2]["current"] != false {
		t.Errorf("the current session is not first and alone: %v", sessions)
	}
	iso := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	for _, s := range sessions {
		for _, k := range []string{"id", "deviceId", "deviceName", "loginAt", "lastActiveAt"} {
			if v, _ := s[k].(string); v == "" {
				t.Errorf("session without %s: %v", k, s)
			}
		}
		if !iso.MatchString(s["loginAt"].(string)) || !iso.MatchString(s["lastActiveAt"].(string)) {
			t.Errorf("times not as toISOString writes them: %v", s)
		}
		for k := range s {
			switch k {
			case "id", "deviceId", "deviceName", "current", "loginAt", "lastActiveAt":
			default:
				t.Errorf("session member %q is not in Strapi's shape", k)
			}
		}
	}
	var phoneID string
	for _, s := range sessions {
		if s["deviceId"] == "phone" {
			phoneID = s["id"].(string)
		}
	}

	del := func(jwt, id string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodDelete, in.url+"/api/auth/sessions/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+jwt)
		return do(t, req)
	}
	if code, body := del(grants[1]["jwt"].(string), phoneID); code != 200 || len(body) != 1 || len(body["data"].(map[string]any)) != 0 {
		t.Fatalf("revoke: %d %v, want 200 {data: {}}", code, body)
	}
	if code, _ := in.post(t, "/api/auth/refresh", "", map[string]string{"refreshToken": grants[0]["refreshToken"].(string)}); code != 401 {
		t.Errorf("the revoked session's refresh token: %d, want 401", code)
	}
	if got := list(grants[1]["jwt"].(string)); len(got) != 2 {
		t.Errorf("%d sessions after the revocation, want 2", len(got))
	}
	bobSessions := list(bob["jwt"].(string))
	for _, tc := range []struct{ name, id string }{{"again", phoneID}, {"unknown", "nope"}, {"another user's", bobSessions[0]["id"].(string)}} {
		code, body := del(grants[1]["jwt"].(string), tc.id)
		if code != 404 || errorMessage(body) != "Session not found" {
			t.Errorf("revoke %s: %d %v, want 404 Session not found", tc.name, code, body)
		}
	}
	if len(list(bob["jwt"].(string))) != 1 {
		t.Error("bob's session was revoked by ada")
	}
	if code, _ := in.get(t, "/api/auth/sessions", ""); code != 401 {
		t.Errorf("without a token: %d, want 401", code)
	}
}

// TestMailSurvivesRestart: a mail enqueued while the mail server is down
// stays in the outbox across a restart of serve, and the next instance on
// the same database sends it once.
func TestMailSurvivesRestart(t *testing.T) {
	c := newMailCatcher(t)
	c.stop()
	first := startMail(t, c, nil)
	if out, err := first.cli("users", "create", "--username", "ada", "--email", "ada@example.com", "--password", "old password"); err != nil {
		t.Fatalf("users create: %v %s", err, out)
	}
	if code, body := first.post(t, "/api/auth/forgot-password", "", map[string]string{"email": "ada@example.com"}); code != 200 {
		t.Fatalf("forgot-password: %d %v", code, body)
	}
	waitMailState(t, first, "ada@example.com", "pending")
	first.stop(t)

	c.start(t)
	second := startMail(t, c, map[string]string{"REFRESHING_DB": first.env["REFRESHING_DB"]})
	m := c.wait(t, 1)[0]
	if m.To != "ada@example.com" {
		t.Fatalf("mail to %s", m.To)
	}
	waitMailState(t, second, "ada@example.com", "sent")
	time.Sleep(300 * time.Millisecond)
	if n := len(c.messages()); n != 1 {
		t.Errorf("%d messages after the restart, want 1", n)
	}
}

// TestMailInstances: three instances on one PostgreSQL database share the
// outbox; every mail asked of any of them is sent exactly once.
func TestMailInstances(t *testing.T) {
	dsn := pgtest.Schema(t)
	c := newMailCatcher(t)
	env := map[string]string{"REFRESHING_DB": dsn, "REFRESHING_MAIL_POLL": "20ms"}
	all := []*instance{startMail(t, c, env), startMail(t, c, env), startMail(t, c, env)}
	const users = 12
	for i := range users {
		name := fmt.Sprintf("user%02d", i)
		if out, err := all[0].cli("users", "create", "--username", name, "--email", name+"@example.com", "--password", "correct horse"); err != nil {
			t.Fatalf("users create: %v %s", err, out)
		}
	}
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			name := fmt.Sprintf("user%02d@example.com", i)
			if code, body := all[i%3].post(t, "/api/auth/forgot-password", "", map[string]string{"email": name}); code != 200 {
				t.Errorf("forgot-password %s: %d %v", name, code, body)
			}
		})
	}
	wg.Wait()
	c.wait(t, users)
	for _, in := range all {
		waitMailState(t, in, "user11@example.com", "sent")
	}
	time.Sleep(500 * time.Millisecond) // time for a duplicate to show
	seen := map[string]int{}
	for _, m := range c.messages() {
		seen[m.To]++
	}
	if len(seen) != users {
		t.Errorf("mail reached %d addresses, want %d", len(seen), users)
	}
	for to, n := range seen {
		if n != 1 {
			t.Errorf("%s got %d mails, want 1", to, n)
		}
	}
}
