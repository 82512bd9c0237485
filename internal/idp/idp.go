// Package idp is the client side of sign-in through external providers:
// OpenID Connect (discovery, authorization code with PKCE S256, state and
// nonce, ID token verification against the provider's JWKS with its
// algorithms, issuer, audience and expiry, userinfo when the ID token has no
// email) on github.com/coreos/go-oidc and golang.org/x/oauth2, with a
// preset for Google. It verifies what the provider says and hands the
// Service a refreshing.ExternalIdentity; which account that signs in is the
// Service's decision. docs/oidc.md is the operator's guide.
package idp

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/refreshing/refreshing"
	"golang.org/x/oauth2"
)

// Config is one provider as the operator configures it, in the JSON list
// of REFRESHING_OIDC_PROVIDERS.
type Config struct {
	// Name is the provider's name in the paths (/api/connect/{name}) and
	// in the identities stored: lower-case letters, digits, - and _.
	Name string `json:"name"`
	// Type is "oidc" (the default: any OpenID Connect provider),
	// "google" (Issuer defaults to https://accounts.google.com) or
	// "github" (plain OAuth 2.0 and GitHub's user and emails API; see github.go).
	Type string `json:"type,omitempty"`
	// Issuer is the OpenID Connect issuer URL; discovery reads
	// Issuer/.well-known/openid-configuration.
	Issuer       string `json:"issuer,omitempty"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret,omitempty"`
	// Scopes asked for; default openid, email and profile.
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

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Parse reads the JSON list of providers and checks every entry.
func Parse(s string) ([]Config, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var cs []Config
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cs); err != nil {
		return nil, fmt.Errorf("providers: not a JSON list of providers: %w", err)
	}
	seen := map[string]bool{}
	for i := range cs {
		c := &cs[i]
		if c.Type == "" {
			c.Type = "oidc"
		}
		if c.RedirectWith == "" {
			c.RedirectWith = "tokens"
		}
		if c.Type == "google" && c.Issuer == "" {
			c.Issuer = "https://accounts.google.com"
		}
		if c.Type == "github" {
			githubDefaults(c)
		}
		if len(c.Scopes) == 0 {
			c.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
		}
		switch {
		case !namePattern.MatchString(c.Name):
			return nil, fmt.Errorf("provider %d: name %q must be 1-32 lower-case letters, digits, - or _", i, c.Name)
		case seen[c.Name]:
			return nil, fmt.Errorf("provider %s: configured twice", c.Name)
		case c.Type != "oidc" && c.Type != "google" && c.Type != "github":
			return nil, fmt.Errorf("provider %s: type %q is not oidc, google or github", c.Name, c.Type)
		case c.Type != "github" && (c.AuthURL != "" || c.TokenURL != "" || c.APIURL != ""):
			return nil, fmt.Errorf("provider %s: authUrl, tokenUrl and apiUrl are for type github only", c.Name)
		case c.ClientID == "":
			return nil, fmt.Errorf("provider %s: clientId is required", c.Name)
		case c.RedirectWith != "" && c.RedirectWith != "tokens" && c.RedirectWith != "code":
			return nil, fmt.Errorf("provider %s: redirectWith %q is not tokens or code", c.Name, c.RedirectWith)
		}
		seen[c.Name] = true
		for field, u := range map[string]string{"issuer": c.Issuer, "authUrl": c.AuthURL, "tokenUrl": c.TokenURL, "apiUrl": c.APIURL} {
			if u == "" && (field != "issuer" || c.Type == "github") {
				continue
			}
			if err := checkURL(u, false); err != nil {
				return nil, fmt.Errorf("provider %s: %s: %w", c.Name, field, err)
			}
		}
		if c.CallbackURL != "" {
			if err := checkURL(c.CallbackURL, false); err != nil {
				return nil, fmt.Errorf("provider %s: callbackUrl: %w", c.Name, err)
			}
		}
		for _, r := range c.RedirectURLs {
			if err := checkURL(r, true); err != nil {
				return nil, fmt.Errorf("provider %s: redirectUrls: %w", c.Name, err)
			}
		}
	}
	return cs, nil
}

// checkURL accepts absolute http(s) URLs with a host, without a fragment
// (and, for front-end pages, without a query is not required).
func checkURL(s string, page bool) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil:
		return fmt.Errorf("%q is not an http(s) URL with a host", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Errorf("%q must not have a fragment", s)
	}
	return nil
}

// Mask returns the providers' JSON with every client secret replaced, for
// display (refreshing config, logs). What does not parse is not shown.
func Mask(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	var cs []Config
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

// Provider is one configured provider, ready to run sign-ins. Discovery
// happens at the first sign-in (and again after a failure), so that the
// service starts while a provider is down.
type Provider struct {
	cfg    Config
	client *http.Client
	now    func() time.Time

	mu sync.Mutex
	op *oidc.Provider
}

// Options configures New.
type Options struct {
	// Client makes every request to providers; nil uses a client with a
	// 10-second timeout.
	Client *http.Client
	// Now is the clock for ID token expiry; nil is time.Now.
	Now func() time.Time
}

// New returns the providers of cs by name.
func New(cs []Config, opts Options) map[string]*Provider {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	out := make(map[string]*Provider, len(cs))
	for _, c := range cs {
		out[c.Name] = &Provider{cfg: c, client: opts.Client, now: opts.Now}
	}
	return out
}

// Config returns the provider's configuration.
func (p *Provider) Config() Config { return p.cfg }

// AllowedRedirect reports whether target is one of the provider's
// front-end pages, compared exactly.
func (p *Provider) AllowedRedirect(target string) bool {
	for _, r := range p.cfg.RedirectURLs {
		if subtle.ConstantTimeCompare([]byte(r), []byte(target)) == 1 {
			return true
		}
	}
	return false
}

// discover returns the provider's discovered metadata, fetching it once.
func (p *Provider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return p.op, nil
	}
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("provider %s: discovery: %w", p.cfg.Name, err)
	}
	p.op = op
	return op, nil
}

func (p *Provider) oauth2(op *oidc.Provider, callback string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
		Endpoint: op.Endpoint(), RedirectURL: callback, Scopes: p.cfg.Scopes}
}

// AuthCodeURL returns the provider's authorization URL for one sign-in:
// state and nonce as given, and the S256 challenge of verifier.
func (p *Provider) AuthCodeURL(ctx context.Context, callback, state, nonce, verifier string) (string, error) {
	if p.cfg.Type == "github" {
		return p.githubOAuth2(callback).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), nil
	}
	op, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	return p.oauth2(op, callback).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// ErrDiscovery wraps failures to reach the provider: a 502 for the client.
var ErrDiscovery = errors.New("provider unreachable")

// Exchange redeems code (with the PKCE verifier) at the provider, verifies
// the ID token (signature against the provider's JWKS, algorithm, issuer,
// audience = client id, expiry, and nonce) and returns the identity it
// names. Anything the provider refuses or that does not verify is
// refreshing.ErrProviderToken; an unreachable provider is ErrDiscovery.
func (p *Provider) Exchange(ctx context.Context, callback, code, verifier, nonce string) (refreshing.ExternalIdentity, error) {
	var id refreshing.ExternalIdentity
	if p.cfg.Type == "github" {
		return p.githubExchange(ctx, callback, code, verifier)
	}
	op, err := p.discover(ctx)
	if err != nil {
		return id, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	ctx = oidc.ClientContext(ctx, p.client)
	tok, err := p.oauth2(op, callback).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return id, fmt.Errorf("%w: token endpoint: %s", refreshing.ErrProviderToken, re.ErrorCode)
		}
		return id, fmt.Errorf("%w: token endpoint: %w", ErrDiscovery, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return id, fmt.Errorf("%w: no id_token in the token response", refreshing.ErrProviderToken)
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: p.now}).Verify(ctx, raw)
	if err != nil {
		return id, fmt.Errorf("%w: id_token: %w", refreshing.ErrProviderToken, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 || nonce == "" {
		return id, fmt.Errorf("%w: id_token nonce does not match this sign-in", refreshing.ErrProviderToken)
	}
	var claims struct {
		Email             string `json:"email"`
		EmailVerified     any    `json:"email_verified"`
		PreferredUsername string `json:"preferred_username"`
		Name              string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return id, fmt.Errorf("%w: id_token claims: %w", refreshing.ErrProviderToken, err)
	}
	id = refreshing.ExternalIdentity{Provider: p.cfg.Name, Subject: idt.Subject, Email: claims.Email,
		EmailVerified: truthy(claims.EmailVerified), Username: claims.PreferredUsername,
		LinkByEmail: p.cfg.LinkByEmail}
	if id.Email == "" && op.UserInfoEndpoint() != "" {
		// Some providers keep the email out of the ID token: ask userinfo,
		// and believe it only about the same subject.
		ui, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return id, fmt.Errorf("%w: userinfo: %w", refreshing.ErrProviderToken, err)
		}
		if ui.Subject != idt.Subject {
			return id, fmt.Errorf("%w: userinfo is about another subject", refreshing.ErrProviderToken)
		}
		id.Email, id.EmailVerified = ui.Email, ui.EmailVerified
	}
	return id, nil
}

// truthy reads email_verified, a boolean that some providers send as a string.
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}
