package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/metrics"
	"github.com/refreshing/refreshing/internal/server"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// contract is the OpenAPI document as the running server serves it, with a
// router over its operations.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

// loadContract fetches GET /openapi.json from base, checks that it is a
// valid OpenAPI 3.1 document, and points its server at base.
func loadContract(t *testing.T, base string) *contract {
	t.Helper()
	res, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.json is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &contract{doc: doc, router: router}
}

// validRequest marks a request the test believes valid: the contract must
// accept it, as well as the answer to it.
type validRequestKey struct{}

// conformance is an http.RoundTripper that checks every answer against the
// contract: its status must be documented for the operation, and its body
// must match the documented schema. It records which operations it saw.
type conformance struct {
	t    *testing.T
	c    *contract
	base http.RoundTripper

	mu      sync.Mutex
	seen    map[string]bool // operation id -> answered and checked
	missing map[string]bool // operation id -> not served by this build (the router's 404)
}

func (v *conformance) RoundTrip(req *http.Request) (*http.Response, error) {
	v.t.Helper()
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := v.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))

	check := req.Clone(context.Background())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.c.router.FindRoute(check)
	if err != nil {
		if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed {
			return res, nil // a path or method the contract does not have, and the server refused it
		}
		v.t.Errorf("%s %s answered %d but is not in openapi.json: %v", req.Method, req.URL.Path, res.StatusCode, err)
		return res, nil
	}
	op := route.Operation.OperationID
	if res.StatusCode == http.StatusNotFound && route.Operation.Responses.Status(http.StatusNotFound) == nil &&
		bytes.Contains(resBody, []byte(`"message":"Not Found"`)) {
		v.mu.Lock()
		v.missing[op] = true
		v.mu.Unlock()
		return res, nil
	}
	input := &openapi3filter.RequestValidationInput{
		Request: check, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if valid, _ := req.Context().Value(validRequestKey{}).(bool); valid {
		if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
			v.t.Errorf("%s %s: the contract refuses a valid request %s: %v", req.Method, req.URL.Path, reqBody, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input, Status: res.StatusCode, Header: res.Header,
		Body:    io.NopCloser(bytes.NewReader(resBody)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.t.Errorf("%s %s (%s): the answer drifted from openapi.json: %d %.300s\n%.2000v", req.Method, req.URL.Path, op, res.StatusCode, resBody, err)
	}
	if resp := route.Operation.Responses.Status(res.StatusCode); resp != nil && len(resp.Value.Content) == 0 && len(resBody) > 0 {
		v.t.Errorf("%s %s: %d has a body %q where the contract has none", req.Method, req.URL.Path, res.StatusCode, resBody)
	}
	v.mu.Lock()
	v.seen[op] = true
	v.mu.Unlock()
	return res, nil
}

// apiClient talks to the server under test through the conformance check.
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
}

// call sends a request; body is JSON-encoded unless it is a string (sent
// raw) or url.Values (a form). valid says the test believes it valid.
func (c *apiClient) call(method, path string, body any, valid bool, header map[string]string) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	ctx := context.WithValue(context.Background(), validRequestKey{}, valid)
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(res.Body)
	json.Unmarshal(raw, &m)
	return res.StatusCode, m
}

// contractServer starts the server on a real listener and SQLite, with
// settings edited by mod, and a client whose every answer is checked.
func contractServer(t *testing.T, mod func(*refreshing.Settings)) (*apiClient, *conformance) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, v, _ := contractServerOn(t, st, mod)
	return c, v
}

// contractServerOn is contractServer on the store st; it also returns the
// Service, for what a test must set up beside HTTP (an administrator).
func contractServerOn(t *testing.T, st refreshing.Store, mod func(*refreshing.Settings)) (*apiClient, *conformance, *refreshing.Service) {
	t.Helper()
	settings := refreshing.DefaultSettings()
	if mod != nil {
		mod(&settings)
	}
	m := metrics.New()
	svc, err := refreshing.New(t.Context(), refreshing.Config{
		Store: m.Store(st), Settings: &settings, Observer: m,
		Hasher: refreshing.NewHasher(refreshing.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	srv := httptest.NewServer(server.New(svc, server.Options{Metrics: m, BridgeSecret: testBridgeSecret}))
	t.Cleanup(srv.Close)
	v := &conformance{t: t, c: loadContract(t, srv.URL), base: srv.Client().Transport,
		seen: map[string]bool{}, missing: map[string]bool{}}
	client := &http.Client{Transport: v, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &apiClient{t: t, base: srv.URL, http: client}, v, svc
}

// TestOpenAPI drives every operation of the contract through the running
// server and checks each answer, errors included, against openapi.json.
func TestOpenAPI(t *testing.T) {
	c, v := contractServer(t, nil)
	want := func(got, status int, what string) {
		t.Helper()
		if got != status {
			t.Fatalf("%s: status %d, want %d", what, got, status)
		}
	}
	bearer := func(jwt string) map[string]string { return map[string]string{"Authorization": "Bearer " + jwt} }

	// Operations.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/.well-known/jwks.json", "/.well-known/oauth-authorization-server"} {
		code, _ := c.call(http.MethodGet, p, nil, true, nil)
		if code != http.StatusOK && code != http.StatusNotFound {
			t.Errorf("GET %s = %d", p, code)
		}
	}

	// Provider sign-in (oidc, issue 22): no provider is configured here;
	// signin_test.go checks the whole flow against the contract.
	for _, p := range []string{"/api/connect/nope", "/api/auth/nope/callback?code=c&state=s"} {
		code, _ := c.call(http.MethodGet, p, nil, true, nil)
		want(code, http.StatusNotFound, "GET "+p)
	}

	// Accounts.
	code, reg := c.call(http.MethodPost, "/api/auth/local/register", map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse"}, true, nil)
	want(code, http.StatusOK, "register")
	jwt, _ := reg["jwt"].(string)
	code, _ = c.call(http.MethodPost, "/api/auth/local/register", map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse"}, true, nil)
	want(code, http.StatusBadRequest, "register taken")
	code, _ = c.call(http.MethodPost, "/api/auth/local/register", map[string]any{"username": "x", "email": "bad", "password": "1"}, false, nil)
	want(code, http.StatusBadRequest, "register invalid")
	code, _ = c.call(http.MethodPost, "/api/auth/local/register", `{"username":`, false, nil)
	want(code, http.StatusBadRequest, "malformed JSON")
	code, _ = c.call(http.MethodPost, "/api/auth/local/register", `{}`, false, map[string]string{"Content-Type": "text/plain"})
	want(code, http.StatusUnsupportedMediaType, "wrong content type")
	code, _ = c.call(http.MethodPost, "/api/auth/local", `{"identifier":"`+strings.Repeat("a", 70<<10)+`"}`, false, nil)
	want(code, http.StatusRequestEntityTooLarge, "body too large")

	code, login := c.call(http.MethodPost, "/api/auth/local", map[string]any{"identifier": "ada@example.com", "password": "correct horse", "deviceId": "phone"}, true, nil)
	want(code, http.StatusOK, "login")
	refresh, _ := login["refreshToken"].(string)
	code, _ = c.call(http.MethodPost, "/api/auth/local", map[string]any{"identifier": "ada", "password": "wrong horse"}, true, nil)
	want(code, http.StatusBadRequest, "login with a wrong password")

	code, _ = c.call(http.MethodGet, "/api/users/me", nil, true, bearer(jwt))
	want(code, http.StatusOK, "me")
	code, _ = c.call(http.MethodGet, "/api/users/me", nil, false, nil)
	want(code, http.StatusUnauthorized, "me without a token")

	// Refresh tokens.
	code, tr := c.call(http.MethodPost, "/api/auth/token/request", map[string]any{"identifier": "ada", "password": "correct horse", "description": "cli"}, true, nil)
	want(code, http.StatusOK, "token request")
	requested, _ := tr["refreshToken"].(string)
	code, ex := c.call(http.MethodPost, "/api/auth/token", map[string]any{"token": refresh}, true, nil)
	want(code, http.StatusOK, "exchange")
	refresh, _ = ex["refreshToken"].(string)
	code, _ = c.call(http.MethodPost, "/api/auth/token", map[string]any{"token": "rt_garbage"}, true, nil)
	want(code, http.StatusUnauthorized, "exchange of garbage")
	code, _ = c.call(http.MethodPost, "/api/auth/revoke", map[string]any{"token": "unknown"}, true, nil)
	want(code, http.StatusOK, "revoke of an unknown token")

	// Sessions.
	code, _ = c.call(http.MethodGet, "/api/users/me/sessions", nil, true, bearer(jwt))
	want(code, http.StatusOK, "sessions")
	code, _ = c.call(http.MethodDelete, "/api/users/me/sessions/"+url.PathEscape(sessionIDs(t, c, jwt)["cli"]), nil, true, bearer(jwt))
	want(code, http.StatusNoContent, "delete a session")
	code, _ = c.call(http.MethodDelete, "/api/users/me/sessions/nope", nil, true, bearer(jwt))
	want(code, http.StatusNotFound, "delete an unknown session")
	code, _ = c.call(http.MethodDelete, "/api/users/me/sessions?scope=sideways", nil, false, bearer(jwt))
	want(code, http.StatusBadRequest, "delete sessions with a bad scope")

	// Strapi 5.
	code, rf := c.call(http.MethodPost, "/api/auth/refresh", map[string]any{"refreshToken": refresh}, true, nil)
	want(code, http.StatusOK, "refresh")
	refresh, _ = rf["refreshToken"].(string)
	code, _ = c.call(http.MethodPost, "/api/auth/refresh", nil, true, nil)
	want(code, http.StatusUnauthorized, "refresh without a token")
	// The refresh-token plugin's path (cutover.go) exchanges ours too.
	code, rf = c.call(http.MethodPost, "/api/auth/local/refresh", map[string]any{"refreshToken": refresh}, true, nil)
	want(code, http.StatusOK, "refresh-token plugin's refresh")
	refresh, _ = rf["refreshToken"].(string)
	code, _ = c.call(http.MethodPost, "/api/auth/local/refresh", map[string]any{"refreshToken": "eyJhbGciOiJIUzI1NiJ9.e30.x"}, true, nil)
	want(code, http.StatusUnauthorized, "refresh-token plugin's refresh of an unknown token")

	// OAuth 2.0, on the session of the login.
	code, ot := c.call(http.MethodPost, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, true, nil)
	if code == http.StatusOK {
		refresh, _ = ot["refresh_token"].(string)
	}
	c.call(http.MethodPost, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, true, nil)
	c.call(http.MethodPost, "/oauth/token", url.Values{"grant_type": {"password"}, "username": {"ada"}, "password": {"correct horse"}}, true, nil)
	c.call(http.MethodPost, "/oauth/revoke", url.Values{"token": {"unknown"}}, true, nil)
	c.call(http.MethodPost, "/oauth/introspect", url.Values{"token": {refresh}}, true, nil)

	code, _ = c.call(http.MethodPost, "/api/auth/logout", map[string]any{"refreshToken": requested}, true, nil) // already signed out: still 200
	want(code, http.StatusOK, "logout")
	code, _ = c.call(http.MethodDelete, "/api/users/me/sessions?scope=others", nil, true, bearer(jwt))
	want(code, http.StatusNoContent, "sign out elsewhere")

	code, cp := c.call(http.MethodPost, "/api/auth/change-password", map[string]any{"currentPassword": "correct horse", "password": "battery staple", "passwordConfirmation": "battery staple"}, true, bearer(jwt))
	want(code, http.StatusOK, "change password")
	jwt, _ = cp["jwt"].(string)
	code, _ = c.call(http.MethodPost, "/api/auth/change-password", map[string]any{"currentPassword": "wrong", "password": "battery staple2", "passwordConfirmation": "battery staple2"}, true, bearer(jwt))
	want(code, http.StatusBadRequest, "change password with a wrong current one")
	code, _ = c.call(http.MethodPost, "/api/auth/reauthenticate", map[string]any{"password": "battery staple"}, true, bearer(jwt))
	want(code, http.StatusOK, "reauthenticate")
	code, _ = c.call(http.MethodPost, "/api/auth/reauthenticate", map[string]any{"password": "wrong"}, true, bearer(jwt))
	want(code, http.StatusBadRequest, "reauthenticate with a wrong password")

	// The Strapi bridge, as the refreshing Strapi plugin calls it.
	bridge := map[string]string{"Authorization": "Bearer " + testBridgeSecret}
	code, bu := c.call(http.MethodPost, "/api/bridge/users", map[string]any{"username": "carol", "email": "carol@example.com", "passwordHash": "$2a$10$abcdefghijklmnopqrstuuOKpPXrGgh8pZD2UHz7vqMgcF0YlB/9e", "confirmed": true}, true, bridge)
	want(code, http.StatusCreated, "bridge create")
	carol := fmt.Sprintf("/api/bridge/users/%d", int64(bu["id"].(float64)))
	code, _ = c.call(http.MethodPost, "/api/bridge/users", map[string]any{"username": "carol", "email": "carol@example.com"}, true, bridge)
	want(code, http.StatusBadRequest, "bridge create taken")
	code, _ = c.call(http.MethodGet, carol, nil, true, bridge)
	want(code, http.StatusOK, "bridge check")
	code, _ = c.call(http.MethodGet, carol, nil, true, nil)
	want(code, http.StatusUnauthorized, "bridge check without the secret")
	code, _ = c.call(http.MethodPatch, carol, map[string]any{"blocked": true}, true, bridge)
	want(code, http.StatusOK, "bridge block")
	code, _ = c.call(http.MethodGet, carol, nil, true, bridge)
	want(code, http.StatusUnauthorized, "bridge check of a blocked user")
	code, _ = c.call(http.MethodPost, "/api/auth/code", map[string]any{"code": "not-a-code"}, true, nil)
	want(code, http.StatusBadRequest, "sign-in code unknown")
	code, _ = c.call(http.MethodPost, "/api/bridge/sign-in", map[string]any{"provider": "github", "documentId": "strapi-doc-olga", "username": "olga", "email": "olga@example.com"}, true, bridge)
	want(code, http.StatusOK, "bridge provider sign-in")
	code, _ = c.call(http.MethodPost, "/api/bridge/sign-in", map[string]any{"provider": "github", "documentId": "strapi-doc-x", "username": "x", "email": "carol@example.com"}, true, bridge)
	want(code, http.StatusBadRequest, "bridge provider sign-in with another account's email")
	code, _ = c.call(http.MethodDelete, carol, nil, true, bridge)
	want(code, http.StatusNoContent, "bridge delete")
	code, _ = c.call(http.MethodDelete, carol, nil, true, bridge)
	want(code, http.StatusNotFound, "bridge delete again")
	// The account life cycle (no mail server here: forgot-password answers
	// 500 as Strapi does without an email provider) and Strapi 5.54's sessions.
	code, _ = c.call(http.MethodPost, "/api/auth/forgot-password", map[string]any{"email": "ada@example.com"}, true, nil)
	want(code, http.StatusInternalServerError, "forgot-password without a mail server")
	code, _ = c.call(http.MethodPost, "/api/auth/forgot-password", map[string]any{"email": "not an email"}, true, nil)
	want(code, http.StatusBadRequest, "forgot-password with a bad address")
	code, _ = c.call(http.MethodPost, "/api/auth/reset-password", map[string]any{"code": "nope", "password": "battery staple", "passwordConfirmation": "battery staple"}, true, nil)
	want(code, http.StatusBadRequest, "reset-password with a wrong code")
	code, _ = c.call(http.MethodGet, "/api/auth/email-confirmation?confirmation=nope", nil, true, nil)
	want(code, http.StatusBadRequest, "email-confirmation with a wrong code")
	code, _ = c.call(http.MethodPost, "/api/auth/send-email-confirmation", map[string]any{"email": "nobody@example.com"}, true, nil)
	want(code, http.StatusOK, "send-email-confirmation for an unknown address")
	code, _ = c.call(http.MethodGet, "/api/auth/sessions", nil, true, bearer(jwt))
	want(code, http.StatusOK, "Strapi sessions")
	code, _ = c.call(http.MethodDelete, "/api/auth/sessions/nope", nil, true, bearer(jwt))
	want(code, http.StatusNotFound, "Strapi revoke of an unknown session")

	// Every operation of the contract was exercised, or is not served by
	// this build yet (said in the log, so that it shows).
	v.mu.Lock()
	defer v.mu.Unlock()
	for path, item := range v.c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			switch {
			case strings.HasPrefix(path, "/admin"): // the screens, and the admin API (adminapi_test.go)
			case v.missing[op.OperationID]:
				t.Logf("%s %s (%s) is in the contract but not served by this build", method, path, op.OperationID)
			case !v.seen[op.OperationID]:
				t.Errorf("%s %s (%s) was never exercised", method, path, op.OperationID)
			}
		}
	}
}

// sessionIDs returns the ids of the bearer's sessions by description.
func sessionIDs(t *testing.T, c *apiClient, jwt string) map[string]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+"/api/users/me/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list []struct {
		ID          string `json:"id"`
		Description string `json:"description"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, s := range list {
		ids[s.Description] = s.ID
	}
	return ids
}

// TestOpenAPIRateLimited checks the 429 answer's shape against the contract.
func TestOpenAPIRateLimited(t *testing.T) {
	c, _ := contractServer(t, func(s *refreshing.Settings) { s.RateLimitIP = 1 })
	var codes []int
	for range 3 {
		code, _ := c.call(http.MethodPost, "/api/auth/local", map[string]any{"identifier": "nobody", "password": "whatever"}, true, nil)
		codes = append(codes, code)
	}
	if !slices.Contains(codes, http.StatusTooManyRequests) {
		t.Fatalf("statuses %v: the limit of 1 never answered 429", codes)
	}
}

// routePattern matches a route registration in routes.go.
var routePattern = regexp.MustCompile(`mux\.Handle\("([A-Z]+) ([^"]+)"`)

// TestOpenAPIDescribesEveryRoute reads routes.go and fails for any route
// that the contract does not describe (the admin pages aside: they are HTML
// for people, described as one entry; the admin API is described).
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	routes := routePattern.FindAllStringSubmatch(string(src), -1)
	if len(routes) < 10 {
		t.Fatalf("found only %d routes in routes.go: has its form changed?", len(routes))
	}
	for _, m := range routes {
		method, path := m[1], m[2]
		if path == "/admin" || strings.HasPrefix(path, "/admin/") && !strings.HasPrefix(path, "/admin/api/") {
			continue
		}
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("%s %s is served (routes.go) but not described in openapi.json", method, path)
		}
	}
}
