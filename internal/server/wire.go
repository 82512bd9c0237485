package server

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/refreshing/refreshing"
)

// Every string that arrives from the wire passes checkWire before the
// Service (and through it a store) sees it: the decoded path and query of
// every request (checkURL, a middleware), every member of a JSON body
// (decode), every parameter of an OAuth form (decodeForm) and of an admin
// form (formValues), and the client id of HTTP Basic credentials. PostgreSQL
// refuses text that is not UTF-8 or holds NUL ("invalid byte sequence for
// encoding UTF8") and would make a 500 of it; SQLite would store it. Here
// both become the same 400 in the documented shape, before any query.

// maxWireLen bounds any one string from the wire, in bytes: the longest
// legitimate value is an access token (jwt.MaxTokenLength, 4096 bytes) or a
// password (refreshing.MaxPasswordLen characters of up to 4 bytes). The
// Service applies each field's own, tighter bound.
const maxWireLen = 4096

// freeText names the fields that may hold control characters (a tab in a
// password is the user's business: it never reaches a store, only argon2id).
var freeText = map[string]bool{"password": true, "currentPassword": true, "passwordConfirmation": true, "client_secret": true}

// multiLine names the admin form's text areas (the mail templates,
// admin_mail.go, and a provider's front-end pages, admin_providers.go):
// lines end in CR LF, a tab may indent, and a template may be longer than
// any identifier; other control characters are refused.
var multiLine = map[string]bool{"resetText": true, "resetHTML": true, "confirmationText": true, "confirmationHTML": true,
	"redirectUrls": true}

// maxMultiLineLen bounds a text area, in bytes.
const maxMultiLineLen = 32 << 10

// tokenFields name the fields that carry a token. They are not checked
// here: a token is only ever parsed (refreshing.LooksLikeRefreshToken
// accepts 22+43 base64url characters and digits, the JWT parser at most
// jwt.MaxTokenLength bytes of base64url) before anything is looked up by
// the id it holds, so junk is an invalid token and keeps that token's
// documented answer: 401 "Invalid refresh token" on /api, invalid_grant at
// /oauth/token, 200 at /oauth/revoke (RFC 7009 section 2.2), {"active":
// false} at /oauth/introspect (RFC 7662 section 2.2).
var tokenFields = map[string]bool{"token": true, "refreshToken": true, "refresh_token": true}

// checkWire validates one string from the wire: at most maxWireLen bytes,
// valid UTF-8, no NUL, and (but in freeText fields) no other C0 or C1
// control character, DEL included; tokenFields are left to the token
// parsers. The error is a *refreshing.FieldError,
// which both error tables turn into a 400: ValidationError on /api,
// invalid_request on /oauth.
func checkWire(field, v string) error {
	if tokenFields[field] {
		return nil
	}
	limit := maxWireLen
	if multiLine[field] {
		limit = maxMultiLineLen
	}
	if len(v) > limit {
		return refreshing.Invalid(field, "%s must be at most %d bytes", field, limit)
	}
	if !utf8.ValidString(v) {
		return refreshing.Invalid(field, "%s must be valid UTF-8", field)
	}
	control := !freeText[field]
	for _, c := range v {
		if c == 0 {
			return refreshing.Invalid(field, "%s must not contain NUL characters", field)
		}
		if multiLine[field] && (c == '\n' || c == '\r' || c == '\t') {
			continue
		}
		if control && (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
			return refreshing.Invalid(field, "%s must not contain control characters", field)
		}
	}
	return nil
}

// checkValues runs checkWire on every name and value of a form or query.
func checkValues(vs url.Values) error {
	for k, list := range vs {
		if err := checkWire("parameter name", k); err != nil {
			return err
		}
		for _, v := range list {
			if err := checkWire(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkStruct runs checkWire on every string field with a json tag of the
// struct dst points to, after decode filled it.
func checkStruct(dst any) error {
	v := reflect.ValueOf(dst).Elem()
	for _, f := range bodyFields(v.Type()) {
		if fv := v.Field(f.index); fv.Kind() == reflect.String {
			if err := checkWire(f.name, fv.String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkURL refuses a request whose decoded path or query holds what
// checkWire refuses ("DELETE /api/users/me/sessions/%ff"), before routing:
// in OAuth's shape under /oauth, in Strapi's elsewhere.
func (s *server) checkURL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := checkWire("path", r.URL.Path)
		if err == nil {
			// The pairs that parse are what handlers see (r.URL.Query drops
			// the others), so those are the ones to check.
			q, _ := url.ParseQuery(r.URL.RawQuery)
			err = checkValues(q)
		}
		if err == nil {
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/oauth" || strings.HasPrefix(r.URL.Path, "/oauth/") {
			s.oauthFail(w, r, err)
			return
		}
		s.fail(w, r, err)
	})
}
