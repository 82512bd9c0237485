package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func TestRegister(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := start(t, setup{})
		r := e.post("/api/auth/local/register", map[string]any{"username": "ada", "email": "Ada@Example.com", "password": "correct horse"})
		r.want(t, http.StatusOK, "", "")
		m := r.json(t)
		if m["jwt"] == "" || m["jwt"] == nil {
			t.Errorf("jwt missing in %s", r.body)
		}
		if rt, _ := m["refreshToken"].(string); !refreshing.LooksLikeRefreshToken(rt) {
			t.Errorf("refreshToken = %q, want a refresh token", rt)
		}
		u := m["user"].(map[string]any)
		checkUser(t, u, "ada", "ada@example.com")
		if strings.Contains(string(r.body), "argon2") || strings.Contains(string(r.body), "correct horse") {
			t.Errorf("the response leaks the password or its hash: %s", r.body)
		}
	})
	t.Run("NoRefreshTokenWhenIssueOnLoginIsOff", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.IssueOnLogin = false }})
		r := e.post("/api/auth/local/register", map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse"})
		r.want(t, http.StatusOK, "", "")
		m := r.json(t)
		if _, ok := m["refreshToken"]; ok {
			t.Errorf("refreshToken present in %s", r.body)
		}
		if m["jwt"] == nil || m["user"] == nil {
			t.Errorf("want jwt and user in %s", r.body)
		}
	})
	t.Run("OnlyUserWhileConfirmationIsPending", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.EmailConfirmation = true }, mailer: unsentMailer{}})
		r := e.post("/api/auth/local/register", map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse"})
		r.want(t, http.StatusOK, "", "")
		m := r.json(t)
		if len(m) != 1 || m["user"] == nil {
			t.Errorf("body = %s, want only {user}", r.body)
		}
		if got := m["user"].(map[string]any)["confirmed"]; got != false {
			t.Errorf("confirmed = %v, want false", got)
		}
	})
	t.Run("ErrTaken", func(t *testing.T) {
		e := start(t, setup{})
		e.register("ada")
		for _, body := range []map[string]any{
			{"username": "ada", "email": "other@example.com", "password": "correct horse"},
			{"username": "other", "email": "ADA@example.com", "password": "correct horse"},
		} {
			e.post("/api/auth/local/register", body).want(t, http.StatusBadRequest, "ApplicationError", "Email or Username are already taken")
		}
	})
	t.Run("ErrRegistrationClosed", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.Registration = false }})
		r := e.post("/api/auth/local/register", map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse"})
		r.want(t, http.StatusBadRequest, "ApplicationError", "Register action is currently disabled")
	})
	t.Run("InvalidFields", func(t *testing.T) {
		e := start(t, setup{})
		for field, body := range map[string]map[string]any{
			"username": {"username": "ab", "email": "ada@example.com", "password": "correct horse"},
			"email":    {"username": "ada", "email": "not an email", "password": "correct horse"},
			"password": {"username": "ada", "email": "ada@example.com", "password": "short"},
		} {
			t.Run(field, func(t *testing.T) {
				e.post("/api/auth/local/register", body).wantField(t, field)
			})
		}
	})
}

// checkUser checks a Strapi user object.
func checkUser(t *testing.T, u map[string]any, username, email string) {
	t.Helper()
	if id, ok := u["id"].(float64); !ok || id <= 0 {
		t.Errorf("id = %v, want a positive number", u["id"])
	}
	if d, _ := u["documentId"].(string); !strings.HasPrefix(d, "u_") {
		t.Errorf("documentId = %v", u["documentId"])
	}
	if u["username"] != username || u["email"] != email || u["provider"] != "local" || u["blocked"] != false {
		t.Errorf("user = %v", u)
	}
	if _, ok := u["confirmed"].(bool); !ok {
		t.Errorf("confirmed = %v, want a boolean", u["confirmed"])
	}
	for _, k := range []string{"createdAt", "updatedAt"} {
		s, _ := u[k].(string)
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !strings.HasSuffix(s, "Z") || ts.IsZero() {
			t.Errorf("%s = %q, want an RFC 3339 UTC timestamp", k, s)
		}
	}
	want := map[string]bool{"id": true, "documentId": true, "username": true, "email": true, "provider": true,
		"confirmed": true, "blocked": true, "createdAt": true, "updatedAt": true}
	for k := range u {
		if !want[k] {
			t.Errorf("unexpected user field %q", k)
		}
	}
	if len(u) != len(want) {
		t.Errorf("user has %d fields, want %d: %v", len(u), len(want), u)
	}
}

func TestLogin(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	t.Run("OKByEmailAnyCase", func(t *testing.T) {
		r := e.post("/api/auth/local", map[string]any{"identifier": "ADA@example.COM", "password": a.password})
		r.want(t, http.StatusOK, "", "")
		m := r.json(t)
		if m["jwt"] == nil || !refreshing.LooksLikeRefreshToken(r.str(t, "refreshToken")) {
			t.Errorf("want jwt and refreshToken in %s", r.body)
		}
		checkUser(t, m["user"].(map[string]any), "ada", "ada@example.com")
	})
	t.Run("OKByUsername", func(t *testing.T) {
		e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": a.password}).want(t, http.StatusOK, "", "")
	})
	t.Run("ErrInvalidCredentials", func(t *testing.T) {
		wrong := e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": "wrong password"})
		wrong.want(t, http.StatusBadRequest, "ValidationError", "Invalid identifier or password")
		unknown := e.post("/api/auth/local", map[string]any{"identifier": "nobody", "password": "wrong password"})
		unknown.want(t, http.StatusBadRequest, "ValidationError", "Invalid identifier or password")
		if string(wrong.body) != string(unknown.body) {
			t.Errorf("a wrong password answers %s but an unknown identifier %s", wrong.body, unknown.body)
		}
		if strings.Contains(string(wrong.body), "wrong password") {
			t.Errorf("the error echoes the password: %s", wrong.body)
		}
	})
	t.Run("ErrBlocked", func(t *testing.T) {
		b := e.register("bob")
		if _, err := e.svc.SetBlocked(t.Context(), int64(b.id), true); err != nil {
			t.Fatal(err)
		}
		e.post("/api/auth/local", map[string]any{"identifier": "bob", "password": b.password}).
			want(t, http.StatusBadRequest, "ApplicationError", "Your account has been blocked by an administrator")
		// Blocked is said only after the password was verified.
		e.post("/api/auth/local", map[string]any{"identifier": "bob", "password": "wrong password"}).
			want(t, http.StatusBadRequest, "ValidationError", "Invalid identifier or password")
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: b.jwt}).
			want(t, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials")
	})
	t.Run("NoRefreshTokenWhenIssueOnLoginIsOff", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.IssueOnLogin = false }})
		e.post("/api/auth/local/register", map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse"}).want(t, http.StatusOK, "", "")
		r := e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": "correct horse"})
		r.want(t, http.StatusOK, "", "")
		if m := r.json(t); m["refreshToken"] != nil || m["jwt"] == nil {
			t.Errorf("body = %s, want jwt and no refreshToken", r.body)
		}
	})
	t.Run("ErrNotConfirmed", func(t *testing.T) {
		e := start(t, setup{settings: func(s *refreshing.Settings) { s.EmailConfirmation = true }, mailer: unsentMailer{}})
		e.post("/api/auth/local/register", map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse"}).want(t, http.StatusOK, "", "")
		e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": "correct horse"}).
			want(t, http.StatusBadRequest, "ApplicationError", "Your account email is not confirmed")
		e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": "wrong password"}).
			want(t, http.StatusBadRequest, "ValidationError", "Invalid identifier or password")
	})
	t.Run("MissingFields", func(t *testing.T) {
		e.post("/api/auth/local", map[string]any{"password": a.password}).wantField(t, "identifier")
		e.post("/api/auth/local", map[string]any{"identifier": "ada"}).wantField(t, "password")
	})
}

func TestMe(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	t.Run("OK", func(t *testing.T) {
		r := e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: a.jwt})
		r.want(t, http.StatusOK, "", "")
		checkUser(t, r.json(t), "ada", "ada@example.com")
	})
	for name, req := range map[string]request{
		"ErrUnauthenticatedWithoutToken":    {method: http.MethodGet, path: "/api/users/me"},
		"ErrUnauthenticatedWithGarbage":     {method: http.MethodGet, path: "/api/users/me", bearer: "not.a.jwt"},
		"ErrUnauthenticatedWithRefresh":     {method: http.MethodGet, path: "/api/users/me", bearer: a.refresh},
		"ErrUnauthenticatedWithBasic":       {method: http.MethodGet, path: "/api/users/me", header: map[string]string{"Authorization": "Basic " + a.jwt}},
		"ErrUnauthenticatedWithTamperedSig": {method: http.MethodGet, path: "/api/users/me", bearer: a.jwt[:len(a.jwt)-4] + "AAAA"},
	} {
		t.Run(name, func(t *testing.T) {
			e.do(req).want(t, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials")
		})
	}
	t.Run("ErrUnauthenticatedAfterExpiry", func(t *testing.T) {
		e.clock.Advance(16 * time.Minute)
		defer e.clock.Advance(-16 * time.Minute)
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: a.jwt}).
			want(t, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials")
	})
}

func TestChangePassword(t *testing.T) {
	change := func(e *env, jwt string, body map[string]any) response {
		return e.do(request{method: http.MethodPost, path: "/api/auth/change-password", bearer: jwt, body: body})
	}
	t.Run("OK", func(t *testing.T) {
		e := start(t, setup{})
		a := e.register("ada")
		other := e.login(a, nil)
		r := change(e, a.jwt, map[string]any{"currentPassword": a.password, "password": "a new secret", "passwordConfirmation": "a new secret"})
		r.want(t, http.StatusOK, "", "")
		m := r.json(t)
		checkUser(t, m["user"].(map[string]any), "ada", "ada@example.com")
		jwt, refresh := r.str(t, "jwt"), r.str(t, "refreshToken")
		if jwt == "" || !refreshing.LooksLikeRefreshToken(refresh) {
			t.Fatalf("want jwt and refreshToken in %s", r.body)
		}
		// Every other session is revoked; the caller keeps the new one.
		e.exchange(other.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		e.exchange(a.refresh).want(t, http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token")
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: other.jwt}).want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.exchange(refresh).want(t, http.StatusOK, "", "")
		e.do(request{method: http.MethodGet, path: "/api/users/me", bearer: jwt}).want(t, http.StatusOK, "", "")
		if got := len(e.sessions(jwt)); got != 1 {
			t.Errorf("%d sessions left, want 1", got)
		}
		e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": a.password}).want(t, http.StatusBadRequest, "ValidationError", "")
		e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": "a new secret"}).want(t, http.StatusOK, "", "")
	})
	e := start(t, setup{})
	a := e.register("ada")
	t.Run("ErrWrongPassword", func(t *testing.T) {
		change(e, a.jwt, map[string]any{"currentPassword": "not my password", "password": "a new secret", "passwordConfirmation": "a new secret"}).
			want(t, http.StatusBadRequest, "ValidationError", "The provided current password is invalid")
	})
	t.Run("ErrSamePassword", func(t *testing.T) {
		change(e, a.jwt, map[string]any{"currentPassword": a.password, "password": a.password, "passwordConfirmation": a.password}).
			want(t, http.StatusBadRequest, "ValidationError", "Your new password must be different than your current password")
	})
	t.Run("MismatchedConfirmation", func(t *testing.T) {
		change(e, a.jwt, map[string]any{"currentPassword": a.password, "password": "a new secret", "passwordConfirmation": "another secret"}).
			wantField(t, "passwordConfirmation")
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		change(e, "", map[string]any{"currentPassword": a.password, "password": "a new secret", "passwordConfirmation": "a new secret"}).
			want(t, http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials")
	})
	// None of the failures changed the password.
	e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": a.password}).want(t, http.StatusOK, "", "")
}
