package clienttest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/client"
	"github.com/refreshing/refreshing/internal/server"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// The tests and examples of this package run against a real Refreshing: the
// Service on SQLite behind internal/server, on a real listener. The same
// listener serves /resource, protected by client.Verifier's Middleware.

// clock is a settable clock shared by the server, the Verifier and the
// Transport under test.
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

// refreshingServer is a running Refreshing with a protected resource.
type refreshingServer struct {
	URL      string
	svc      *refreshing.Service
	store    refreshing.Store
	clock    *clock
	verifier *client.Verifier
	srv      *httptest.Server

	tokenCalls    atomic.Int64 // requests to /oauth/token
	jwksCalls     atomic.Int64 // requests to /.well-known/jwks.json
	resourceCalls atomic.Int64 // requests to /resource, admitted or not
}

// startServer runs a Refreshing with its database in dir. The clock starts
// at the real time (the Verifier of the interop tests uses it), truncated.
func startServer(dir string, settings func(*refreshing.Settings)) (*refreshingServer, error) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "refreshing.db"))
	if err != nil {
		return nil, err
	}
	s := &refreshingServer{store: st, clock: &clock{now: time.Now().UTC().Truncate(time.Second)}}
	s.srv = httptest.NewUnstartedServer(nil)
	s.URL = "http://" + s.srv.Listener.Addr().String()
	set := refreshing.DefaultSettings()
	if settings != nil {
		settings(&set)
	}
	s.svc, err = refreshing.New(ctx, refreshing.Config{
		Store: st, Issuer: s.URL, Settings: &set, Now: s.clock.Now,
		Hasher: refreshing.NewHasher(refreshing.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0),
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	s.verifier = &client.Verifier{Issuer: s.URL, Now: s.clock.Now}
	api := server.New(s.svc, server.Options{})
	mux := http.NewServeMux()
	mux.Handle("/resource", s.verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := client.ClaimsFrom(r.Context())
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "user %s session %s body %q", c.Subject, c.SessionID, body)
	})))
	s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth/token":
			s.tokenCalls.Add(1)
		case "/.well-known/jwks.json":
			s.jwksCalls.Add(1)
		case "/resource":
			s.resourceCalls.Add(1)
		}
		mux.ServeHTTP(w, r)
	})
	mux.Handle("/", api)
	s.srv.Start()
	return s, nil
}

// Close stops the server and closes the database.
func (s *refreshingServer) Close() {
	s.srv.Close()
	s.store.Close()
}

// start runs a server for t.
func start(t testing.TB, settings func(*refreshing.Settings)) *refreshingServer {
	t.Helper()
	s, err := startServer(t.TempDir(), settings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// signedIn creates a user and an OAuth client "app" allowed the password grant,
// and returns a Transport signed in as the user with a MemoryStore.
func (s *refreshingServer) signedIn(t testing.TB, name string) *client.Transport {
	t.Helper()
	if _, err := s.svc.CreateUser(t.Context(), name, name+"@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Client(t.Context(), "app"); err != nil {
		if _, _, err := s.svc.CreateClient(t.Context(), refreshing.ClientSpec{ID: "app", Grants: []string{"password"}}); err != nil {
			t.Fatal(err)
		}
	}
	tr := &client.Transport{TokenURL: s.URL + "/oauth/token", ClientID: "app", Store: client.NewMemoryStore(nil), Now: s.clock.Now}
	if err := tr.SignIn(t.Context(), name, "correct horse"); err != nil {
		t.Fatal(err)
	}
	return tr
}

// get sends GET /resource through hc and returns the status and body.
func (s *refreshingServer) get(hc *http.Client) (int, string, error) {
	res, err := hc.Get(s.URL + "/resource")
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// mkdirTemp is os.MkdirTemp for the examples, which have no testing.T.
func mkdirTemp() string {
	dir, err := os.MkdirTemp("", "refreshing-example-")
	if err != nil {
		panic(err)
	}
	return dir
}
