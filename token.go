package refreshing

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/refreshing/refreshing/internal/jwt"
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

// presented is a refresh token as the exchange, revoke and logout walks
// carry it once locate parsed it: the session it names, its generation in
// that session's chain, and the token as the chain knows it (canon: the
// token itself, or the import key of an imported token).
type presented struct {
	sid   string
	gen   int64
	canon string
}

// locate resolves a presented refresh token to the session it names: the
// one place where a token is parsed. Ours carry the session and
// generation; a token that is not ours is generation 0 of the session
// imported with its import key's hash (import.go), looked up only while the
// store may hold imported sessions. ok is false when the token names no
// session.
func (s *Service) locate(ctx context.Context, token string) (p presented, ok bool, err error) {
	if sid, gen, ok := parseToken(token); ok {
		return presented{sid: sid, gen: gen, canon: token}, true, nil
	}
	if !importable(token) || !s.importsMayExist(ctx) {
		return presented{}, false, nil
	}
	key := s.foreignKey(token)
	sid, err := s.store.SessionIDByImportHash(ctx, hashToken(key))
	if errors.Is(err, ErrNotFound) {
		return presented{}, false, nil
	}
	if err != nil {
		return presented{}, false, fmt.Errorf("find imported session: %w", err)
	}
	return presented{sid: sid, gen: 0, canon: key}, true, nil
}

// match locates token (of generation gen; a presented token's canon) in
// sess's chain, in constant time per comparison, and returns the live token
// it leads to along the chain ("" if the chain key changed since, so that
// the live token cannot be derived from a retired one).
func (s *Service) match(sess *Session, gen int64, token string) (m Standing, live string) {
	h := hashToken(token)
	switch {
	case gen == sess.Generation:
		if sameHash(h, sess.TokenHash) {
			return StandingLive, token
		}
	case gen == sess.Generation-1:
		if sameHash(h, sess.PrevHash) {
			if live = nextToken(s.chainKey, sess.ID, gen, token); !sameHash(hashToken(live), sess.TokenHash) {
				live = ""
			}
			return StandingRetired, live
		}
	case gen >= 0 && gen < sess.Generation-1 && sess.Generation-gen <= maxChainWalk:
		t := token
		for g := gen; g < sess.Generation; g++ {
			t = nextToken(s.chainKey, sess.ID, g, t)
		}
		if sameHash(hashToken(t), sess.TokenHash) {
			return StandingRetired, t
		}
	}
	return StandingNone, ""
}

// Tokens that are not ours: imported ones (see the comment at the top of
// import.go for the kinds and their import keys).

// importable reports whether token may be an imported token: not ours, not
// empty, not absurdly long, no NUL (which only derived keys hold).
func importable(token string) bool {
	return token != "" && len(token) <= MaxImportedTokenLen && !strings.HasPrefix(token, tokenPrefix) &&
		!strings.ContainsRune(token, 0)
}

// importKey returns the key an imported token of kind is found by.
func importKey(kind ImportKind, value string) string {
	if kind == ImportPlain {
		return value
	}
	return "\x00refreshing/import\x00" + string(kind) + "\x00" + value
}

// strapiSecrets verify the JWT refresh tokens of imported Strapi 5
// sessions and refresh-token plugin rows.
type strapiSecrets struct{ session, plugin []byte }

// foreignKey returns the import key of a presented token that is not ours:
// a Strapi refresh token that verifies under one of the configured secrets
// gives its derived key; anything else (a v4 plugin token, a Strapi access
// token, a forgery) is looked up as it is, which finds only plain imports.
func (s *Service) foreignKey(token string) string {
	if strings.Count(token, ".") != 2 {
		return token
	}
	now := s.clock()
	if len(s.strapi.session) > 0 {
		if c, err := jwt.VerifyForeignHS256(token, s.strapi.session, now); err == nil {
			uid, _ := c["userId"].(string)
			sid, _ := c["sessionId"].(string)
			if c["type"] == "refresh" && uid != "" && sid != "" {
				return importKey(ImportStrapiSession, uid+":"+sid)
			}
		}
	}
	if len(s.strapi.plugin) > 0 {
		if c, err := jwt.VerifyForeignHS256(token, s.strapi.plugin, now); err == nil {
			uid, ok := c["userId"].(float64)
			doc, _ := c["secret"].(string)
			if ok && uid == math.Trunc(uid) && doc != "" {
				return importKey(ImportStrapiPlugin, strconv.FormatInt(int64(uid), 10)+":"+doc)
			}
		}
	}
	return token
}

// importState remembers whether the store held imported sessions as of
// one AuthRevision: (revision+1)<<1 | held, 0 when unknown. An import bumps
// the revision in its own transaction, whichever process makes it (the
// triggers of migration 0011, on both stores), so a remembered "none" is
// forgotten within authRevisionBound of an import by any process; an
// import by this process forgets it at once (forget).
type importState struct{ v atomic.Int64 }

// forget makes the next importsMayExist ask the store again.
func (i *importState) forget() { i.v.Store(0) }

// importsMayExist reports whether a token that is not ours is worth looking
// up: whether the store holds imported sessions. It reads the store only
// when the revision changed since it last looked (imports, revocations), so
// a database that never imported anything costs no read per token.
func (s *Service) importsMayExist(ctx context.Context) bool {
	if !s.auth.current(ctx, s.store) {
		return true // cannot tell: look the token up
	}
	rev := s.auth.revision.Load() + 1
	if v := s.imports.v.Load(); v>>1 == rev {
		return v&1 == 1
	}
	held, err := s.store.HasImportedSessions(ctx)
	if err != nil {
		return true // the lookup will report the fault
	}
	v := rev << 1
	if held {
		v |= 1
	}
	s.imports.v.Store(v)
	return held
}
