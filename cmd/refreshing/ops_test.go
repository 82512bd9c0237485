package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeOperations runs serve with JSON logs and checks what operators
// rely on: /metrics counting exchanges, /openapi.json, and one structured
// access line per request without secrets.
func TestServeOperations(t *testing.T) {
	in := start(t, filepath.Join(t.TempDir(), "ops.db"), map[string]string{"REFRESHING_LOG_FORMAT": "json"})
	code, reg := in.post(t, "/api/auth/local/register", "", map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse"})
	if code != http.StatusOK {
		t.Fatalf("register: %d %v", code, reg)
	}
	token := reg["refreshToken"].(string)
	secrets := []string{"correct horse", token, reg["jwt"].(string)}
	for range 2 {
		code, m := in.post(t, "/api/auth/token", "", map[string]any{"token": token})
		if code != http.StatusOK {
			t.Fatalf("exchange: %d %v", code, m)
		}
		token = m["refreshToken"].(string)
		secrets = append(secrets, token, m["jwt"].(string))
	}

	get := func(path string) (int, string, string) {
		t.Helper()
		res, err := http.Get(in.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(b)
	}
	code, _, text := get("/metrics")
	if code != http.StatusOK || !strings.Contains(text, "\nrefreshing_token_exchanges_total{outcome=\"rotated\"} 2\n") {
		t.Errorf("GET /metrics = %d, without 2 rotated exchanges:\n%.2000s", code, text)
	}
	if !strings.Contains(text, "refreshing_store_operation_duration_seconds_count{op=\"rotate_matching\",result=\"ok\"} 2") {
		t.Error("GET /metrics does not time the store's rotations (rotate_matching)")
	}
	for _, want := range []string{"\nrefreshing_build_info{goversion=\"go", "\nrefreshing_audit_events_dropped_total 0\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("GET /metrics lacks %q", want)
		}
	}
	get("/no/such/path")
	if code, ctype, doc := get("/openapi.json"); code != http.StatusOK || !strings.HasPrefix(ctype, "application/json") || !strings.Contains(doc, `"openapi": "3.1.0"`) {
		t.Errorf("GET /openapi.json = %d %s", code, ctype)
	}

	var seen bool
	for line := range strings.Lines(in.logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("REFRESHING_LOG_FORMAT=json wrote a line that is not JSON: %q", line)
		}
		if rec["msg"] != "request" || rec["route"] != "POST /api/auth/token" {
			continue
		}
		seen = true
		for _, k := range []string{"time", "level", "request_id", "method", "route", "status", "duration_ms"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("access line %s has no %q", line, k)
			}
		}
	}
	if !strings.Contains(in.logs.String(), `"route":"unmatched","status":404`) {
		t.Errorf("no access line with route unmatched for GET /no/such/path:\n%s", in.logs)
	}
	for _, l := range []string{"refreshing listening on", "\nlistening"} {
		if strings.Contains(in.logs.String(), l) {
			t.Errorf("a plain line beside the JSON ones: %q", l)
		}
	}
	if !seen {
		t.Errorf("no access line for POST /api/auth/token in:\n%s", in.logs)
	}
	for _, s := range secrets {
		if strings.Contains(in.logs.String(), s) {
			t.Errorf("the logs contain a secret (%.8s...)", s)
		}
	}
}
