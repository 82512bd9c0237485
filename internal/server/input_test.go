package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func TestInput(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	register := `{"username":"bob","email":"bob@example.com","password":"correct horse"}`

	t.Run("PayloadTooLarge", func(t *testing.T) {
		big := `{"username":"bob","email":"bob@example.com","password":"correct horse","pad":"` + strings.Repeat("x", 64<<10) + `"}`
		e.post("/api/auth/local/register", big).want(t, http.StatusRequestEntityTooLarge, "PayloadTooLargeError", "")
		e.post("/api/auth/token", `{"token":"`+a.refresh+`","pad":"`+strings.Repeat("x", 64<<10)+`"}`).
			want(t, http.StatusRequestEntityTooLarge, "PayloadTooLargeError", "")
		// Over the limit is 413 whatever the body holds, even when what
		// comes first is already malformed or complete.
		for _, body := range []string{
			`{bad` + strings.Repeat("x", 70000),
			`{"token":"` + a.refresh + `"}` + strings.Repeat("x", 70000),
			strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + strings.Repeat(" ", 70000),
		} {
			e.post("/api/auth/token", body).want(t, http.StatusRequestEntityTooLarge, "PayloadTooLargeError", "")
		}
	})
	t.Run("UnsupportedMediaType", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
			r := e.do(request{method: http.MethodPost, path: "/api/auth/local/register", body: register, header: map[string]string{"Content-Type": ct}})
			r.want(t, http.StatusUnsupportedMediaType, "ApplicationError", "")
			r = e.do(request{method: http.MethodPost, path: "/api/auth/token", body: `{"token":"` + a.refresh + `"}`, header: map[string]string{"Content-Type": ct}})
			r.want(t, http.StatusUnsupportedMediaType, "ApplicationError", "")
		}
	})
	t.Run("MalformedJSON", func(t *testing.T) {
		for _, body := range []string{`{"username":`, `not json`, ``, `{"username":"bob"}}`, `{"username":"bob"} {"x":1}`, `[1,2]`, `"bob"`} {
			e.post("/api/auth/local/register", body).want(t, http.StatusBadRequest, "ValidationError", "")
		}
		e.post("/api/auth/token", `{"token":"`+a.refresh+`"} x`).want(t, http.StatusBadRequest, "ValidationError", "")
	})
	t.Run("WrongFieldType", func(t *testing.T) {
		for field, body := range map[string]string{
			"identifier": `{"identifier":1,"password":"x"}`,
			"password":   `{"identifier":"ada","password":{"a":1}}`,
			"deviceId":   `{"identifier":"ada","password":"x","deviceId":true}`,
		} {
			r := e.post("/api/auth/local", body)
			r.wantField(t, field)
			if got, want := r.json(t)["error"].(map[string]any)["message"], field+" must be a string"; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		}
		e.post("/api/auth/token", `{"token":["`+a.refresh+`"]}`).wantField(t, "token")
		e.post("/api/auth/local/register", `{"username":"bob","email":["bob@example.com"],"password":"correct horse"}`).wantField(t, "email")
	})
	t.Run("NUL", func(t *testing.T) {
		e.post("/api/auth/local/register", map[string]any{"username": "bob\x00", "email": "bob@example.com", "password": "correct horse"}).wantField(t, "username")
		e.post("/api/auth/local/register", map[string]any{"username": "bob", "email": "bob@example.com", "password": "correct\x00horse"}).wantField(t, "password")
		e.post("/api/auth/local", map[string]any{"identifier": "ada\x00", "password": a.password}).wantField(t, "identifier")
		e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": a.password, "deviceId": "x\x00"}).wantField(t, "deviceId")
	})
	t.Run("Overlong", func(t *testing.T) {
		long := strings.Repeat("a", refreshing.MaxIdentifierLen+1)
		e.post("/api/auth/local/register", map[string]any{"username": long, "email": "bob@example.com", "password": "correct horse"}).wantField(t, "username")
		e.post("/api/auth/local/register", map[string]any{"username": "bob", "email": long + "@example.com", "password": "correct horse"}).wantField(t, "email")
		e.post("/api/auth/local/register", map[string]any{"username": "bob", "email": "bob@example.com", "password": strings.Repeat("p", refreshing.MaxPasswordLen+1)}).wantField(t, "password")
		e.post("/api/auth/local", map[string]any{"identifier": long, "password": a.password}).wantField(t, "identifier")
		e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": strings.Repeat("p", refreshing.MaxPasswordLen+1)}).wantField(t, "password")
		e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": a.password, "deviceId": strings.Repeat("d", refreshing.MaxTextLen+1)}).wantField(t, "deviceId")
		e.post("/api/auth/token/request", map[string]any{"identifier": "ada", "password": a.password, "description": strings.Repeat("d", refreshing.MaxTextLen+1)}).wantField(t, "description")
	})
	t.Run("NothingChanged", func(t *testing.T) {
		// No bob was created, ada has one session, and her token is live.
		e.post("/api/auth/local", map[string]any{"identifier": "bob", "password": "correct horse"}).want(t, http.StatusBadRequest, "ValidationError", "Invalid identifier or password")
		if got := len(e.sessions(a.jwt)); got != 1 {
			t.Errorf("ada has %d sessions, want 1", got)
		}
		// Past the grace window, ada's first token exchanges only if no
		// refused request above rotated it.
		e.clock.Advance(refreshing.DefaultSettings().ReuseGrace + time.Second)
		e.exchange(a.refresh).want(t, http.StatusOK, "", "")
	})
	t.Run("OKWithCharset", func(t *testing.T) {
		r := e.do(request{method: http.MethodPost, path: "/api/auth/local", body: `{"identifier":"ada","password":"` + a.password + `"}`,
			header: map[string]string{"Content-Type": "application/json; charset=utf-8"}})
		r.want(t, http.StatusOK, "", "")
	})
	t.Run("NamesAreCaseSensitive", func(t *testing.T) {
		// A member whose name differs from a field's only in case is an
		// unknown field: ignored, never the field.
		e.post("/api/auth/local", `{"identifier":"ada","password":"wrong","PassWord":"`+a.password+`"}`).
			want(t, http.StatusBadRequest, "ValidationError", "Invalid identifier or password")
		e.post("/api/auth/local", `{"Identifier":"ada","PASSWORD":"`+a.password+`"}`).want(t, http.StatusBadRequest, "ValidationError", "")
		before := len(e.sessions(a.jwt))
		e.post("/api/auth/revoke", `{"TOKEN":"`+a.refresh+`"}`).want(t, http.StatusOK, "", "")
		if got := len(e.sessions(a.jwt)); got != before {
			t.Errorf("ada has %d sessions after a revoke that named no token, want %d", got, before)
		}
		e.post("/api/auth/local", `null`).want(t, http.StatusBadRequest, "ValidationError", "Request body must be a JSON object")
	})
	t.Run("UnknownFieldsIgnored", func(t *testing.T) {
		r := e.post("/api/auth/local/register", `{"username":"bob","email":"bob@example.com","password":"correct horse","role":"admin","extra":{"x":[1]}}`)
		r.want(t, http.StatusOK, "", "")
		e.remember("correct horse")
	})
}
