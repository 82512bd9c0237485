package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
)

// malformed are identifiers no store must ever see: a lone continuation
// byte, an overlong "/", a NUL inside, a control character, and one far too
// long.
var malformed = []struct{ name, escaped string }{
	{"InvalidByte", "%ff"},
	{"OverlongSlash", "%c0%af"},
	{"NUL", "a%00b"},
	{"Control", "a%01b"},
	{"TooLong", strings.Repeat("a", 5000)},
}

// TestMalformedIdentifiers sends the same malformed ids to every endpoint
// that takes an identifier, on both stores, through a real listener: each
// is a 4xx in the endpoint's documented shape, never a 500, and no internal
// error is logged (PostgreSQL refuses such text, SQLite would store it).
func TestMalformedIdentifiers(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := start(t, su)
		a := e.register("ada")
		e.client(refreshing.ClientSpec{ID: "app", Grants: []string{refreshing.GrantPassword}})
		secret := e.client(refreshing.ClientSpec{ID: "backend", GenerateSecret: true})
		for _, m := range malformed {
			raw, err := url.QueryUnescape(m.escaped)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(m.name, func(t *testing.T) {
				oauth := []struct {
					name, path, body string
					basic            string // raw "id:secret" for HTTP Basic
				}{
					{"TokenClientID", "/oauth/token", "grant_type=refresh_token&refresh_token=" + url.QueryEscape(a.refresh) + "&client_id=" + m.escaped, ""},
					{"TokenPasswordGrantUsername", "/oauth/token", "grant_type=password&client_id=app&password=x&username=" + m.escaped, ""},
					{"TokenBasicClientID", "/oauth/token", "grant_type=refresh_token&refresh_token=" + url.QueryEscape(a.refresh), raw + ":" + secret},
					{"RevokeClientID", "/oauth/revoke", "token=" + url.QueryEscape(a.refresh) + "&client_id=" + m.escaped, ""},
					{"IntrospectClientID", "/oauth/introspect", "token=x&client_id=" + m.escaped + "&client_secret=" + secret, ""},
				}
				for _, c := range oauth {
					r := e.oauth(oauthReq{path: c.path, raw: c.body, rawBasic: c.basic})
					if r.status < 400 || r.status >= 500 {
						t.Errorf("%s: status %d, want 4xx; body %s", c.name, r.status, r.body)
						continue
					}
					if code := r.json(t)["error"]; code != "invalid_request" && code != "invalid_client" {
						t.Errorf("%s: error %v, want invalid_request or invalid_client; body %s", c.name, code, r.body)
					}
				}
				// A token is only ever parsed, never looked up as sent: junk
				// in a token field keeps the documented answer to an invalid
				// token.
				r := e.oauth(oauthReq{path: "/oauth/token", raw: "grant_type=refresh_token&refresh_token=" + m.escaped})
				r.wantOAuthError(t, http.StatusBadRequest, "invalid_grant")
				if r := e.oauth(oauthReq{path: "/oauth/revoke", raw: "client_id=app&token=" + m.escaped}); r.status != http.StatusOK {
					t.Errorf("revoking a junk token: status %d, want 200 (RFC 7009); body %s", r.status, r.body)
				}
				if r := e.oauth(oauthReq{path: "/oauth/introspect", raw: "token=" + m.escaped, rawBasic: "backend:" + secret}); r.status != http.StatusOK || r.json(t)["active"] != false {
					t.Errorf("introspecting a junk token: status %d, body %s; want 200 {\"active\":false}", r.status, r.body)
				}
				js, _ := jsonString(raw)
				api := []struct {
					name string
					req  request
				}{
					{"DeleteSessionPath", request{method: http.MethodDelete, path: "/api/users/me/sessions/" + m.escaped, bearer: a.jwt}},
					{"DeleteSessionsQuery", request{method: http.MethodDelete, path: "/api/users/me/sessions?scope=" + m.escaped, bearer: a.jwt}},
					{"LoginIdentifier", request{method: http.MethodPost, path: "/api/auth/local", body: `{"identifier":` + js + `,"password":"whatever-pw"}`}},
					{"RegisterUsername", request{method: http.MethodPost, path: "/api/auth/local/register", body: `{"username":` + js + `,"email":"x@example.com","password":"a-long-passphrase"}`}},
					{"ExchangeToken", request{method: http.MethodPost, path: "/api/auth/token", body: `{"token":` + js + `}`}},
					{"RefreshToken", request{method: http.MethodPost, path: "/api/auth/refresh", body: `{"refreshToken":` + js + `}`}},
					{"LogoutDeviceID", request{method: http.MethodPost, path: "/api/auth/logout", bearer: a.jwt, body: `{"deviceId":` + js + `}`}},
				}
				for _, c := range api {
					r := e.do(c.req)
					if r.status < 400 || r.status >= 500 {
						t.Errorf("%s: status %d, want 4xx; body %s", c.name, r.status, r.body)
						continue
					}
					if r.json(t)["error"] == nil {
						t.Errorf("%s: body %s is not Strapi's error shape", c.name, r.body)
					}
				}
			})
		}
		// The admin screens: sign-in form, session filters, a revoke form.
		c := e.admin()
		for _, m := range malformed {
			raw, _ := url.QueryUnescape(m.escaped)
			for name, r := range map[string]response{
				"AdminLogin":         e.adminClient().post("/admin/login", url.Values{"email": {raw}, "password": {"x"}}, nil),
				"AdminSessionFilter": c.get("/admin/sessions?user=" + m.escaped),
				"AdminUserSearch":    c.get("/admin/users?q=" + m.escaped),
				"AdminRevoke":        c.post("/admin/sessions/revoke", url.Values{"id": {raw}}, nil),
			} {
				if r.status < 400 || r.status >= 500 {
					t.Errorf("%s/%s: status %d, want 4xx", m.name, name, r.status)
				}
			}
		}
		// None of it touched a store in a way that failed, and the session
		// the requests named in passing is intact.
		for _, l := range e.logLines() {
			if l["level"] == "ERROR" {
				t.Errorf("an error was logged: %v", l)
			}
		}
		e.exchange(a.refresh).want(t, http.StatusOK, "", "")
	})
}

// jsonString is s as a JSON string literal; invalid UTF-8 is written byte
// by byte as \u00XX escapes would not be, so such a body is sent as the raw
// bytes it is.
func jsonString(s string) (string, bool) {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&15])
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String(), true
}
