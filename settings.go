package refreshing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Settings is the runtime policy: what an administrator may change while the
// service runs. SettingsTable describes each field once (JSON key, variable,
// default, bounds, help). A new database starts from DefaultSettings overridden by the
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

// DefaultSettings returns the contract's defaults (SettingsTable's).
func DefaultSettings() Settings { return defaultSettings }

// Validate reports the first nonsensical value as a *FieldError: each
// setting's bounds and rule (SettingsTable), in the table's order.
func (s Settings) Validate() error {
	for _, d := range settingsTable {
		if err := d.validate(s); err != nil {
			return err
		}
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
// Service.ApplyEnvSettings). Each setting's variable is in SettingsTable
// (accessTTL: REFRESHING_ACCESS_TTL). It fails on an unparsable or invalid
// value, naming the variable.
func (s Settings) WithEnv(getenv func(string) string) (Settings, error) {
	for _, d := range settingsTable {
		if d.Env == "" {
			continue
		}
		if v := getenv(d.Env); v != "" {
			if err := d.Set(&s, v); err != nil {
				return s, fmt.Errorf("%s: %w", d.Env, err)
			}
		}
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("settings from environment: %w", err)
	}
	return s, nil
}

// MarshalJSON writes the stable persisted form, SettingsTable's keys in its
// order: durations as Go duration strings ("15m0s"), the form stores
// persist and the admin screen shows; a dotted key's settings as a nested
// object ("mail": {"serviceName": ...}).
func (s Settings) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	var open []string // the nested objects b is inside
	b.WriteByte('{')
	first := true
	for _, d := range settingsTable {
		path := strings.Split(d.Key, ".")
		groups, leaf := path[:len(path)-1], path[len(path)-1]
		common := 0
		for common < len(open) && common < len(groups) && open[common] == groups[common] {
			common++
		}
		for len(open) > common {
			b.WriteByte('}')
			open = open[:len(open)-1]
		}
		for _, g := range groups[common:] {
			if !first {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q:{", g)
			open, first = append(open, g), true
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		v, err := json.Marshal(d.jsonValue(s))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%q:", leaf)
		b.Write(v)
	}
	for range open {
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// jsonValue is the setting's value in st as it is persisted.
func (d Setting) jsonValue(st Settings) any {
	switch p := d.ptr(&st).(type) {
	case *time.Duration:
		return p.String()
	case *bool:
		return *p
	case *int:
		return *p
	case *string:
		return *p
	}
	return nil
}

// UnmarshalJSON decodes what MarshalJSON wrote. Settings that are absent
// (or null, or an empty duration) keep their default, so settings saved by
// an older version gain new settings' defaults; unknown keys are ignored.
func (s *Settings) UnmarshalJSON(b []byte) error {
	out := DefaultSettings()
	objects := map[string]map[string]json.RawMessage{}
	var object func(path string) (map[string]json.RawMessage, error)
	object = func(path string) (map[string]json.RawMessage, error) {
		if m, ok := objects[path]; ok {
			return m, nil
		}
		raw := json.RawMessage(b)
		if path != "" {
			parent, leaf := "", path
			if i := strings.LastIndexByte(path, '.'); i >= 0 {
				parent, leaf = path[:i], path[i+1:]
			}
			up, err := object(parent)
			if err != nil {
				return nil, err
			}
			raw = up[leaf]
		}
		var m map[string]json.RawMessage
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, err
			}
		}
		objects[path] = m
		return m, nil
	}
	for _, d := range settingsTable {
		parent, leaf := "", d.Key
		if i := strings.LastIndexByte(d.Key, '.'); i >= 0 {
			parent, leaf = d.Key[:i], d.Key[i+1:]
		}
		m, err := object(parent)
		if err != nil {
			return err
		}
		raw, ok := m[leaf]
		if !ok {
			continue
		}
		switch p := d.ptr(&out).(type) {
		case *time.Duration:
			v := p.String()
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			if v == "" {
				continue
			}
			if *p, err = time.ParseDuration(v); err != nil {
				return err
			}
		default:
			if err := json.Unmarshal(raw, p); err != nil {
				return err
			}
		}
	}
	*s = out
	return nil
}
