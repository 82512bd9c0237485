package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// NoncePeriod is how often the server's nonce changes. A nonce is accepted
// during the period it was issued in and the next one, so for between one
// and two periods: a client that sends a request at least every 5 minutes
// never meets a refusal, since every answer carries the current nonce.
const NoncePeriod = 5 * time.Minute

// nonceMACLen is how many bytes of the HMAC a nonce keeps: 128 bits, too
// many to guess.
const nonceMACLen = 16

// Nonces issues and checks the server's DPoP nonces (RFC 9449 section 8)
// without any state but a key: a nonce is the number of the period it was
// issued in and an HMAC-SHA256 of that number under the key. Every
// instance that holds the key (a server secret in the database) issues the
// same nonce in the same period and accepts the others', so nothing is
// shared between instances at request time. A nonce is valid in its own
// period, the one after (it stays usable for at least a period), and the
// one before (an instance whose clock runs slightly late accepts a nonce
// another instance already issued for the next period). It is safe for
// concurrent use.
type Nonces struct {
	key    []byte
	period time.Duration
	cur    atomic.Pointer[issued] // the last period's nonce, made once per period
}

type issued struct {
	n     int64
	nonce string
}

// NewNonces returns the nonces of key, changing every period (NoncePeriod
// when period is 0).
func NewNonces(key []byte, period time.Duration) *Nonces {
	if period <= 0 {
		period = NoncePeriod
	}
	return &Nonces{key: key, period: period}
}

// Issue returns the nonce of now's period.
func (ns *Nonces) Issue(now time.Time) string {
	n := ns.periodOf(now)
	if c := ns.cur.Load(); c != nil && c.n == n {
		return c.nonce
	}
	nonce := ns.make(n)
	ns.cur.Store(&issued{n, nonce})
	return nonce
}

// Valid reports whether nonce is one Issue returned (with this key) in
// now's period, the one before or the one after.
func (ns *Nonces) Valid(nonce string, now time.Time) bool {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 8+nonceMACLen {
		return false
	}
	n := int64(binary.BigEndian.Uint64(b[:8]))
	if d := n - ns.periodOf(now); d < -1 || d > 1 {
		return false
	}
	return hmac.Equal(b[8:], ns.mac(b[:8]))
}

func (ns *Nonces) periodOf(t time.Time) int64 { return t.UnixNano() / int64(ns.period) }

func (ns *Nonces) make(n int64) string {
	var b [8 + nonceMACLen]byte
	binary.BigEndian.PutUint64(b[:8], uint64(n))
	copy(b[8:], ns.mac(b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (ns *Nonces) mac(period []byte) []byte {
	m := hmac.New(sha256.New, ns.key)
	m.Write([]byte("refreshing dpop nonce\x00"))
	m.Write(period)
	return m.Sum(nil)[:nonceMACLen]
}
