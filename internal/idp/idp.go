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
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/refreshing/refreshing"
	"golang.org/x/oauth2"
)

// Provider is one configured provider, ready to run sign-ins. Discovery
// happens at the first sign-in (and again after a failure), so that the
// service starts while a provider is down.
type Provider struct {
	cfg    refreshing.ProviderConfig
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

// Registry builds the Provider of each configuration it is given, and
// hands the same one back while the configuration stays the same, so that
// discovery happens once per provider and again only after a change (the
// providers saved at run time can change while the service runs).
type Registry struct {
	opts Options

	mu     sync.Mutex
	byName map[string]*Provider
}

// NewRegistry returns an empty Registry whose providers use opts.
func NewRegistry(opts Options) *Registry {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Registry{opts: opts, byName: map[string]*Provider{}}
}

// Provider returns the Provider of c (checked by refreshing.CheckProvider).
func (r *Registry) Provider(c refreshing.ProviderConfig) *Provider {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.byName[c.Name]; p != nil && reflect.DeepEqual(p.cfg, c) {
		return p
	}
	p := &Provider{cfg: c, client: r.opts.Client, now: r.opts.Now}
	r.byName[c.Name] = p
	return p
}

// Config returns the provider's configuration.
func (p *Provider) Config() refreshing.ProviderConfig { return p.cfg }

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

// Check reads an OpenID Connect provider's discovery document now, as its
// first sign-in would (and keeps it for that sign-in), so that whoever just
// saved the provider hears at once when its issuer cannot be reached or is
// wrong. GitHub has no discovery: nil.
func (p *Provider) Check(ctx context.Context) error {
	if p.cfg.Type == refreshing.ProviderGitHub {
		return nil
	}
	_, err := p.discover(ctx)
	return err
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
