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

func TestCheck(t *testing.T) {
	now := time.Now()
	for _, k := range []*dpoptest.Key{dpoptest.NewES256(), dpoptest.NewEd25519()} {
		t.Run(k.Alg, func(t *testing.T) {
			cache := dpop.NewReplayCache(100, time.Now)
			proof := k.Proof("POST", htu, dpoptest.Options{})
			p, err := dpop.Check(proof, "POST", []string{htu}, now, cache)
			if err != nil {
				t.Fatal(err)
			}
			if p.JKT != k.Thumbprint() {
				t.Fatalf("jkt %q, want %q", p.JKT, k.Thumbprint())
			}
			if _, err := dpop.Check(proof, "POST", []string{htu}, now, cache); !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("replay: %v", err)
			}
			// Normalised URL: case, default port, query ignored.
			p2 := k.Proof("POST", "HTTPS://Auth.Example.com:443/oauth/token?x=1#f", dpoptest.Options{})
			if _, err := dpop.Check(p2, "POST", []string{htu}, now, cache); err != nil {
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
			if _, err := dpop.Check(proof, "POST", []string{htu}, now, dpop.NewReplayCache(10, time.Now)); !errors.Is(err, dpop.ErrInvalidProof) {
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
}
