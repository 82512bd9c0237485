package refreshing

import (
	"fmt"
	"hash/crc32"
	htmltemplate "html/template"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
)

// MailSettings is the runtime policy of the account life cycle's mail
// (Settings.Mail): links, code lifetimes, the per-address budget and the
// templates. Where the mail server is (REFRESHING_SMTP_URL) is bootstrap
// configuration, not a setting.
type MailSettings struct {
	// ServiceName is what the messages call the service ("Refreshing").
	ServiceName string
	// ResetPasswordURL is the page of the application where a user types a
	// new password (Strapi's email_reset_password); the reset mail links
	// to it with ?code=<code> added. Empty: the mail gives the code alone.
	ResetPasswordURL string
	// ConfirmationRedirect is where the confirmation link sends the browser
	// once the email is confirmed (Strapi's email_confirmation_redirection):
	// an absolute http(s) URL or a path; empty means "/".
	ConfirmationRedirect string
	// ResetCodeTTL and ConfirmationCodeTTL are how long a code works after
	// the mail carrying it was made.
	ResetCodeTTL        time.Duration
	ConfirmationCodeTTL time.Duration
	// RateLimitPerAddress is how many mails one address may be sent per
	// hour through the public endpoints (forgot-password,
	// send-email-confirmation); 0 switches the limit off.
	RateLimitPerAddress int
	// Templates of the messages; an empty one means the built-in default.
	Reset        MailTemplate
	Confirmation MailTemplate
}

// MailTemplate is one message: a subject and a plain-text body in Go's
// text/template syntax, and an HTML body in html/template syntax (which
// escapes what it inserts). See MailData for what they may use.
type MailTemplate struct {
	Subject string
	Text    string
	HTML    string
}

// MailData is what a template sees: {{.ServiceName}}, {{.Link}} (the link
// to follow, "" for a reset mail without ResetPasswordURL), {{.Code}},
// {{.Expires}} (the code's lifetime, "1 hour"), {{.Username}} and {{.Email}}.
type MailData struct {
	ServiceName string
	Link        string
	Code        string
	Expires     string
	Username    string
	Email       string
}

// DefaultMailSettings returns the defaults of Settings.Mail (SettingsTable's).
func DefaultMailSettings() MailSettings { return defaultSettings.Mail }

// The built-in templates, used while a template is left empty.
var (
	defaultReset = MailTemplate{
		Subject: `Reset your {{.ServiceName}} password`,
		Text: `Hello {{.Username}},

Someone asked to reset the password of your {{.ServiceName}} account ({{.Email}}).
{{if .Link}}To choose a new password, open this link:

{{.Link}}
{{else}}To choose a new password, use this code:

{{.Code}}
{{end}}
It works once, for {{.Expires}}. If you did not ask for it, ignore this message: your password stays as it is.
`,
		HTML: `<p>Hello {{.Username}},</p>
<p>Someone asked to reset the password of your {{.ServiceName}} account ({{.Email}}).</p>
{{if .Link}}<p><a href="{{.Link}}">Choose a new password</a></p>
<p>or open {{.Link}}</p>{{else}}<p>To choose a new password, use this code: <code>{{.Code}}</code></p>{{end}}
<p>It works once, for {{.Expires}}. If you did not ask for it, ignore this message: your password stays as it is.</p>
`,
	}
	defaultConfirmation = MailTemplate{
		Subject: `Confirm your {{.ServiceName}} account`,
		Text: `Hello {{.Username}},

Thank you for registering with {{.ServiceName}}. To confirm your email address ({{.Email}}), open this link:

{{.Link}}

It works once, for {{.Expires}}.
`,
		HTML: `<p>Hello {{.Username}},</p>
<p>Thank you for registering with {{.ServiceName}}. To confirm your email address ({{.Email}}), follow this link:</p>
<p><a href="{{.Link}}">Confirm my email address</a></p>
<p>or open {{.Link}}</p>
<p>It works once, for {{.Expires}}.</p>
`,
	}
)

// DefaultMailTemplate returns the built-in template of a kind of mail.
func DefaultMailTemplate(kind string) MailTemplate {
	if kind == MailEmailConfirmation {
		return defaultConfirmation
	}
	return defaultReset
}

// Template returns the template in force for kind: each part as configured,
// or the built-in default where it is empty.
func (m MailSettings) Template(kind string) MailTemplate {
	t, d := m.Reset, defaultReset
	if kind == MailEmailConfirmation {
		t, d = m.Confirmation, defaultConfirmation
	}
	if strings.TrimSpace(t.Subject) == "" {
		t.Subject = d.Subject
	}
	if strings.TrimSpace(t.Text) == "" {
		t.Text = d.Text
	}
	if strings.TrimSpace(t.HTML) == "" {
		t.HTML = d.HTML
	}
	return t
}

// Render executes t on d: the subject and text with text/template, the
// HTML with html/template. A subject keeps its first line only.
func (t MailTemplate) Render(d MailData) (subject, text, html string, err error) {
	var b strings.Builder
	st, err := texttemplate.New("subject").Option("missingkey=error").Parse(t.Subject)
	if err == nil {
		err = st.Execute(&b, d)
	}
	if err != nil {
		return "", "", "", Invalid("subject", "subject template: %v", err)
	}
	subject, _, _ = strings.Cut(strings.TrimSpace(b.String()), "\n")
	b.Reset()
	tt, err := texttemplate.New("text").Option("missingkey=error").Parse(t.Text)
	if err == nil {
		err = tt.Execute(&b, d)
	}
	if err != nil {
		return "", "", "", Invalid("text", "text template: %v", err)
	}
	text = b.String()
	b.Reset()
	ht, err := htmltemplate.New("html").Option("missingkey=error").Parse(t.HTML)
	if err == nil {
		err = ht.Execute(&b, d)
	}
	if err != nil {
		return "", "", "", Invalid("html", "HTML template: %v", err)
	}
	return subject, text, b.String(), nil
}

// sampleMailData is what templates are checked and previewed with.
func sampleMailData(kind string, m MailSettings) MailData {
	d := MailData{ServiceName: m.ServiceName, Code: "EXAMPLE-CODE", Username: "ada", Email: "ada@example.com"}
	if kind == MailEmailConfirmation {
		d.Link = "https://auth.example.com/api/auth/email-confirmation?confirmation=EXAMPLE-CODE"
		d.Expires = humanDuration(m.ConfirmationCodeTTL)
	} else {
		d.Expires = humanDuration(m.ResetCodeTTL)
		if m.ResetPasswordURL != "" {
			d.Link = withQuery(m.ResetPasswordURL, "code", d.Code)
		}
	}
	return d
}

// PreviewMail renders the template in force for kind with example data.
func (m MailSettings) PreviewMail(kind string) (subject, text, html string, err error) {
	return m.Template(kind).Render(sampleMailData(kind, m))
}

// checkResetPasswordURL: an absolute http(s) URL, or empty.
func (m MailSettings) checkResetPasswordURL() error {
	if m.ResetPasswordURL != "" {
		u, err := url.Parse(m.ResetPasswordURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
			return Invalid("resetPasswordURL", "must be an absolute http(s) URL without a fragment")
		}
	}
	return nil
}

// checkConfirmationRedirect: an absolute http(s) URL, a path, or empty.
func (m MailSettings) checkConfirmationRedirect() error {
	if r := m.ConfirmationRedirect; r != "" {
		u, err := url.Parse(r)
		abs := err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
		path := err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(r, "/") && !strings.HasPrefix(r, "//") && !strings.Contains(r, `\`)
		if !abs && !path {
			return Invalid("confirmationRedirect", "must be an absolute http(s) URL or a path starting with /")
		}
	}
	return nil
}

// checkTemplate renders the template in force for kind with example data:
// an error names the part, as resetTemplateSubject or confirmationTemplateHtml.
func (m MailSettings) checkTemplate(kind string) error {
	if _, _, _, err := m.PreviewMail(kind); err != nil {
		fe := err.(*FieldError)
		prefix := "resetTemplate"
		if kind == MailEmailConfirmation {
			prefix = "confirmationTemplate"
		}
		return Invalid(prefix+strings.ToUpper(fe.Field[:1])+fe.Field[1:], "%s", fe.Message)
	}
	return nil
}

// withQuery returns link with the query parameter name=value added.
func withQuery(link, name, value string) string {
	u, err := url.Parse(link)
	if err != nil {
		return link
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// humanDuration says d the way a message would: "1 hour", "3 days", "30 minutes".
func humanDuration(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(n, 10) + " " + one + "s"
	}
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return unit(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return unit(int64(d/time.Minute), "minute")
	}
	return d.String()
}

// String summarises m for the audit log's record of a settings change:
// the values, and which template parts differ from the built-in defaults
// (not the templates themselves, which can be long).
func (m MailSettings) String() string {
	var custom []string
	for _, p := range []struct {
		name string
		v    string
	}{{"reset subject", m.Reset.Subject}, {"reset text", m.Reset.Text}, {"reset HTML", m.Reset.HTML},
		{"confirmation subject", m.Confirmation.Subject}, {"confirmation text", m.Confirmation.Text}, {"confirmation HTML", m.Confirmation.HTML}} {
		if strings.TrimSpace(p.v) != "" {
			custom = append(custom, fmt.Sprintf("%s (%08x)", p.name, crc32.ChecksumIEEE([]byte(p.v))))
		}
	}
	templates := "default templates"
	if len(custom) > 0 {
		templates = "custom " + strings.Join(custom, ", ")
	}
	return fmt.Sprintf("{service name %q, reset page %q, confirmation redirect %q, reset code %v, confirmation code %v, %d mails per address per hour, %s}",
		m.ServiceName, m.ResetPasswordURL, m.ConfirmationRedirect, m.ResetCodeTTL, m.ConfirmationCodeTTL, m.RateLimitPerAddress, templates)
}
