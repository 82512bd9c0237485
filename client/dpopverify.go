package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DPoP at a resource server (RFC 9449 section 7): a token the issuer bound
// to a client's key (its cnf.jkt, Claims.JKT) comes as
// "Authorization: DPoP <token>" with a DPoP header, a proof the client
// signed with that key for this very request. VerifyRequest checks both,
// with the standard library alone.

// ErrNoToken: the request carries no access token (no Authorization header,
// another scheme than Bearer or DPoP, or an empty token).
var ErrNoToken = errors.New("no access token")

// ErrInvalidDPoPProof is wrapped by every refusal of the DPoP proof that
// comes with a DPoP-bound access token: missing, malformed, badly signed,
// for another request, too old or too new, replayed, without the token's
// hash (ath), or signed by another key than the token's.
var ErrInvalidDPoPProof = errors.New("invalid DPoP proof")

// ErrBoundToken: a DPoP-bound access token sent as a bearer token; it also
// wraps ErrInvalidToken. Whoever holds such a token must also prove they
// hold its key.
var ErrBoundToken = fmt.Errorf("%w: bound to a DPoP key, sent as a bearer token", ErrInvalidToken)

// The window of a proof's iat, and how long a proof's jti is remembered:
// the issuer's own (internal/dpop).
const (
	proofPast      = 60 * time.Second
	proofFuture    = 5 * time.Second
	maxProofLength = 8 << 10
	// maxProofsSeen bounds the replay cache: proofs are remembered for
	// proofPast+proofFuture, so about 1,500 proofs a second; beyond that,
	// proofs are refused rather than a replay let through.
	maxProofsSeen = 100_000
)

// proofAlgs are the signature algorithms a proof may use, as the issuer's
// metadata (dpop_signing_alg_values_supported) says: asymmetric only.
var proofAlgs = map[string]bool{"ES256": true, "ES384": true, "ES512": true, "EdDSA": true, "RS256": true, "PS256": true}

// VerifyRequest verifies the access token of r and returns its claims. A
// token comes as "Authorization: Bearer <token>", or, when it is bound to a
// DPoP key (Claims.JKT), as "Authorization: DPoP <token>" with exactly one
// DPoP header: a proof signed by the key whose thumbprint is the token's
// cnf.jkt (RFC 7638), with typ dpop+jwt, an asymmetric alg, htm the
// request's method, htu its URL (see BaseURLs), iat within the last 60
// seconds (5 ahead), ath the token's SHA-256, and a jti this Verifier has
// not seen in that window (an in-memory replay cache per Verifier: with
// several replicas, a proof could be replayed once to another within it).
// The Verifier issues no nonces; a nonce in a proof is not checked.
//
// It returns ErrNoToken without a token, an error wrapping ErrInvalidToken
// for a bad token (ErrBoundToken for a bound token sent as a bearer one, or
// an unbound token sent as DPoP), one wrapping ErrInvalidDPoPProof for a bad
// proof, and any other error when the keys cannot be fetched.
func (v *Verifier) VerifyRequest(r *http.Request) (*Claims, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	dpop := strings.EqualFold(scheme, "DPoP")
	if token == "" || (!dpop && !strings.EqualFold(scheme, "Bearer")) {
		return nil, ErrNoToken
	}
	c, err := v.Verify(r.Context(), token)
	switch {
	case err != nil:
		return nil, err
	case !dpop && c.JKT != "":
		return nil, ErrBoundToken
	case !dpop:
		return c, nil
	case c.JKT == "":
		return nil, invalid("not bound to a DPoP key: send it as a bearer token")
	}
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		return nil, fmt.Errorf("%w: send one DPoP proof", ErrInvalidDPoPProof)
	}
	if err := v.checkDPoPProof(proofs[0], r, token, c.JKT); err != nil {
		return nil, err
	}
	return c, nil
}

// requestURLs are the URLs a proof's htu may name for r (Verifier.BaseURLs).
func (v *Verifier) requestURLs(r *http.Request) []string {
	path := r.URL.EscapedPath()
	if len(v.BaseURLs) > 0 {
		out := make([]string, len(v.BaseURLs))
		for i, b := range v.BaseURLs {
			out[i] = strings.TrimSuffix(b, "/") + path
		}
		return out
	}
	if r.TLS != nil {
		return []string{"https://" + r.Host + path}
	}
	return []string{"https://" + r.Host + path, "http://" + r.Host + path}
}

// proofHeader and proofClaims are what a DPoP proof says, as far as the
// checks read it.
type proofHeader struct {
	Typ  string          `json:"typ"`
	Alg  string          `json:"alg"`
	JWK  *proofKey       `json:"jwk"`
	Crit json.RawMessage `json:"crit"`
}

type proofClaims struct {
	JTI string     `json:"jti"`
	HTM string     `json:"htm"`
	HTU string     `json:"htu"`
	IAT jsonNumber `json:"iat"`
	ATH string     `json:"ath"`
}

// proofKey is the public JWK of a proof's header.
type proofKey struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d"` // a private key: refused
	P   string `json:"p"`
}

func badProof(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidDPoPProof, fmt.Sprintf(format, args...))
}

// checkDPoPProof checks proof for request r carrying token, bound to jkt,
// and records its jti.
func (v *Verifier) checkDPoPProof(proof string, r *http.Request, token, jkt string) error {
	if len(proof) > maxProofLength {
		return badProof("too long")
	}
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return badProof("not a compact JWS")
	}
	var h proofHeader
	if err := decodeSegment(parts[0], &h); err != nil {
		return badProof("header: %v", err)
	}
	switch {
	case h.Typ != "dpop+jwt":
		return badProof("typ must be dpop+jwt")
	case !proofAlgs[h.Alg]:
		return badProof("alg %q is not an accepted asymmetric algorithm", h.Alg)
	case h.Crit != nil:
		return badProof("critical header parameters are not understood")
	case h.JWK == nil || h.JWK.D != "" || h.JWK.P != "":
		return badProof("jwk must be a public key")
	}
	pub, thumbprint, err := h.JWK.parse(h.Alg)
	if err != nil {
		return badProof("jwk: %v", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !verifyJWS(h.Alg, pub, []byte(parts[0]+"."+parts[1]), sig) {
		return badProof("bad signature")
	}
	if subtle.ConstantTimeCompare([]byte(thumbprint), []byte(jkt)) != 1 {
		return badProof("signed by another key than the one the access token is bound to")
	}
	var c proofClaims
	if err := decodeSegment(parts[1], &c); err != nil {
		return badProof("claims: %v", err)
	}
	if c.JTI == "" || len(c.JTI) > 256 {
		return badProof("jti is required")
	}
	if c.HTM != r.Method {
		return badProof("htm does not match the request method")
	}
	if !sameResource(c.HTU, v.requestURLs(r)) {
		return badProof("htu does not match the request URL")
	}
	if !c.IAT.set {
		return badProof("iat is required")
	}
	iat, err := numericDate(c.IAT.n)
	if err != nil {
		return badProof("iat: %v", err)
	}
	now := v.now()
	if iat.Before(now.Add(-proofPast-v.Leeway)) || iat.After(now.Add(proofFuture+v.Leeway)) {
		return badProof("iat is outside the accepted window")
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare([]byte(c.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
		return badProof("ath is not the hash of the access token")
	}
	if !v.proofsSeen.add(thumbprint+" "+c.JTI, now, now.Add(proofPast+proofFuture+2*v.Leeway)) {
		return badProof("jti was already used")
	}
	return nil
}

// parse returns the public key k describes, for alg, and its RFC 7638
// SHA-256 thumbprint, computed from the key itself.
func (k *proofKey) parse(alg string) (crypto.PublicKey, string, error) {
	b64 := base64.RawURLEncoding
	var members string
	var pub crypto.PublicKey
	switch k.Kty {
	case "EC":
		var curve elliptic.Curve
		switch {
		case k.Crv == "P-256" && alg == "ES256":
			curve = elliptic.P256()
		case k.Crv == "P-384" && alg == "ES384":
			curve = elliptic.P384()
		case k.Crv == "P-521" && alg == "ES512":
			curve = elliptic.P521()
		default:
			return nil, "", fmt.Errorf("curve %q does not go with %s", k.Crv, alg)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, errX := b64.DecodeString(k.X)
		y, errY := b64.DecodeString(k.Y)
		if errX != nil || errY != nil || len(x) != size || len(y) != size {
			return nil, "", errors.New("malformed EC coordinates")
		}
		ec, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, "", errors.New("not a point of the curve")
		}
		pub = ec
		members = `{"crv":"` + k.Crv + `","kty":"EC","x":"` + b64.EncodeToString(x) + `","y":"` + b64.EncodeToString(y) + `"}`
	case "OKP":
		x, err := b64.DecodeString(k.X)
		if k.Crv != "Ed25519" || alg != "EdDSA" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, "", errors.New("an OKP key must be Ed25519, for EdDSA")
		}
		pub = ed25519.PublicKey(x)
		members = `{"crv":"Ed25519","kty":"OKP","x":"` + b64.EncodeToString(x) + `"}`
	case "RSA":
		n, errN := b64.DecodeString(k.N)
		e, errE := b64.DecodeString(k.E)
		if (alg != "RS256" && alg != "PS256") || errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
			return nil, "", errors.New("malformed RSA key, or not for RS256 or PS256")
		}
		nn, ee := new(big.Int).SetBytes(n), new(big.Int).SetBytes(e)
		if nn.BitLen() < 2048 || ee.Int64() < 3 || ee.Bit(0) == 0 {
			return nil, "", errors.New("RSA keys must have at least 2048 bits and an odd exponent")
		}
		pub = &rsa.PublicKey{N: nn, E: int(ee.Int64())}
		members = `{"e":"` + b64.EncodeToString(ee.Bytes()) + `","kty":"RSA","n":"` + b64.EncodeToString(nn.Bytes()) + `"}`
	default:
		return nil, "", fmt.Errorf("key type %q is not EC, OKP or RSA", k.Kty)
	}
	sum := sha256.Sum256([]byte(members))
	return pub, b64.EncodeToString(sum[:]), nil
}

// verifyJWS verifies sig, a JWS signature of alg by pub over input.
func verifyJWS(alg string, pub crypto.PublicKey, input, sig []byte) bool {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, input, sig)
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		var digest []byte
		switch alg {
		case "ES256":
			d := sha256.Sum256(input)
			digest = d[:]
		case "ES384":
			d := sha512.Sum384(input)
			digest = d[:]
		default:
			d := sha512.Sum512(input)
			digest = d[:]
		}
		return ecdsa.Verify(k, digest, new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:]))
	case *rsa.PublicKey:
		d := sha256.Sum256(input)
		if alg == "PS256" {
			return rsa.VerifyPSS(k, crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) == nil
	}
	return false
}

// sameResource compares htu with each of want as RFC 9449 section 4.3 says:
// without query and fragment, after syntax-based normalisation (scheme and
// host case, default ports, an empty path as "/").
func sameResource(htu string, want []string) bool {
	got, ok := normalURL(htu)
	if !ok {
		return false
	}
	for _, w := range want {
		if n, ok := normalURL(w); ok && n == got {
			return true
		}
	}
	return false
}

func normalURL(raw string) (string, bool) {
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

// proofCache remembers the proofs a Verifier accepted until they could no
// longer be accepted anyway. It is bounded: when full of entries still in
// their window it refuses new proofs, so a replay is never let through for
// lack of room.
type proofCache struct {
	mu    sync.Mutex
	seen  map[string]time.Time // key to when it may be forgotten
	swept time.Time            // when the last sweep of a full cache ran
}

// add records key until forget and reports whether it was new (and there
// was room).
func (c *proofCache) add(key string, now, forget time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = make(map[string]time.Time)
	}
	if until, ok := c.seen[key]; ok && now.Before(until) {
		return false
	}
	if len(c.seen) >= maxProofsSeen {
		// Full: forget what has expired, at most once a second, so that a
		// cache full of live entries does not cost every request a sweep.
		if now.Sub(c.swept) < time.Second && !now.Before(c.swept) {
			return false
		}
		c.swept = now
		for k, until := range c.seen {
			if !now.Before(until) {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= maxProofsSeen {
			return false
		}
	}
	c.seen[key] = forget
	return true
}
