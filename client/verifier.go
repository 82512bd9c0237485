// Package client is what an application of Refreshing imports: a Verifier
// (and its Middleware) for resource servers that accept Refreshing's access
// tokens, and a Transport for Go programs that call such servers on behalf
// of a signed-in user, refreshing the access token by themselves.
//
// The package has no dependencies beyond the standard library and never
// talks to a database: a resource server needs only the issuer's URL, a
// client only its token endpoint.
package client

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrInvalidToken is wrapped by every error of Verify about the token itself:
// malformed, badly signed, of another algorithm or type, from another
// issuer, expired or not yet valid, or signed by a key the issuer does not
// publish. Other errors of Verify mean the keys could not be fetched.
var ErrInvalidToken = errors.New("invalid access token")

// Claims are the claims of a verified access token.
type Claims struct {
	Issuer    string    // iss
	Subject   string    // sub: the user id, as a decimal string
	UserID    int64     // id: the same user id, as a number
	SessionID string    // sid: the session (sign-in on one device) the token belongs to
	ID        string    // jti: the token's own id
	IssuedAt  time.Time // iat
	ExpiresAt time.Time // exp
	// AuthTime is auth_time: when the user signed in, which refreshing
	// does not advance (a refreshed token keeps its session's). A resource
	// server that wants a recent sign-in compares it with the time. Zero
	// when absent.
	AuthTime time.Time
	// JKT is cnf.jkt (RFC 9449): the thumbprint of the DPoP key the token
	// is bound to, "" for a bearer token. VerifyRequest (and Middleware)
	// admit a bound token only with a proof of that key.
	JKT string
}

// Defaults of a Verifier.
const (
	// DefaultMinFetchInterval is the least time between two fetches of the
	// JWKS, however many tokens name an unknown key id.
	DefaultMinFetchInterval = time.Second
	// DefaultKeyCacheTTL is how long fetched keys are used when the JWKS
	// response says nothing about caching.
	DefaultKeyCacheTTL = 5 * time.Minute

	maxKeyCacheTTL = time.Hour
	fetchTimeout   = 10 * time.Second
	maxTokenLength = 8192
	maxJWKSBytes   = 1 << 20
)

// Verifier verifies Refreshing's access tokens offline, against the public
// keys the issuer publishes as a JWKS (RFC 7517): EdDSA (Ed25519) signatures
// only, header "typ: at+jwt" (RFC 9068), the expected "iss", an "exp" that
// has not passed and an "nbf" and "iat" that have. It caches the keys for as
// long as the JWKS response allows (Cache-Control max-age), and fetches them
// again, once for all callers, when a token names a key id it does not know
// (a key the issuer just rotated in). Fetches are at least MinFetchInterval
// apart: a token with an unknown key id that comes sooner waits for the
// interval to end (or its context to be done), so tokens of a new key are
// never refused, and made-up key ids cannot make the Verifier hammer the
// issuer.
//
// Offline verification cannot see a session revoked since the token was
// issued: it accepts the token until it expires (at most the access-token
// lifetime, 15 minutes by default). Token introspection
// (/oauth/introspect) is the online check.
//
// Set the fields before the first Verify; a Verifier is then safe for
// concurrent use.
type Verifier struct {
	// Issuer is the issuer's URL, exactly as the tokens' "iss" says
	// ("http://localhost:1337"). Required.
	Issuer string
	// JWKSURL is where the keys are; default Issuer + "/.well-known/jwks.json".
	JWKSURL string
	// HTTPClient fetches the JWKS; default http.DefaultClient.
	HTTPClient *http.Client
	// Leeway is the clock skew tolerated on exp, nbf and iat; zero means
	// none. A few seconds suit servers whose clocks are synchronised.
	Leeway time.Duration
	// MinFetchInterval is the least time between two JWKS fetches, in real
	// time; zero means DefaultMinFetchInterval.
	MinFetchInterval time.Duration
	// Now is the clock that token lifetimes and key caching are judged by;
	// default time.Now.
	Now func() time.Time
	// BaseURLs are the URLs clients reach this resource server at
	// ("https://api.example.com"), for the DPoP proofs of DPoP-bound tokens
	// (VerifyRequest): a proof's htu must be one of them followed by the
	// request's path. When empty, it is the URL the request reached: its
	// Host, with https when it came over TLS and either scheme otherwise (a
	// proxy ending TLS in front is common). Set it when the Host header is
	// not to be trusted for this, so that a proof made for another server
	// that accepts the same tokens cannot be replayed here.
	BaseURLs []string

	fetchMu sync.Mutex // held by the one caller fetching the JWKS

	mu        sync.Mutex
	keys      map[string]ed25519.PublicKey
	gen       int       // incremented by every fetch, successful or not
	fetchedAt time.Time // real time of the last fetch attempt, for MinFetchInterval
	fetchErr  error     // of the last fetch attempt
	freshTill time.Time // until when the keys need no refetch

	proofsSeen proofCache // the DPoP proofs accepted lately (dpopverify.go)
}

// NewVerifier returns a Verifier for the issuer at issuer with the defaults.
func NewVerifier(issuer string) *Verifier {
	return &Verifier{Issuer: issuer}
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// header is a JWT's JOSE header, as far as Verify reads it.
type header struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// payload is a JWT's claims set, as far as Verify reads it.
type payload struct {
	Iss      string     `json:"iss"`
	Sub      string     `json:"sub"`
	ID       jsonNumber `json:"id"`
	Sid      string     `json:"sid"`
	Jti      string     `json:"jti"`
	Iat      jsonNumber `json:"iat"`
	Exp      jsonNumber `json:"exp"`
	Nbf      jsonNumber `json:"nbf"`
	AuthTime jsonNumber `json:"auth_time"`
	Cnf      *struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

// jsonNumber is a claim that must be a JSON number when present: RFC 7519
// section 2 makes exp, iat and nbf NumericDates, which are numbers, and a
// quoted "1796000000" (which json.Number would take) is refused.
type jsonNumber struct {
	set bool
	n   json.Number
}

// UnmarshalJSON implements json.Unmarshaler.
func (j *jsonNumber) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil // as if absent
	}
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return fmt.Errorf("%s is not a number", b)
	}
	j.set = true
	return json.Unmarshal(b, &j.n)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

// Verify checks token and returns its claims. Every problem with the token
// wraps ErrInvalidToken; any other error means that the keys could not be
// fetched and the token could not be checked.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > maxTokenLength {
		return nil, invalid("too long")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[2] == "" {
		return nil, invalid("not a signed JWT")
	}
	var h header
	if err := decodeSegment(parts[0], &h); err != nil {
		return nil, invalid("header: %v", err)
	}
	switch {
	case h.Alg != "EdDSA":
		return nil, invalid("algorithm %q is not EdDSA", h.Alg)
	case !strings.EqualFold(h.Typ, "at+jwt") && !strings.EqualFold(h.Typ, "application/at+jwt"):
		return nil, invalid("type %q is not at+jwt", h.Typ)
	case h.Kid == "":
		return nil, invalid("no key id")
	case h.Crit != nil:
		return nil, invalid("critical header parameters are not understood")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, invalid("malformed signature")
	}
	key, err := v.key(ctx, h.Kid)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(key, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, invalid("bad signature")
	}
	var p payload
	if err := decodeSegment(parts[1], &p); err != nil {
		return nil, invalid("claims: %v", err)
	}
	return v.check(&p)
}

// check validates verified claims.
func (v *Verifier) check(p *payload) (*Claims, error) {
	c := &Claims{Issuer: p.Iss, Subject: p.Sub, SessionID: p.Sid, ID: p.Jti}
	if p.Cnf != nil {
		if p.Cnf.JKT == "" {
			return nil, invalid("cnf without jkt")
		}
		c.JKT = p.Cnf.JKT
	}
	if p.Iss != v.Issuer || v.Issuer == "" {
		return nil, invalid("issuer %q is not %q", p.Iss, v.Issuer)
	}
	if p.Sub == "" {
		return nil, invalid("no subject")
	}
	if p.Sid == "" {
		// Every token the issuer signs names its session; one without
		// could never be ended by revoking a session.
		return nil, invalid("no session id (sid)")
	}
	if p.ID.set {
		id, err := p.ID.n.Int64()
		if err != nil || strconv.FormatInt(id, 10) != p.Sub {
			return nil, invalid("id and sub disagree")
		}
		c.UserID = id
	} else if id, err := strconv.ParseInt(p.Sub, 10, 64); err == nil {
		c.UserID = id
	}
	now := v.now()
	var err error
	if !p.Exp.set {
		return nil, invalid("no expiry")
	}
	if c.ExpiresAt, err = numericDate(p.Exp.n); err != nil {
		return nil, invalid("exp: %v", err)
	}
	if !now.Before(c.ExpiresAt.Add(v.Leeway)) {
		return nil, invalid("expired at %s", c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if p.Nbf.set {
		nbf, err := numericDate(p.Nbf.n)
		if err != nil {
			return nil, invalid("nbf: %v", err)
		}
		if now.Add(v.Leeway).Before(nbf) {
			return nil, invalid("not valid before %s", nbf.UTC().Format(time.RFC3339))
		}
	}
	if p.AuthTime.set {
		if c.AuthTime, err = numericDate(p.AuthTime.n); err != nil {
			return nil, invalid("auth_time: %v", err)
		}
	}
	if p.Iat.set {
		if c.IssuedAt, err = numericDate(p.Iat.n); err != nil {
			return nil, invalid("iat: %v", err)
		}
		if now.Add(v.Leeway).Before(c.IssuedAt) {
			return nil, invalid("issued in the future")
		}
	}
	return c, nil
}

// decodeSegment decodes one base64url segment holding a JSON object.
func decodeSegment(seg string, dst any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	if len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(b, dst)
}

// numericDate parses a JWT NumericDate (seconds since the epoch, possibly
// fractional).
func numericDate(n json.Number) (time.Time, error) {
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1<<40 {
		return time.Time{}, fmt.Errorf("not a date: %s", n)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}

// key returns the public key named kid, fetching the JWKS when the cached
// keys are stale or do not know kid. Fetches are MinFetchInterval apart: a
// stale key serves meanwhile, and an unknown kid waits for the next fetch.
func (v *Verifier) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	v.mu.Lock()
	k, known := v.keys[kid]
	fresh := v.now().Before(v.freshTill)
	gen, last := v.gen, v.fetchedAt
	v.mu.Unlock()
	if known && (fresh || time.Since(last) < v.minFetchInterval()) {
		return k, nil
	}

	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	v.mu.Lock()
	fetchedMeanwhile, last := v.gen != gen, v.fetchedAt
	v.mu.Unlock()
	if !fetchedMeanwhile {
		// Ours is the next fetch: wait for the interval since the last one
		// to end. Callers that queue behind us share our answer.
		if wait := v.minFetchInterval() - time.Since(last); !last.IsZero() && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("waiting to fetch the JWKS: %w", ctx.Err())
			}
		}
		v.fetch(ctx)
	}
	v.mu.Lock()
	k, known = v.keys[kid]
	fetchErr := v.fetchErr
	v.mu.Unlock()
	switch {
	case known:
		return k, nil // when the fetch failed, a stale key still serves
	case fetchErr != nil:
		return nil, fetchErr // the keys cannot be had: no verdict on the token
	}
	return nil, invalid("unknown key id %q", kid)
}

func (v *Verifier) minFetchInterval() time.Duration {
	if v.MinFetchInterval > 0 {
		return v.MinFetchInterval
	}
	return DefaultMinFetchInterval
}

// fetch downloads the JWKS and replaces the cached keys with its Ed25519
// signing keys. A failed fetch keeps the old keys and records its error.
func (v *Verifier) fetch(ctx context.Context) {
	// Other callers wait for this fetch: one caller giving up must not fail it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	started, real := v.now(), time.Now()
	keys, ttl, err := v.download(ctx)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen++
	v.fetchedAt, v.fetchErr = real, err
	if err == nil {
		v.keys = keys
		v.freshTill = started.Add(ttl)
	}
}

func (v *Verifier) download(ctx context.Context) (map[string]ed25519.PublicKey, time.Duration, error) {
	url := v.JWKSURL
	if url == "" {
		url = strings.TrimSuffix(v.Issuer, "/") + "/.well-known/jwks.json"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	hc := v.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("fetch JWKS %s: status %s", url, res.Status)
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "" && mt != "application/json" && mt != "application/jwk-set+json" {
		return nil, 0, fmt.Errorf("fetch JWKS %s: content type %q", url, mt)
	}
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxJWKSBytes)).Decode(&set); err != nil {
		return nil, 0, fmt.Errorf("fetch JWKS %s: %w", url, err)
	}
	keys := make(map[string]ed25519.PublicKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Kid == "" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "EdDSA") {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			continue
		}
		keys[k.Kid] = ed25519.PublicKey(x)
	}
	return keys, cacheTTL(res.Header.Get("Cache-Control"), v.minFetchInterval()), nil
}

// cacheTTL is how long a JWKS response may be used: its max-age, at least
// floor and at most maxKeyCacheTTL; DefaultKeyCacheTTL when it says nothing.
// no-store and no-cache count as zero.
func cacheTTL(cc string, floor time.Duration) time.Duration {
	ttl := DefaultKeyCacheTTL
	for _, d := range strings.Split(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(strings.ToLower(d)), "=")
		switch name {
		case "no-store", "no-cache":
			ttl = 0
		case "max-age":
			if n, err := strconv.Atoi(strings.Trim(val, `"`)); err == nil && n >= 0 {
				ttl = time.Duration(n) * time.Second
			}
		}
	}
	return min(max(ttl, floor), maxKeyCacheTTL)
}

// claimsKey is the context key of the Claims that Middleware stores.
type claimsKey struct{}

// ClaimsFrom returns the claims Middleware put in ctx.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// Middleware admits requests that carry a valid access token (VerifyRequest:
// "Authorization: Bearer", or "Authorization: DPoP" with a DPoP proof for a
// DPoP-bound token), with the token's claims in the request context
// (ClaimsFrom). Any other request is answered 401 and never reaches next,
// with RFC 6750's challenge (§3): `WWW-Authenticate: Bearer
// error="invalid_token", error_description="..."` for a bearer token that is
// invalid or expired, and a bare `WWW-Authenticate: Bearer` for a request
// without an access token (no Authorization header, another scheme, or an
// empty token), which §3.1 says should carry no error code nor other error
// information. A refusal of a DPoP token or proof, and a DPoP-bound token
// sent as a bearer token, get RFC 9449's challenge (§7.1): `WWW-Authenticate:
// DPoP error="invalid_token"` or `error="invalid_dpop_proof"`, with the
// algorithms a proof may use. When the keys cannot be fetched the answer is
// 503.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := v.VerifyRequest(r)
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
		case errors.Is(err, ErrNoToken):
			challenge(w)
		case errors.Is(err, ErrInvalidDPoPProof):
			dpopUnauthorized(w, "invalid_dpop_proof", "the DPoP proof is invalid")
		case errors.Is(err, ErrBoundToken):
			dpopUnauthorized(w, "invalid_token", "the access token is bound to a DPoP key: send it as Authorization: DPoP with a proof")
		case errors.Is(err, ErrInvalidToken):
			if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "DPoP") {
				dpopUnauthorized(w, "invalid_token", "the access token is invalid, expired or not DPoP-bound")
				return
			}
			unauthorized(w, "the access token is invalid or expired")
		default:
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{
				"error": "temporarily_unavailable", "error_description": "the issuer's keys cannot be fetched"})
		}
	})
}

// challenge answers 401 to a request without a bearer token, with RFC 6750's
// challenge and, as §3.1 asks, no error code in it nor in the body.
func challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", "Bearer")
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error_description": "no bearer access token"})
}

// unauthorized answers 401 to a request whose bearer token is invalid, with
// RFC 6750's challenge and error code invalid_token.
func unauthorized(w http.ResponseWriter, description string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+description+`"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": description})
}

// dpopUnauthorized answers 401 to a refused DPoP token or proof, with RFC
// 9449's challenge: the error code and the algorithms a proof may use.
func dpopUnauthorized(w http.ResponseWriter, code, description string) {
	w.Header().Set("WWW-Authenticate", `DPoP error="`+code+`", error_description="`+description+`", algs="ES256 ES384 ES512 EdDSA RS256 PS256"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
