package jwt_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/refreshing/refreshing/internal/jwt"
)

func TestVerifyForeignHS256(t *testing.T) {
	secret := []byte("strapi-users-permissions-secret")
	now := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	sign := func(m gojwt.SigningMethod, key any, claims gojwt.MapClaims) string {
		s, err := gojwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := gojwt.MapClaims{"userId": "1", "sessionId": "abc", "type": "refresh", "exp": now.Add(time.Hour).Unix()}
	t.Run("OK", func(t *testing.T) {
		c, err := jwt.VerifyForeignHS256(sign(gojwt.SigningMethodHS256, secret, valid), secret, now)
		if err != nil || c["sessionId"] != "abc" || c["userId"] != "1" {
			t.Fatalf("VerifyForeignHS256 = %v, %v", c, err)
		}
	})
	for name, token := range map[string]string{
		"ErrWrongSecret": sign(gojwt.SigningMethodHS256, []byte("another secret of some length"), valid),
		"ErrHS384":       sign(gojwt.SigningMethodHS384, secret, valid),
		"ErrNone":        sign(gojwt.SigningMethodNone, gojwt.UnsafeAllowNoneSignatureType, valid),
		"ErrExpired":     sign(gojwt.SigningMethodHS256, secret, gojwt.MapClaims{"userId": "1", "exp": now.Add(-time.Minute).Unix()}),
		"ErrNoExpiry":    sign(gojwt.SigningMethodHS256, secret, gojwt.MapClaims{"userId": "1"}),
		"ErrTooLong":     sign(gojwt.SigningMethodHS256, secret, gojwt.MapClaims{"pad": strings.Repeat("x", jwt.MaxTokenLength), "exp": now.Add(time.Hour).Unix()}),
		"ErrMalformed":   "a.b.c",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := jwt.VerifyForeignHS256(token, secret, now); !errors.Is(err, jwt.ErrInvalid) {
				t.Fatalf("VerifyForeignHS256 = %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("ErrNoSecret", func(t *testing.T) {
		if _, err := jwt.VerifyForeignHS256(sign(gojwt.SigningMethodHS256, []byte(""), valid), nil, now); !errors.Is(err, jwt.ErrInvalid) {
			t.Fatalf("an empty secret verified a token signed with it: %v", err)
		}
	})
}
