package jwt_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/refreshing/refreshing/internal/jwt"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newEd(t *testing.T, c *clock) (*jwt.Signer, jwt.Key) {
	t.Helper()
	k, err := jwt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.NewEdDSA("https://issuer.test", []jwt.Key{k}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

func claims(now time.Time) jwt.Claims {
	return jwt.Claims{UserID: 42, SessionID: "sid1", ID: "jti1", IssuedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
}

func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestEdDSA(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	s, k := newEd(t, c)
	tok, err := s.Sign(claims(c.t))
	if err != nil {
		t.Fatal(err)
	}
	h := header(t, tok)
	if h["alg"] != "EdDSA" || h["typ"] != "at+jwt" || h["kid"] != k.ID {
		t.Fatalf("header = %v", h)
	}
	got, err := s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != 42 || got.Subject != "42" || got.SessionID != "sid1" || got.Issuer != "https://issuer.test" || !got.ExpiresAt.Equal(c.t.Add(15*time.Minute)) {
		t.Fatalf("claims = %+v", got)
	}

	t.Run("Expired", func(t *testing.T) {
		c2 := &clock{c.t.Add(15*time.Minute + 2*time.Second)}
		s2, _ := jwt.NewEdDSA("https://issuer.test", []jwt.Key{k}, c2.now)
		if _, err := s2.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
	})
	t.Run("WithinLeeway", func(t *testing.T) {
		c2 := &clock{c.t.Add(15*time.Minute + 500*time.Millisecond)}
		s2, _ := jwt.NewEdDSA("https://issuer.test", []jwt.Key{k}, c2.now)
		if _, err := s2.Verify(tok); err != nil {
			t.Fatalf("err = %v, want nil within one second of leeway", err)
		}
	})
	t.Run("OtherIssuer", func(t *testing.T) {
		s2, _ := jwt.NewEdDSA("https://other.test", []jwt.Key{k}, c.now)
		if _, err := s2.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		parts := strings.Split(tok, ".")
		body, _ := base64.RawURLEncoding.DecodeString(parts[1])
		body = []byte(strings.Replace(string(body), `"id":42`, `"id":43`, 1))
		forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(body) + "." + parts[2]
		if _, err := s.Verify(forged); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ForeignKeySameKid", func(t *testing.T) {
		_, other, _ := ed25519.GenerateKey(nil)
		f := gojwt.NewWithClaims(gojwt.SigningMethodEdDSA, gojwt.MapClaims{"iss": "https://issuer.test", "sub": "42", "id": 42, "exp": c.t.Add(time.Hour).Unix(), "iat": c.t.Unix()})
		f.Header["kid"], f.Header["typ"] = k.ID, "at+jwt"
		forged, _ := f.SignedString(other)
		if _, err := s.Verify(forged); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("AlgNone", func(t *testing.T) {
		for _, alg := range []string{"none", "None", "NONE"} {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","typ":"at+jwt","kid":"` + k.ID + `"}`))
			b := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://issuer.test","sub":"42","id":42,"exp":9999999999,"iat":1}`))
			if _, err := s.Verify(h + "." + b + "."); !errors.Is(err, jwt.ErrInvalid) {
				t.Fatalf("alg %s: err = %v", alg, err)
			}
		}
	})
	t.Run("HS256WithPublicKey", func(t *testing.T) {
		f := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{"iss": "https://issuer.test", "sub": "42", "id": 42, "exp": c.t.Add(time.Hour).Unix(), "iat": c.t.Unix()})
		f.Header["kid"], f.Header["typ"] = k.ID, "at+jwt"
		forged, _ := f.SignedString([]byte(k.Private.Public().(ed25519.PublicKey)))
		if _, err := s.Verify(forged); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("MissingExp", func(t *testing.T) {
		f := gojwt.NewWithClaims(gojwt.SigningMethodEdDSA, gojwt.MapClaims{"iss": "https://issuer.test", "sub": "42", "id": 42, "iat": c.t.Unix()})
		f.Header["kid"], f.Header["typ"] = k.ID, "at+jwt"
		forged, _ := f.SignedString(k.Private)
		if _, err := s.Verify(forged); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("WrongTyp", func(t *testing.T) {
		f := gojwt.NewWithClaims(gojwt.SigningMethodEdDSA, gojwt.MapClaims{"iss": "https://issuer.test", "sub": "42", "id": 42, "exp": c.t.Add(time.Hour).Unix(), "iat": c.t.Unix()})
		f.Header["kid"] = k.ID
		forged, _ := f.SignedString(k.Private)
		if _, err := s.Verify(forged); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Garbage", func(t *testing.T) {
		for _, g := range []string{"", ".", "..", strings.Repeat(".", 5000), strings.Repeat("a", 1<<20), "rt_abc.0.def"} {
			if _, err := s.Verify(g); !errors.Is(err, jwt.ErrInvalid) {
				t.Fatalf("%.20q: err = %v", g, err)
			}
		}
	})
}

func TestRotation(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	s, old := newEd(t, c)
	oldTok, _ := s.Sign(claims(c.t))
	k2, _ := jwt.GenerateKey()
	if err := s.SetKeys([]jwt.Key{k2, old}); err != nil {
		t.Fatal(err)
	}
	newTok, _ := s.Sign(claims(c.t))
	if got := header(t, newTok)["kid"]; got != k2.ID {
		t.Fatalf("new token kid = %v, want %v", got, k2.ID)
	}
	for _, tok := range []string{oldTok, newTok} {
		if _, err := s.Verify(tok); err != nil {
			t.Fatalf("verify after rotation: %v", err)
		}
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(s.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0]["kid"] != k2.ID || set.Keys[0]["kty"] != "OKP" || set.Keys[0]["crv"] != "Ed25519" {
		t.Fatalf("jwks = %s", s.JWKS())
	}
	if err := s.SetKeys([]jwt.Key{k2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(oldTok); !errors.Is(err, jwt.ErrInvalid) {
		t.Fatalf("dropped key still verifies: %v", err)
	}
}

func TestKeyMaterial(t *testing.T) {
	k, _ := jwt.GenerateKey()
	k2, err := jwt.KeyFromMaterial(k.ID, k.Material())
	if err != nil || !k2.Private.Equal(k.Private) {
		t.Fatalf("round trip failed: %v", err)
	}
	if _, err := jwt.KeyFromMaterial("x", []byte("short")); err == nil {
		t.Fatal("short material accepted")
	}
}

func TestHS256(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	s, err := jwt.NewHS256("iss", []byte("strapi-jwt-secret-24chars"), c.now)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := s.Sign(claims(c.t))
	// A Strapi server verifies with the plain library and the shared secret.
	mc := gojwt.MapClaims{}
	if _, err := gojwt.ParseWithClaims(tok, mc, func(*gojwt.Token) (any, error) { return []byte("strapi-jwt-secret-24chars"), nil },
		gojwt.WithValidMethods([]string{"HS256"}), gojwt.WithTimeFunc(c.now)); err != nil {
		t.Fatal(err)
	}
	if mc["id"] != float64(42) || mc["iat"] == nil || mc["exp"] == nil {
		t.Fatalf("claims = %v", mc)
	}
	if _, err := s.Verify(tok); err != nil {
		t.Fatal(err)
	}
	other, _ := jwt.NewHS256("iss", []byte("another-secret-16"), c.now)
	if _, err := other.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	ed, _ := newEd(t, c)
	edTok, _ := ed.Sign(claims(c.t))
	if _, err := s.Verify(edTok); !errors.Is(err, jwt.ErrInvalid) {
		t.Fatalf("EdDSA token accepted by HS256 signer: %v", err)
	}
}

func TestHS256SecretLength(t *testing.T) {
	// A short secret falls to an offline search from a single token.
	for _, secret := range []string{"", "x", "fifteen-bytes!!"} {
		if _, err := jwt.NewHS256("iss", []byte(secret), time.Now); err == nil {
			t.Errorf("NewHS256 with a %d-byte secret: no error", len(secret))
		}
	}
	if _, err := jwt.NewHS256("iss", []byte("sixteen-bytes!!!"), time.Now); err != nil {
		t.Errorf("NewHS256 with a %d-byte secret: %v", jwt.MinSecretLen, err)
	}
}

func BenchmarkSign(b *testing.B) {
	k, _ := jwt.GenerateKey()
	s, _ := jwt.NewEdDSA("iss", []jwt.Key{k}, time.Now)
	c := claims(time.Now())
	for b.Loop() {
		if _, err := s.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures verifying a token never seen before (a new
// token each time: a token seen before is BenchmarkVerifyAgain's).
func BenchmarkVerify(b *testing.B) {
	k, _ := jwt.GenerateKey()
	s, _ := jwt.NewEdDSA("iss", []jwt.Key{k}, time.Now)
	c := claims(time.Now())
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		c.ID = strconv.Itoa(i)
		tok, _ := s.Sign(c)
		b.StartTimer()
		if _, err := s.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSetKeysUnchanged: reloading the same keys (as serve does every second)
// keeps the key set, while a real change replaces it.
func TestSetKeysUnchanged(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	s, k := newEd(t, c)
	before := string(s.JWKS())
	if err := s.SetKeys([]jwt.Key{k}); err != nil {
		t.Fatal(err)
	}
	k2, _ := jwt.GenerateKey()
	if err := s.SetKeys([]jwt.Key{k2, k}); err != nil {
		t.Fatal(err)
	}
	tok, _ := s.Sign(claims(c.t))
	if got := header(t, tok)["kid"]; got != k2.ID {
		t.Fatalf("after a real change the new key must sign: kid %v", got)
	}
	if string(s.JWKS()) == before {
		t.Fatal("JWKS unchanged after adding a key")
	}
	// Same ids, different material under the active id: not the same set.
	k3, _ := jwt.GenerateKey()
	k3.ID = k2.ID
	if err := s.SetKeys([]jwt.Key{k3, k}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(tok); err == nil {
		t.Fatal("a key replaced under the same id still verifies the old signature")
	}
}
