package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Token is what a program holds for one signed-in user.
type Token struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	// Expiry is when AccessToken expires. Zero means unknown: the Transport
	// then reads the token's exp claim, or, for an opaque token, refreshes
	// only when a server answers 401.
	Expiry time.Time `json:"expiry,omitzero"`
	// IssuedAt is when AccessToken was issued; with Expiry it tells the
	// token's lifetime, which decides how early the Transport refreshes.
	IssuedAt time.Time `json:"issued_at,omitzero"`
}

// TokenStore keeps a Token across restarts of the program. Implementations
// must be safe for concurrent use. MemoryStore and FileStore are provided; a
// desktop app might keep the token in the system's keychain instead.
type TokenStore interface {
	// Load returns the stored token, or nil and no error when none is.
	Load(ctx context.Context) (*Token, error)
	// Save replaces the stored token.
	Save(ctx context.Context, t *Token) error
}

// ErrSignedOut means that there is no token, or that the server refused the
// refresh token (the session was revoked, expired, or its token reused): the
// user must sign in again.
var ErrSignedOut = errors.New("signed out: sign in again")

// OAuthError is an error answer of the token endpoint (RFC 6749 section 5.2).
// Its Code "invalid_grant" makes it ErrSignedOut.
type OAuthError struct {
	StatusCode  int
	Code        string // "invalid_grant", "invalid_client", ...
	Description string
}

// Error implements error.
func (e *OAuthError) Error() string {
	return fmt.Sprintf("token endpoint: %d %s: %s", e.StatusCode, e.Code, e.Description)
}

// Is makes an invalid_grant answer match ErrSignedOut.
func (e *OAuthError) Is(target error) bool {
	return target == ErrSignedOut && e.Code == "invalid_grant"
}

// Defaults of a Transport.
const (
	// RefreshMargin is how long before expiry the Transport refreshes, or
	// a tenth of the token's lifetime if that is less.
	RefreshMargin = 30 * time.Second
	// refreshTimeout bounds one refresh.
	refreshTimeout = 30 * time.Second
)

// Transport is an http.RoundTripper that sends each request with the user's
// access token ("Authorization: Bearer") and keeps that token fresh: it
// refreshes it shortly before it expires (RefreshMargin, or a tenth of its
// lifetime), and when a server answers 401 it refreshes and sends the
// request once more, if its body can be sent again (no body, or
// Request.GetBody set, as http.NewRequest does for in-memory bodies).
//
// However many goroutines share a Transport, at most one refresh is in
// flight at a time: the others wait for its result, or go on with the
// current token while it is still valid. A busy program therefore never
// presents a retired refresh token, which the server would take for theft.
// Before refreshing, the Transport reads the Store again, so that programs
// sharing one FileStore use each other's refreshed tokens.
//
// Refreshes use the OAuth refresh grant: a form POST to TokenURL, with the
// client's id (and secret, over HTTP Basic, for a confidential client).
//
// Set the fields before first use; a Transport is then safe for concurrent use.
type Transport struct {
	// TokenURL is the issuer's token endpoint, {issuer}/oauth/token. Required.
	TokenURL string
	// ClientID names the OAuth client the tokens are bound to; empty for
	// tokens issued through /api. ClientSecret, for a confidential client.
	ClientID, ClientSecret string
	// Store keeps the token; required. Start it with a token (or call
	// SignIn), and the Transport saves every refreshed one to it.
	Store TokenStore
	// Base sends the requests and the refreshes; default http.DefaultTransport.
	Base http.RoundTripper
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu     sync.Mutex
	tok    *Token
	loaded bool
	flight *flight // the refresh in progress, if any
	dead   string  // a refresh token the server refused
}

// flight is one refresh in progress; done is closed when tok or err is set.
type flight struct {
	done chan struct{}
	tok  *Token
	err  error
}

func (t *Transport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// Client returns an *http.Client that sends its requests through t.
func (t *Transport) Client() *http.Client { return &http.Client{Transport: t} }

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.token(req.Context(), "")
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	res, err := t.base().RoundTrip(authorized(req, tok.AccessToken, req.Body))
	if err != nil || res.StatusCode != http.StatusUnauthorized || !replayable {
		return res, err
	}
	// The server refused the token: refresh (or take the token another
	// goroutine just got) and try once more.
	next, err := t.token(req.Context(), tok.AccessToken)
	if err != nil || next.AccessToken == tok.AccessToken {
		return res, nil // nothing better to offer: the server's own answer
	}
	body := req.Body
	if req.GetBody != nil {
		if body, err = req.GetBody(); err != nil {
			return res, nil
		}
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return t.base().RoundTrip(authorized(req, next.AccessToken, body))
}

// authorized returns a copy of req with the bearer token and body.
func authorized(req *http.Request, access string, body io.ReadCloser) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+access)
	r.Body = body
	return r
}

// Token returns a token whose access token is valid, refreshing it first if
// it is about to expire. It returns an error that is ErrSignedOut when the
// user must sign in again.
func (t *Transport) Token(ctx context.Context) (*Token, error) {
	return t.token(ctx, "")
}

// token returns the token to send. refused, when not empty, is an access
// token a server just refused: a token with another access token is wanted.
func (t *Transport) token(ctx context.Context, refused string) (*Token, error) {
	for {
		t.mu.Lock()
		if err := t.loadLocked(ctx); err != nil {
			t.mu.Unlock()
			return nil, err
		}
		tok, now := t.tok, t.now()
		if tok == nil {
			t.mu.Unlock()
			return nil, ErrSignedOut
		}
		stale := refused != "" && tok.AccessToken == refused
		expired := stale || (!tok.Expiry.IsZero() && !now.Before(tok.Expiry))
		if !expired && !due(tok, now) {
			t.mu.Unlock()
			return tok, nil
		}
		if f := t.flight; f != nil {
			t.mu.Unlock()
			if !expired {
				return tok, nil // still valid while another goroutine refreshes
			}
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if f.err != nil {
				return nil, f.err
			}
			continue
		}
		f := &flight{done: make(chan struct{})}
		t.flight = f
		t.mu.Unlock()

		f.tok, f.err = t.refresh(ctx, tok)

		var saveErr error
		t.mu.Lock()
		if f.err == nil {
			t.tok = f.tok
			if err := t.Store.Save(context.WithoutCancel(ctx), f.tok); err != nil {
				// The new token works, but a restart would bring back the
				// retired one: tell this caller (only).
				saveErr = fmt.Errorf("save refreshed token: %w", err)
			}
		} else if errors.Is(f.err, ErrSignedOut) {
			t.dead, t.tok = tok.RefreshToken, nil
		}
		t.flight = nil
		close(f.done)
		t.mu.Unlock()
		if !expired && f.err != nil && !errors.Is(f.err, ErrSignedOut) {
			return tok, nil // an early refresh failed; the token still works
		}
		if f.err != nil {
			return nil, f.err
		}
		return f.tok, saveErr
	}
}

// loadLocked reads the Store the first time, and again while the token in
// hand is one the server refused (the user may have signed in since).
func (t *Transport) loadLocked(ctx context.Context) error {
	if t.loaded && (t.tok != nil || t.dead == "") {
		return nil
	}
	if t.Store == nil {
		return errors.New("client.Transport: no Store")
	}
	tok, err := t.Store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load token: %w", err)
	}
	t.loaded = true
	if tok != nil && tok.RefreshToken == t.dead {
		tok = nil
	}
	t.tok = normalize(tok)
	return nil
}

// due reports whether tok should be refreshed early: within RefreshMargin
// of its expiry, or within a tenth of its lifetime when that is shorter.
func due(tok *Token, now time.Time) bool {
	if tok.Expiry.IsZero() {
		return false
	}
	margin := RefreshMargin
	if !tok.IssuedAt.IsZero() {
		margin = min(margin, tok.Expiry.Sub(tok.IssuedAt)/10)
	}
	return !now.Before(tok.Expiry.Add(-margin))
}

// refresh exchanges old's refresh token, unless the Store holds a newer
// token another program refreshed meanwhile. It runs to its end even if ctx
// is cancelled: a rotation the server performed but whose answer was thrown
// away would leave this program with a retired refresh token.
func (t *Transport) refresh(ctx context.Context, old *Token) (*Token, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	if stored, err := t.Store.Load(ctx); err == nil && stored != nil && stored.RefreshToken != old.RefreshToken && stored.RefreshToken != t.dead {
		stored = normalize(stored)
		now := t.now()
		if stored.Expiry.IsZero() || (now.Before(stored.Expiry) && !due(stored, now)) {
			return stored, nil
		}
		old = stored
	}
	return t.grant(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old.RefreshToken}}, old.RefreshToken)
}

// SignIn obtains a token with the OAuth password grant (for first-party
// apps whose client is allowed it) and saves it to the Store.
func (t *Transport) SignIn(ctx context.Context, username, password string) error {
	if t.Store == nil {
		return errors.New("client.Transport: no Store")
	}
	tok, err := t.grant(ctx, url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}, "")
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.Store.Save(ctx, tok); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	t.tok, t.loaded, t.dead = tok, true, ""
	return nil
}

// grant posts form to the token endpoint and returns the token it issues;
// keep is the refresh token to keep when the answer carries none.
func (t *Transport) grant(ctx context.Context, form url.Values, keep string) (*Token, error) {
	if t.ClientID != "" && t.ClientSecret == "" {
		form.Set("client_id", t.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if t.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(t.ClientID), url.QueryEscape(t.ClientSecret))
	}
	started := t.now()
	res, err := t.base().RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body); err != nil && res.StatusCode == http.StatusOK {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		if body.Error == "" {
			body.Error = "http_" + res.Status
		}
		return nil, &OAuthError{StatusCode: res.StatusCode, Code: body.Error, Description: body.Description}
	}
	if body.AccessToken == "" || !strings.EqualFold(body.TokenType, "Bearer") {
		return nil, fmt.Errorf("token endpoint: no bearer access token in the answer")
	}
	tok := &Token{AccessToken: body.AccessToken, RefreshToken: body.RefreshToken}
	if tok.RefreshToken == "" {
		tok.RefreshToken = keep
	}
	if body.ExpiresIn > 0 {
		tok.IssuedAt, tok.Expiry = started, started.Add(time.Duration(body.ExpiresIn)*time.Second)
	}
	return normalize(tok), nil
}

// normalize fills in an unknown Expiry and IssuedAt from the access token's
// own exp and iat claims, read without verification: they only schedule
// refreshes, the server decides. It returns a copy.
func normalize(tok *Token) *Token {
	if tok == nil {
		return nil
	}
	c := *tok
	if !c.Expiry.IsZero() {
		return &c
	}
	parts := strings.Split(c.AccessToken, ".")
	if len(parts) != 3 {
		return &c
	}
	var p payload
	if decodeSegment(parts[1], &p) != nil || !p.Exp.set {
		return &c
	}
	if exp, err := numericDate(p.Exp.n); err == nil {
		c.Expiry = exp
	}
	if p.Iat.set {
		if iat, err := numericDate(p.Iat.n); err == nil {
			c.IssuedAt = iat
		}
	}
	return &c
}

// MemoryStore is a TokenStore in memory: the token lasts as long as the
// process.
type MemoryStore struct {
	mu  sync.Mutex
	tok *Token
}

// NewMemoryStore returns a MemoryStore holding tok (which may be nil).
func NewMemoryStore(tok *Token) *MemoryStore {
	s := &MemoryStore{}
	if tok != nil {
		c := *tok
		s.tok = &c
	}
	return s
}

// Load implements TokenStore.
func (s *MemoryStore) Load(context.Context) (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return nil, nil
	}
	c := *s.tok
	return &c, nil
}

// Save implements TokenStore.
func (s *MemoryStore) Save(_ context.Context, tok *Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *tok
	s.tok = &c
	return nil
}
