package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/pgtest"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/ratelimit"
	"github.com/refreshing/refreshing/internal/server"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// setup describes the server a test starts.
type setup struct {
	settings func(*refreshing.Settings) // edits the default settings
	trusted  []netip.Prefix
	limiter  func(now func() time.Time) ratelimit.Limiter // nil: a Memory limiter on the test clock
	// The Strapi bridge (bridge_test.go).
	bridgeSecret string
	profiles     refreshing.ProfileSync
	mailer       refreshing.Mailer // nil: no mail server (lifecycle.go)
	postgres     bool              // a PostgreSQL store (a schema of its own) instead of SQLite
	// providers are the external sign-in providers (signin_test.go).
	providers []refreshing.ProviderConfig
}

// stores runs f once per store: SQLite always, PostgreSQL when
// REFRESHING_TEST_POSTGRES is set (pgtest skips that subtest otherwise).
func stores(t *testing.T, f func(t *testing.T, su setup)) {
	t.Run("SQLite", func(t *testing.T) { f(t, setup{}) })
	t.Run("PostgreSQL", func(t *testing.T) { pgtest.DSN(t); f(t, setup{postgres: true}) })
}

// unsentMailer stands for a configured mail server in tests that run no
// mail sender: mail is enqueued and never sent.
type unsentMailer struct{}

func (unsentMailer) Send(context.Context, refreshing.Message) error {
	return fmt.Errorf("no mail sender runs in this test")
}

// env is a running server on a real listener, with a real SQLite store.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	svc   *refreshing.Service
	clock *clock
	fault *faultStore
	logs  *lockedBuffer

	mu      sync.Mutex
	secrets []string // every token and password the test saw; none may reach the logs
}

// start runs a server for t and, when t ends, checks that no secret the
// test saw ever reached the logs.
func start(t *testing.T, su setup) *env {
	t.Helper()
	ctx := t.Context()
	var st refreshing.Store
	var err error
	if su.postgres {
		st, err = postgres.Open(ctx, pgtest.Schema(t))
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	settings := refreshing.DefaultSettings()
	// Rate limits are off unless a test sets them (ratelimit_test.go does):
	// the contract tests log in more often than a real user would.
	settings.RateLimitIP, settings.RateLimitIdentifier, settings.RateLimitExchangeIP = 0, 0, 0
	if su.settings != nil {
		su.settings(&settings)
	}
	e := &env{t: t, clock: &clock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}, fault: &faultStore{Store: st}, logs: &lockedBuffer{}}
	e.svc, err = refreshing.New(ctx, refreshing.Config{
		Providers: su.providers,
		Store:     e.fault,
		Hasher:    refreshing.NewHasher(refreshing.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0),
		Now:       e.clock.Now,
		Settings:  &settings,
		Profiles:  su.profiles,
		Mailer:    su.mailer,
	})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var lim ratelimit.Limiter = ratelimit.NewMemory(e.clock.Now, 0)
	if su.limiter != nil {
		lim = su.limiter(e.clock.Now)
	}
	e.srv = httptest.NewServer(server.New(e.svc, server.Options{Logger: logger, TrustedProxies: su.trusted, Limiter: lim, BridgeSecret: su.bridgeSecret}))
	t.Cleanup(func() {
		e.srv.Close()
		logs := e.logs.String()
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, s := range e.secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the logs contain the secret %q:\n%s", s, logs)
			}
		}
	})
	return e
}

// remember records secrets that must never be logged.
func (e *env) remember(secrets ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= 6 {
			e.secrets = append(e.secrets, s)
		}
	}
}

// response is an answer the server gave.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as a JSON object.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// str returns the string field name of the body.
func (r response) str(t *testing.T, name string) string {
	t.Helper()
	s, _ := r.json(t)[name].(string)
	return s
}

// want checks the status, and for errors Strapi's shape with status, name
// and message (message "" is not checked).
func (r response) want(t *testing.T, status int, name, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if name == "" {
		return
	}
	m := r.json(t)
	if d, ok := m["data"]; !ok || d != nil {
		t.Errorf("data = %v (present %v), want null; body %s", d, ok, r.body)
	}
	e, _ := m["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error object in %s", r.body)
	}
	if got := e["status"]; got != float64(status) {
		t.Errorf("error.status = %v, want %d", got, status)
	}
	if got := e["name"]; got != name {
		t.Errorf("error.name = %v, want %s; body %s", got, name, r.body)
	}
	if got := e["message"]; message != "" && got != message {
		t.Errorf("error.message = %q, want %q", got, message)
	}
	if _, ok := e["details"].(map[string]any); !ok {
		t.Errorf("error.details = %v, want an object", e["details"])
	}
}

// wantField checks a 400 ValidationError whose details name field.
func (r response) wantField(t *testing.T, field string) {
	t.Helper()
	r.want(t, http.StatusBadRequest, "ValidationError", "")
	e := r.json(t)["error"].(map[string]any)
	details := e["details"].(map[string]any)
	errs, _ := details["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("details.errors = %v, want one entry; body %s", details["errors"], r.body)
	}
	fe := errs[0].(map[string]any)
	path, _ := fe["path"].([]any)
	if len(path) != 1 || path[0] != field {
		t.Errorf("details.errors[0].path = %v, want [%s]", fe["path"], field)
	}
	if fe["name"] != "ValidationError" || fe["message"] != e["message"] || fe["message"] == "" {
		t.Errorf("details.errors[0] = %v, want name ValidationError and message %q", fe, e["message"])
	}
}

// request is one HTTP request to the server.
type request struct {
	method, path string
	body         any // nil: no body; string: raw JSON; anything else: marshalled
	bearer       string
	header       map[string]string
	dpop         []string // DPoP headers, each added (dpop_test.go)
}

// do sends req and returns the answer. It remembers the passwords it sends
// and the tokens it receives as secrets.
func (e *env) do(req request) response {
	e.t.Helper()
	return e.doCtx(e.t.Context(), req)
}

func (e *env) doCtx(ctx context.Context, req request) response {
	e.t.Helper()
	var body io.Reader
	switch b := req.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		if m, ok := b.(map[string]any); ok {
			for _, k := range []string{"password", "currentPassword", "passwordConfirmation"} {
				if s, ok := m[k].(string); ok {
					e.remember(s)
				}
			}
		}
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, e.srv.URL+req.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+req.bearer)
	}
	for k, v := range req.header {
		hr.Header.Set(k, v)
	}
	for _, p := range req.dpop {
		hr.Header.Add("DPoP", p)
	}
	res, err := e.srv.Client().Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, body: raw}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		for _, k := range []string{"jwt", "refreshToken", "refresh_token"} {
			if s, ok := m[k].(string); ok {
				e.remember(s)
			}
		}
	}
	return r
}

// post sends a JSON body.
func (e *env) post(path string, body any) response {
	e.t.Helper()
	return e.do(request{method: http.MethodPost, path: path, body: body})
}

// account is a registered user and the credentials of one of its sessions.
type account struct {
	username, email, password string
	jwt, refresh              string
	id                        float64
}

// register creates an account through the API and returns it signed in.
func (e *env) register(name string) account {
	e.t.Helper()
	a := account{username: name, email: name + "@example.com", password: "pw-" + name + "-secret"}
	r := e.post("/api/auth/local/register", map[string]any{"username": a.username, "email": a.email, "password": a.password})
	r.want(e.t, http.StatusOK, "", "")
	m := r.json(e.t)
	a.jwt, _ = m["jwt"].(string)
	a.refresh, _ = m["refreshToken"].(string) // none when issue-on-login is off
	a.id = m["user"].(map[string]any)["id"].(float64)
	return a
}

// login signs a in again, starting another session, with extra body fields.
func (e *env) login(a account, extra map[string]any) account {
	e.t.Helper()
	body := map[string]any{"identifier": a.username, "password": a.password}
	for k, v := range extra {
		body[k] = v
	}
	r := e.post("/api/auth/local", body)
	r.want(e.t, http.StatusOK, "", "")
	a.jwt, a.refresh = r.str(e.t, "jwt"), r.str(e.t, "refreshToken")
	return a
}

// sessions lists the sessions the bearer token's user has.
func (e *env) sessions(jwt string) []map[string]any {
	e.t.Helper()
	r := e.do(request{method: http.MethodGet, path: "/api/users/me/sessions", bearer: jwt})
	r.want(e.t, http.StatusOK, "", "")
	var list []map[string]any
	if err := json.Unmarshal(r.body, &list); err != nil {
		e.t.Fatalf("sessions body %s: %v", r.body, err)
	}
	return list
}

// exchange presents a refresh token to POST /api/auth/token.
func (e *env) exchange(token string) response {
	e.t.Helper()
	return e.post("/api/auth/token", map[string]any{"token": token})
}

// logLines returns the log records written so far.
func (e *env) logLines() []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for line := range strings.Lines(e.logs.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			e.t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// faultStore injects faults into a real store: when fail is set, Ping and
// UserByEmail (the first store call of a login) return it, or panic with it
// when panics is set. When hang is set, UserByEmail signals it and waits for
// its context to end.
type faultStore struct {
	refreshing.Store
	mu     sync.Mutex
	fail   error
	panics bool
	hang   chan struct{}
}

func (f *faultStore) inject(err error, panics bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.panics = err, panics
}

func (f *faultStore) fault() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil && f.panics {
		panic(f.fail)
	}
	return f.fail
}

func (f *faultStore) Ping(ctx context.Context) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Store.Ping(ctx)
}

func (f *faultStore) UserByEmail(ctx context.Context, email string) (*refreshing.User, error) {
	f.mu.Lock()
	hang := f.hang
	f.mu.Unlock()
	if hang != nil {
		close(hang)
		<-ctx.Done()
		return nil, fmt.Errorf("find user: %w", ctx.Err())
	}
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.UserByEmail(ctx, email)
}
