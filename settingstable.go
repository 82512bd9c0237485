package refreshing

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Setting describes one runtime setting, once: where it lives in Settings,
// its JSON key and environment variable, its default, its bounds, and the
// admin screen's label, help and heading. SettingsTable is the table of
// them, in the order of the persisted JSON; it drives DefaultSettings,
// Validate, WithEnv, the JSON form, SettingVars and SettingsFields (what
// `refreshing config` prints and ApplyEnvSettings compares), and the admin
// settings screen. A new setting is a field of Settings and a row here.
type Setting struct {
	// Key is the JSON key as stored, dotted inside a group
	// ("mail.serviceName").
	Key string
	// Field names the setting in a *FieldError and in the admin forms; it
	// is Key, except for mail's settings, whose screen predates the table
	// ("mailServiceName").
	Field string
	// Env is the REFRESHING_* variable that sets it; "" if none does.
	Env string
	// Default is the default value as JSON shows it ("15m0s", "true", "30").
	Default string
	// Label and Help explain the setting on the admin screen.
	Label, Help string
	// Group is the heading of the settings screen it appears under; "" for
	// the settings that have a screen of their own (mail's).
	Group string

	// Bounds of a duration (in nanoseconds) or a number, each checked when
	// its message is set: below Min is TooLow, above Max is TooHigh.
	Min, Max        int64
	TooLow, TooHigh string
	// check is any further rule of the setting alone (a syntax), after the
	// bounds; rules that relate settings are ValidateForAdmin's.
	check func(Settings) error

	// ptr locates the setting in a Settings: a *time.Duration, *bool,
	// *int or *string.
	ptr func(*Settings) any
}

// Kinds of setting, as Setting.Kind names them.
const (
	SettingDuration = "duration" // a Go duration: "15m0s"
	SettingBool     = "bool"
	SettingInt      = "int"
	SettingText     = "text"
)

// The headings of the admin settings screen, in order, with their help.
var settingGroups = []SettingGroup{
	{"Tokens and sessions", "How long access tokens and sessions live, and how refresh tokens rotate."},
	{"Accounts", "Who may create an account, and how."},
	{"Browsers and cookies", "The refresh cookie and the sites allowed to use it."},
	{"Rate limits", "Budgets per window, counted on every instance together when Redis is configured. A limit of 0 turns that limit off."},
	{"Audit log and retention", "What the audit log records, and how long ended sessions and old events are kept."},
	{"Passwords", "What a new password must be. Signing in with an older password is never refused by these."},
	{"DPoP", "Proof-of-possession of the key a token is bound to (RFC 9449)."},
}

// SettingGroup is a heading of the admin settings screen.
type SettingGroup struct {
	Title, Help string
}

// SettingGroups returns the headings of the admin settings screen, in order.
func SettingGroups() []SettingGroup { return append([]SettingGroup(nil), settingGroups...) }

const (
	day         = 24 * time.Hour
	rateLimitsG = "Rate limits"
	tokensG     = "Tokens and sessions"
	auditG      = "Audit log and retention"
)

// settingsTable is the table; SettingsTable hands out a copy.
var settingsTable = []Setting{
	{Key: "accessTTL", Env: "REFRESHING_ACCESS_TTL", Default: "15m0s", Group: tokensG,
		Label: "Access token lifetime", Help: "How long a JWT works. Short limits what a stolen JWT can do; at most 24h.",
		Min: 1, TooLow: "must be positive", Max: int64(day), TooHigh: "must be at most 24h: access tokens cannot be revoked offline",
		ptr: func(s *Settings) any { return &s.AccessTTL }},
	{Key: "refreshTTL", Env: "REFRESHING_REFRESH_TTL", Default: "720h0m0s", Group: tokensG,
		Label: "Session lifetime", Help: "How long a session (its refresh token) lives after sign-in. 0 = never expires.",
		TooLow: "must not be negative (0 means never)",
		ptr:    func(s *Settings) any { return &s.RefreshTTL }},
	{Key: "refreshIdle", Env: "REFRESHING_REFRESH_IDLE", Default: "0s", Group: tokensG,
		Label: "Idle timeout", Help: "A session unused for this long ends. 0 = none.",
		TooLow: "must not be negative (0 means none)",
		ptr:    func(s *Settings) any { return &s.RefreshIdle }},
	{Key: "rotation", Env: "REFRESHING_ROTATION", Default: "true", Group: tokensG,
		Label: "Rotate refresh tokens", Help: "Hand out a new refresh token at every exchange and detect replays of old ones.",
		ptr: func(s *Settings) any { return &s.Rotation }},
	{Key: "reuseGrace", Env: "REFRESHING_REUSE_GRACE", Default: "10s", Group: tokensG,
		Label: "Reuse grace window", Help: "How long a just-replaced token still works, for tabs refreshing at once. At most the access token lifetime.",
		TooLow: "must not be negative", Max: int64(5 * time.Minute), TooHigh: "must be at most 5m: a longer window lets a stolen token live on",
		ptr: func(s *Settings) any { return &s.ReuseGrace }},
	{Key: "maxSessions", Env: "REFRESHING_MAX_SESSIONS", Default: "0", Group: tokensG,
		Label: "Sessions per user", Help: "Signing in beyond this ends the least recently used session. 0 = unlimited.",
		TooLow: "must not be negative (0 means unlimited)",
		ptr:    func(s *Settings) any { return &s.MaxSessions }},
	{Key: "issueOnLogin", Env: "REFRESHING_ISSUE_ON_LOGIN", Default: "true", Group: tokensG,
		Label: "Refresh token on login", Help: "Login and register also return a refresh token.",
		ptr: func(s *Settings) any { return &s.IssueOnLogin }},
	{Key: "registration", Env: "REFRESHING_REGISTRATION", Default: "true", Group: "Accounts",
		Label: "Open registration", Help: "Anyone may create an account at /api/auth/local/register.",
		ptr: func(s *Settings) any { return &s.Registration }},
	{Key: "emailConfirmation", Env: "REFRESHING_EMAIL_CONFIRMATION", Default: "false", Group: "Accounts",
		Label: "Email confirmation", Help: "New accounts must be confirmed before they can sign in.",
		ptr: func(s *Settings) any { return &s.EmailConfirmation }},
	{Key: "cookieMode", Env: "REFRESHING_COOKIE_MODE", Default: "false", Group: "Browsers and cookies",
		Label: "Cookie mode for everyone", Help: "Send the refresh token as an HttpOnly cookie to every client, not only those asking with x-strapi-refresh-cookie.",
		ptr: func(s *Settings) any { return &s.CookieMode }},
	{Key: "allowedOrigins", Env: "REFRESHING_ALLOWED_ORIGINS", Default: "", Group: "Browsers and cookies",
		Label: "Allowed origins", Help: "Other origins (https://app.example.com, comma-separated) whose pages may call the API from the browser (CORS) and use the refresh cookie. Never a wildcard.",
		check: func(s Settings) error { _, err := ParseOrigins(s.AllowedOrigins); return err },
		ptr:   func(s *Settings) any { return &s.AllowedOrigins }},
	{Key: "auditRetention", Env: "REFRESHING_AUDIT_RETENTION", Default: "2160h0m0s", Group: auditG,
		Label: "Audit log retention", Help: "Events older than this are deleted. 0 = keep forever.",
		TooLow: "must not be negative (0 means forever)",
		ptr:    func(s *Settings) any { return &s.AuditRetention }},
	{Key: "auditExchanges", Env: "REFRESHING_AUDIT_EXCHANGES", Default: "false", Group: auditG,
		Label: "Log every exchange", Help: "Also record routine refresh-token exchanges (one event per client per access-token lifetime). Refused, grace-window and reused tokens are always recorded.",
		ptr: func(s *Settings) any { return &s.AuditExchanges }},
	{Key: "sessionRetention", Env: "REFRESHING_SESSION_RETENTION", Default: "720h0m0s", Group: auditG,
		Label: "Ended session retention", Help: "Revoked or expired sessions are deleted this long after they ended. 0 = keep forever.",
		TooLow: "must not be negative (0 means forever)",
		ptr:    func(s *Settings) any { return &s.SessionRetention }},
	{Key: "rateWindow", Env: "REFRESHING_RATE_WINDOW", Default: "1m0s", Group: rateLimitsG,
		Label: "Rate-limit window", Help: "The period the rate limits count over.",
		Min: 1, TooLow: "must be positive and at most 24h", Max: int64(day), TooHigh: "must be positive and at most 24h",
		ptr: func(s *Settings) any { return &s.RateWindow }},
	{Key: "rateLimitIP", Env: "REFRESHING_RATE_LIMIT_IP", Default: "30", Group: rateLimitsG,
		Label: "Sign-in attempts per IP", Help: "Password attempts one address may make per window. 0 turns this limit off.",
		TooLow: "rate limits must not be negative (0 means off)",
		ptr:    func(s *Settings) any { return &s.RateLimitIP }},
	{Key: "rateLimitIdentifier", Env: "REFRESHING_RATE_LIMIT_IDENTIFIER", Default: "10", Group: rateLimitsG,
		Label: "Sign-in attempts per account", Help: "Password attempts on one email or username per window, all endpoints together. 0 turns this limit off.",
		TooLow: "rate limits must not be negative (0 means off)",
		ptr:    func(s *Settings) any { return &s.RateLimitIdentifier }},
	{Key: "rateLimitExchangeIP", Env: "REFRESHING_RATE_LIMIT_EXCHANGE_IP", Default: "600", Group: rateLimitsG,
		Label: "Exchanges per IP", Help: "Refresh-token exchanges one address may make per window. 0 turns this limit off.",
		TooLow: "rate limits must not be negative (0 means off)",
		ptr:    func(s *Settings) any { return &s.RateLimitExchangeIP }},

	// Mail (mailsettings.go), edited on the mail settings screen.
	{Key: "mail.serviceName", Field: "mailServiceName", Env: "REFRESHING_MAIL_SERVICE_NAME", Default: "Refreshing",
		Label: "Service name", Help: "What the messages call this service.",
		check: func(s Settings) error {
			if n := s.Mail.ServiceName; strings.TrimSpace(n) == "" || len(n) > 200 || strings.ContainsAny(n, "\r\n") {
				return Invalid("mailServiceName", "must be one line of 1 to 200 bytes")
			}
			return nil
		},
		ptr: func(s *Settings) any { return &s.Mail.ServiceName }},
	{Key: "mail.resetPasswordURL", Field: "resetPasswordURL", Env: "REFRESHING_RESET_PASSWORD_URL", Default: "",
		Label: "Reset page URL", Help: "The application's page where a user types a new password; the mail links to it with ?code=. Empty: the mail gives the code alone.",
		check: func(s Settings) error { return s.Mail.checkResetPasswordURL() },
		ptr:   func(s *Settings) any { return &s.Mail.ResetPasswordURL }},
	{Key: "mail.confirmationRedirect", Field: "confirmationRedirect", Env: "REFRESHING_EMAIL_CONFIRMATION_REDIRECT", Default: "",
		Label: "After confirmation, go to", Help: "Where the confirmation link sends the browser (an https URL or a path); empty means /.",
		check: func(s Settings) error { return s.Mail.checkConfirmationRedirect() },
		ptr:   func(s *Settings) any { return &s.Mail.ConfirmationRedirect }},
	{Key: "mail.resetCodeTTL", Field: "resetCodeTTL", Env: "REFRESHING_RESET_CODE_TTL", Default: "1h0m0s",
		Label: "Reset code lifetime", Help: "From when the mail is sent; 1m to 24h.",
		Min: int64(time.Minute), TooLow: "must be between 1m and 24h", Max: int64(day), TooHigh: "must be between 1m and 24h",
		ptr: func(s *Settings) any { return &s.Mail.ResetCodeTTL }},
	{Key: "mail.confirmationCodeTTL", Field: "confirmationCodeTTL", Env: "REFRESHING_CONFIRMATION_CODE_TTL", Default: "72h0m0s",
		Label: "Confirmation link lifetime", Help: "1m to 720h.",
		Min: int64(time.Minute), TooLow: "must be between 1m and 720h", Max: int64(30 * day), TooHigh: "must be between 1m and 720h",
		ptr: func(s *Settings) any { return &s.Mail.ConfirmationCodeTTL }},
	{Key: "mail.rateLimitPerAddress", Field: "mailRateLimit", Env: "REFRESHING_MAIL_RATE_LIMIT", Default: "5",
		Label: "Mails per address per hour", Help: "Through forgot-password and send-email-confirmation; 0 = no limit.",
		TooLow: "must not be negative (0 means off)",
		ptr:    func(s *Settings) any { return &s.Mail.RateLimitPerAddress }},
	{Key: "mail.reset.subject", Field: "resetSubject", Label: "Subject", Help: "Of the password reset mail; empty: the built-in one.",
		check: func(s Settings) error { return s.Mail.checkTemplate(MailResetPassword) },
		ptr:   func(s *Settings) any { return &s.Mail.Reset.Subject }},
	{Key: "mail.reset.text", Field: "resetText", Label: "Plain text", Help: "Of the password reset mail; empty: the built-in one.",
		ptr: func(s *Settings) any { return &s.Mail.Reset.Text }},
	{Key: "mail.reset.html", Field: "resetHTML", Label: "HTML", Help: "Of the password reset mail; empty: the built-in one.",
		ptr: func(s *Settings) any { return &s.Mail.Reset.HTML }},
	{Key: "mail.confirmation.subject", Field: "confirmationSubject", Label: "Subject", Help: "Of the confirmation mail; empty: the built-in one.",
		check: func(s Settings) error { return s.Mail.checkTemplate(MailEmailConfirmation) },
		ptr:   func(s *Settings) any { return &s.Mail.Confirmation.Subject }},
	{Key: "mail.confirmation.text", Field: "confirmationText", Label: "Plain text", Help: "Of the confirmation mail; empty: the built-in one.",
		ptr: func(s *Settings) any { return &s.Mail.Confirmation.Text }},
	{Key: "mail.confirmation.html", Field: "confirmationHTML", Label: "HTML", Help: "Of the confirmation mail; empty: the built-in one.",
		ptr: func(s *Settings) any { return &s.Mail.Confirmation.HTML }},

	// Password policy (security; passwordpolicy.go): ASVS 6.2.1 and 6.2.4.
	{Key: "passwordMinLength", Env: "REFRESHING_PASSWORD_MIN_LENGTH", Default: "8", Group: "Passwords",
		Label: "Minimum password length", Help: "Characters a new password must have (registration, password change, accounts created here). 8 by default (OWASP ASVS); at least 6, Strapi's.",
		Min: MinPasswordLen, TooLow: fmt.Sprintf("must be between %d and 64 characters", MinPasswordLen),
		Max: 64, TooHigh: fmt.Sprintf("must be between %d and 64 characters", MinPasswordLen),
		ptr: func(s *Settings) any { return &s.PasswordMinLength }},
	{Key: "passwordRefuseCommon", Env: "REFRESHING_PASSWORD_REFUSE_COMMON", Default: "true", Group: "Passwords",
		Label: "Refuse common passwords", Help: "Refuse a new password that is one of the 10,000 most common ones (password, 12345678, qwertyuiop...).",
		ptr: func(s *Settings) any { return &s.PasswordRefuseCommon }},

	// DPoP (RFC 9449, docs/oauth.md).
	{Key: "dpopNonceRequired", Env: "REFRESHING_DPOP_NONCE_REQUIRED", Default: "false", Group: "DPoP",
		Label: "Require DPoP nonces", Help: "Every DPoP proof must carry a nonce this server issued (the DPoP-Nonce header): a captured proof is good for minutes only, whatever its client's clock says. Clients that do not support nonces are then refused.",
		ptr: func(s *Settings) any { return &s.DPoPNonceRequired }},
}

// defaultSettings is the table's defaults, parsed once.
var defaultSettings = func() Settings {
	var s Settings
	for _, d := range settingsTable {
		if err := d.Set(&s, d.Default); err != nil {
			panic("settings table: default of " + d.Key + ": " + err.Error())
		}
	}
	return s
}()

// SettingsTable returns the description of every runtime setting, in the
// order of the persisted JSON.
func SettingsTable() []Setting {
	out := append([]Setting(nil), settingsTable...)
	for i := range out {
		if out[i].Field == "" {
			out[i].Field = out[i].Key
		}
	}
	return out
}

// Kind says how the setting is written: SettingDuration, SettingBool,
// SettingInt or SettingText.
func (d Setting) Kind() string {
	switch d.ptr(new(Settings)).(type) {
	case *time.Duration:
		return SettingDuration
	case *bool:
		return SettingBool
	case *int:
		return SettingInt
	}
	return SettingText
}

// Value returns the setting's value in st as JSON shows it, strings
// unquoted: "15m0s", "true", "30", "https://a.example.com".
func (d Setting) Value(st Settings) string {
	switch p := d.ptr(&st).(type) {
	case *time.Duration:
		return p.String()
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *string:
		return *p
	}
	return ""
}

// Set parses v as the setting's kind (a Go duration, a strconv.ParseBool
// boolean, a whole number, or text as it is) into st. It does not
// validate: Settings.Validate does.
func (d Setting) Set(st *Settings, v string) error {
	switch p := d.ptr(st).(type) {
	case *time.Duration:
		x, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		*p = x
	case *bool:
		x, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		*p = x
	case *int:
		x, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		*p = x
	case *string:
		*p = v
	}
	return nil
}

// validate checks the setting's bounds and own rule in st.
func (d Setting) validate(st Settings) error {
	var n int64
	switch p := d.ptr(&st).(type) {
	case *time.Duration:
		n = int64(*p)
	case *int:
		n = int64(*p)
	}
	field := d.Field
	if field == "" {
		field = d.Key
	}
	switch {
	case d.TooLow != "" && n < d.Min:
		return Invalid(field, "%s", d.TooLow)
	case d.TooHigh != "" && n > d.Max:
		return Invalid(field, "%s", d.TooHigh)
	case d.check != nil:
		return d.check(st)
	}
	return nil
}
