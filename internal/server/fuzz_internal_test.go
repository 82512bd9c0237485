package server

// Fuzz targets for the request decoders. They live inside the package (an
// internal test file) because decode is the unexported single entry point
// of every JSON body; go test runs their seed corpora (f.Add and
// testdata/fuzz/) as ordinary tests, and go test -fuzz explores further.

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
)

// FuzzDecode feeds arbitrary bodies and content types to decode, with the
// request shape of the login and token endpoints. Whatever the input, decode
// must not panic, must answer with an error the encoder maps to a 4xx, and
// must fill the struct only on success.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"identifier":"ada","password":"secret"}`},
		{"application/json; charset=utf-8", `{"token":"rt_x","refreshToken":"y","extra":[1,{"a":null}]}`},
		{"application/json", `{"identifier":1}`},
		{"application/json", `{} {}`},
		{"application/json", `[]`},
		{"application/json", `"\ud800"`},
		{"text/plain", `{}`},
		{"application/json", strings.Repeat(`[`, 10000)},
		{"", ``},
	} {
		f.Add(s.ct, []byte(s.body), false)
		f.Add(s.ct, []byte(s.body), true)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte, optional bool) {
		var dst struct {
			Identifier   string `json:"identifier"`
			Password     string `json:"password"`
			Token        string `json:"token"`
			RefreshToken string `json:"refreshToken"`
		}
		r := httptest.NewRequest(http.MethodPost, "/api/auth/local", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		err := decode(w, r, &dst, optional)
		if err == nil {
			return
		}
		var ae *apiError
		var fe *refreshing.FieldError
		switch {
		case errors.As(err, &ae):
			if ae.status < 400 || ae.status > 499 {
				t.Fatalf("decode answered %d for %q", ae.status, body)
			}
		case errors.As(err, &fe):
			if fe.Field == "" {
				t.Fatalf("a FieldError without a field for %q", body)
			}
		default:
			t.Fatalf("decode returned %T %v, which the error table does not map to a 4xx", err, err)
		}
	})
}

// FuzzDecodeForm feeds arbitrary bodies and content types to the /oauth form
// decoder. It must not panic, must refuse with an OAuth error of status 4xx,
// and must never hand a handler a parameter given twice (RFC 6749 section 3.2).
func FuzzDecodeForm(f *testing.F) {
	ct := "application/x-www-form-urlencoded"
	for _, s := range []struct{ ct, body string }{
		{ct, "grant_type=refresh_token&refresh_token=rt_x&client_id=app"},
		{ct, "grant_type=password&grant_type=refresh_token"},
		{ct, "a=%zz"},
		{ct, "a=1;b=2"},
		{ct + "; charset=utf-8", strings.Repeat("x=y&", 1000)},
		{"application/json", `{"grant_type":"password"}`},
		{"", ""},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", contentType)
		form, err := decodeForm(httptest.NewRecorder(), r)
		if err != nil {
			var oe *oauthError
			if !errors.As(err, &oe) || oe.status < 400 || oe.status > 499 || oe.code == "" {
				t.Fatalf("decodeForm(%q) = %v, want an OAuth 4xx error", body, err)
			}
			return
		}
		for k, v := range form {
			if len(v) != 1 {
				t.Fatalf("parameter %q given %d times reached the handler", k, len(v))
			}
		}
	})
}
