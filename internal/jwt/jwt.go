// Package jwt signs and verifies Refreshing's access tokens and publishes the
// public keys as a JWKS. It is the one place that knows the JWT library.
//
// Two modes exist. The default signs with Ed25519 ("EdDSA") under a key id
// ("kid"), with the RFC 9068 header "typ: at+jwt"; several keys may be known
// at once so that a rotated-out key keeps verifying the tokens it signed. The
// Strapi-compatible mode signs HS256 with a shared secret, so that a Strapi
// server configured with the same secret accepts the tokens.
package jwt

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// Algorithms.
const (
	EdDSA = "EdDSA"
	HS256 = "HS256"
)

// MaxTokenLength bounds what Verify will even try to parse: a real token is a
// few hundred bytes, and anything far larger is an attack on the parser.
const MaxTokenLength = 4096

// Leeway is the clock skew tolerated on exp and nbf. The server verifies
// tokens it signed with its own clock, so one second is plenty.
const Leeway = time.Second

// ErrInvalid is returned (wrapped) for every token that does not verify.
var ErrInvalid = errors.New("invalid access token")

// ErrUnknownKey is wrapped (with ErrInvalid) when a token names a key id this
// Signer does not know: perhaps a key another instance just added.
var ErrUnknownKey = errors.New("unknown key id")

// Claims are the claims of an access token.
type Claims struct {
	Issuer    string // iss
	Subject   string // sub: the user id as a decimal string
	UserID    int64  // id: the numeric user id, for Strapi
	SessionID string // sid: the session the token was issued from
	// AuthTime is auth_time (OpenID Connect Core section 2): when the user
	// signed in, i.e. when the session started; every token a rotation
	// issues carries its session's, so a refreshed token never looks like
	// a fresh sign-in. Zero: absent.
	AuthTime time.Time
	// AMR is amr (RFC 8176), how the user signed in ("pwd"): its methods
	// joined by spaces, so that Claims stays comparable. "": absent.
	AMR string
	// JKT is cnf.jkt (RFC 9449 section 6.1): the SHA-256 thumbprint of the
	// DPoP key the token is bound to. "": absent (a bearer token).
	JKT       string
	ID        string    // jti
	IssuedAt  time.Time // iat
	ExpiresAt time.Time // exp
}

// confirmation is the cnf claim (RFC 7800) of a DPoP-bound token.
type confirmation struct {
	JKT string `json:"jkt"`
}

// wireClaims is the JSON form.
type wireClaims struct {
	UserID    int64              `json:"id"`
	SessionID string             `json:"sid,omitempty"`
	AuthTime  *gojwt.NumericDate `json:"auth_time,omitempty"`
	AMR       []string           `json:"amr,omitempty"`
	Cnf       *confirmation      `json:"cnf,omitempty"`
	gojwt.RegisteredClaims
}

// Key is an Ed25519 signing key with its key id.
type Key struct {
	ID      string
	Private ed25519.PrivateKey
}

// GenerateKey returns a new Ed25519 key whose id is its RFC 7638 thumbprint.
func GenerateKey() (Key, error) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return Key{}, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return Key{ID: Thumbprint(priv.Public().(ed25519.PublicKey)), Private: priv}, nil
}

// Material returns the bytes to persist for k (the 32-byte seed).
func (k Key) Material() []byte { return k.Private.Seed() }

// KeyFromMaterial rebuilds a Key persisted with Material.
func KeyFromMaterial(id string, material []byte) (Key, error) {
	if len(material) != ed25519.SeedSize {
		return Key{}, fmt.Errorf("key %q: want a %d-byte ed25519 seed, have %d bytes", id, ed25519.SeedSize, len(material))
	}
	return Key{ID: id, Private: ed25519.NewKeyFromSeed(material)}, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of an Ed25519 public key.
func Thumbprint(pub ed25519.PublicKey) string {
	// RFC 7638: the required members in lexicographic order, no whitespace.
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// keyset is an immutable snapshot of the keys in use, with the tokens
// verified under them.
type keyset struct {
	active   Key
	header   string // the encoded header segment of the tokens active signs
	byID     map[string]ed25519.PublicKey
	jwks     []byte
	verified *verified
}

// same reports whether keys are this set's keys, with the same one active.
func (ks *keyset) same(keys []Key) bool {
	if len(keys) != len(ks.byID) || keys[0].ID != ks.active.ID || !keys[0].Private.Equal(ks.active.Private) {
		return false
	}
	for _, k := range keys {
		pub, ok := ks.byID[k.ID]
		if !ok || !pub.Equal(k.Private.Public()) {
			return false
		}
	}
	return true
}

// Signer signs and verifies access tokens. It is safe for concurrent use; its
// keys can be replaced while it is in use (SetKeys).
type Signer struct {
	issuer string
	// issuerJSON is issuer as a JSON string, for the claims of EdDSA tokens.
	issuerJSON []byte
	secret     []byte // HS256 mode when not nil
	keys       atomic.Pointer[keyset]
	parser     *gojwt.Parser
	now        func() time.Time
}

// NewEdDSA returns a Signer that signs with keys[0] and verifies with any of
// keys. now is the clock used for verification.
func NewEdDSA(issuer string, keys []Key, now func() time.Time) (*Signer, error) {
	s := &Signer{issuer: issuer, now: now}
	s.issuerJSON, _ = json.Marshal(issuer)
	if err := s.SetKeys(keys); err != nil {
		return nil, err
	}
	s.parser = s.newParser(EdDSA)
	return s, nil
}

// MinSecretLen is the length, in bytes, of the shortest HS256 secret
// NewHS256 accepts: one token is enough to search for a shorter one offline
// (a 1-character secret was found that way). Strapi generates 24-character
// secrets, so its own pass.
const MinSecretLen = 16

// NewHS256 returns a Strapi-compatible Signer that signs and verifies with
// secret, which must be at least MinSecretLen bytes long.
func NewHS256(issuer string, secret []byte, now func() time.Time) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("jwt: the HS256 secret is %d bytes long; at least %d are required", len(secret), MinSecretLen)
	}
	s := &Signer{issuer: issuer, secret: secret, now: now}
	s.keys.Store(&keyset{jwks: []byte(`{"keys":[]}`), verified: &verified{}})
	s.parser = s.newParser(HS256)
	return s, nil
}

func (s *Signer) newParser(alg string) *gojwt.Parser {
	return gojwt.NewParser(
		gojwt.WithValidMethods([]string{alg}),
		gojwt.WithExpirationRequired(),
		gojwt.WithIssuedAt(),
		gojwt.WithLeeway(Leeway),
		gojwt.WithIssuer(s.issuer),
		gojwt.WithTimeFunc(s.now),
	)
}

// SetKeys replaces the Ed25519 keys: keys[0] signs from now on, all verify.
func (s *Signer) SetKeys(keys []Key) error {
	if s.secret != nil {
		return errors.New("jwt: HS256 signer has no key set")
	}
	if len(keys) == 0 {
		return errors.New("jwt: no signing key")
	}
	if cur := s.keys.Load(); cur != nil && cur.same(keys) {
		// The periodic reload found nothing new: keep the key set, and with
		// it the cache of verified tokens.
		return nil
	}
	ks := &keyset{active: keys[0], header: edHeader(keys[0]), byID: make(map[string]ed25519.PublicKey, len(keys)), verified: &verified{}}
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	for _, k := range keys {
		pub := k.Private.Public().(ed25519.PublicKey)
		ks.byID[k.ID] = pub
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: k.ID, Use: "sig", Alg: EdDSA})
	}
	b, err := json.Marshal(set)
	if err != nil {
		return err
	}
	ks.jwks = b
	s.keys.Store(ks)
	return nil
}

// Algorithm returns the signing algorithm in use.
func (s *Signer) Algorithm() string {
	if s.secret != nil {
		return HS256
	}
	return EdDSA
}

// JWKS returns the public keys as a JSON Web Key Set (empty in HS256 mode,
// whose secret is never published).
func (s *Signer) JWKS() []byte { return s.keys.Load().jwks }

// Sign returns a signed token carrying c. Issuer is set to the Signer's.
func (s *Signer) Sign(c Claims) (string, error) {
	if s.secret != nil {
		t := gojwt.NewWithClaims(gojwt.SigningMethodHS256, s.wire(c))
		return t.SignedString(s.secret)
	}
	sub := c.Subject
	if sub == "" {
		sub = strconv.FormatInt(c.UserID, 10)
	}
	ks := s.keys.Load()
	var buf [256]byte
	claims := appendClaims(buf[:0], c, s.issuerJSON, sub)
	return signEdDSA(ks.header, claims, ks.active.Private), nil
}

// wire returns the claims of a token carrying c, as the JWT library takes them.
func (s *Signer) wire(c Claims) wireClaims {
	wc := wireClaims{
		UserID:    c.UserID,
		SessionID: c.SessionID,
		AMR:       strings.Fields(c.AMR),
		RegisteredClaims: gojwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   c.Subject,
			ID:        c.ID,
			IssuedAt:  gojwt.NewNumericDate(c.IssuedAt),
			ExpiresAt: gojwt.NewNumericDate(c.ExpiresAt),
		},
	}
	if !c.AuthTime.IsZero() {
		wc.AuthTime = gojwt.NewNumericDate(c.AuthTime)
	}
	if c.JKT != "" {
		wc.Cnf = &confirmation{JKT: c.JKT}
	}
	if wc.Subject == "" {
		wc.Subject = strconv.FormatInt(c.UserID, 10)
	}
	return wc
}

// Verify checks token's signature (only the configured algorithm, never
// "none"), issuer, exp (required) and nbf, and returns its claims. Every
// failure wraps ErrInvalid. A token that verified before under the same keys
// is recognised by its digest, and only its time claims are checked again.
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > MaxTokenLength {
		return Claims{}, fmt.Errorf("%w: too long", ErrInvalid)
	}
	ks := s.keys.Load()
	digest := sha256.Sum256([]byte(token))
	if c, ok := ks.verified.get(digest, s.now()); ok {
		return c, nil
	}
	var wc wireClaims
	_, err := s.parser.ParseWithClaims(token, &wc, s.key)
	if errors.Is(err, ErrUnknownKey) {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalid, ErrUnknownKey)
	}
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c := Claims{
		Issuer: wc.Issuer, Subject: wc.Subject, UserID: wc.UserID, SessionID: wc.SessionID, ID: wc.ID,
		ExpiresAt: wc.ExpiresAt.Time, AMR: strings.Join(wc.AMR, " "),
	}
	if wc.AuthTime != nil {
		c.AuthTime = wc.AuthTime.Time
	}
	if wc.Cnf != nil {
		c.JKT = wc.Cnf.JKT
	}
	if wc.IssuedAt != nil {
		c.IssuedAt = wc.IssuedAt.Time
	}
	if c.Subject != strconv.FormatInt(c.UserID, 10) {
		return Claims{}, fmt.Errorf("%w: sub and id disagree", ErrInvalid)
	}
	if c.SessionID == "" {
		// Every token this service signs names its session, in both modes;
		// one without could never be ended by revoking a session.
		return Claims{}, fmt.Errorf("%w: no session id (sid)", ErrInvalid)
	}
	if err := numericDates(token); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// The window the parser's time checks allow: before exp (required),
	// not before nbf nor iat, each with Leeway.
	e := verifiedEntry{claims: c, until: c.ExpiresAt.Add(Leeway)}
	for _, t := range []*gojwt.NumericDate{wc.IssuedAt, wc.NotBefore} {
		if t != nil && t.Add(-Leeway).After(e.from) {
			e.from = t.Add(-Leeway)
		}
	}
	ks.verified.put(digest, e)
	return c, nil
}

// numericDates refuses a token whose exp, iat, nbf or auth_time is not a
// JSON number.
// RFC 7519 makes them NumericDates, numbers; the JWT library also takes a
// numeric string ("1796000000"), which no token this service signs has.
// The signature has been checked already, so the segment is well formed.
func numericDates(token string) error {
	first := strings.IndexByte(token, '.')
	second := first + 1 + strings.IndexByte(token[first+1:], '.')
	raw, err := base64.RawURLEncoding.DecodeString(token[first+1 : second])
	if err != nil {
		return err
	}
	var dates struct {
		Exp, Iat, Nbf json.RawMessage
		AuthTime      json.RawMessage `json:"auth_time"`
	}
	if err := json.Unmarshal(raw, &dates); err != nil {
		return err
	}
	for name, v := range map[string]json.RawMessage{"exp": dates.Exp, "iat": dates.Iat, "nbf": dates.Nbf, "auth_time": dates.AuthTime} {
		if len(v) > 0 && v[0] != '-' && (v[0] < '0' || v[0] > '9') && string(v) != "null" {
			return fmt.Errorf("%s is not a number", name)
		}
	}
	return nil
}

// key is the parser's key lookup: the HS256 secret, or the Ed25519 public
// key named by kid, for tokens typed at+jwt only. A header with "crit" is
// refused in both modes: RFC 7515 section 4.1.11 makes a token invalid
// when it lists an extension the recipient does not understand, and this
// service understands none.
func (s *Signer) key(t *gojwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New("critical header parameters are not understood")
	}
	if s.secret != nil {
		return s.secret, nil
	}
	if typ, _ := t.Header["typ"].(string); typ != "at+jwt" && typ != "application/at+jwt" {
		return nil, errors.New("not an access token (typ)")
	}
	kid, _ := t.Header["kid"].(string)
	pub, ok := s.keys.Load().byID[kid]
	if !ok {
		return nil, ErrUnknownKey
	}
	return pub, nil
}
