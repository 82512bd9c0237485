package refreshing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The configuration of sign-in providers (docs/oidc.md). A provider comes
// from one of two places: the environment (REFRESHING_OIDC_PROVIDERS, read
// once at start, Config.Providers) or the settings kept in the Store (the
// admin screen, the admin API and `refreshing providers`), which every
// instance reads at each sign-in, so that a change applies everywhere at
// once. A provider the environment names wins over a stored one of the same
// name, as variables win over stored settings.

// ProviderConfig is one sign-in provider as an operator configures it: an
// entry of the JSON list of REFRESHING_OIDC_PROVIDERS, or one provider saved
// at run time. ParseProviders and CheckProvider fill in the defaults.
type ProviderConfig struct {
	// Name is the provider's name in the paths (/api/connect/{name}) and
	// in the identities stored: lower-case letters, digits, - and _.
	Name string `json:"name"`
	// Type is "oidc" (the default: any OpenID Connect provider),
	// "google" (Issuer defaults to https://accounts.google.com) or
	// "github" (plain OAuth 2.0 and GitHub's user and emails API).
	Type string `json:"type,omitempty"`
	// Issuer is the OpenID Connect issuer URL; discovery reads
	// Issuer/.well-known/openid-configuration.
	Issuer       string `json:"issuer,omitempty"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret,omitempty"`
	// Scopes asked for; default openid, email and profile (GitHub:
	// read:user and user:email).
	Scopes []string `json:"scopes,omitempty"`
	// CallbackURL is this server's public URL of
	// /api/auth/{name}/callback, registered at the provider. Empty: derived
	// from the request (scheme and host), fine behind no proxy or a trusted one.
	CallbackURL string `json:"callbackUrl,omitempty"`
	// RedirectURLs are the front-end pages a sign-in may end on
	// (GET /api/connect/{name}?redirect=URL, matched exactly); the
	// callback then redirects there with the tokens in the URL fragment.
	RedirectURLs []string `json:"redirectUrls,omitempty"`
	// RedirectWith is what a sign-in that ends on a front-end page hands
	// it, in the URL fragment: "tokens" (the default: jwt and
	// refreshToken) or "code" (a one-time code, redeemed within 60 s at
	// POST /api/auth/code for {jwt, refreshToken, user}).
	RedirectWith string `json:"redirectWith,omitempty"`
	// LinkByEmail lets a new identity whose email the provider verified
	// join the existing account with that email. Off: such a sign-in is
	// refused. Turn it on only for providers that own the emails they verify.
	LinkByEmail bool `json:"linkByEmail,omitempty"`
	// AuthURL, TokenURL and APIURL replace GitHub's endpoints (type
	// github only), for GitHub Enterprise Server.
	AuthURL  string `json:"authUrl,omitempty"`
	TokenURL string `json:"tokenUrl,omitempty"`
	APIURL   string `json:"apiUrl,omitempty"`
}

// The provider types.
const (
	ProviderOIDC   = "oidc"
	ProviderGoogle = "google"
	ProviderGitHub = "github"
)

// Where a provider's configuration comes from (ConfiguredProvider.Source).
const (
	ProviderFromEnvironment = "environment"
	ProviderFromSettings    = "settings"
)

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ParseProviders reads the JSON list of REFRESHING_OIDC_PROVIDERS and checks
// every entry with CheckProvider; names must differ. Unknown members are
// refused, so that a misspelt "clientSecret" does not go unnoticed.
func ParseProviders(s string) ([]ProviderConfig, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var cs []ProviderConfig
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cs); err != nil {
		return nil, fmt.Errorf("providers: not a JSON list of providers: %w", err)
	}
	seen := map[string]bool{}
	for i := range cs {
		if err := CheckProvider(&cs[i]); err != nil {
			if cs[i].Name == "" || !providerName.MatchString(cs[i].Name) {
				return nil, fmt.Errorf("provider %d: %w", i, err)
			}
			return nil, fmt.Errorf("provider %s: %w", cs[i].Name, err)
		}
		if seen[cs[i].Name] {
			return nil, fmt.Errorf("provider %s: configured twice", cs[i].Name)
		}
		seen[cs[i].Name] = true
	}
	return cs, nil
}

// CheckProvider fills in c's defaults (type oidc, Google's issuer, GitHub's
// endpoints, the scopes, redirectWith tokens) and reports the first
// nonsensical value as a *FieldError naming its JSON member. It does not
// require a client secret: a public client with PKCE needs none.
func CheckProvider(c *ProviderConfig) error {
	if c.Type == "" {
		c.Type = ProviderOIDC
	}
	if c.RedirectWith == "" {
		c.RedirectWith = "tokens"
	}
	switch c.Type {
	case ProviderGoogle:
		if c.Issuer == "" {
			c.Issuer = "https://accounts.google.com"
		}
	case ProviderGitHub:
		if c.AuthURL == "" {
			c.AuthURL = "https://github.com/login/oauth/authorize"
		}
		if c.TokenURL == "" {
			c.TokenURL = "https://github.com/login/oauth/access_token"
		}
		if c.APIURL == "" {
			c.APIURL = "https://api.github.com"
		}
		c.APIURL = strings.TrimSuffix(c.APIURL, "/")
		if len(c.Scopes) == 0 {
			c.Scopes = []string{"read:user", "user:email"}
		}
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"openid", "email", "profile"}
	}
	switch {
	case !providerName.MatchString(c.Name):
		return Invalid("name", "name %q must be 1-32 lower-case letters, digits, - or _, starting with a letter or digit", c.Name)
	case c.Type != ProviderOIDC && c.Type != ProviderGoogle && c.Type != ProviderGitHub:
		return Invalid("type", "type %q is not oidc, google or github", c.Type)
	case c.Type != ProviderGitHub && c.AuthURL != "":
		return Invalid("authUrl", "authUrl is for type github only")
	case c.Type != ProviderGitHub && c.TokenURL != "":
		return Invalid("tokenUrl", "tokenUrl is for type github only")
	case c.Type != ProviderGitHub && c.APIURL != "":
		return Invalid("apiUrl", "apiUrl is for type github only")
	case c.Type != ProviderGitHub && c.Issuer == "":
		return Invalid("issuer", "issuer is required for type %s", c.Type)
	case strings.TrimSpace(c.ClientID) == "" || len(c.ClientID) > 512:
		return Invalid("clientId", "clientId is required (at most 512 characters)")
	case len(c.ClientSecret) > 4096:
		return Invalid("clientSecret", "clientSecret is longer than 4096 characters")
	case c.RedirectWith != "tokens" && c.RedirectWith != "code":
		return Invalid("redirectWith", "redirectWith %q is not tokens or code", c.RedirectWith)
	case len(c.Scopes) > 32 || slices.ContainsFunc(c.Scopes, func(s string) bool { return s == "" || strings.ContainsAny(s, " \t\r\n\"\\") }):
		return Invalid("scopes", "scopes must be at most 32 words without spaces or quotes")
	case len(c.RedirectURLs) > 64:
		return Invalid("redirectUrls", "at most 64 redirectUrls")
	}
	for _, f := range []struct{ field, url string }{{"issuer", c.Issuer}, {"authUrl", c.AuthURL}, {"tokenUrl", c.TokenURL}, {"apiUrl", c.APIURL}, {"callbackUrl", c.CallbackURL}} {
		if f.url == "" {
			continue
		}
		if err := checkProviderURL(f.url); err != nil {
			return Invalid(f.field, "%s: %v", f.field, err)
		}
	}
	for _, r := range c.RedirectURLs {
		if err := checkProviderURL(r); err != nil {
			return Invalid("redirectUrls", "redirectUrls: %v", err)
		}
	}
	return nil
}

// checkProviderURL accepts absolute http(s) URLs with a host, without user
// information or a fragment.
func checkProviderURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || len(s) > 2048:
		return fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil:
		return fmt.Errorf("%q is not an http(s) URL with a host", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Errorf("%q must not have a fragment", s)
	}
	return nil
}

// MaskProviders returns the JSON list s with every client secret replaced,
// for display (refreshing config, logs). What does not parse is not shown.
func MaskProviders(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	var cs []ProviderConfig
	if err := json.Unmarshal([]byte(s), &cs); err != nil {
		return "(not shown: does not parse)"
	}
	for i := range cs {
		if cs[i].ClientSecret != "" {
			cs[i].ClientSecret = "(set, not shown)"
		}
	}
	b, _ := json.Marshal(cs)
	return string(b)
}

// ConfiguredProvider is a provider as the Service sees it: its
// configuration, where it comes from, and whether it is in force.
type ConfiguredProvider struct {
	ProviderConfig
	// Source is ProviderFromEnvironment or ProviderFromSettings.
	Source string `json:"source"`
	// Overridden marks a stored provider whose name the environment also
	// configures: the environment's is the one in force.
	Overridden bool `json:"overridden,omitempty"`
	// UpdatedAt is when a stored provider was last saved (zero for the
	// environment's).
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// SecretSet reports whether a client secret is configured; Redacted
	// keeps it when it blanks the secret.
	SecretSet bool `json:"clientSecretSet"`
}

// Redacted returns p without its client secret, for the screens, the admin
// API and the CLI: a secret is never shown back. Its JSON is the admin
// API's and the CLI's view of a provider.
func (p ConfiguredProvider) Redacted() ConfiguredProvider {
	p.SecretSet = p.SecretSet || p.ClientSecret != ""
	p.ClientSecret = ""
	return p
}

// SignInProviders returns every configured provider in name order, the
// environment's and the stored ones; a stored one whose name the
// environment also configures comes right after it, marked Overridden.
// Secrets included: see Redacted. The Store is read at every call, so that a change made on one
// instance applies on every other at once.
func (s *Service) SignInProviders(ctx context.Context) ([]ConfiguredProvider, error) {
	stored, err := s.store.SignInProviders(ctx)
	if err != nil {
		return nil, fmt.Errorf("sign-in providers: %w", err)
	}
	out := make([]ConfiguredProvider, 0, len(s.envProviders)+len(stored))
	env := map[string]bool{}
	for _, c := range s.envProviders {
		env[c.Name] = true
		out = append(out, ConfiguredProvider{ProviderConfig: c, Source: ProviderFromEnvironment, SecretSet: c.ClientSecret != ""})
	}
	for _, p := range stored {
		out = append(out, ConfiguredProvider{ProviderConfig: p.Config, Source: ProviderFromSettings,
			Overridden: env[p.Config.Name], UpdatedAt: p.UpdatedAt, SecretSet: p.Config.ClientSecret != ""})
	}
	slices.SortStableFunc(out, func(a, b ConfiguredProvider) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// SignInProvider returns the provider in force under name, or
// ErrUnknownProvider.
func (s *Service) SignInProvider(ctx context.Context, name string) (ProviderConfig, error) {
	for _, c := range s.envProviders {
		if c.Name == name {
			return c, nil
		}
	}
	if !providerName.MatchString(name) {
		return ProviderConfig{}, ErrUnknownProvider
	}
	stored, err := s.store.SignInProviders(ctx)
	if err != nil {
		return ProviderConfig{}, fmt.Errorf("sign-in providers: %w", err)
	}
	for _, p := range stored {
		if p.Config.Name == name {
			return p.Config, nil
		}
	}
	return ProviderConfig{}, ErrUnknownProvider
}

// SaveSignInProvider checks c (CheckProvider) and saves it as a stored
// provider, replacing the one of the same name: the administrator's
// operation behind the screen, the admin API and `refreshing providers
// set`. An empty ClientSecret keeps the stored provider's secret, so that
// a form that never shows the secret can change the rest. A name the
// environment configures is refused (change it there). The audit log
// records the change, never the secret.
func (s *Service) SaveSignInProvider(ctx context.Context, c ProviderConfig) (ConfiguredProvider, error) {
	if err := CheckProvider(&c); err != nil {
		return ConfiguredProvider{}, err
	}
	if s.envProvider(c.Name) {
		return ConfiguredProvider{}, Invalid("name", "provider %s is configured by REFRESHING_OIDC_PROVIDERS; change it there", c.Name)
	}
	stored, err := s.store.SignInProviders(ctx)
	if err != nil {
		return ConfiguredProvider{}, fmt.Errorf("sign-in providers: %w", err)
	}
	what := "created"
	for _, p := range stored {
		if p.Config.Name != c.Name {
			continue
		}
		what = "updated"
		if c.ClientSecret == "" {
			c.ClientSecret = p.Config.ClientSecret
		}
	}
	p := SignInProvider{Config: c, UpdatedAt: s.clock()}
	if err := s.store.SaveSignInProvider(ctx, p); err != nil {
		return ConfiguredProvider{}, fmt.Errorf("save sign-in provider: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditProviderSave, Detail: fmt.Sprintf("sign-in provider %s (%s, client %s) %s", c.Name, c.Type, c.ClientID, what)})
	return ConfiguredProvider{ProviderConfig: c, Source: ProviderFromSettings, UpdatedAt: p.UpdatedAt, SecretSet: c.ClientSecret != ""}, nil
}

// DeleteSignInProvider deletes the stored provider name; ErrNotFound if
// there is none. Its users' identities stay linked, so that saving the
// provider again lets them sign in to the same accounts; until then a
// sign-in through it is refused as an unknown provider. A provider the
// environment configures cannot be deleted here.
func (s *Service) DeleteSignInProvider(ctx context.Context, name string) error {
	if s.envProvider(name) {
		return Invalid("name", "provider %s is configured by REFRESHING_OIDC_PROVIDERS; remove it there", name)
	}
	if !providerName.MatchString(name) {
		return ErrNotFound
	}
	if err := s.store.DeleteSignInProvider(ctx, name); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("delete sign-in provider: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditProviderDelete, Detail: "sign-in provider " + name + " deleted"})
	return nil
}

func (s *Service) envProvider(name string) bool {
	return slices.ContainsFunc(s.envProviders, func(c ProviderConfig) bool { return c.Name == name })
}
