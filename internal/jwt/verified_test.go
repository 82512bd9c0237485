package jwt_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/refreshing/refreshing/internal/jwt"
)

// TestVerifyAgain checks that a token verified once and presented again
// (served from the cache of verified tokens) is refused exactly when a fresh
// verification would refuse it.
func TestVerifyAgain(t *testing.T) {
	t.Run("OKSameClaims", func(t *testing.T) {
		c := &clock{time.Unix(1_800_000_000, 0)}
		s, _ := newEd(t, c)
		tok, _ := s.Sign(claims(c.t))
		first, err := s.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(time.Minute)
		again, err := s.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Errorf("verified again: %+v, first: %+v", again, first)
		}
	})
	t.Run("ErrInvalidExpired", func(t *testing.T) {
		c := &clock{time.Unix(1_800_000_000, 0)}
		s, _ := newEd(t, c)
		tok, _ := s.Sign(claims(c.t))
		if _, err := s.Verify(tok); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(15*time.Minute + jwt.Leeway - time.Nanosecond)
		if _, err := s.Verify(tok); err != nil {
			t.Fatalf("within the leeway: %v", err)
		}
		c.t = c.t.Add(time.Nanosecond)
		if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("expired token verified again: got %v, want ErrInvalid", err)
		}
	})
	t.Run("ErrInvalidBeforeIssued", func(t *testing.T) {
		// The clock stepped back since the first verification.
		c := &clock{time.Unix(1_800_000_000, 0)}
		s, _ := newEd(t, c)
		tok, _ := s.Sign(claims(c.t))
		if _, err := s.Verify(tok); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(-jwt.Leeway - time.Second)
		if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("token issued in the future verified again: got %v, want ErrInvalid", err)
		}
	})
	t.Run("ErrInvalidNotBefore", func(t *testing.T) {
		c := &clock{time.Unix(1_800_000_000, 0)}
		s, k := newEd(t, c)
		f := gojwt.NewWithClaims(gojwt.SigningMethodEdDSA, gojwt.MapClaims{"iss": "https://issuer.test", "sub": "42", "id": 42, "sid": "s1",
			"exp": c.t.Add(time.Hour).Unix(), "iat": c.t.Add(-time.Hour).Unix(), "nbf": c.t.Unix()})
		f.Header["kid"], f.Header["typ"] = k.ID, "at+jwt"
		tok, err := f.SignedString(k.Private)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Verify(tok); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(-jwt.Leeway - time.Second)
		if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("token before its nbf verified again: got %v, want ErrInvalid", err)
		}
	})
	t.Run("ErrUnknownKeyAfterRotation", func(t *testing.T) {
		// A key set without the signing key forgets what it verified.
		c := &clock{time.Unix(1_800_000_000, 0)}
		s, _ := newEd(t, c)
		tok, _ := s.Sign(claims(c.t))
		if _, err := s.Verify(tok); err != nil {
			t.Fatal(err)
		}
		other, _ := jwt.GenerateKey()
		if err := s.SetKeys([]jwt.Key{other}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrUnknownKey) {
			t.Fatalf("token of a removed key verified again: got %v, want ErrUnknownKey", err)
		}
	})
	t.Run("ErrInvalidAlteredCopy", func(t *testing.T) {
		c := &clock{time.Unix(1_800_000_000, 0)}
		s, _ := newEd(t, c)
		tok, _ := s.Sign(claims(c.t))
		if _, err := s.Verify(tok); err != nil {
			t.Fatal(err)
		}
		i := strings.LastIndexByte(tok, '.') + 1
		flip := map[byte]byte{'A': 'B'}[tok[i]]
		if flip == 0 {
			flip = 'A'
		}
		altered := tok[:i] + string(flip) + tok[i+1:]
		if _, err := s.Verify(altered); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("altered signature of a verified token: got %v, want ErrInvalid", err)
		}
	})
	t.Run("OKBounded", func(t *testing.T) {
		// Far more distinct tokens than the cache holds all verify.
		c := &clock{time.Unix(1_800_000_000, 0)}
		s, _ := newEd(t, c)
		for i := range 20000 {
			cl := claims(c.t)
			cl.ID = strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String()
			tok, _ := s.Sign(cl)
			if _, err := s.Verify(tok); err != nil {
				t.Fatalf("token %d: %v", i, err)
			}
		}
	})
}

// BenchmarkVerifyAgain measures verifying a token that verified before, as
// every call of a client but the first with an access token does.
func BenchmarkVerifyAgain(b *testing.B) {
	k, _ := jwt.GenerateKey()
	s, _ := jwt.NewEdDSA("iss", []jwt.Key{k}, time.Now)
	tok, _ := s.Sign(claims(time.Now()))
	if _, err := s.Verify(tok); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
