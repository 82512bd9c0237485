package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientsCreate creates OAuth clients with the CLI while the server runs
// and uses them over HTTP.
func TestClientsCreate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "refreshing.db")
	in := start(t, db, nil)
	for _, bad := range [][]string{
		{"clients"}, {"clients", "delete"}, {"clients", "create"},
		{"clients", "create", "--id", "a b"},
		{"clients", "create", "--id", "x", "--secret", "too-short"},
		{"clients", "create", "--id", "x", "--grant", "client_credentials"},
		{"clients", "create", "--id", "x", "--secret"},
	} {
		if out, err := in.cli(bad...); err == nil {
			t.Errorf("%v: no error (%s)", bad, out)
		}
	}
	if out, err := in.cli("clients", "create", "--id", "spa"); err != nil || out != "created public client spa (grants: refresh_token)\n" {
		t.Fatalf("clients create (public): %v %q", err, out)
	}
	if _, err := in.cli("clients", "create", "--id", "spa"); err == nil {
		t.Fatal("a taken client id was accepted")
	}
	chosen := strings.Repeat("s3cr3t", 6)
	if out, err := in.cli("clients", "create", "--id", "backend", "--secret", chosen); err != nil || strings.Contains(out, chosen) {
		t.Fatalf("clients create --secret S: %v %q (the operator's secret is never echoed)", err, out)
	}
	out, err := in.cli("clients", "create", "--id", "cli", "--secret", "", "--grant", "password")
	if err != nil || !strings.HasPrefix(out, "created confidential client cli (grants: refresh_token, password)\n") {
		t.Fatalf("clients create --secret '' --grant password: %v %q", err, out)
	}
	_, generated, _ := strings.Cut(strings.TrimSpace(out), "only its hash is stored): ")
	if len(generated) < 43 {
		t.Fatalf("no generated secret in %q", out)
	}

	if _, err := in.cli("users", "create", "--username", "ada", "--email", "ada@example.com", "--password", "correct horse"); err != nil {
		t.Fatal(err)
	}
	form := func(path, id, secret string, v url.Values) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, in.url+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if id != "" {
			req.SetBasicAuth(id, secret)
		}
		return do(t, req)
	}
	code, tok := form("/oauth/token", "cli", generated, url.Values{"grant_type": {"password"}, "username": {"ada"}, "password": {"correct horse"}})
	if code != 200 || tok["refresh_token"] == nil {
		t.Fatalf("password grant with the generated secret: %d %v", code, tok)
	}
	if code, _ := form("/oauth/token", "backend", chosen, url.Values{"grant_type": {"password"}, "username": {"ada"}, "password": {"correct horse"}}); code != 400 {
		t.Errorf("password grant by a client without it: %d, want 400", code)
	}
	code, in1 := form("/oauth/introspect", "backend", chosen, url.Values{"token": {tok["access_token"].(string)}})
	if code != 200 || in1["active"] != true || in1["client_id"] != "cli" {
		t.Fatalf("introspection: %d %v", code, in1)
	}
	if code, _ := form("/oauth/revoke", "cli", generated, url.Values{"token": {tok["refresh_token"].(string)}}); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	code, in2 := form("/oauth/introspect", "backend", chosen, url.Values{"token": {tok["refresh_token"].(string)}})
	if b, _ := json.Marshal(in2); code != 200 || string(b) != `{"active":false}` {
		t.Fatalf("introspection after revocation: %d %s", code, b)
	}

	// --dpop: the client's token requests must carry a DPoP proof.
	out, err = in.cli("clients", "create", "--id", "strict", "--grant", "password", "--dpop")
	if err != nil || out != "created public client strict (grants: refresh_token, password)\nevery token request must carry a DPoP proof\n" {
		t.Fatalf("clients create --dpop: %v %q", err, out)
	}
	code, body := form("/oauth/token", "", "", url.Values{"grant_type": {"password"}, "client_id": {"strict"}, "username": {"ada"}, "password": {"correct horse"}})
	if code != 400 || body["error"] != "invalid_dpop_proof" {
		t.Fatalf("password grant without a proof by a client that requires DPoP: %d %v", code, body)
	}
}
