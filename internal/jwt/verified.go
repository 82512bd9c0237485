package jwt

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verified remembers the tokens that passed Verify under one key set, so
// that a token presented again costs a SHA-256 and a map lookup instead of a
// signature verification (an Ed25519 verification is most of what checking
// an access token costs, and a client presents the same access token on
// every call until it expires).
//
// Only the exact bytes of a token that verified can hit: the key is the
// token's SHA-256. Everything Verify checks that depends on the token alone
// (signature, algorithm, typ, kid, issuer, sub and id) holds for those bytes
// for as long as the key set does, and the cache lives in the key set: a new
// set (a rotation, a removed key) starts with an empty one. What depends on
// the time (exp, nbf, iat) is checked again at every hit.
type verified struct {
	shards [verifiedShards]verifiedShard
}

const (
	verifiedShards   = 16
	verifiedPerShard = 1024 // 16,384 tokens in all, a few MiB at most
)

type verifiedShard struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedEntry
}

// verifiedEntry is a verified token's claims and the window in which its
// time claims let it pass, leeway included: [from, until).
type verifiedEntry struct {
	claims      Claims
	from, until time.Time
}

// get returns the claims of the token with digest key if it verified and
// its time claims let it pass at now.
func (v *verified) get(key [sha256.Size]byte, now time.Time) (Claims, bool) {
	sh := &v.shards[key[0]%verifiedShards]
	sh.mu.Lock()
	e, ok := sh.m[key]
	sh.mu.Unlock()
	if !ok || now.Before(e.from) || !now.Before(e.until) {
		return Claims{}, false
	}
	return e.claims, true
}

// put remembers a token that verified. A full shard forgets an arbitrary
// entry first: the cache is bounded whatever tokens come.
func (v *verified) put(key [sha256.Size]byte, e verifiedEntry) {
	sh := &v.shards[key[0]%verifiedShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		sh.m = make(map[[sha256.Size]byte]verifiedEntry)
	}
	if len(sh.m) >= verifiedPerShard {
		for k := range sh.m {
			delete(sh.m, k)
			break
		}
	}
	sh.m[key] = e
}
