package refreshing

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// OAuth 2.0 grant types a Client may use; GrantTypes (grants.go) describes
// them. Every client may use the refresh grant; the password grant
// (deprecated by RFC 9700) must be allowed per client, for first-party apps
// only.
const (
	GrantRefreshToken = "refresh_token"
	GrantPassword     = "password"
)

// Client secrets: an operator-chosen secret must be at least
// MinClientSecretLen characters, so that a single SHA-256 of it is as hard to
// reverse as a refresh token's (see Client.SecretHash).
const (
	MinClientSecretLen = 32
	MaxClientSecretLen = 256
	MaxClientIDLen     = 128
)

// Confidential reports whether c has a secret.
func (c *Client) Confidential() bool { return len(c.SecretHash) > 0 }

// Allows reports whether c may use grant: an Implied one, or one c was
// created with.
func (c *Client) Allows(grant string) bool {
	g, ok := LookupGrantType(grant)
	return ok && (g.Implied || slices.Contains(c.Grants, grant))
}

// AllowedGrants lists the grants c may use: the Implied ones, then those
// it was created with.
func (c *Client) AllowedGrants() []string {
	var out []string
	for _, g := range grantTypes {
		if g.Implied {
			out = append(out, g.Name)
		}
	}
	return append(out, c.Grants...)
}

// ClientSpec is the input of CreateClient.
type ClientSpec struct {
	ID string
	// Secret makes the client confidential. With GenerateSecret set, a
	// random one is generated instead; with neither, the client is public.
	Secret         string
	GenerateSecret bool
	Grants         []string // GrantPassword to allow the password grant; refresh_token is implied
	RequireDPoP    bool     // every token request must carry a DPoP proof (RFC 9449)
}

// CreateClient registers an OAuth client and returns it with its secret in
// plain text (the only time it is available; "" for a public client).
func (s *Service) CreateClient(ctx context.Context, spec ClientSpec) (*Client, string, error) {
	if err := checkClientID(spec.ID); err != nil {
		return nil, "", err
	}
	secret := spec.Secret
	switch {
	case spec.GenerateSecret && secret != "":
		return nil, "", Invalid("secret", "give a secret or ask for one to be generated, not both")
	case spec.GenerateSecret:
		secret = randomString(32) // 256 bits, 43 characters
	case secret != "":
		if err := checkText("secret", secret, true, MaxClientSecretLen); err != nil {
			return nil, "", err
		}
		if n := utf8.RuneCountInString(secret); n < MinClientSecretLen {
			return nil, "", Invalid("secret", "secret must be at least %d characters (it is stored as SHA-256, so it must be long and random)", MinClientSecretLen)
		}
		for _, c := range secret {
			if c <= ' ' || c > '~' {
				return nil, "", Invalid("secret", "secret may contain only printable ASCII characters, no spaces")
			}
		}
	}
	c := &Client{ID: spec.ID, CreatedAt: s.clock(), RequireDPoP: spec.RequireDPoP}
	if secret != "" {
		c.SecretHash = hashSecret(secret)
	}
	for _, name := range spec.Grants {
		g, ok := LookupGrantType(name)
		switch {
		case !ok:
			return nil, "", Invalid("grant", "unknown grant %q (want %s)", name, grantChoice())
		case !g.Implied && !slices.Contains(c.Grants, name):
			c.Grants = append(c.Grants, name)
		}
	}
	if err := s.store.CreateClient(ctx, c); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, "", Invalid("id", "a client with id %q already exists", spec.ID)
		}
		return nil, "", fmt.Errorf("create client: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditClientCreate, Detail: "OAuth client " + c.ID + " created"})
	return c, secret, nil
}

// checkClientID allows RFC 3986 unreserved characters only, so that an id
// needs no escaping in a form, a URL or an HTTP Basic header.
func checkClientID(id string) error {
	if id == "" {
		return Invalid("id", "id must not be empty")
	}
	if len(id) > MaxClientIDLen {
		return Invalid("id", "id must be at most %d characters", MaxClientIDLen)
	}
	if !unreserved(id) {
		return Invalid("id", "id may contain only letters, digits and - . _ ~")
	}
	return nil
}

// unreserved reports whether s has only RFC 3986 unreserved characters,
// which form encoding (RFC 6749 section 2.3.1) leaves as they are.
func unreserved(s string) bool {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

// hashSecret is what the Store keeps of a client secret.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte("refreshing/client-secret\x00" + secret))
	return h[:]
}

// dummySecretHash is compared against when the client does not exist, so
// that an unknown client id costs the same as a wrong secret.
var dummySecretHash = hashSecret("not a real secret")

// AuthenticateClient checks a client's credentials: id and secret for a
// confidential client (HTTP Basic or client_secret_post), id alone (secret
// "") for a public one. Every failure is ErrInvalidClient, whatever the
// cause: an unknown id, a wrong or missing secret, or a secret presented by a
// public client. The secret is compared in constant time.
func (s *Service) AuthenticateClient(ctx context.Context, id, secret string) (*Client, error) {
	if id == "" || len(id) > MaxClientIDLen || !unreserved(id) || len(secret) > 4*MaxClientSecretLen {
		// No client has such an id (checkClientID): the store is not asked.
		return nil, ErrInvalidClient
	}
	c, err := s.store.Client(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		subtle.ConstantTimeCompare(hashSecret(secret), dummySecretHash)
		return nil, fmt.Errorf("%w: unknown client", ErrInvalidClient)
	case err != nil:
		return nil, fmt.Errorf("load client: %w", err)
	}
	switch {
	case !c.Confidential() && secret == "":
		return c, nil
	case !c.Confidential():
		return nil, fmt.Errorf("%w: a public client has no secret", ErrInvalidClient)
	case secret == "":
		return nil, fmt.Errorf("%w: secret required", ErrInvalidClient)
	case subtle.ConstantTimeCompare(hashSecret(secret), c.SecretHash) != 1:
		return nil, fmt.Errorf("%w: wrong secret", ErrInvalidClient)
	}
	return c, nil
}

// PasswordGrant is the OAuth password grant (RFC 6749 section 4.3): it checks
// the user's credentials and starts a session bound to client c. It is
// refused with ErrUnauthorizedClient unless c was created with the password
// grant allowed (RFC 9700 deprecates it; it is for first-party apps). c is
// the client AuthenticateClient returned; nil (no client) is ErrInvalidClient.
func (s *Service) PasswordGrant(ctx context.Context, c *Client, username, password string, ci ClientInfo) (*Grant, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: the password grant requires a client", ErrInvalidClient)
	}
	if !c.Allows(GrantPassword) {
		return nil, ErrUnauthorizedClient
	}
	ci.ClientID = c.ID
	if !c.Confidential() {
		ci.bindJKT = ci.DPoPJKT
	}
	return s.RequestToken(ctx, username, password, ci)
}

// RefreshGrant is the OAuth refresh grant (RFC 6749 section 6). It is
// Exchange itself, with the same rotation, grace and reuse rules as
// /api/auth/token, for the client c (nil when the request named none): a
// token bound to one client is refused to any other.
func (s *Service) RefreshGrant(ctx context.Context, c *Client, token string, ci ClientInfo) (*Grant, error) {
	ci.ClientID = ""
	if c != nil {
		ci.ClientID = c.ID
	}
	return s.Exchange(ctx, token, ci)
}

// RevokeToken is OAuth token revocation (RFC 7009) for client c (nil when
// the request named none). A refresh token ends its session; so does an
// access token, whose session is named by its sid. Unknown, malformed,
// expired and already revoked tokens succeed silently (RFC 7009 section 2.2:
// there is nothing left to end, and the caller learns nothing).
//
// A live token bound to a client is revoked only for that client (RFC 7009
// section 2.1: the server verifies that the token was issued to the client
// making the request). Asked without client identification it is
// ErrClientRequired (an ErrInvalidClient); asked by another client it is
// ErrWrongClient (an ErrUnauthorizedClient). Either way nothing is revoked
// and the caller is told so: a success that ends nothing would leave it
// believing the user signed out. A token of a session that belongs to no
// client (one started on /api) may be revoked by any caller that holds it.
func (s *Service) RevokeToken(ctx context.Context, c *Client, token string) error {
	clientID := ""
	if c != nil {
		clientID = c.ID
	}
	var sess *Session
	if LooksLikeRefreshToken(token) {
		var err error
		if sess, err = s.sessionOf(ctx, token); err != nil {
			return err
		}
	} else if p, err := s.Authenticate(ctx, token); err == nil && p.SessionID != "" {
		if sess, err = s.store.Session(ctx, p.SessionID); errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return fmt.Errorf("load session: %w", err)
		}
	} else if err != nil && !errors.Is(err, ErrUnauthenticated) {
		return err
	}
	if sess == nil || sess.Revoked() {
		return nil
	}
	switch {
	case sess.ClientID == "" || sess.ClientID == clientID:
	case c == nil:
		return ErrClientRequired
	default:
		return ErrWrongClient
	}
	if err := s.store.RevokeSession(ctx, sess.ID, ReasonLogout, s.clock()); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// Token types an Introspection reports.
const (
	TokenTypeAccess  = "Bearer"        // an access token (a JWT), as RFC 6749 section 5.1 names it
	TokenTypeRefresh = "refresh_token" // a refresh token
)

// Introspection is what OAuth token introspection (RFC 7662) says of a
// token. When Active is false every other field is empty.
type Introspection struct {
	Active    bool
	TokenType string // TokenTypeAccess or TokenTypeRefresh
	Subject   string // the user id, as a decimal string
	SessionID string
	ClientID  string // the client the session is bound to; "" for /api sessions
	Issuer    string
	IssuedAt  time.Time // of this very token
	AuthTime  time.Time // when the user last authenticated: the session's start or re-authentication (auth_time)
	DPoPJKT   string    // the DPoP key the token is bound to (cnf.jkt, RFC 9449); "" for none
	// ExpiresAt is the access token's exp, or the refresh token's session's
	// absolute expiry: zero when the session never expires.
	ExpiresAt time.Time
}

// Introspect is OAuth token introspection (RFC 7662) for the confidential
// client c: a public client, or none, is ErrInvalidClient. A token is active
// when it would be accepted now: an access token that Authenticate accepts
// (signature, lifetime, user, session); a refresh token that Exchange would
// accept without reuse detection (the live token, or the just-retired one
// within the grace window) of an active session of an unblocked user.
func (s *Service) Introspect(ctx context.Context, c *Client, token string) (*Introspection, error) {
	if c == nil || !c.Confidential() {
		return nil, fmt.Errorf("%w: introspection requires a confidential client", ErrInvalidClient)
	}
	if LooksLikeRefreshToken(token) {
		return s.introspectRefresh(ctx, token)
	}
	p, err := s.Authenticate(ctx, token)
	if errors.Is(err, ErrUnauthenticated) {
		return &Introspection{}, nil
	}
	if err != nil {
		return nil, err
	}
	in := &Introspection{
		Active: true, TokenType: TokenTypeAccess, Subject: p.Claims.Subject, SessionID: p.SessionID,
		Issuer: p.Claims.Issuer, IssuedAt: p.Claims.IssuedAt, ExpiresAt: p.Claims.ExpiresAt,
		AuthTime: p.Claims.AuthTime, DPoPJKT: p.Claims.JKT,
	}
	if p.SessionID != "" {
		sess, err := s.store.Session(ctx, p.SessionID)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return &Introspection{}, nil
			}
			return nil, fmt.Errorf("load session: %w", err)
		}
		in.ClientID = sess.ClientID
	}
	return in, nil
}

func (s *Service) introspectRefresh(ctx context.Context, token string) (*Introspection, error) {
	sid, gen, _ := parseToken(token)
	sess, err := s.store.Session(ctx, sid)
	if errors.Is(err, ErrNotFound) {
		return &Introspection{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	issued := sess.CreatedAt
	switch m, _ := s.match(sess, gen, token); m {
	case StandingLive:
		if sess.Generation > 0 {
			issued = sess.RotatedAt
		}
	case StandingRetired:
		// Active while it would still be served within the grace window.
		if !sess.retiredWithin(gen, now, st.ReuseGrace) {
			return &Introspection{}, nil
		}
		if gen > 0 {
			issued = time.Time{} // when a retired token was issued is not kept
		}
	default:
		return &Introspection{}, nil
	}
	if !sess.Active(now, st) {
		return &Introspection{}, nil
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return &Introspection{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if u.Blocked {
		return &Introspection{}, nil
	}
	return &Introspection{
		Active: true, TokenType: TokenTypeRefresh, Subject: fmt.Sprint(u.ID), SessionID: sess.ID,
		ClientID: sess.ClientID, Issuer: s.Issuer(), IssuedAt: issued, ExpiresAt: sess.ExpiresAt,
		AuthTime: sess.AuthTime, DPoPJKT: sess.DPoPJKT,
	}, nil
}

// CheckMaxAge is step-up for a refresh: it returns ErrLoginRequired when the
// user of the session refresh token belongs to last authenticated (signed
// in, or re-authenticated with Reauthenticate) more than maxAge ago, before
// anything is rotated, so the token stays usable. A
// token that belongs to no session passes: the exchange that follows
// refuses it as it would anyway. It costs a session read, paid only by the
// requests that ask for a max_age (the token endpoint's max_age parameter).
func (s *Service) CheckMaxAge(ctx context.Context, token string, maxAge time.Duration) error {
	if maxAge < 0 {
		return Invalid("max_age", "max_age must not be negative")
	}
	sess, err := s.sessionOf(ctx, token)
	if err != nil || sess == nil {
		return err
	}
	if s.clock().Sub(sess.AuthTime) > maxAge {
		return ErrLoginRequired
	}
	return nil
}

// DPoPNonceKey returns the server secret under which DPoP nonces are made
// (internal/dpop.Nonces), created at first use and shared by every
// instance, so that a nonce one instance issued is good at every other.
func (s *Service) DPoPNonceKey(ctx context.Context) ([]byte, error) {
	return s.store.Secret(ctx, "dpop-nonce-key", []byte(randomString(32)))
}
