// Package dpop checks DPoP proofs (RFC 9449): the JWT a client signs with
// its own key for each request to show that it holds the key a token is
// bound to. It checks the proof's header (typ dpop+jwt, an asymmetric alg,
// a public jwk), its signature, htm, htu, iat within a window, the access
// token's hash (ath) at a resource, the server's nonce, and jti against a
// replay cache, and returns the key's SHA-256 thumbprint (RFC 7638), the
// "jkt" a token is bound to. Nonces (nonce.go) are made and checked without
// state shared between instances beyond a key.
package dpop

import (
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Algs are the signature algorithms a proof may use: asymmetric only
// (RFC 9449 section 4.2: none and MAC algorithms are refused).
var Algs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.RS256, jose.PS256}

// AlgNames are Algs' names, as the metadata advertises them
// (dpop_signing_alg_values_supported).
func AlgNames() []string {
	out := make([]string, len(Algs))
	for i, a := range Algs {
		out[i] = string(a)
	}
	return out
}

// ErrInvalidProof is every refusal of a proof but one for its nonce; the
// error's text says why.
var ErrInvalidProof = errors.New("invalid DPoP proof")

// ErrUseNonce refuses a proof without the nonce the server requires, or
// with a nonce that is not (or no longer) one of the server's: the client
// is to retry with the nonce of the DPoP-Nonce header (RFC 9449 section 8,
// "use_dpop_nonce").
var ErrUseNonce = errors.New("DPoP nonce missing, unknown or expired")

// Window bounds: a proof's iat may be at most Past before now and Future
// after it (clock skew).
const (
	Past   = 60 * time.Second
	Future = 5 * time.Second
	// MaxLen bounds a proof's length: a proof with an RSA-4096 key is
	// about 1.5 KB.
	MaxLen = 8 << 10
)

// Proof is what a valid proof says.
type Proof struct {
	JKT string // base64url SHA-256 thumbprint of the proof's key (RFC 7638)
	JTI string
	IAT time.Time
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidProof, fmt.Sprintf(format, args...))
}

type claims struct {
	JTI   string   `json:"jti"`
	HTM   string   `json:"htm"`
	HTU   string   `json:"htu"`
	IAT   *float64 `json:"iat"`
	ATH   *string  `json:"ath"`
	Nonce *string  `json:"nonce"`
}

// Want is what a proof must match: the request it comes with, and what
// the server expects of it.
type Want struct {
	Method string   // htm: the request's method
	URLs   []string // htu must be one of these (the endpoint as the client may name it)
	// AccessToken, when not "", is the access token the proof comes with
	// (at a resource, RFC 9449 section 7): ath must be its SHA-256, base64url.
	AccessToken string
	// JKT, when not "", is the thumbprint the proof's key must have: the
	// cnf.jkt of the access token it comes with.
	JKT string
	// Nonces, when not nil, checks a nonce the proof carries; NonceRequired
	// refuses a proof without one. Both refusals are ErrUseNonce.
	Nonces        *Nonces
	NonceRequired bool
}

// Check verifies proof for the request want describes, at now, and records
// its jti in cache so that it is accepted only once; a refused proof is not
// recorded. A nil cache skips the replay check (for tests of the other
// checks only).
func Check(proof string, want Want, now time.Time, cache *ReplayCache) (*Proof, error) {
	if proof == "" || len(proof) > MaxLen {
		return nil, invalid("missing or oversized proof")
	}
	jws, err := jose.ParseSignedCompact(proof, Algs)
	if err != nil {
		return nil, invalid("malformed JWS or refused alg")
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("one signature expected")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return nil, invalid("typ must be dpop+jwt")
	}
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return nil, invalid("jwk must be a public key")
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return nil, invalid("bad signature")
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalid("malformed claims")
	}
	switch {
	case c.JTI == "" || len(c.JTI) > 256:
		return nil, invalid("jti is required")
	case c.HTM != want.Method:
		return nil, invalid("htm does not match the request method")
	case c.IAT == nil:
		return nil, invalid("iat is required")
	}
	if !matchURL(c.HTU, want.URLs) {
		return nil, invalid("htu does not match the request URL")
	}
	iat := time.Unix(int64(*c.IAT), 0)
	if iat.Before(now.Add(-Past)) || iat.After(now.Add(Future)) {
		return nil, invalid("iat is outside the accepted window")
	}
	if want.AccessToken != "" {
		sum := sha256.Sum256([]byte(want.AccessToken))
		if c.ATH == nil || subtle.ConstantTimeCompare([]byte(*c.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
			return nil, invalid("ath is not the hash of the access token")
		}
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, invalid("cannot compute the key's thumbprint")
	}
	p := &Proof{JKT: base64.RawURLEncoding.EncodeToString(tp), JTI: c.JTI, IAT: iat}
	if want.JKT != "" && subtle.ConstantTimeCompare([]byte(p.JKT), []byte(want.JKT)) != 1 {
		return nil, invalid("the proof's key is not the one the access token is bound to")
	}
	switch {
	case c.Nonce != nil && want.Nonces != nil && !want.Nonces.Valid(*c.Nonce, now):
		return nil, fmt.Errorf("%w: the nonce is not one this server issued lately", ErrUseNonce)
	case c.Nonce == nil && want.NonceRequired:
		return nil, fmt.Errorf("%w: this server requires a nonce", ErrUseNonce)
	}
	if cache != nil && !cache.Add(p.JKT+" "+c.JTI, now.Add(Past+Future)) {
		return nil, invalid("jti was already used")
	}
	return p, nil
}

// matchURL compares htu with each of want as RFC 9449 section 4.3 says:
// without query and fragment, after syntax-based normalisation (scheme and
// host case, default ports).
func matchURL(htu string, want []string) bool {
	got, ok := normalise(htu)
	if !ok {
		return false
	}
	for _, w := range want {
		if n, ok := normalise(w); ok && n == got {
			return true
		}
	}
	return false
}

func normalise(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// ReplayCache remembers the proofs seen until they could no longer be
// accepted anyway (their iat window has passed). It is bounded: when full
// of entries still in their window it refuses new ones (Add returns false),
// so a replay is never let through for lack of room. It is per process
// (the server adds a check in Redis when it has one): alone, a proof replayed
// to another instance within the window is not detected (docs/oauth.md).
type ReplayCache struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	seen  map[string]time.Time // key to when it may be forgotten
	swept time.Time            // when the last sweep of a full cache ran
}

// NewReplayCache returns a cache of at most max entries.
func NewReplayCache(max int, now func() time.Time) *ReplayCache {
	return &ReplayCache{max: max, now: now, seen: make(map[string]time.Time)}
}

// Add records key until forget, and reports whether it was new (and there
// was room).
func (c *ReplayCache) Add(key string, forget time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if until, ok := c.seen[key]; ok && now.Before(until) {
		return false
	}
	if len(c.seen) >= c.max {
		// Full: forget what has expired, at most once a second, so that a
		// cache full of live entries does not cost every request a sweep
		// of all of them.
		if now.Sub(c.swept) < time.Second && !now.Before(c.swept) {
			return false
		}
		c.swept = now
		for k, until := range c.seen {
			if !now.Before(until) {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= c.max {
			return false
		}
	}
	c.seen[key] = forget
	return true
}
