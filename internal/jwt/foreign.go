package jwt

import (
	"fmt"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// VerifyForeignHS256 checks a token another system signed with HS256 under
// secret (Strapi 5's session refresh tokens, the Strapi refresh-token
// plugin's), and returns its claims. Only HS256 is accepted (never "none"),
// exp is required and must be after now (with Leeway); there is no issuer to
// check, as those systems set none. Every failure wraps ErrInvalid.
//
// Nothing is cached: such tokens are exchanged once, after which their
// clients hold tokens of ours.
func VerifyForeignHS256(token string, secret []byte, now time.Time) (map[string]any, error) {
	if len(token) > MaxTokenLength {
		return nil, fmt.Errorf("%w: too long", ErrInvalid)
	}
	if len(secret) == 0 {
		return nil, fmt.Errorf("%w: no secret", ErrInvalid)
	}
	p := gojwt.NewParser(
		gojwt.WithValidMethods([]string{HS256}),
		gojwt.WithExpirationRequired(),
		gojwt.WithLeeway(Leeway),
		gojwt.WithTimeFunc(func() time.Time { return now }),
	)
	claims := gojwt.MapClaims{}
	if _, err := p.ParseWithClaims(token, claims, func(*gojwt.Token) (any, error) { return secret, nil }); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return claims, nil
}
