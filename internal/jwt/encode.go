package jwt

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The EdDSA tokens are encoded here rather than by the JWT library, which
// marshals a header map and the claims through reflection for every token:
// the header is fixed per key and encoded once (SetKeys), the claims are
// appended field by field. The bytes are exactly those the library would
// produce for the same claims (encode_test.go checks it), so verification,
// which stays with the library, sees no difference.

// edHeader returns the encoded header segment of the tokens k signs:
// {"alg":"EdDSA","kid":...,"typ":"at+jwt"}, keys in the order the library's
// map marshals them.
func edHeader(k Key) string {
	kid, _ := json.Marshal(k.ID)
	h := `{"alg":"EdDSA","kid":` + string(kid) + `,"typ":"at+jwt"}`
	return base64.RawURLEncoding.EncodeToString([]byte(h))
}

// appendClaims appends the JSON of wireClaims, as encoding/json marshals it,
// for c: id, sid (omitted if empty), auth_time (omitted if zero), amr
// (omitted if empty), cnf (omitted if JKT is empty), iss (omitted if empty), sub, exp, iat and jti
// (omitted if empty). issuer is the issuer already in JSON; sub replaces
// c.Subject.
func appendClaims(b []byte, c Claims, issuer []byte, sub string) []byte {
	exp, iat, jti := c.ExpiresAt, c.IssuedAt, c.ID
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, c.UserID, 10)
	if c.SessionID != "" {
		b = append(b, `,"sid":`...)
		b = appendString(b, c.SessionID)
	}
	if !c.AuthTime.IsZero() {
		b = append(b, `,"auth_time":`...)
		b = strconv.AppendInt(b, c.AuthTime.Truncate(time.Second).Unix(), 10)
	}
	if strings.TrimSpace(c.AMR) != "" {
		b = append(b, `,"amr":[`...)
		first := true
		for m := range strings.FieldsSeq(c.AMR) { // no slice: this is every exchange's path
			if !first {
				b = append(b, ',')
			}
			b, first = appendString(b, m), false
		}
		b = append(b, ']')
	}
	if c.JKT != "" {
		b = append(b, `,"cnf":{"jkt":`...)
		b = appendString(b, c.JKT)
		b = append(b, '}')
	}
	if len(issuer) > 2 { // not ""
		b = append(b, `,"iss":`...)
		b = append(b, issuer...)
	}
	if sub != "" {
		b = append(b, `,"sub":`...)
		b = appendString(b, sub)
	}
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, exp.Truncate(time.Second).Unix(), 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, iat.Truncate(time.Second).Unix(), 10)
	if jti != "" {
		b = append(b, `,"jti":`...)
		b = appendString(b, jti)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string, as encoding/json writes it.
// The strings here (ids, decimal numbers, base64url) never need escaping;
// anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// signEdDSA returns the token of the encoded header and claims, signed with priv.
func signEdDSA(header string, claims []byte, priv ed25519.PrivateKey) string {
	enc := base64.RawURLEncoding
	n := len(header) + 1 + enc.EncodedLen(len(claims))
	buf := make([]byte, 0, n+1+enc.EncodedLen(ed25519.SignatureSize))
	buf = append(buf, header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, claims)
	sig := ed25519.Sign(priv, buf)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf)
}
