package refreshing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"strings"
)

// A refresh token reads "rt_<session id>.<generation>.<secret>". The session
// id lets the Service find the row without an index on token hashes; the
// generation says where in the session's chain the token stands; the secret
// (256 bits) is what makes it unguessable.
//
// The first token of a session has a random secret from crypto/rand. Every
// later one is derived from its predecessor with HMAC-SHA-256 under a
// server-side key (the chain key). Derivation is what lets the Service store
// only hashes and still serve racing clients: every retry of a just-retired
// token yields the same successor, and any older token of the chain can be
// recognised as genuine (and its reuse detected) by walking the chain forward
// to the live token's hash.
const tokenPrefix = "rt_"

// maxChainWalk bounds the work spent recognising an old token of a chain:
// one HMAC per rotation since it was retired, on endpoints that anyone can
// call (exchange, revoke, logout). A token retired more than maxChainWalk
// rotations ago is not recognised: it is refused as any unknown token is,
// and its reuse no longer revokes the session. At one rotation per
// access-token lifetime (15 minutes by default), that is after 16 hours of
// use.
const maxChainWalk = 64

// randomString returns n random bytes, base64url-encoded without padding.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newSessionID returns a random session id (128 bits).
func newSessionID() string { return randomString(16) }

// firstToken returns a fresh random token for generation 0 of session sid.
func firstToken(sid string) string {
	return tokenPrefix + sid + ".0." + randomString(32)
}

// nextToken derives the successor of token (of generation gen) under key.
func nextToken(key []byte, sid string, gen int64, token string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("refreshing/v1/next\x00"))
	m.Write([]byte(token))
	return tokenPrefix + sid + "." + strconv.FormatInt(gen+1, 10) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// hashToken is what the Store keeps of a token.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// sameHash compares two hashes in constant time.
func sameHash(a, b []byte) bool { return len(a) > 0 && subtle.ConstantTimeCompare(a, b) == 1 }

// parseToken splits a refresh token; ok is false for anything malformed.
func parseToken(token string) (sid string, gen int64, ok bool) {
	if len(token) > 200 || !strings.HasPrefix(token, tokenPrefix) {
		return "", 0, false
	}
	sid, rest, ok1 := strings.Cut(token[len(tokenPrefix):], ".")
	g, secret, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || len(sid) != 22 || len(secret) != 43 || len(g) == 0 || len(g) > 18 {
		return "", 0, false
	}
	for _, c := range g {
		if c < '0' || c > '9' {
			return "", 0, false
		}
	}
	gen, err := strconv.ParseInt(g, 10, 64)
	if err != nil || (g[0] == '0' && len(g) > 1) {
		return "", 0, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(sid); err != nil {
		return "", 0, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return "", 0, false
	}
	return sid, gen, true
}

// LooksLikeRefreshToken reports whether s has the shape of a refresh token
// (it says nothing of validity). It lets callers tell the two token kinds apart.
func LooksLikeRefreshToken(s string) bool {
	_, _, ok := parseToken(s)
	return ok
}
