package jwt

import (
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// TestSignLikeTheLibrary checks that Sign's own encoding of EdDSA tokens
// yields exactly the bytes the JWT library produces for the same claims.
func TestSignLikeTheLibrary(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 123456789)
	for _, tc := range []struct {
		name   string
		issuer string
		c      Claims
	}{
		{"OK", "http://localhost:1337", Claims{UserID: 42, SessionID: "Zm9vYmFyYmF6cXV4cXV1eA", ID: "abc-_DEF", IssuedAt: now, ExpiresAt: now.Add(15 * time.Minute)}},
		{"OKAuthTimeAndAMR", "http://localhost:1337", Claims{UserID: 42, SessionID: "s1", AuthTime: now.Add(-time.Hour), AMR: "pwd", ID: "j", IssuedAt: now, ExpiresAt: now.Add(15 * time.Minute)}},
		{"OKTwoMethods", "iss", Claims{UserID: 42, SessionID: "s1", AuthTime: now, AMR: "pwd otp", ID: "j", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}},
		{"OKDPoPBound", "iss", Claims{UserID: 42, SessionID: "s1", AMR: "pwd", JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", ID: "j", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}},
		{"OKNoSession", "https://auth.example.com", Claims{UserID: 7, ID: "x", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}},
		{"OKEscapedStrings", `https://ex.test/<a>&"b"/ü`, Claims{UserID: -3, Subject: "sub \"quoted\" <tag>", SessionID: "s/é", ID: "j\u2028k", IssuedAt: now, ExpiresAt: now.Add(time.Second)}},
		{"OKEmptyIssuerAndID", "", Claims{UserID: 0, IssuedAt: now, ExpiresAt: now}},
		{"OKZeroTimes", "iss", Claims{UserID: 1}},
		{"OKBeforeEpoch", "iss", Claims{UserID: 1, IssuedAt: time.Unix(-1, -500), ExpiresAt: time.Unix(-86400, 999)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewEdDSA(tc.issuer, []Key{k}, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Sign(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			lib := gojwt.NewWithClaims(gojwt.SigningMethodEdDSA, s.wire(tc.c))
			lib.Header["kid"], lib.Header["typ"] = k.ID, "at+jwt"
			want, err := lib.SignedString(k.Private)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Sign:\n%s\nthe library:\n%s", got, want)
			}
		})
	}
}
