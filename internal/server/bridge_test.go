package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/bridge"
)

const testBridgeSecret = "bridge-secret-for-tests-0123456789abcdef"

// bridgeCall is a call of the Strapi plugin to the bridge.
func (e *env) bridgeCall(method, path string, body any) response {
	e.t.Helper()
	return e.do(request{method: method, path: path, body: body, bearer: testBridgeSecret})
}

func TestBridgeClosedWithoutSecret(t *testing.T) {
	e := start(t, setup{})
	a := e.register("alice")
	r := e.do(request{method: http.MethodGet, path: fmt.Sprintf("/api/bridge/users/%d", int64(a.id)), bearer: testBridgeSecret})
	r.want(t, http.StatusNotFound, "NotFoundError", "")
}

func TestBridgeRefusesWrongSecret(t *testing.T) {
	e := start(t, setup{bridgeSecret: testBridgeSecret})
	a := e.register("alice")
	for _, bearer := range []string{"", testBridgeSecret + "x", strings.ToUpper(testBridgeSecret), a.jwt} {
		r := e.do(request{method: http.MethodGet, path: fmt.Sprintf("/api/bridge/users/%d", int64(a.id)), bearer: bearer})
		r.want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	}
	// Nothing changes for a caller without the secret.
	r := e.do(request{method: http.MethodDelete, path: fmt.Sprintf("/api/bridge/users/%d", int64(a.id)), bearer: "wrong"})
	r.want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: a.jwt}).want(t, http.StatusOK, "", "")
}

func TestBridgeCheck(t *testing.T) {
	e := start(t, setup{bridgeSecret: testBridgeSecret})
	a := e.register("alice")
	sid := sessionOf(t, e, a.jwt)
	path := fmt.Sprintf("/api/bridge/users/%d?session=%s", int64(a.id), sid)
	r := e.bridgeCall(http.MethodGet, path, nil)
	r.want(t, http.StatusOK, "", "")
	if got, want := r.str(t, "email"), a.email; got != want {
		t.Fatalf("email = %q, want %q", got, want)
	}
	t.Run("AnotherUsersSession", func(t *testing.T) {
		b := e.register("bob")
		e.bridgeCall(http.MethodGet, fmt.Sprintf("/api/bridge/users/%d?session=%s", int64(b.id), sid), nil).
			want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
	t.Run("SignedOut", func(t *testing.T) {
		e.do(request{method: http.MethodPost, path: "/api/auth/logout", bearer: a.jwt}).want(t, http.StatusOK, "", "")
		e.bridgeCall(http.MethodGet, path, nil).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
	t.Run("Unknown", func(t *testing.T) {
		e.bridgeCall(http.MethodGet, "/api/bridge/users/999", nil).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.bridgeCall(http.MethodGet, "/api/bridge/users/x", nil).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
	})
}

// sessionOf returns the sid claim of an access token (not verified: the server made it).
func sessionOf(t *testing.T, e *env, jwt string) string {
	t.Helper()
	list := e.sessions(jwt)
	for _, s := range list {
		if cur, _ := s["current"].(bool); cur {
			return s["id"].(string)
		}
	}
	if len(list) == 1 {
		return list[0]["id"].(string)
	}
	t.Fatalf("no current session in %v", list)
	return ""
}

func TestBridgeUserFromStrapiAdmin(t *testing.T) {
	e := start(t, setup{bridgeSecret: testBridgeSecret})
	hash, err := bcrypt.GenerateFromPassword([]byte("carol-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	r := e.bridgeCall(http.MethodPost, "/api/bridge/users", map[string]any{
		"documentId": "strapi-doc-carol", "username": "carol", "email": "Carol@Example.com", "passwordHash": string(hash), "confirmed": true,
	})
	r.want(t, http.StatusCreated, "", "")
	m := r.json(t)
	id := int64(m["id"].(float64))
	if got := m["documentId"]; got != "strapi-doc-carol" {
		t.Fatalf("documentId = %v", got)
	}
	carol := account{username: "carol", email: "carol@example.com", password: "carol-password"}
	carol = e.login(carol, nil)

	t.Run("ErrTaken", func(t *testing.T) {
		e.bridgeCall(http.MethodPost, "/api/bridge/users", map[string]any{"username": "carol", "email": "other@example.com"}).
			want(t, http.StatusBadRequest, "ApplicationError", "Email or Username are already taken")
		e.bridgeCall(http.MethodPost, "/api/bridge/users", map[string]any{"username": "other", "email": "carol@example.com"}).
			want(t, http.StatusBadRequest, "ApplicationError", "Email or Username are already taken")
	})
	t.Run("BadHash", func(t *testing.T) {
		e.bridgeCall(http.MethodPost, "/api/bridge/users", map[string]any{"username": "dan", "email": "dan@example.com", "passwordHash": "plain"}).
			wantField(t, "passwordHash")
	})
	t.Run("PasswordChangeEndsSessions", func(t *testing.T) {
		other := e.login(carol, nil)
		hash2, _ := bcrypt.GenerateFromPassword([]byte("carol-new-password"), bcrypt.MinCost)
		e.bridgeCall(http.MethodPatch, fmt.Sprintf("/api/bridge/users/%d", id), map[string]any{"passwordHash": string(hash2)}).
			want(t, http.StatusOK, "", "")
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: other.jwt}).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.post("/api/auth/local", map[string]any{"identifier": "carol", "password": "carol-password"}).want(t, http.StatusBadRequest, "ValidationError", "")
		carol.password = "carol-new-password"
		carol = e.login(carol, nil)
	})
	t.Run("BlockEndsSessions", func(t *testing.T) {
		e.bridgeCall(http.MethodPatch, fmt.Sprintf("/api/bridge/users/%d", id), map[string]any{"blocked": true}).want(t, http.StatusOK, "", "")
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: carol.jwt}).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.bridgeCall(http.MethodGet, fmt.Sprintf("/api/bridge/users/%d", id), nil).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.bridgeCall(http.MethodPatch, fmt.Sprintf("/api/bridge/users/%d", id), map[string]any{"blocked": false}).want(t, http.StatusOK, "", "")
		carol = e.login(carol, nil)
	})
	t.Run("Delete", func(t *testing.T) {
		e.bridgeCall(http.MethodDelete, fmt.Sprintf("/api/bridge/users/%d", id), nil).want(t, http.StatusNoContent, "", "")
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: carol.jwt}).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.bridgeCall(http.MethodDelete, fmt.Sprintf("/api/bridge/users/%d", id), nil).want(t, http.StatusNotFound, "NotFoundError", "")
		e.bridgeCall(http.MethodPatch, fmt.Sprintf("/api/bridge/users/%d", id), map[string]any{"blocked": true}).want(t, http.StatusNotFound, "NotFoundError", "")
	})
}

// fakeStrapi is the plugin's profile endpoint, answering with status, and
// recording what it was sent.
type fakeStrapi struct {
	mu       sync.Mutex
	status   int
	body     string
	got      []map[string]any
	authOK   bool
	requests int
}

func (f *fakeStrapi) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.authOK = r.URL.Path == bridge.ProfilesPath && r.Header.Get("Authorization") == "Bearer "+testBridgeSecret
	raw, _ := io.ReadAll(r.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	f.got = append(f.got, m)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	io.WriteString(w, f.body)
}

func TestRegisterCreatesTheStrapiProfile(t *testing.T) {
	fs := &fakeStrapi{status: http.StatusOK, body: `{"id":41}`}
	strapi := httptest.NewServer(fs)
	defer strapi.Close()
	bc, err := bridge.New(strapi.URL, testBridgeSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, setup{bridgeSecret: testBridgeSecret, profiles: bc})
	e.remember(testBridgeSecret)

	r := e.post("/api/auth/local/register", map[string]any{
		"username": "alice", "email": "alice@example.com", "password": "alice-password",
		"favoriteColor": "red", "luckyNumber": 7, "role": "admin",
	})
	r.want(t, http.StatusOK, "", "")
	fs.mu.Lock()
	got, ok := fs.got[0], fs.authOK
	fs.mu.Unlock()
	if !ok {
		t.Fatal("the profile call did not present the bridge secret at the profiles path")
	}
	fields, _ := got["fields"].(map[string]any)
	if fields["favoriteColor"] != "red" || fields["luckyNumber"] != float64(7) {
		t.Fatalf("custom fields sent = %v", fields)
	}
	if _, ok := fields["role"]; ok {
		t.Fatalf("the reserved field role reached Strapi: %v", fields)
	}
	if got["username"] != "alice" || got["email"] != "alice@example.com" || got["id"] != r.json(t)["user"].(map[string]any)["id"] {
		t.Fatalf("profile = %v", got)
	}

	t.Run("StrapiRefuses", func(t *testing.T) {
		fs.mu.Lock()
		fs.status, fs.body = http.StatusConflict, `{"data":null,"error":{"status":409,"name":"ApplicationError","message":"Email or Username are already taken"}}`
		fs.mu.Unlock()
		e.post("/api/auth/local/register", map[string]any{"username": "bob", "email": "bob@example.com", "password": "bob-password"}).
			want(t, http.StatusBadRequest, "ApplicationError", "Email or Username are already taken")
		// bob was not kept: once Strapi accepts, bob can register.
		fs.mu.Lock()
		fs.status, fs.body = http.StatusOK, `{"id":42}`
		fs.mu.Unlock()
		e.post("/api/auth/local/register", map[string]any{"username": "bob", "email": "bob@example.com", "password": "bob-password"}).
			want(t, http.StatusOK, "", "")
	})
	t.Run("StrapiRefusesAField", func(t *testing.T) {
		fs.mu.Lock()
		fs.status, fs.body = http.StatusBadRequest, `{"data":null,"error":{"status":400,"name":"ValidationError","message":"Invalid parameters: shoeSize","details":{"errors":[{"path":["shoeSize"],"message":"Invalid parameters: shoeSize"}]}}}`
		fs.mu.Unlock()
		e.post("/api/auth/local/register", map[string]any{"username": "carol", "email": "carol@example.com", "password": "carol-password", "shoeSize": 9}).
			wantField(t, "shoeSize")
		e.post("/api/auth/local", map[string]any{"identifier": "carol", "password": "carol-password"}).want(t, http.StatusBadRequest, "ValidationError", "")
	})
	t.Run("StrapiDown", func(t *testing.T) {
		strapi.Close()
		e.post("/api/auth/local/register", map[string]any{"username": "dan", "email": "dan@example.com", "password": "dan-password"}).
			want(t, http.StatusBadGateway, "BadGatewayError", "")
		e.post("/api/auth/local", map[string]any{"identifier": "dan", "password": "dan-password"}).want(t, http.StatusBadRequest, "ValidationError", "")
	})
}

// TestBridgeProviderSignIn: a sign-in the Strapi app verified with one of
// its own providers gets Refreshing's tokens for the same person, linked by
// the plugin's record or by document id, never by email alone.
func TestBridgeProviderSignIn(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		su.bridgeSecret = testBridgeSecret
		e := start(t, su)
		users := func() int {
			t.Helper()
			us, err := e.fault.ListUsers(t.Context(), 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			return len(us)
		}
		signIn := func(body map[string]any, header map[string]string) response {
			t.Helper()
			return e.do(request{method: http.MethodPost, path: "/api/bridge/sign-in", body: body, bearer: testBridgeSecret, header: header})
		}
		// A Strapi user not linked yet, and unknown here: created without a password.
		r := signIn(map[string]any{"provider": "github", "documentId": "strapi-doc-olivia", "username": "olivia", "email": "Olivia@Example.com"}, nil)
		r.want(t, http.StatusOK, "", "")
		m := r.json(t)
		user := m["user"].(map[string]any)
		if m["jwt"] == nil || m["refreshToken"] == nil || user["documentId"] != "strapi-doc-olivia" || user["provider"] != "github" ||
			user["email"] != "olivia@example.com" || user["confirmed"] != true {
			t.Fatalf("answer %s", r.body)
		}
		id := int64(user["id"].(float64))
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: r.str(t, "jwt")}).want(t, http.StatusOK, "", "")
		if x := e.exchange(r.str(t, "refreshToken")); x.status != http.StatusOK {
			t.Fatalf("exchange: %d %s", x.status, x.body)
		}
		e.post("/api/auth/local", map[string]any{"identifier": "olivia@example.com", "password": "anything-at-all"}).
			want(t, http.StatusBadRequest, "ValidationError", "Invalid identifier or password")

		// Linked (the plugin's record): the same account, whatever email Strapi has now.
		linked := map[string]any{"provider": "github", "id": id, "documentId": "strapi-doc-olivia", "email": "renamed@example.com"}
		if r := signIn(linked, nil); r.status != http.StatusOK || r.json(t)["user"].(map[string]any)["id"] != user["id"] {
			t.Fatalf("linked sign-in: %d %s", r.status, r.body)
		}
		// Cookie mode, as the plugin passes the client's header on.
		c := signIn(linked, map[string]string{"x-strapi-refresh-cookie": "httpOnly"})
		c.want(t, http.StatusOK, "", "")
		if c.json(t)["refreshToken"] != nil || !strings.Contains(c.header.Get("Set-Cookie"), "strapi_up_refresh=rt_") {
			t.Fatalf("cookie mode: %s, Set-Cookie %q", c.body, c.header.Get("Set-Cookie"))
		}
		e.remember(strings.TrimPrefix(strings.SplitN(c.header.Get("Set-Cookie"), ";", 2)[0], "strapi_up_refresh="))

		// An unlinked Strapi user whose email an account here has with its
		// document id (an imported user) is that account.
		e.bridgeCall(http.MethodPost, "/api/bridge/users", map[string]any{"documentId": "strapi-doc-pete", "username": "pete", "email": "pete@example.com"}).
			want(t, http.StatusCreated, "", "")
		if r := signIn(map[string]any{"provider": "github", "documentId": "strapi-doc-pete", "username": "pete", "email": "PETE@example.com"}, nil); r.status != http.StatusOK ||
			r.json(t)["user"].(map[string]any)["username"] != "pete" {
			t.Fatalf("imported user: %d %s", r.status, r.body)
		}

		before := users()
		t.Run("EmailOfAnotherAccount", func(t *testing.T) {
			a := e.register("alice")
			signIn(map[string]any{"provider": "github", "documentId": "strapi-doc-mallory", "username": "mallory", "email": a.email}, nil).
				want(t, http.StatusBadRequest, "ApplicationError", "Email or Username are already taken")
			before++
		})
		t.Run("LinkToAnotherDocument", func(t *testing.T) {
			signIn(map[string]any{"provider": "github", "id": id, "documentId": "strapi-doc-someone-else"}, nil).
				want(t, http.StatusBadRequest, "ApplicationError", "This account's link to the authentication service no longer holds; ask an administrator")
			signIn(map[string]any{"provider": "github", "id": 9999, "documentId": "strapi-doc-olivia"}, nil).
				want(t, http.StatusBadRequest, "ApplicationError", "This account's link to the authentication service no longer holds; ask an administrator")
		})
		t.Run("Invalid", func(t *testing.T) {
			signIn(map[string]any{"provider": "github", "username": "x", "email": "x@example.com"}, nil).wantField(t, "documentId")
			signIn(map[string]any{"documentId": "d", "username": "x", "email": "x@example.com"}, nil).wantField(t, "provider")
			signIn(map[string]any{"provider": "github", "id": -1, "documentId": "d"}, nil).wantField(t, "id")
			e.do(request{method: http.MethodPost, path: "/api/bridge/sign-in", body: map[string]any{"provider": "github", "documentId": "d", "username": "x", "email": "x@example.com"}, bearer: "not-the-secret"}).
				want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		})
		t.Run("Blocked", func(t *testing.T) {
			e.bridgeCall(http.MethodPatch, fmt.Sprintf("/api/bridge/users/%d", id), map[string]any{"blocked": true}).want(t, http.StatusOK, "", "")
			signIn(linked, nil).want(t, http.StatusBadRequest, "ApplicationError", "Your account has been blocked by an administrator")
		})
		if n := users(); n != before {
			t.Fatalf("%d users after refused sign-ins, want %d", n, before)
		}
		evs, err := e.svc.ListAudit(t.Context(), refreshing.AuditFilter{Type: refreshing.AuditProviderLogin})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 4 || !strings.Contains(evs[0].Detail, "github") || !strings.Contains(evs[0].Detail, "Strapi") {
			t.Fatalf("audit: %+v", evs)
		}
		failed, _ := e.svc.ListAudit(t.Context(), refreshing.AuditFilter{Type: refreshing.AuditProviderLoginFailed})
		if len(failed) != 4 {
			t.Fatalf("failed sign-ins audited: %+v", failed)
		}
	})
}
