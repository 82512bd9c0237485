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
	// TokenType is "DPoP" for an access token bound to the Transport's
	// DPoPKey (sent as "Authorization: DPoP" with a proof), and "Bearer" or
	// empty for a bearer token.
	TokenType string `json:"token_type,omitempty"`
}

// dpopBound reports whether tok's access token is DPoP-bound.
func (tok *Token) dpopBound() bool { return strings.EqualFold(tok.TokenType, "DPoP") }

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
	Code        string // "invalid_grant", "invalid_client", "invalid_dpop_proof", ...
	Description string

	nonce string // the answer's DPoP-Nonce, for a retry after use_dpop_nonce
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
// With DPoP set, every token request carries a DPoP proof of that key (RFC
// 9449), and the tokens the server issues are bound to it (token_type
// DPoP; for a public client the refresh token too). Requests with a bound
// access token then go out with "Authorization: DPoP" and a proof of their
// own, whose ath claim is the token's hash (section 7). A server may ask
// for its nonce (section 8 at the token endpoint, 9 at a resource server:
// the error use_dpop_nonce with a DPoP-Nonce header): the Transport sends
// the request once more with the nonce, and puts the latest nonce each
// server gave in its later proofs.
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
	// DPoP, when set, is the key the tokens are bound to (see above):
	// GenerateDPoPKey, FileDPoPKey, or NewDPoPKey of a crypto.Signer. A
	// DPoP-bound token in the Store is useless without the same key.
	DPoP *DPoPKey

	nonceMu sync.Mutex
	nonces  map[string]string // the latest DPoP-Nonce of each origin, and of the token endpoint

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
	res, err := t.send(req, tok, req.Body, replayable)
	if err != nil || res.StatusCode != http.StatusUnauthorized || !replayable {
		return res, err
	}
	// The server refused the token: refresh (or take the token another
	// goroutine just got) and try once more.
	next, err := t.token(req.Context(), tok.AccessToken)
	if err != nil || next.AccessToken == tok.AccessToken {
		return res, nil // nothing better to offer: the server's own answer
	}
	body, err := again(req)
	if err != nil {
		return res, nil
	}
	drain(res)
	return t.send(req, next, body, true)
}

// send sends a copy of req with tok and body. For a DPoP-bound token it
// adds a proof, and when the server answers that it wants a (new) nonce,
// sends the request once more with it, if replayable.
func (t *Transport) send(req *http.Request, tok *Token, body io.ReadCloser, replayable bool) (*http.Response, error) {
	if !tok.dpopBound() {
		r := req.Clone(req.Context())
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		r.Body = body
		return t.base().RoundTrip(r)
	}
	if t.DPoP == nil {
		if body != nil {
			body.Close()
		}
		return nil, errors.New("client.Transport: the token is DPoP-bound and the Transport has no DPoP key")
	}
	for retried := false; ; retried = true {
		r := req.Clone(req.Context())
		r.Header.Set("Authorization", "DPoP "+tok.AccessToken)
		r.Body = body
		origin := originOf(req.URL)
		sent := t.nonce(origin)
		if err := t.prove(r, origin, tok.AccessToken); err != nil {
			if body != nil {
				body.Close()
			}
			return nil, err
		}
		res, err := t.base().RoundTrip(r)
		if err != nil {
			return nil, err
		}
		fresh := t.keepNonce(origin, res)
		if retried || !replayable || res.StatusCode != http.StatusUnauthorized || !wantsNonce(res) || fresh == "" || fresh == sent {
			return res, nil
		}
		if body, err = again(req); err != nil {
			return res, nil
		}
		drain(res)
	}
}

// prove sets r's DPoP header: a proof for r's method and URL, with the
// nonce kept in slot (see nonce) and, when not empty, the access token's
// hash.
func (t *Transport) prove(r *http.Request, slot, access string) error {
	proof, err := t.DPoP.Proof(r.Method, r.URL.String(), t.now(), t.nonce(slot), access)
	if err != nil {
		return err
	}
	r.Header.Set("DPoP", proof)
	return nil
}

// nonce returns the latest DPoP-Nonce kept in slot: a resource server's
// origin, or "token " and the TokenURL.
func (t *Transport) nonce(slot string) string {
	t.nonceMu.Lock()
	defer t.nonceMu.Unlock()
	return t.nonces[slot]
}

// keepNonce remembers the DPoP-Nonce of res, if it has one, in slot for
// the next proofs, and returns it.
func (t *Transport) keepNonce(slot string, res *http.Response) string {
	n := res.Header.Get("DPoP-Nonce")
	if n == "" || len(n) > 1024 {
		return ""
	}
	t.nonceMu.Lock()
	defer t.nonceMu.Unlock()
	if t.nonces == nil || len(t.nonces) >= 1024 {
		t.nonces = make(map[string]string) // a bound on a program talking to many servers
	}
	t.nonces[slot] = n
	return n
}

// wantsNonce reports whether a resource server's 401 is RFC 9449 section
// 9's request for a nonce: WWW-Authenticate: DPoP error="use_dpop_nonce".
func wantsNonce(res *http.Response) bool {
	for _, v := range res.Header.Values("WWW-Authenticate") {
		scheme, params, _ := strings.Cut(strings.TrimSpace(v), " ")
		if strings.EqualFold(scheme, "DPoP") && strings.Contains(params, "use_dpop_nonce") {
			return true
		}
	}
	return false
}

// originOf is the scheme and host of u, which resource servers' nonces are
// kept by.
func originOf(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// again returns a new copy of req's body for sending it once more.
func again(req *http.Request) (io.ReadCloser, error) {
	if req.GetBody != nil {
		return req.GetBody()
	}
	return req.Body, nil // nil or http.NoBody
}

// drain reads what remains of a response that is not returned (so that
// its connection can be reused) and closes it.
func drain(res *http.Response) {
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
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
// keep is the refresh token to keep when the answer carries none. With a
// DPoP key, the request carries a proof, and is sent once more when the
// server answers use_dpop_nonce with a new nonce (RFC 9449 section 8).
func (t *Transport) grant(ctx context.Context, form url.Values, keep string) (*Token, error) {
	if t.ClientID != "" && t.ClientSecret == "" {
		form.Set("client_id", t.ClientID)
	}
	// The token endpoint's nonce is kept apart from those of resource
	// servers, which may share its origin and have nonces of their own.
	slot := "token " + t.TokenURL
	for retried := false; ; retried = true {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.TokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, fmt.Errorf("token endpoint: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if t.ClientSecret != "" {
			req.SetBasicAuth(url.QueryEscape(t.ClientID), url.QueryEscape(t.ClientSecret))
		}
		sent := ""
		if t.DPoP != nil {
			sent = t.nonce(slot)
			if err := t.prove(req, slot, ""); err != nil {
				return nil, err
			}
		}
		tok, err := t.post(req, keep)
		var oe *OAuthError
		if !retried && errors.As(err, &oe) && oe.Code == "use_dpop_nonce" && oe.nonce != "" && oe.nonce != sent {
			continue // the nonce the server gave is kept: prove again with it
		}
		return tok, err
	}
}

// post sends one token request and reads its answer.
func (t *Transport) post(req *http.Request, keep string) (*Token, error) {
	started := t.now()
	res, err := t.base().RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	defer res.Body.Close()
	var nonce string
	if t.DPoP != nil {
		nonce = t.keepNonce("token "+t.TokenURL, res)
	}
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
		return nil, &OAuthError{StatusCode: res.StatusCode, Code: body.Error, Description: body.Description, nonce: nonce}
	}
	bound := strings.EqualFold(body.TokenType, "DPoP")
	if body.AccessToken == "" || !(strings.EqualFold(body.TokenType, "Bearer") || (bound && t.DPoP != nil)) {
		return nil, fmt.Errorf("token endpoint: no bearer or DPoP access token in the answer")
	}
	tok := &Token{AccessToken: body.AccessToken, RefreshToken: body.RefreshToken}
	if bound {
		tok.TokenType = "DPoP"
	}
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
