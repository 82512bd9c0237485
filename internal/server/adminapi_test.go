package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/pgtest"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// TestAdminAPI drives every operation of the admin API through a real
// listener, on SQLite and on PostgreSQL, checking each answer against
// openapi.json, and checks that every refused request changed nothing.
func TestAdminAPI(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		exerciseAdminAPI(t, st)
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), pgtest.Schema(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		exerciseAdminAPI(t, st)
	})
}

func exerciseAdminAPI(t *testing.T, st refreshing.Store) {
	c, v, svc := contractServerOn(t, st, func(s *refreshing.Settings) {
		s.RateLimitIP, s.RateLimitIdentifier, s.RateLimitExchangeIP = 0, 0, 0
	})
	ctx := t.Context()
	ops, err := svc.CreateAdmin(ctx, "ops@example.com", "a long admin password")
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := svc.CreateAdminToken(ctx, ops.ID, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"Authorization": "Bearer " + token}
	want := func(got, status int, what string) {
		t.Helper()
		if got != status {
			t.Fatalf("%s: status %d, want %d", what, got, status)
		}
	}
	data := func(m map[string]any) map[string]any { t.Helper(); return dataOf(t, m) }
	list := func(m map[string]any) []any { t.Helper(); return listOf(t, m) }

	// Credentials: none, a wrong one, a session cookie: 401 and nothing else.
	code, _ := c.call(http.MethodGet, "/admin/api/users", nil, false, nil)
	want(code, http.StatusUnauthorized, "no token")
	code, _ = c.call(http.MethodGet, "/admin/api/users", nil, false, map[string]string{"Authorization": "Bearer rfa_wrong"})
	want(code, http.StatusUnauthorized, "a wrong token")
	code, _ = c.call(http.MethodGet, "/admin/api/users", nil, false, map[string]string{"Authorization": "Bearer " + token + "x"})
	want(code, http.StatusUnauthorized, "a token with a character more")
	cookieToken, _, err := svc.AdminLogin(ctx, "ops@example.com", "a long admin password", refreshing.ClientInfo{IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	code, _ = c.call(http.MethodGet, "/admin/api/users", nil, false, map[string]string{"Cookie": "refreshing_admin=" + cookieToken})
	want(code, http.StatusUnauthorized, "the admin screens' cookie")

	// Users.
	code, created := c.call(http.MethodPost, "/admin/api/users", map[string]any{"username": "ada", "email": "Ada@Example.com", "password": "correct horse"}, true, auth)
	want(code, http.StatusCreated, "create user")
	ada := int64(data(created)["id"].(float64))
	for i := range 4 {
		code, _ = c.call(http.MethodPost, "/admin/api/users", map[string]any{"username": fmt.Sprintf("user%d", i), "email": fmt.Sprintf("user%d@example.com", i), "password": "correct horse"}, true, auth)
		want(code, http.StatusCreated, "create another user")
	}
	code, page := c.call(http.MethodGet, "/admin/api/users?limit=2", nil, true, auth)
	want(code, http.StatusOK, "list users")
	meta := page["meta"].(map[string]any)
	if got := meta["total"]; got != float64(5) {
		t.Fatalf("meta.total = %v, want 5", got)
	}
	if meta["before"] != nil || meta["after"] == nil {
		t.Fatalf("first page meta = %v, want an after and no before", meta)
	}
	code, page2 := c.call(http.MethodGet, "/admin/api/users?limit=2&after="+meta["after"].(string), nil, true, auth)
	want(code, http.StatusOK, "next page of users")
	meta2 := page2["meta"].(map[string]any)
	code, back := c.call(http.MethodGet, "/admin/api/users?limit=2&before="+meta2["before"].(string), nil, true, auth)
	want(code, http.StatusOK, "previous page of users")
	if a, b := fmt.Sprint(list(back)), fmt.Sprint(list(page)); a != b {
		t.Fatalf("the previous page of the second page is\n%s\nwant the first\n%s", a, b)
	}
	code, found := c.call(http.MethodGet, "/admin/api/users?q=ADA&order=oldest", nil, true, auth)
	want(code, http.StatusOK, "search users")
	if n := len(list(found)); n != 1 {
		t.Fatalf("search for ADA found %d users, want 1", n)
	}

	// A session for ada, through the public API.
	code, login := c.call(http.MethodPost, "/api/auth/local", map[string]any{"identifier": "ada@example.com", "password": "correct horse"}, true, nil)
	want(code, http.StatusOK, "login")
	_ = login
	code, u := c.call(http.MethodGet, fmt.Sprintf("/admin/api/users/%d", ada), nil, true, auth)
	want(code, http.StatusOK, "show user")
	if got := data(u)["sessions"]; got != float64(1) {
		t.Fatalf("sessions of ada = %v, want 1", got)
	}
	code, sessions := c.call(http.MethodGet, fmt.Sprintf("/admin/api/sessions?userId=%d&state=active", ada), nil, true, auth)
	want(code, http.StatusOK, "list sessions")
	if n := len(list(sessions)); n != 1 {
		t.Fatalf("%d sessions of ada, want 1", n)
	}
	sess := list(sessions)[0].(map[string]any)
	if sess["userEmail"] != "ada@example.com" {
		t.Fatalf("userEmail = %v", sess["userEmail"])
	}
	sid := url.PathEscape(sess["id"].(string))
	code, _ = c.call(http.MethodGet, "/admin/api/sessions/"+sid, nil, true, auth)
	want(code, http.StatusOK, "show session")
	code, _ = c.call(http.MethodGet, "/admin/api/sessions?order=oldest&limit=1", nil, true, auth)
	want(code, http.StatusOK, "list sessions oldest first")

	// Clients, administrators, tokens and keys.
	code, cl := c.call(http.MethodPost, "/admin/api/clients", map[string]any{"id": "backend", "generateSecret": true, "grants": []string{"password"}}, true, auth)
	want(code, http.StatusCreated, "create client")
	if s, _ := cl["secret"].(string); len(s) < 32 {
		t.Fatalf("created client's secret = %q", s)
	}
	code, spa := c.call(http.MethodPost, "/admin/api/clients", map[string]any{"id": "spa", "requireDPoP": true}, true, auth)
	want(code, http.StatusCreated, "create a public client")
	if data(spa)["requireDPoP"] != true || data(spa)["confidential"] != false {
		t.Fatalf("created public client = %v, want requireDPoP", spa)
	}
	code, spa = c.call(http.MethodPatch, "/admin/api/clients/spa", map[string]any{"requireDPoP": false}, true, auth)
	want(code, http.StatusOK, "stop requiring DPoP")
	if cl, err := svc.Client(ctx, "spa"); err != nil || cl.RequireDPoP || data(spa)["requireDPoP"] != false {
		t.Fatalf("after PATCH requireDPoP false: %v, %+v %v", spa, cl, err)
	}
	// A misspelt member is refused, not dropped, and changes nothing.
	code, bad := c.call(http.MethodPatch, "/admin/api/clients/spa", map[string]any{"requireDpop": true}, false, auth)
	want(code, http.StatusBadRequest, "PATCH with a misspelt member")
	if msg, _ := bad["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "requireDpop") {
		t.Fatalf("the refusal does not name the member: %v", bad)
	}
	code, _ = c.call(http.MethodPost, "/admin/api/clients", map[string]any{"id": "typo", "grant": []string{"password"}}, false, auth)
	want(code, http.StatusBadRequest, "POST with an unknown member")
	if cl, err := svc.Client(ctx, "spa"); err != nil || cl.RequireDPoP {
		t.Fatalf("a refused PATCH changed the client: %+v %v", cl, err)
	}
	if _, err := svc.Client(ctx, "typo"); err == nil {
		t.Fatal("a refused POST created a client")
	}
	code, _ = c.call(http.MethodGet, "/admin/api/clients", nil, true, auth)
	want(code, http.StatusOK, "list clients")
	code, _ = c.call(http.MethodGet, "/admin/api/clients/backend", nil, true, auth)
	want(code, http.StatusOK, "show client")
	code, second := c.call(http.MethodPost, "/admin/api/admins", map[string]any{"email": "second@example.com", "password": "another long password"}, true, auth)
	want(code, http.StatusCreated, "create admin")
	secondID := int64(data(second)["id"].(float64))
	code, _ = c.call(http.MethodGet, "/admin/api/admins", nil, true, auth)
	want(code, http.StatusOK, "list admins")
	code, _ = c.call(http.MethodGet, fmt.Sprintf("/admin/api/admins/%d", secondID), nil, true, auth)
	want(code, http.StatusOK, "show admin")
	code, tk := c.call(http.MethodPost, "/admin/api/tokens", map[string]any{"name": "for second", "ttl": "720h", "adminId": secondID}, true, auth)
	want(code, http.StatusCreated, "create token")
	secondToken := tk["token"].(string)
	if !strings.HasPrefix(secondToken, "rfa_") || data(tk)["expiresAt"] == nil {
		t.Fatalf("created token = %v", tk)
	}
	code, _ = c.call(http.MethodGet, "/admin/api/tokens", nil, true, auth)
	want(code, http.StatusOK, "list tokens")
	code, _ = c.call(http.MethodGet, fmt.Sprintf("/admin/api/tokens?adminId=%d", secondID), nil, true, auth)
	want(code, http.StatusOK, "list one administrator's tokens")
	code, keys := c.call(http.MethodGet, "/admin/api/keys", nil, true, auth)
	want(code, http.StatusOK, "list keys")
	if n := len(list(keys)); n != 1 {
		t.Fatalf("%d keys, want 1", n)
	}
	exerciseProvidersAPI(t, c, svc, auth)
	svc.FlushAudit(ctx)
	code, audit := c.call(http.MethodGet, "/admin/api/audit?type=client.create&from=2000-01-01", nil, true, auth)
	want(code, http.StatusOK, "audit")
	if n := len(list(audit)); n != 2 {
		t.Fatalf("%d client.create events, want 2", n)
	}
	code, audit = c.call(http.MethodGet, "/admin/api/audit?user=ada@example.com", nil, true, auth)
	want(code, http.StatusOK, "audit of a user")
	if evs := list(audit); len(evs) == 0 || evs[0].(map[string]any)["userEmail"] != "ada@example.com" {
		t.Fatalf("ada's events = %v, want them named by email", evs)
	}

	// Every bad input is a 4xx that changes nothing.
	before := adminState(t, svc)
	for _, bad := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"POST", "/admin/api/users", map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse"}, 400},
		{"POST", "/admin/api/users", map[string]any{"username": "x", "email": "nope", "password": "1"}, 400},
		{"POST", "/admin/api/users", `{"username":`, 400},
		{"POST", "/admin/api/users", map[string]any{"username": 5}, 400},
		{"GET", "/admin/api/users?limit=0", nil, 400},
		{"GET", "/admin/api/users?limit=501", nil, 400},
		{"GET", "/admin/api/users?order=sideways", nil, 400},
		{"GET", "/admin/api/users?after=x", nil, 400},
		{"GET", "/admin/api/users?after=3&before=4", nil, 400},
		{"GET", "/admin/api/users/999999", nil, 404},
		{"GET", "/admin/api/users/abc", nil, 404},
		{"DELETE", "/admin/api/users/999999", nil, 404},
		{"POST", "/admin/api/users/999999/block", nil, 404},
		{"POST", "/admin/api/users/999999/unblock", nil, 404},
		{"POST", fmt.Sprintf("/admin/api/users/%d/password", ada), map[string]any{"password": "123"}, 400},
		{"POST", fmt.Sprintf("/admin/api/users/%d/password", ada), map[string]any{}, 400},
		{"POST", "/admin/api/users/999999/password", map[string]any{"password": "correct horse battery"}, 404},
		{"DELETE", "/admin/api/users/999999/sessions", nil, 404},
		{"GET", "/admin/api/sessions?state=sleepy", nil, 400},
		{"GET", "/admin/api/sessions?userId=x", nil, 400},
		{"GET", "/admin/api/sessions?after=garbage", nil, 400},
		{"GET", "/admin/api/sessions/nope", nil, 404},
		{"DELETE", "/admin/api/sessions/nope", nil, 404},
		{"POST", "/admin/api/clients", map[string]any{"id": "backend"}, 400},
		{"POST", "/admin/api/clients", map[string]any{"id": "bad id!"}, 400},
		{"POST", "/admin/api/clients", map[string]any{"id": "short", "secret": "too short"}, 400},
		{"POST", "/admin/api/clients", map[string]any{"id": "g", "grants": []string{"implicit"}}, 400},
		{"GET", "/admin/api/clients/nope", nil, 404},
		{"DELETE", "/admin/api/clients/nope", nil, 404},
		{"PATCH", "/admin/api/clients/nope", map[string]any{"requireDPoP": true}, 404},
		{"PATCH", "/admin/api/clients/spa", map[string]any{}, 400},
		{"PATCH", "/admin/api/clients/spa", map[string]any{"requireDPoP": "yes"}, 400},
		{"POST", "/admin/api/admins", map[string]any{"email": "ops@example.com", "password": "a long admin password"}, 400},
		{"POST", "/admin/api/admins", map[string]any{"email": "x@example.com", "password": "short"}, 400},
		{"GET", "/admin/api/admins/999999", nil, 404},
		{"DELETE", "/admin/api/admins/999999", nil, 404},
		{"POST", fmt.Sprintf("/admin/api/admins/%d/password", secondID), map[string]any{"password": "short"}, 400},
		{"POST", "/admin/api/admins/999999/password", map[string]any{"password": "long enough password"}, 404},
		{"POST", "/admin/api/tokens", map[string]any{"name": ""}, 400},
		{"POST", "/admin/api/tokens", map[string]any{"name": "x", "ttl": "forever"}, 400},
		{"POST", "/admin/api/tokens", map[string]any{"name": "x", "ttl": "-1h"}, 400},
		{"POST", "/admin/api/tokens", map[string]any{"name": "x", "adminId": 999999}, 400},
		{"GET", "/admin/api/tokens?adminId=x", nil, 400},
		{"DELETE", "/admin/api/tokens/999999", nil, 404},
		{"GET", "/admin/api/audit?from=yesterday", nil, 400},
		{"GET", "/admin/api/audit?from=2026-12-06&to=2026-12-01", nil, 400},
		{"GET", "/admin/api/audit?user=nobody@example.com", nil, 400},
		{"GET", "/admin/api/audit?after=zzz", nil, 400},
		{"PUT", "/admin/api/users", nil, 405},
	} {
		code, _ := c.call(bad.method, bad.path, bad.body, false, auth)
		if code != bad.status {
			t.Errorf("%s %s: status %d, want %d", bad.method, bad.path, code, bad.status)
		}
	}
	code, _ = c.call(http.MethodPost, "/admin/api/users", `{}`, false, map[string]string{"Authorization": auth["Authorization"], "Content-Type": "text/plain"})
	want(code, http.StatusUnsupportedMediaType, "wrong content type")
	code, _ = c.call(http.MethodPost, "/admin/api/users", `{"username":"`+strings.Repeat("a", 70<<10)+`"}`, false, auth)
	want(code, http.StatusRequestEntityTooLarge, "body too large")
	if after := adminState(t, svc); after != before {
		t.Fatalf("refused requests changed the state:\nbefore %s\nafter  %s", before, after)
	}

	// The changes.
	code, _ = c.call(http.MethodPost, fmt.Sprintf("/admin/api/users/%d/block", ada), nil, true, auth)
	want(code, http.StatusOK, "block")
	code, _ = c.call(http.MethodPost, fmt.Sprintf("/admin/api/users/%d/unblock", ada), nil, true, auth)
	want(code, http.StatusOK, "unblock")
	code, _ = c.call(http.MethodPost, "/api/auth/local", map[string]any{"identifier": "ada", "password": "correct horse"}, true, nil)
	want(code, http.StatusOK, "login after unblock")
	code, _ = c.call(http.MethodDelete, "/admin/api/sessions/"+sid, nil, true, auth)
	want(code, http.StatusOK, "revoke a session")
	code, rev := c.call(http.MethodDelete, fmt.Sprintf("/admin/api/users/%d/sessions", ada), nil, true, auth)
	want(code, http.StatusOK, "sign out everywhere")
	if got := data(rev)["revoked"]; got != float64(1) {
		t.Fatalf("revoked = %v, want 1 (the login after unblocking)", got)
	}
	code, _ = c.call(http.MethodPost, fmt.Sprintf("/admin/api/users/%d/password", ada), map[string]any{"password": "battery staple"}, true, auth)
	want(code, http.StatusOK, "set password")
	code, _ = c.call(http.MethodPost, "/api/auth/local", map[string]any{"identifier": "ada", "password": "battery staple"}, true, nil)
	want(code, http.StatusOK, "login with the new password")
	code, _ = c.call(http.MethodPost, fmt.Sprintf("/admin/api/admins/%d/password", secondID), map[string]any{"password": "a brand new password"}, true, auth)
	want(code, http.StatusNoContent, "reset admin password")
	code, rot := c.call(http.MethodPost, "/admin/api/keys/rotate", nil, true, auth)
	want(code, http.StatusCreated, "rotate key")
	if data(rot)["state"] != "signing" {
		t.Fatalf("rotated key = %v", rot)
	}
	code, _ = c.call(http.MethodDelete, "/admin/api/clients/spa", nil, true, auth)
	want(code, http.StatusNoContent, "delete client")
	code, toks := c.call(http.MethodGet, fmt.Sprintf("/admin/api/tokens?adminId=%d", secondID), nil, true, auth)
	want(code, http.StatusOK, "list tokens")
	secondTokenID := int64(list(toks)[0].(map[string]any)["id"].(float64))
	second2 := map[string]string{"Authorization": "Bearer " + secondToken}
	code, _ = c.call(http.MethodGet, "/admin/api/keys", nil, true, second2)
	want(code, http.StatusOK, "the second administrator's token works")
	code, _ = c.call(http.MethodDelete, fmt.Sprintf("/admin/api/tokens/%d", secondTokenID), nil, true, auth)
	want(code, http.StatusNoContent, "revoke token")
	code, _ = c.call(http.MethodGet, "/admin/api/keys", nil, false, second2)
	want(code, http.StatusUnauthorized, "a revoked token")
	code, _ = c.call(http.MethodDelete, fmt.Sprintf("/admin/api/admins/%d", secondID), nil, true, auth)
	want(code, http.StatusNoContent, "delete admin")
	code, _ = c.call(http.MethodDelete, fmt.Sprintf("/admin/api/admins/%d", ops.ID), nil, false, auth)
	want(code, http.StatusBadRequest, "delete the last admin")
	code, _ = c.call(http.MethodDelete, fmt.Sprintf("/admin/api/users/%d", ada), nil, true, auth)
	want(code, http.StatusNoContent, "delete user")

	// No CORS on the admin API, whatever the Origin.
	req, _ := http.NewRequest(http.MethodGet, c.base+"/admin/api/users", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Authorization", auth["Authorization"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for k := range res.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("the admin API answered with %s", k)
		}
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", res.Header.Get("Cache-Control"))
	}

	// Every admin API operation of the contract was exercised.
	v.mu.Lock()
	defer v.mu.Unlock()
	for path, item := range v.c.doc.Paths.Map() {
		if !strings.HasPrefix(path, "/admin/api/") {
			continue
		}
		for method, op := range item.Operations() {
			if !v.seen[op.OperationID] {
				t.Errorf("%s %s (%s) was never exercised", method, path, op.OperationID)
			}
		}
	}
}

// adminState is everything the admin API can change, as one string.
func adminState(t *testing.T, svc *refreshing.Service) string {
	t.Helper()
	ctx := t.Context()
	users, err := svc.FindUsers(ctx, refreshing.UserQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := svc.FindSessions(ctx, refreshing.SessionQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	clients, err := svc.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admins, err := svc.Admins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := svc.AdminTokens(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := svc.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal([]any{users, sessions, clients, admins, tokens, keys, time.Duration(0)})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// exerciseProvidersAPI drives /admin/api/providers: save, read, change
// without the secret (kept), refusals that change nothing, delete.
func exerciseProvidersAPI(t *testing.T, c *apiClient, svc *refreshing.Service, auth map[string]string) {
	t.Helper()
	data := func(m map[string]any) map[string]any { t.Helper(); return dataOf(t, m) }
	list := func(m map[string]any) []any { t.Helper(); return listOf(t, m) }
	ctx := t.Context()
	const secret = "provider-secret-3f9a"
	stored := func() refreshing.ProviderConfig {
		t.Helper()
		p, err := svc.SignInProvider(ctx, "corp")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	noSecret := func(what string, body map[string]any) {
		t.Helper()
		if b, _ := json.Marshal(body); strings.Contains(string(b), secret) {
			t.Fatalf("%s answers the client secret: %s", what, b)
		}
	}
	// Nobody listens at the issuer: saved, with a warning.
	code, p := c.call(http.MethodPut, "/admin/api/providers/corp", map[string]any{"issuer": "http://127.0.0.1:9/realms/main",
		"clientId": "refreshing", "clientSecret": secret, "redirectUrls": []string{"https://app.example/signed-in"}}, true, auth)
	if code != http.StatusOK || data(p)["clientSecretSet"] != true || data(p)["source"] != "settings" || data(p)["type"] != "oidc" {
		t.Fatalf("save provider: %d %v", code, p)
	}
	if w, _ := p["warning"].(string); !strings.Contains(w, "discovery document cannot be read") {
		t.Fatalf("save of an issuer nobody answers: warning %q", p["warning"])
	}
	noSecret("PUT", p)
	code, all := c.call(http.MethodGet, "/admin/api/providers", nil, true, auth)
	if code != http.StatusOK || len(list(all)) != 1 {
		t.Fatalf("list providers: %d %v", code, all)
	}
	noSecret("GET list", all)
	code, one := c.call(http.MethodGet, "/admin/api/providers/corp", nil, true, auth)
	if code != http.StatusOK || data(one)["clientId"] != "refreshing" {
		t.Fatalf("show provider: %d %v", code, one)
	}
	noSecret("GET", one)
	// What GET answered goes back as is, with one change: the secret stays.
	back := data(one)
	back["clientId"] = "refreshing-2"
	code, p = c.call(http.MethodPut, "/admin/api/providers/corp", back, true, auth)
	if code != http.StatusOK || stored().ClientID != "refreshing-2" || stored().ClientSecret != secret {
		t.Fatalf("save without a secret: %d %v; stored %+v", code, p, stored())
	}
	before := stored()
	for name, body := range map[string]any{
		"Misspelt":     map[string]any{"issuer": "http://127.0.0.1:9", "clientId": "x", "clientSecrte": "typo"},
		"OtherName":    map[string]any{"name": "other", "issuer": "http://127.0.0.1:9", "clientId": "x"},
		"BadIssuer":    map[string]any{"issuer": "ftp://127.0.0.1:9", "clientId": "x"},
		"NoClientID":   map[string]any{"issuer": "http://127.0.0.1:9"},
		"BadRedirect":  map[string]any{"issuer": "http://127.0.0.1:9", "clientId": "x", "redirectUrls": []string{"/relative"}},
		"UnknownType":  map[string]any{"type": "saml", "issuer": "http://127.0.0.1:9", "clientId": "x"},
		"NotAnObject":  `["corp"]`,
		"WrongTypeMem": map[string]any{"issuer": "http://127.0.0.1:9", "clientId": 7},
	} {
		if code, _ := c.call(http.MethodPut, "/admin/api/providers/corp", body, false, auth); code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, code)
		}
	}
	if code, _ := c.call(http.MethodPut, "/admin/api/providers/Bad%20Name", map[string]any{"issuer": "http://127.0.0.1:9", "clientId": "x"}, false, auth); code != http.StatusBadRequest {
		t.Errorf("a bad name in the path: %d, want 400", code)
	}
	if after := stored(); !reflect.DeepEqual(after, before) {
		t.Fatalf("refused saves changed the provider: %+v, was %+v", after, before)
	}
	code, _ = c.call(http.MethodDelete, "/admin/api/providers/corp", nil, true, auth)
	if code != http.StatusNoContent {
		t.Fatalf("delete provider: %d", code)
	}
	for what, req := range map[string]string{"delete again": http.MethodDelete, "show deleted": http.MethodGet} {
		if code, _ := c.call(req, "/admin/api/providers/corp", nil, true, auth); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", what, code)
		}
	}
	// An issuer that answers: no warning.
	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Shutdown() })
	code, p = c.call(http.MethodPut, "/admin/api/providers/live", map[string]any{"issuer": op.Issuer(), "clientId": op.ClientID}, true, auth)
	if code != http.StatusOK || p["warning"] != nil {
		t.Fatalf("save of a provider that answers: %d %v", code, p)
	}
	if code, _ := c.call(http.MethodDelete, "/admin/api/providers/live", nil, true, auth); code != http.StatusNoContent {
		t.Fatalf("delete live: %d", code)
	}
	svc.FlushAudit(ctx)
	code, audit := c.call(http.MethodGet, "/admin/api/audit?type=provider.save&from=2000-01-01", nil, true, auth)
	if code != http.StatusOK || len(list(audit)) != 3 {
		t.Fatalf("provider.save events: %d %v, want 3", code, audit)
	}
	noSecret("the audit log", audit)
}

// dataOf is the admin API answer's data object.
func dataOf(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	d, ok := m["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %v", m)
	}
	return d
}

// listOf is the admin API answer's data array.
func listOf(t *testing.T, m map[string]any) []any {
	t.Helper()
	d, ok := m["data"].([]any)
	if !ok {
		t.Fatalf("no data array in %v", m)
	}
	return d
}
