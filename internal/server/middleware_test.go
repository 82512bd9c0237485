package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
)

func TestHealth(t *testing.T) {
	e := start(t, setup{})
	t.Run("HealthzOK", func(t *testing.T) {
		r := e.do(request{method: http.MethodGet, path: "/healthz"})
		r.want(t, http.StatusOK, "", "")
		if got := r.str(t, "status"); got != "ok" {
			t.Errorf("status = %q, want ok", got)
		}
	})
	t.Run("ReadyzOK", func(t *testing.T) {
		r := e.do(request{method: http.MethodGet, path: "/readyz"})
		r.want(t, http.StatusOK, "", "")
		if got := r.str(t, "status"); got != "ok" {
			t.Errorf("status = %q, want ok", got)
		}
	})
	t.Run("ReadyzServiceUnavailable", func(t *testing.T) {
		e.fault.inject(fmt.Errorf("ping: %w", refreshing.ErrUnavailable), false)
		defer e.fault.inject(nil, false)
		e.do(request{method: http.MethodGet, path: "/readyz"}).want(t, http.StatusServiceUnavailable, "ServiceUnavailableError", "")
	})
}

func TestRouting(t *testing.T) {
	e := start(t, setup{})
	t.Run("NotFound", func(t *testing.T) {
		for _, p := range []string{"/nope", "/api/nope", "/api/auth/local/nope", "/"} {
			e.do(request{method: http.MethodGet, path: p}).want(t, http.StatusNotFound, "NotFoundError", "Not Found")
		}
	})
	t.Run("MethodNotAllowed", func(t *testing.T) {
		r := e.do(request{method: http.MethodGet, path: "/api/auth/local"})
		r.want(t, http.StatusMethodNotAllowed, "ApplicationError", "Method Not Allowed")
		if got := r.header.Get("Allow"); got != "POST" {
			t.Errorf("Allow = %q, want POST", got)
		}
		e.do(request{method: http.MethodPut, path: "/api/users/me/sessions"}).want(t, http.StatusMethodNotAllowed, "ApplicationError", "")
	})
}

func TestSecurityHeaders(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	for name, req := range map[string]request{
		"OK":               {method: http.MethodGet, path: "/api/users/me", bearer: a.jwt},
		"Token":            {method: http.MethodPost, path: "/api/auth/token", body: map[string]any{"token": a.refresh}},
		"Unauthorized":     {method: http.MethodGet, path: "/api/users/me"},
		"ValidationError":  {method: http.MethodPost, path: "/api/auth/local", body: `{`},
		"NotFound":         {method: http.MethodGet, path: "/api/nope"},
		"MethodNotAllowed": {method: http.MethodDelete, path: "/api/auth/local"},
		"NoContent":        {method: http.MethodDelete, path: "/api/users/me/sessions?scope=others", bearer: a.jwt},
		"HealthzCacheable": {method: http.MethodGet, path: "/healthz"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(req)
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			wantCache := "no-store"
			if !strings.HasPrefix(req.path, "/api/") {
				wantCache = ""
			}
			if got := r.header.Get("Cache-Control"); got != wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, wantCache)
			}
			if len(r.header.Get("X-Request-Id")) < 16 {
				t.Errorf("X-Request-Id = %q, want a random id", r.header.Get("X-Request-Id"))
			}
			if r.status != http.StatusNoContent {
				if got := r.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
					t.Errorf("Content-Type = %q", got)
				}
			}
		})
	}
	t.Run("RequestIDsDiffer", func(t *testing.T) {
		x := e.do(request{method: http.MethodGet, path: "/healthz"}).header.Get("X-Request-Id")
		y := e.do(request{method: http.MethodGet, path: "/healthz"}).header.Get("X-Request-Id")
		if x == y {
			t.Errorf("two requests share the id %q", x)
		}
	})
}

func TestAccessLog(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	r := e.do(request{method: http.MethodPost, path: "/api/auth/token", body: map[string]any{"token": a.refresh},
		header: map[string]string{"Cookie": "strapi_up_refresh=cookie-secret-value"}})
	r.want(t, http.StatusOK, "", "")
	e.do(request{method: http.MethodGet, path: "/api/nope", bearer: a.jwt}).want(t, http.StatusNotFound, "", "")
	var lines []map[string]any
	for _, l := range e.logLines() {
		if l["msg"] == "request" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d access lines, want 3 (one per request): %v", len(lines), lines)
	}
	want := []struct {
		method, route string
		status        float64
	}{
		{"POST", "POST /api/auth/local/register", 200},
		{"POST", "POST /api/auth/token", 200},
		{"GET", "unmatched", 404}, // as the metrics label it
	}
	for i, l := range lines {
		if l["method"] != want[i].method || l["route"] != want[i].route || l["status"] != want[i].status {
			t.Errorf("line %d = %v, want %+v", i, l, want[i])
		}
		if ms, ok := l["duration_ms"].(float64); !ok || ms < 0 {
			t.Errorf("line %d has no duration_ms in milliseconds: %v", i, l)
		}
		if len(l) != 8 { // time, level, msg + five fields
			t.Errorf("line %d has unexpected fields: %v", i, l)
		}
	}
	if got := lines[1]["request_id"]; got != r.header.Get("X-Request-Id") {
		t.Errorf("request_id = %v, want the response's X-Request-Id %q", got, r.header.Get("X-Request-Id"))
	}
	if logs := e.logs.String(); strings.Contains(logs, "cookie-secret-value") || strings.Contains(logs, "Bearer") {
		t.Errorf("the logs contain a cookie or an Authorization header:\n%s", logs)
	}
}

func TestClientIP(t *testing.T) {
	ipOf := func(e *env, xff string) string {
		t.Helper()
		r := e.do(request{method: http.MethodPost, path: "/api/auth/local/register",
			body:   map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse"},
			header: map[string]string{"X-Forwarded-For": xff}})
		r.want(t, http.StatusOK, "", "")
		list := e.sessions(r.str(t, "jwt"))
		if len(list) != 1 {
			t.Fatalf("sessions = %v", list)
		}
		return list[0]["ip"].(string)
	}
	proxies := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		xff     string
		want    string
	}{
		{"PeerWhenNoProxyIsTrusted", nil, "203.0.113.9", "127.0.0.1"},
		{"PeerWithoutHeader", proxies, "", "127.0.0.1"},
		{"ForwardedFromTrustedProxy", proxies, "203.0.113.9", "203.0.113.9"},
		{"RightmostUntrusted", proxies, "198.51.100.66, 203.0.113.9, 10.1.2.3", "203.0.113.9"},
		{"SpoofedLeftEntryIgnored", proxies, "10.0.0.1, 203.0.113.9", "203.0.113.9"},
		{"GarbageStopsAtLastProxy", proxies, "203.0.113.9, garbage, 10.1.2.3", "10.1.2.3"},
		{"IPv6", proxies, "2001:db8::1", "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, setup{trusted: tc.trusted})
			if got := ipOf(e, tc.xff); got != tc.want {
				t.Errorf("ip = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInternalErrors(t *testing.T) {
	login := func(e *env) response {
		return e.post("/api/auth/local", map[string]any{"identifier": "ada@example.com", "password": "correct horse"})
	}
	t.Run("InternalServerError", func(t *testing.T) {
		e := start(t, setup{})
		e.fault.inject(errors.New("disk on fire at /var/db/secret-path"), false)
		r := login(e)
		r.want(t, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
		if strings.Contains(string(r.body), "fire") || strings.Contains(string(r.body), "secret-path") {
			t.Errorf("the response reveals internals: %s", r.body)
		}
		var logged []map[string]any
		for _, l := range e.logLines() {
			if l["level"] == "ERROR" {
				logged = append(logged, l)
			}
		}
		if len(logged) != 1 {
			t.Fatalf("%d error lines, want 1: %v", len(logged), logged)
		}
		if got, want := logged[0]["request_id"], r.header.Get("X-Request-Id"); got != want {
			t.Errorf("request_id = %v, want %q", got, want)
		}
		if err, _ := logged[0]["err"].(string); !strings.Contains(err, "disk on fire") {
			t.Errorf("err = %q, want the error text", err)
		}
	})
	t.Run("ServiceUnavailable", func(t *testing.T) {
		e := start(t, setup{})
		e.fault.inject(fmt.Errorf("sqlite: disk full: %w", refreshing.ErrUnavailable), false)
		r := login(e)
		r.want(t, http.StatusServiceUnavailable, "ServiceUnavailableError", "Service temporarily unavailable")
		if strings.Contains(string(r.body), "disk full") {
			t.Errorf("the response reveals internals: %s", r.body)
		}
	})
	t.Run("ServiceUnavailableWhenBusy", func(t *testing.T) {
		e := start(t, setup{})
		e.fault.inject(refreshing.ErrBusy, false)
		r := login(e)
		r.want(t, http.StatusServiceUnavailable, "ServiceUnavailableError", "")
		if got := r.header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After = %q, want 1", got)
		}
	})
	t.Run("InternalServerErrorOnPanic", func(t *testing.T) {
		e := start(t, setup{})
		e.fault.inject(errors.New("boom"), true)
		r := login(e)
		r.want(t, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("X-Content-Type-Options = %q after a panic", got)
		}
		e.fault.inject(nil, false)
		e.do(request{method: http.MethodGet, path: "/healthz"}).want(t, http.StatusOK, "", "")
		var panics, access int
		for _, l := range e.logLines() {
			switch l["msg"] {
			case "panic":
				panics++
				if l["request_id"] != r.header.Get("X-Request-Id") {
					t.Errorf("panic logged with request_id %v, want %q", l["request_id"], r.header.Get("X-Request-Id"))
				}
			case "request":
				if l["route"] == "POST /api/auth/local" && l["status"] != float64(500) {
					t.Errorf("access line %v, want status 500", l)
				}
				access++
			}
		}
		if panics != 1 || access != 2 {
			t.Errorf("%d panic lines and %d access lines, want 1 and 2", panics, access)
		}
	})
	t.Run("ClientGoneIsNotAnInternalError", func(t *testing.T) {
		e := start(t, setup{})
		entered := make(chan struct{})
		e.fault.mu.Lock()
		e.fault.hang = entered
		e.fault.mu.Unlock()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/api/auth/local",
				strings.NewReader(`{"identifier":"ada@example.com","password":"correct horse"}`))
			req.Header.Set("Content-Type", "application/json")
			res, err := e.srv.Client().Do(req)
			if err == nil {
				res.Body.Close()
			}
			done <- err
		}()
		<-entered
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("client error = %v, want context.Canceled", err)
		}
		e.srv.Close() // waits for the handler to finish
		for _, l := range e.logLines() {
			if l["level"] == "ERROR" {
				t.Errorf("a cancelled request was logged as an error: %v", l)
			}
		}
	})
}

func TestNoSecretsInResponsesOrLogs(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	phone := e.login(a, map[string]any{"deviceId": "phone"})
	ex := e.exchange(phone.refresh)
	ex.want(t, http.StatusOK, "", "")
	secrets := []string{a.password, a.refresh, phone.refresh, ex.str(t, "refreshToken"), a.jwt, phone.jwt}
	// Every answer that does not issue tokens is free of them, failures included.
	for _, req := range []request{
		{method: http.MethodGet, path: "/api/users/me", bearer: a.jwt},
		{method: http.MethodGet, path: "/api/users/me/sessions", bearer: a.jwt},
		{method: http.MethodPost, path: "/api/auth/local", body: map[string]any{"identifier": "ada", "password": a.password + "x"}},
		{method: http.MethodPost, path: "/api/auth/local", body: map[string]any{"identifier": "ada", "password": 7}},
		{method: http.MethodPost, path: "/api/auth/change-password", bearer: a.jwt, body: map[string]any{"currentPassword": a.password, "password": a.password, "passwordConfirmation": a.password}},
		{method: http.MethodPost, path: "/api/auth/token", body: map[string]any{"token": phone.refresh + "x"}},
		{method: http.MethodPost, path: "/api/auth/revoke", body: map[string]any{"token": a.refresh}},
		{method: http.MethodPost, path: "/api/auth/logout", bearer: phone.jwt, body: map[string]any{"refreshToken": phone.refresh}},
		{method: http.MethodGet, path: "/api/users/me", bearer: a.refresh},
	} {
		r := e.do(req)
		for _, s := range secrets {
			if strings.Contains(string(r.body), s) {
				t.Errorf("%s %s answered %s, which contains the secret %q", req.method, req.path, r.body, s)
			}
		}
	}
	logs := e.logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs contain the secret %q", s)
		}
	}
}
