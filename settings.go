package refreshing

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Settings is the runtime policy: what an administrator may change while the
// service runs. A new database starts from DefaultSettings overridden by the
// REFRESHING_* environment variables (see SettingsFromEnv); at every start
// of serve the variables that are set replace the persisted values again
// (Service.ApplyEnvSettings): flags > environment > stored settings.
type Settings struct {
	AccessTTL         time.Duration // lifetime of a JWT access token
	RefreshTTL        time.Duration // absolute lifetime of a session; 0 = never expires
	RefreshIdle       time.Duration // idle timeout measured from LastActivity; 0 = none
	Rotation          bool          // rotate the refresh token on every exchange
	ReuseGrace        time.Duration // how long a retired token still exchanges after its retirement
	MaxSessions       int           // active sessions per user; 0 = unlimited
	IssueOnLogin      bool          // add a refresh token to login and register responses
	Registration      bool          // allow POST /api/auth/local/register
	EmailConfirmation bool          // new accounts must be confirmed before they log in
	CookieMode        bool          // Strapi 5 cookie mode for every client, not only those sending x-strapi-refresh-cookie
	AllowedOrigins    string        // comma-separated origins (https://app.example.com) allowed to use the refresh cookie besides the server's own
	AuditRetention    time.Duration // how long audit events are kept; 0 = forever
	AuditExchanges    bool          // record every successful exchange in the audit log, not only those of note (see Service.auditExchange)
	SessionRetention  time.Duration // how long ended (revoked or expired) sessions are kept before the janitor deletes them; 0 = forever

	// Rate limits (see SECURITY.md). Each allows a burst of its number and
	// refills smoothly over RateWindow; 0 switches that limit off.
	RateWindow          time.Duration // the window of the limits below
	RateLimitIP         int           // attempts per client IP on each credential endpoint (login, register, token request, admin login)
	RateLimitIdentifier int           // password attempts per identifier, all endpoints together
	RateLimitExchangeIP int           // refresh-token exchanges per client IP on each exchange endpoint

	// Mail: password reset and email confirmation (mailsettings.go).
	Mail MailSettings
	// Password policy (security; passwordpolicy.go): what a new password
	// must be. Signing in with an older password is never refused by it.
	PasswordMinLength    int  // characters, at least MinPasswordLen (6, Strapi's) and at most 64
	PasswordRefuseCommon bool // refuse the 10,000 most common passwords

	// DPoPNonceRequired makes every DPoP proof carry a nonce this server
	// issued (RFC 9449 sections 8 and 9, docs/oauth.md): a proof is then
	// good for minutes only, even if its client's clock is wrong, at the
	// cost of one more round trip for a client without a fresh nonce, and
	// of refusing clients that do not support nonces. Off by default.
	DPoPNonceRequired bool
}

// DefaultSettings returns the contract's defaults.
func DefaultSettings() Settings {
	return Settings{
		AccessTTL:    15 * time.Minute,
		RefreshTTL:   720 * time.Hour,
		Rotation:     true,
		ReuseGrace:   10 * time.Second,
		IssueOnLogin: true,
		Registration: true,

		AuditRetention:   90 * 24 * time.Hour,
		SessionRetention: 30 * 24 * time.Hour,

		RateWindow:          time.Minute,
		RateLimitIP:         30,
		RateLimitIdentifier: 10,
		RateLimitExchangeIP: 600,

		Mail: DefaultMailSettings(),
		// Password policy (security): ASVS 6.2.1 and 6.2.4.
		PasswordMinLength:    8,
		PasswordRefuseCommon: true,
	}
}

// Validate reports the first nonsensical value as a *FieldError.
func (s Settings) Validate() error {
	switch {
	case s.AccessTTL <= 0:
		return Invalid("accessTTL", "must be positive")
	case s.AccessTTL > 24*time.Hour:
		return Invalid("accessTTL", "must be at most 24h: access tokens cannot be revoked offline")
	case s.RefreshTTL < 0:
		return Invalid("refreshTTL", "must not be negative (0 means never)")
	case s.RefreshIdle < 0:
		return Invalid("refreshIdle", "must not be negative (0 means none)")
	case s.ReuseGrace < 0:
		return Invalid("reuseGrace", "must not be negative")
	case s.ReuseGrace > 5*time.Minute:
		return Invalid("reuseGrace", "must be at most 5m: a longer window lets a stolen token live on")
	case s.MaxSessions < 0:
		return Invalid("maxSessions", "must not be negative (0 means unlimited)")
	case s.AuditRetention < 0:
		return Invalid("auditRetention", "must not be negative (0 means forever)")
	case s.SessionRetention < 0:
		return Invalid("sessionRetention", "must not be negative (0 means forever)")
	case s.RateWindow <= 0 || s.RateWindow > 24*time.Hour:
		return Invalid("rateWindow", "must be positive and at most 24h")
	case s.RateLimitIP < 0 || s.RateLimitIdentifier < 0 || s.RateLimitExchangeIP < 0:
		return Invalid("rateLimitIP", "rate limits must not be negative (0 means off)")
	// Password policy (security).
	case s.PasswordMinLength < MinPasswordLen || s.PasswordMinLength > 64:
		return Invalid("passwordMinLength", "must be between %d and 64 characters", MinPasswordLen)
	}
	if _, err := ParseOrigins(s.AllowedOrigins); err != nil {
		return err
	}
	// Mail (mailsettings.go).
	if err := s.Mail.validate(); err != nil {
		return err
	}
	return nil
}

// SettingsFromEnv returns DefaultSettings overridden by the contract's
// REFRESHING_* variables, read through getenv. It fails on an unparsable
// value, naming the variable.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	return DefaultSettings().WithEnv(getenv)
}

// WithEnv returns s overridden by the REFRESHING_* variables that are set,
// read through getenv: the environment wins over stored settings (see
// Service.ApplyEnvSettings). Each setting's variable is its JSON name in
// upper snake case (accessTTL: REFRESHING_ACCESS_TTL; see SettingVars). It
// fails on an unparsable or invalid value, naming the variable.
func (s Settings) WithEnv(getenv func(string) string) (Settings, error) {
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"REFRESHING_ACCESS_TTL", &s.AccessTTL},
		{"REFRESHING_REFRESH_TTL", &s.RefreshTTL},
		{"REFRESHING_REFRESH_IDLE", &s.RefreshIdle},
		{"REFRESHING_REUSE_GRACE", &s.ReuseGrace},
		{"REFRESHING_SESSION_RETENTION", &s.SessionRetention},
		{"REFRESHING_RATE_WINDOW", &s.RateWindow},
	}
	for _, d := range durations {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil {
				return s, fmt.Errorf("%s: %w", d.name, err)
			}
			*d.dst = x
		}
	}
	bools := []struct {
		name string
		dst  *bool
	}{
		{"REFRESHING_ROTATION", &s.Rotation},
		{"REFRESHING_ISSUE_ON_LOGIN", &s.IssueOnLogin},
		{"REFRESHING_REGISTRATION", &s.Registration},
		{"REFRESHING_EMAIL_CONFIRMATION", &s.EmailConfirmation},
		{"REFRESHING_AUDIT_EXCHANGES", &s.AuditExchanges},
		{"REFRESHING_PASSWORD_REFUSE_COMMON", &s.PasswordRefuseCommon}, // password policy (security)
		{"REFRESHING_DPOP_NONCE_REQUIRED", &s.DPoPNonceRequired},
	}
	for _, b := range bools {
		if v := getenv(b.name); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				return s, fmt.Errorf("%s: %w", b.name, err)
			}
			*b.dst = x
		}
	}
	if v := getenv("REFRESHING_MAX_SESSIONS"); v != "" {
		x, err := strconv.Atoi(v)
		if err != nil {
			return s, fmt.Errorf("REFRESHING_MAX_SESSIONS: %w", err)
		}
		s.MaxSessions = x
	}
	for _, n := range []struct {
		name string
		dst  *int
	}{
		{"REFRESHING_RATE_LIMIT_IP", &s.RateLimitIP},
		{"REFRESHING_RATE_LIMIT_IDENTIFIER", &s.RateLimitIdentifier},
		{"REFRESHING_RATE_LIMIT_EXCHANGE_IP", &s.RateLimitExchangeIP},
		{"REFRESHING_PASSWORD_MIN_LENGTH", &s.PasswordMinLength}, // password policy (security)
	} {
		if v := getenv(n.name); v != "" {
			x, err := strconv.Atoi(v)
			if err != nil {
				return s, fmt.Errorf("%s: %w", n.name, err)
			}
			*n.dst = x
		}
	}
	// ops (issue 19): the settings that had no variable.
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"REFRESHING_COOKIE_MODE", &s.CookieMode}} {
		if v := getenv(b.name); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				return s, fmt.Errorf("%s: %w", b.name, err)
			}
			*b.dst = x
		}
	}
	if v := getenv("REFRESHING_AUDIT_RETENTION"); v != "" {
		x, err := time.ParseDuration(v)
		if err != nil {
			return s, fmt.Errorf("REFRESHING_AUDIT_RETENTION: %w", err)
		}
		s.AuditRetention = x
	}
	if v := getenv("REFRESHING_ALLOWED_ORIGINS"); v != "" {
		s.AllowedOrigins = v
	}
	// end ops (issue 19)
	// Mail (mailsettings.go).
	if err := mailSettingsFromEnv(&s.Mail, getenv); err != nil {
		return s, err
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("settings from environment: %w", err)
	}
	return s, nil
}

// settingsJSON is the stable persisted form: durations as Go duration strings.
type settingsJSON struct {
	AccessTTL         string `json:"accessTTL"`
	RefreshTTL        string `json:"refreshTTL"`
	RefreshIdle       string `json:"refreshIdle"`
	Rotation          bool   `json:"rotation"`
	ReuseGrace        string `json:"reuseGrace"`
	MaxSessions       int    `json:"maxSessions"`
	IssueOnLogin      bool   `json:"issueOnLogin"`
	Registration      bool   `json:"registration"`
	EmailConfirmation bool   `json:"emailConfirmation"`
	CookieMode        bool   `json:"cookieMode"`
	AllowedOrigins    string `json:"allowedOrigins"`
	AuditRetention    string `json:"auditRetention"`
	AuditExchanges    bool   `json:"auditExchanges"`
	SessionRetention  string `json:"sessionRetention"`

	RateWindow          string `json:"rateWindow"`
	RateLimitIP         int    `json:"rateLimitIP"`
	RateLimitIdentifier int    `json:"rateLimitIdentifier"`
	RateLimitExchangeIP int    `json:"rateLimitExchangeIP"`

	Mail *mailSettingsJSON `json:"mail,omitempty"` // mailsettings.go; absent in settings saved before it
	// Password policy (security).
	PasswordMinLength    int  `json:"passwordMinLength"`
	PasswordRefuseCommon bool `json:"passwordRefuseCommon"`
	DPoPNonceRequired    bool `json:"dpopNonceRequired"`
}

// MarshalJSON encodes durations as Go duration strings ("15m0s"), the form
// stores persist and the admin screen shows.
func (s Settings) MarshalJSON() ([]byte, error) {
	return json.Marshal(settingsJSON{
		AccessTTL: s.AccessTTL.String(), RefreshTTL: s.RefreshTTL.String(),
		RefreshIdle: s.RefreshIdle.String(), Rotation: s.Rotation,
		ReuseGrace: s.ReuseGrace.String(), MaxSessions: s.MaxSessions,
		IssueOnLogin: s.IssueOnLogin, Registration: s.Registration,
		EmailConfirmation: s.EmailConfirmation,
		CookieMode:        s.CookieMode, AllowedOrigins: s.AllowedOrigins, AuditRetention: s.AuditRetention.String(),
		AuditExchanges:   s.AuditExchanges,
		SessionRetention: s.SessionRetention.String(),
		RateWindow:       s.RateWindow.String(), RateLimitIP: s.RateLimitIP,
		RateLimitIdentifier: s.RateLimitIdentifier, RateLimitExchangeIP: s.RateLimitExchangeIP,
		Mail:              s.Mail.toJSON(),
		PasswordMinLength: s.PasswordMinLength, PasswordRefuseCommon: s.PasswordRefuseCommon, // password policy (security)
		DPoPNonceRequired: s.DPoPNonceRequired,
	})
}

// UnmarshalJSON decodes what MarshalJSON wrote. Fields that are absent keep
// their default, so settings saved by an older version gain new fields' defaults.
func (s *Settings) UnmarshalJSON(b []byte) error {
	d := DefaultSettings()
	j := settingsJSON{
		AccessTTL: d.AccessTTL.String(), RefreshTTL: d.RefreshTTL.String(),
		RefreshIdle: d.RefreshIdle.String(), Rotation: d.Rotation,
		ReuseGrace: d.ReuseGrace.String(), MaxSessions: d.MaxSessions,
		IssueOnLogin: d.IssueOnLogin, Registration: d.Registration,
		EmailConfirmation: d.EmailConfirmation,
		CookieMode:        d.CookieMode, AllowedOrigins: d.AllowedOrigins, AuditRetention: d.AuditRetention.String(),
		AuditExchanges:   d.AuditExchanges,
		SessionRetention: d.SessionRetention.String(),
		RateWindow:       d.RateWindow.String(), RateLimitIP: d.RateLimitIP,
		RateLimitIdentifier: d.RateLimitIdentifier, RateLimitExchangeIP: d.RateLimitExchangeIP,
		Mail:              d.Mail.toJSON(),
		PasswordMinLength: d.PasswordMinLength, PasswordRefuseCommon: d.PasswordRefuseCommon, // password policy (security)
		DPoPNonceRequired: d.DPoPNonceRequired,
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := Settings{Rotation: j.Rotation, MaxSessions: j.MaxSessions, IssueOnLogin: j.IssueOnLogin,
		Registration: j.Registration, EmailConfirmation: j.EmailConfirmation,
		CookieMode: j.CookieMode, AllowedOrigins: j.AllowedOrigins, AuditExchanges: j.AuditExchanges,
		RateLimitIP: j.RateLimitIP, RateLimitIdentifier: j.RateLimitIdentifier, RateLimitExchangeIP: j.RateLimitExchangeIP,
		PasswordMinLength: j.PasswordMinLength, PasswordRefuseCommon: j.PasswordRefuseCommon, // password policy (security)
		DPoPNonceRequired: j.DPoPNonceRequired}
	for _, p := range []struct {
		v   string
		dst *time.Duration
	}{{j.AccessTTL, &out.AccessTTL}, {j.RefreshTTL, &out.RefreshTTL}, {j.RefreshIdle, &out.RefreshIdle}, {j.ReuseGrace, &out.ReuseGrace}, {j.AuditRetention, &out.AuditRetention}, {j.SessionRetention, &out.SessionRetention}, {j.RateWindow, &out.RateWindow}} {
		x, err := time.ParseDuration(p.v)
		if err != nil {
			return err
		}
		*p.dst = x
	}
	var err error
	if out.Mail, err = mailSettingsFrom(j.Mail); err != nil {
		return err
	}
	*s = out
	return nil
}
