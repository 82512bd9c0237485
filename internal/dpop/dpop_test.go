package dpop_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing/internal/dpop"
	"github.com/refreshing/refreshing/internal/dpop/dpoptest"
)

const htu = "https://auth.example.com/oauth/token"

var tokenEndpoint = dpop.Want{Method: "POST", URLs: []string{htu}}

func TestCheck(t *testing.T) {
	now := time.Now()
	for _, k := range []*dpoptest.Key{dpoptest.NewES256(), dpoptest.NewEd25519()} {
		t.Run(k.Alg, func(t *testing.T) {
			cache := dpop.NewReplayCache(100, time.Now)
			proof := k.Proof("POST", htu, dpoptest.Options{})
			p, err := dpop.Check(proof, tokenEndpoint, now, cache)
			if err != nil {
				t.Fatal(err)
			}
			if p.JKT != k.Thumbprint() {
				t.Fatalf("jkt %q, want %q", p.JKT, k.Thumbprint())
			}
			if _, err := dpop.Check(proof, tokenEndpoint, now, cache); !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("replay: %v", err)
			}
			// Normalised URL: case, default port, query ignored.
			p2 := k.Proof("POST", "HTTPS://Auth.Example.com:443/oauth/token?x=1#f", dpoptest.Options{})
			if _, err := dpop.Check(p2, tokenEndpoint, now, cache); err != nil {
				t.Fatalf("normalised htu: %v", err)
			}
		})
	}
}

func TestCheckRefuses(t *testing.T) {
	k := dpoptest.NewES256()
	other := dpoptest.NewEd25519()
	now := time.Now()
	good := k.Proof("POST", htu, dpoptest.Options{})
	parts := strings.Split(good, ".")
	cases := map[string]string{
		"wrong htm":     k.Proof("GET", htu, dpoptest.Options{}),
		"wrong htu":     k.Proof("POST", "https://auth.example.com/oauth/revoke", dpoptest.Options{}),
		"wrong host":    k.Proof("POST", "https://evil.example.com/oauth/token", dpoptest.Options{}),
		"wrong scheme":  k.Proof("POST", "http://auth.example.com/oauth/token", dpoptest.Options{}),
		"stale iat":     k.Proof("POST", htu, dpoptest.Options{IAT: now.Add(-2 * dpop.Past)}),
		"future iat":    k.Proof("POST", htu, dpoptest.Options{IAT: now.Add(time.Minute)}),
		"wrong typ":     k.Proof("POST", htu, dpoptest.Options{Typ: "JWT"}),
		"other key jwk": k.Proof("POST", htu, dpoptest.Options{Header: map[string]any{"jwk": other.JWK}}),
		"private jwk":   k.Proof("POST", htu, dpoptest.Options{Header: map[string]any{"jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": other.JWK["x"], "d": other.JWK["x"]}}}),
		"no jwk":        k.Proof("POST", htu, dpoptest.Options{Header: map[string]any{"jwk": nil}}),
		"hs256":         k.Proof("POST", htu, dpoptest.Options{Header: map[string]any{"alg": "HS256"}}),
		"none":          parts[0] + "." + parts[1] + ".",
		"bad signature": parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4] + "AAAA",
		"garbage":       "not.a.jwt",
		"empty":         "",
	}
	for name, proof := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := dpop.Check(proof, tokenEndpoint, now, dpop.NewReplayCache(10, time.Now)); !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
		})
	}
}

func TestReplayCacheBounded(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	c := dpop.NewReplayCache(2, clock)
	if !c.Add("a", now.Add(time.Minute)) || !c.Add("b", now.Add(time.Second)) {
		t.Fatal("fresh keys refused")
	}
	if c.Add("c", now.Add(time.Minute)) {
		t.Fatal("a full cache of live entries took another")
	}
	now = now.Add(2 * time.Second) // b may be forgotten now
	if !c.Add("c", now.Add(time.Minute)) {
		t.Fatal("expired entries were not evicted")
	}
	if c.Add("a", now.Add(time.Minute)) {
		t.Fatal("replay accepted")
	}
	// Full again; c expires, but a full cache is swept at most once a
	// second (each sweep reads every entry): until then it refuses.
	c = dpop.NewReplayCache(2, clock)
	c.Add("a", now.Add(time.Minute))
	c.Add("b", now.Add(100*time.Millisecond))
	if c.Add("c", now.Add(time.Minute)) {
		t.Fatal("a full cache of live entries took another")
	}
	now = now.Add(500 * time.Millisecond)
	if c.Add("c", now.Add(time.Minute)) {
		t.Fatal("swept twice within a second")
	}
	now = now.Add(time.Second)
	if !c.Add("c", now.Add(time.Minute)) {
		t.Fatal("not swept after a second")
	}
}

// TestCheckResource: at a resource, the proof must carry ath, the hash of
// the access token it comes with, and be signed by the key the token is
// bound to (RFC 9449 section 7).
func TestCheckResource(t *testing.T) {
	k, other := dpoptest.NewES256(), dpoptest.NewEd25519()
	const me = "https://auth.example.com/api/users/me"
	now := time.Now()
	want := dpop.Want{Method: "GET", URLs: []string{me}, AccessToken: "the.access.token", JKT: k.Thumbprint()}
	cache := dpop.NewReplayCache(10, time.Now)
	ok := k.Proof("GET", me, dpoptest.Options{AccessToken: "the.access.token"})
	if _, err := dpop.Check(ok, want, now, cache); err != nil {
		t.Fatal(err)
	}
	for name, proof := range map[string]string{
		"no ath":       k.Proof("GET", me, dpoptest.Options{}),
		"other token":  k.Proof("GET", me, dpoptest.Options{AccessToken: "another.access.token"}),
		"ath not text": k.Proof("GET", me, dpoptest.Options{Claims: map[string]any{"ath": 7}}),
		"other key":    other.Proof("GET", me, dpoptest.Options{AccessToken: "the.access.token"}),
		"token's htu":  k.Proof("GET", htu, dpoptest.Options{AccessToken: "the.access.token"}),
		"wrong method": k.Proof("POST", me, dpoptest.Options{AccessToken: "the.access.token"}),
		"replayed":     ok,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := dpop.Check(proof, want, now, cache); !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
		})
	}
}

// TestNonces: a nonce is accepted in its period and the ones either side,
// only under its key; a proof with a wrong nonce, or without one when
// they are required, is ErrUseNonce and is not recorded as seen.
func TestNonces(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	ns := dpop.NewNonces([]byte("a key of thirty-two bytes, or so"), 0)
	n := ns.Issue(t0)
	if n != ns.Issue(t0.Add(time.Second)) {
		t.Fatal("two nonces in one period")
	}
	if again := dpop.NewNonces([]byte("a key of thirty-two bytes, or so"), 0); again.Issue(t0) != n {
		t.Fatal("another instance with the same key issues another nonce")
	}
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {dpop.NoncePeriod, true}, {-dpop.NoncePeriod, true}, {2 * dpop.NoncePeriod, false}, {-2 * dpop.NoncePeriod, false}} {
		if got := ns.Valid(n, t0.Add(c.at)); got != c.want {
			t.Errorf("Valid %v after issue = %v, want %v", c.at, got, c.want)
		}
	}
	if ns.Issue(t0.Add(dpop.NoncePeriod)) == n {
		t.Error("the nonce did not change with the period")
	}
	otherKey := dpop.NewNonces([]byte("another key, of thirty-two bytes"), 0)
	for name, bad := range map[string]string{"other key": otherKey.Issue(t0), "garbage": "not-a-nonce", "empty": "", "truncated": n[:len(n)-2]} {
		if ns.Valid(bad, t0) {
			t.Errorf("%s: accepted", name)
		}
	}

	k := dpoptest.NewES256()
	cache := dpop.NewReplayCache(10, func() time.Time { return t0 })
	want := dpop.Want{Method: "POST", URLs: []string{htu}, Nonces: ns}
	check := func(o dpoptest.Options, w dpop.Want) error {
		o.IAT = t0
		_, err := dpop.Check(k.Proof("POST", htu, o), w, t0, cache)
		return err
	}
	if err := check(dpoptest.Options{Nonce: n}, want); err != nil {
		t.Fatalf("with the nonce: %v", err)
	}
	if err := check(dpoptest.Options{}, want); err != nil {
		t.Fatalf("without a nonce, none required: %v", err)
	}
	stale := ns.Issue(t0.Add(-2 * dpop.NoncePeriod))
	wrong := dpoptest.Options{JTI: "once", Nonce: stale}
	if err := check(wrong, want); !errors.Is(err, dpop.ErrUseNonce) {
		t.Fatalf("stale nonce: %v, want ErrUseNonce", err)
	}
	if err := check(dpoptest.Options{Nonce: otherKey.Issue(t0)}, want); !errors.Is(err, dpop.ErrUseNonce) {
		t.Fatalf("another key's nonce: %v, want ErrUseNonce", err)
	}
	want.NonceRequired = true
	if err := check(dpoptest.Options{}, want); !errors.Is(err, dpop.ErrUseNonce) {
		t.Fatalf("no nonce, required: %v, want ErrUseNonce", err)
	}
	// The refused proof's jti was not used up.
	wrong.Nonce = n
	if err := check(wrong, want); err != nil {
		t.Fatalf("the jti of a proof refused for its nonce: %v", err)
	}
}
