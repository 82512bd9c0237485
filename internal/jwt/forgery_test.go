package jwt_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/refreshing/refreshing/internal/jwt"
)

// TestForgery tries the forgeries RFC 8725 and the bugs of other JWT
// libraries list, beyond those TestEdDSA covers. Each must fail with
// ErrInvalid, without panicking, and the hostile-sized ones cheaply.
func TestForgery(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	s, k := newEd(t, c)
	good := map[string]any{"iss": "https://issuer.test", "sub": "42", "id": 42, "sid": "s1", "exp": c.t.Add(time.Hour).Unix(), "iat": c.t.Unix()}
	sign := func(method gojwt.SigningMethod, key any, header map[string]any, claims map[string]any) string {
		t.Helper()
		f := gojwt.NewWithClaims(method, gojwt.MapClaims(claims))
		for k, v := range header {
			f.Header[k] = v
		}
		tok, err := f.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	raw := func(header, claims string) string {
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(header)) + "." + enc([]byte(claims)) + "."
	}
	_, foreign, _ := ed25519.GenerateKey(nil)

	t.Run("ErrInvalidAlgNoneAnyCase", func(t *testing.T) {
		for _, alg := range []string{"none", "nOnE", "NoNe", " none", "none "} {
			tok := raw(`{"alg":"`+alg+`","typ":"at+jwt","kid":"`+k.ID+`"}`, `{"iss":"https://issuer.test","sub":"42","id":42,"exp":9999999999,"iat":1}`)
			if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
				t.Errorf("alg %q: err = %v", alg, err)
			}
			// With a signature segment too.
			if _, err := s.Verify(tok + "AAAA"); !errors.Is(err, jwt.ErrInvalid) {
				t.Errorf("alg %q with a signature: err = %v", alg, err)
			}
		}
	})
	t.Run("ErrInvalidKidWithPathOrSQL", func(t *testing.T) {
		for _, kid := range []string{"../../../../etc/passwd", "' OR '1'='1", "1; DROP TABLE signing_keys; --", "/dev/null", "\x00", strings.Repeat("k", 2000)} {
			tok := sign(gojwt.SigningMethodEdDSA, foreign, map[string]any{"kid": kid, "typ": "at+jwt"}, good)
			if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
				t.Errorf("kid %.30q: err = %v", kid, err)
			}
		}
	})
	t.Run("ErrInvalidKidNotAString", func(t *testing.T) {
		for _, kid := range []any{42, []string{k.ID}, map[string]any{"id": k.ID}, nil, true} {
			tok := sign(gojwt.SigningMethodEdDSA, k.Private, map[string]any{"kid": kid, "typ": "at+jwt"}, good)
			if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
				t.Errorf("kid %v: err = %v", kid, err)
			}
		}
	})
	t.Run("ErrInvalidOtherAlgorithmsWithTheRightKey", func(t *testing.T) {
		pub := []byte(k.Private.Public().(ed25519.PublicKey))
		for _, m := range []gojwt.SigningMethod{gojwt.SigningMethodHS256, gojwt.SigningMethodHS384, gojwt.SigningMethodHS512} {
			tok := sign(m, pub, map[string]any{"kid": k.ID, "typ": "at+jwt"}, good)
			if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
				t.Errorf("%s signed with the public key: err = %v", m.Alg(), err)
			}
		}
	})
	t.Run("ErrInvalidExpMissingNullOrWrongType", func(t *testing.T) {
		// (A numeric string such as "9999999999", which golang-jwt takes as a
		// NumericDate, is refused too: ErrInvalidExpQuoted below.)
		for _, exp := range []any{nil, "never", true, []int{1}} {
			cl := map[string]any{}
			for k, v := range good {
				cl[k] = v
			}
			if exp == nil {
				delete(cl, "exp")
			} else {
				cl["exp"] = exp
			}
			tok := sign(gojwt.SigningMethodEdDSA, k.Private, map[string]any{"kid": k.ID, "typ": "at+jwt"}, cl)
			if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
				t.Errorf("exp %v: err = %v", exp, err)
			}
		}
		tok := raw(`{"alg":"EdDSA","typ":"at+jwt","kid":"`+k.ID+`"}`, `{"iss":"https://issuer.test","sub":"42","id":42,"exp":null}`)
		if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
			t.Errorf("exp null: err = %v", err)
		}
	})
	t.Run("ErrInvalidNotYetValid", func(t *testing.T) {
		cl := map[string]any{"iss": "https://issuer.test", "sub": "42", "id": 42, "exp": c.t.Add(time.Hour).Unix(), "iat": c.t.Unix(), "nbf": c.t.Add(time.Minute).Unix()}
		if _, err := s.Verify(sign(gojwt.SigningMethodEdDSA, k.Private, map[string]any{"kid": k.ID, "typ": "at+jwt"}, cl)); !errors.Is(err, jwt.ErrInvalid) {
			t.Errorf("nbf in a minute: err = %v", err)
		}
	})
	t.Run("ErrInvalidRefreshTokenAsJWT", func(t *testing.T) {
		for _, tok := range []string{"rt_AAAAAAAAAAAAAAAAAAAAAA.0." + strings.Repeat("B", 43), "rt_AAAAAAAAAAAAAAAAAAAAAA.12." + strings.Repeat("B", 43)} {
			if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
				t.Errorf("%q: err = %v", tok, err)
			}
		}
	})
	// The strict-parsing cases below are signed with the right key, so only
	// the parsing can refuse them; OKGood shows that the same token without
	// the defect verifies.
	with := func(edit func(h, cl map[string]any)) map[string]any {
		h, cl := map[string]any{"kid": k.ID, "typ": "at+jwt"}, map[string]any{}
		for k, v := range good {
			cl[k] = v
		}
		edit(h, cl)
		return map[string]any{"h": h, "cl": cl}
	}
	strict := map[string]map[string]any{
		"OKGood":                 with(func(h, cl map[string]any) {}),
		"ErrInvalidCritUnknown":  with(func(h, cl map[string]any) { h["crit"] = []string{"x-unknown"}; h["x-unknown"] = 1 }),
		"ErrInvalidCritKnown":    with(func(h, cl map[string]any) { h["crit"] = []string{"exp"} }),
		"ErrInvalidCritEmpty":    with(func(h, cl map[string]any) { h["crit"] = []string{} }),
		"ErrInvalidCritNull":     with(func(h, cl map[string]any) { h["crit"] = nil }),
		"ErrInvalidExpQuoted":    with(func(h, cl map[string]any) { cl["exp"] = fmt.Sprint(c.t.Add(time.Hour).Unix()) }),
		"ErrInvalidIatQuoted":    with(func(h, cl map[string]any) { cl["iat"] = fmt.Sprint(c.t.Unix()) }),
		"ErrInvalidNbfQuoted":    with(func(h, cl map[string]any) { cl["nbf"] = fmt.Sprint(c.t.Unix()) }),
		"ErrInvalidNoSid":        with(func(h, cl map[string]any) { delete(cl, "sid") }),
		"ErrInvalidEmptySid":     with(func(h, cl map[string]any) { cl["sid"] = "" }),
		"ErrInvalidIDQuoted":     with(func(h, cl map[string]any) { cl["id"] = "42" }),
		"ErrInvalidStrapiShaped": with(func(h, cl map[string]any) { delete(cl, "sid"); delete(cl, "sub"); delete(cl, "iss") }),
	}
	hs, err := jwt.NewHS256("https://issuer.test", []byte("strapi-jwt-secret-24chars"), c.now)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range strict {
		h, cl := tc["h"].(map[string]any), tc["cl"].(map[string]any)
		t.Run(name+"/EdDSA", func(t *testing.T) {
			_, err := s.Verify(sign(gojwt.SigningMethodEdDSA, k.Private, h, cl))
			if strings.HasPrefix(name, "OK") != (err == nil) || (err != nil && !errors.Is(err, jwt.ErrInvalid)) {
				t.Errorf("err = %v", err)
			}
		})
		t.Run(name+"/HS256", func(t *testing.T) {
			_, err := hs.Verify(sign(gojwt.SigningMethodHS256, []byte("strapi-jwt-secret-24chars"), map[string]any{"crit": h["crit"], "x-unknown": h["x-unknown"]}, cl))
			if _, hasCrit := h["crit"]; !hasCrit {
				_, err = hs.Verify(sign(gojwt.SigningMethodHS256, []byte("strapi-jwt-secret-24chars"), nil, cl))
			}
			if strings.HasPrefix(name, "OK") != (err == nil) || (err != nil && !errors.Is(err, jwt.ErrInvalid)) {
				t.Errorf("err = %v", err)
			}
		})
	}
	t.Run("ErrInvalidCheaplyWhenHuge", func(t *testing.T) {
		// A 1 MiB header, and thousands of dots: refused before any parsing,
		// so refusing them allocates (almost) nothing.
		huge := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"`+strings.Repeat("x", 1<<20)+`"}`)) + ".e30.sig"
		dots := strings.Repeat(".", 10000)
		for name, tok := range map[string]string{"1MiBHeader": huge, "Dots": dots} {
			if _, err := s.Verify(tok); !errors.Is(err, jwt.ErrInvalid) {
				t.Errorf("%s: err = %v", name, err)
			}
			if allocs := testing.AllocsPerRun(20, func() { s.Verify(tok) }); allocs > 5 {
				t.Errorf("%s: refusing it took %.0f allocations, want a refusal before parsing", name, allocs)
			}
		}
	})
}

// FuzzVerify feeds arbitrary strings to Verify. It must never panic, and it
// may accept only a token this signer signed: the seed's, with its claims.
func FuzzVerify(f *testing.F) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	k, err := jwt.GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	s, err := jwt.NewEdDSA("https://issuer.test", []jwt.Key{k}, c.now)
	if err != nil {
		f.Fatal(err)
	}
	tok, err := s.Sign(claims(c.t))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	parts := strings.Split(tok, ".")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + "." + parts[1])
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiI0MiJ9.")
	f.Add("rt_AAAAAAAAAAAAAAAAAAAAAA.0." + strings.Repeat("B", 43))
	f.Add(strings.Repeat(".", 100))
	f.Fuzz(func(t *testing.T, token string) {
		got, err := s.Verify(token)
		if err != nil {
			if !errors.Is(err, jwt.ErrInvalid) {
				t.Fatalf("Verify(%q) = %v, which is not ErrInvalid", token, err)
			}
			return
		}
		want := claims(c.t)
		if got.UserID != want.UserID || got.SessionID != want.SessionID || got.ID != want.ID || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Fatalf("Verify accepted %q with claims %+v this signer never signed", token, got)
		}
	})
}
