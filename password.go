package refreshing

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2Params are argon2id's cost parameters. The defaults follow OWASP's
// Password Storage Cheat Sheet (19 MiB of memory, 2 passes, 1 lane), which
// costs a few tens of milliseconds per hash on a current server core.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultArgon2Params is the one place the production parameters are named.
var DefaultArgon2Params = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Hasher hashes and verifies passwords with argon2id, and verifies bcrypt
// hashes imported from Strapi (which then need rehashing). It bounds the
// number of hashes running at once so that a login storm cannot starve the
// token exchanges sharing the CPU.
type Hasher struct {
	params Argon2Params
	slots  chan struct{}
	// dummy is verified against when the account does not exist, so that an
	// unknown identifier costs the same time as a wrong password.
	dummy string
}

// NewHasher returns a Hasher with params that runs at most concurrency
// hashes at once, each on a low-priority thread of its own (onHashThread).
// 0 means DefaultHashSlots: half of GOMAXPROCS (at least one), so that a
// login storm occupies at most half of the CPUs even at normal priority,
// and token exchanges keep the rest.
func NewHasher(params Argon2Params, concurrency int) *Hasher {
	if concurrency <= 0 {
		concurrency = DefaultHashSlots()
	}
	h := &Hasher{params: params, slots: make(chan struct{}, concurrency)}
	h.dummy = h.hash("not a real password", make([]byte, params.SaltLen))
	return h
}

// MaxHashWait is how long a request waits for a hashing slot before it is
// told to retry (ErrBusy, a 503 with Retry-After): under a login storm the
// queue stays short and token exchanges keep their CPU.
const MaxHashWait = 2 * time.Second

// acquire takes a hashing slot, waiting at most MaxHashWait.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(MaxHashWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-t.C:
		return fmt.Errorf("%w: no password hash slot within %v", ErrBusy, MaxHashWait)
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for a password hash slot: %w", ErrBusy, ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC-format argon2id hash of password with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	var hash string
	onHashThread(func() { hash = h.hash(password, salt) })
	return hash, nil
}

func (h *Hasher) hash(password string, salt []byte) string {
	p := h.params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether password matches encoded, and whether encoded should
// be replaced by a fresh Hash (a bcrypt import, or argon2id with other
// parameters). An empty encoded is verified against a dummy hash, taking the
// same time as a real mismatch, and never matches.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	onHashThread(func() { ok, rehash, err = h.verify(password, encoded) })
	return ok, rehash, err
}

// verify is Verify's work, on a hashing thread.
func (h *Hasher) verify(password, encoded string) (ok, rehash bool, err error) {
	if encoded == "" {
		h.verifyArgon2(password, h.dummy)
		return false, false, nil
	}
	if strings.HasPrefix(encoded, "$2a$") || strings.HasPrefix(encoded, "$2b$") || strings.HasPrefix(encoded, "$2y$") {
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, false, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("verify bcrypt hash: %w", err)
		}
		return true, true, nil
	}
	ok, sameParams, err := h.verifyArgon2(password, encoded)
	return ok, ok && !sameParams, err
}

func (h *Hasher) verifyArgon2(password, encoded string) (ok, sameParams bool, err error) {
	// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, false, errors.New("unknown password hash format")
	}
	var version int
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false, errors.New("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, false, fmt.Errorf("argon2 parameters: %w", err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, false, fmt.Errorf("argon2 salt: %w", err)
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, false, fmt.Errorf("argon2 key: %w", err)
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	same := p.Memory == h.params.Memory && p.Time == h.params.Time && p.Threads == h.params.Threads &&
		uint32(len(salt)) == h.params.SaltLen && uint32(len(want)) == h.params.KeyLen
	return subtle.ConstantTimeCompare(got, want) == 1, same, nil
}
