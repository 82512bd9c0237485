package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestAdminCreate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "refreshing.db")
	getenv := func(k string) string {
		if k == "REFRESHING_DB" {
			return "sqlite:" + db
		}
		return ""
	}
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, getenv, &out, io.Discard)
		return out.String(), err
	}
	if _, err := cli("migrate"); err != nil { // only serve and migrate create a database
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		out, err := cli("admin", "create", "--email", "Ops@Example.com", "--password", "long enough secret")
		if err != nil || !strings.Contains(out, "created administrator") || !strings.Contains(out, "ops@example.com") {
			t.Fatalf("admin create: %v %q", err, out)
		}
	})
	t.Run("ErrTaken", func(t *testing.T) {
		if _, err := cli("admin", "create", "--email", "ops@example.com", "--password", "long enough secret"); err == nil || !strings.Contains(err.Error(), "taken") {
			t.Fatalf("duplicate: %v", err)
		}
	})
	for name, args := range map[string][]string{
		"ShortPassword": {"admin", "create", "--email", "a@example.com", "--password", "short"},
		"BadEmail":      {"admin", "create", "--email", "not an email", "--password", "long enough secret"},
		"NoEmail":       {"admin", "create", "--password", "long enough secret"},
		"NoVerb":        {"admin"},
		"UnknownVerb":   {"admin", "delete"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := cli(args...)
			if err == nil || exitCode(err) != 2 {
				t.Fatalf("%v: err %v, exit code %d; want a usage error", args, err, exitCode(err))
			}
		})
	}
}

// TestAdminEndToEnd signs in to the admin screens of a running server with
// an administrator the CLI created, over plain HTTP.
func TestAdminEndToEnd(t *testing.T) {
	in := start(t, filepath.Join(t.TempDir(), "refreshing.db"), nil)
	if _, err := in.cli("admin", "create", "--email", "ops@example.com", "--password", "operator password 1"); err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(in.url+"/admin/login", url.Values{"email": {"ops@example.com"}, "password": {"operator password 1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %d %v", resp.StatusCode, resp.Header["Set-Cookie"])
	}
	req, _ := http.NewRequest(http.MethodGet, in.url+"/admin/audit", nil)
	req.AddCookie(resp.Cookies()[0])
	page, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	b, _ := io.ReadAll(page.Body)
	if page.StatusCode != 200 || !strings.Contains(string(b), "admin.create") || !strings.Contains(string(b), ">cli<") {
		t.Fatalf("audit page: %d\n%s", page.StatusCode, b)
	}
}

// TestAdminTokensCLI: `admins tokens create` prints a token the running
// server's admin API accepts, `list` shows it without its value, and
// `revoke` ends it at once.
func TestAdminTokensCLI(t *testing.T) {
	in := start(t, filepath.Join(t.TempDir(), "refreshing.db"), nil)
	if _, err := in.cli("admins", "create", "--email", "ops@example.com", "--password", "operator password 1"); err != nil {
		t.Fatal(err)
	}
	api := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, in.url+"/admin/api/users", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	out, err := in.cli("admins", "tokens", "create", "--email", "ops@example.com", "--name", "deploy script", "--ttl", "720h", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID        int64   `json:"id"`
		Token     string  `json:"token"`
		Admin     string  `json:"admin"`
		ExpiresAt *string `json:"expiresAt"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == 0 || !strings.HasPrefix(created.Token, "rfa_") || created.Admin != "ops@example.com" || created.ExpiresAt == nil {
		t.Fatalf("tokens create: %v %q", err, out)
	}
	if code := api(created.Token); code != http.StatusOK {
		t.Fatalf("admin API with the new token: %d", code)
	}
	list, err := in.cli("admins", "tokens", "list", "--email", "ops@example.com")
	if err != nil || !strings.Contains(list, "deploy script") || strings.Contains(list, created.Token) {
		t.Fatalf("tokens list: %v %q", err, list)
	}
	for name, args := range map[string][]string{
		"NoName":       {"admins", "tokens", "create", "--email", "ops@example.com"},
		"UnknownAdmin": {"admins", "tokens", "create", "--email", "nobody@example.com", "--name", "x"},
		"TTLTooLong":   {"admins", "tokens", "create", "--email", "ops@example.com", "--name", "x", "--ttl", "87600h"},
		"NoID":         {"admins", "tokens", "revoke"},
		"UnknownID":    {"admins", "tokens", "revoke", "--id", "999"},
	} {
		if out, err := in.cli(args...); err == nil {
			t.Errorf("%s: %v succeeded: %q", name, args, out)
		}
	}
	if out, err := in.cli("admins", "tokens", "list", "--json"); err != nil || strings.Count(out, `"id"`) != 1 {
		t.Fatalf("a refused create made a token: %v %q", err, out)
	}
	if _, err := in.cli("admins", "tokens", "revoke", "--id", strconv.FormatInt(created.ID, 10)); err != nil {
		t.Fatal(err)
	}
	if code := api(created.Token); code != http.StatusUnauthorized {
		t.Fatalf("admin API after revoke: %d, want 401", code)
	}
}
