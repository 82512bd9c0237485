package clienttest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/client"
)

// hammer sends n concurrent GET /resource through hc and fails t unless
// every one is admitted.
func (s *refreshingServer) hammer(t *testing.T, hc *http.Client, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Go(func() {
			status, body, err := s.get(hc)
			if err != nil || status != http.StatusOK {
				errs <- strings.TrimSpace(body) + " " + http.StatusText(status) + " " + errString(err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a request failed: %s", e)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestTransportOneRefreshPerExpiry(t *testing.T) {
	t.Run("BeforeExpiry", func(t *testing.T) {
		// The Transport shares the server's clock, sees the expiry coming
		// and refreshes before it: one exchange per expiry, whatever the
		// number of goroutines.
		s := start(t, func(st *refreshing.Settings) { st.AccessTTL = time.Minute })
		tr := s.signedIn(t, "ada")
		hc := tr.Client()
		s.hammer(t, hc, 100)
		base := s.tokenCalls.Load()
		for expiry := int64(1); expiry <= 3; expiry++ {
			s.clock.Advance(time.Minute)
			s.hammer(t, hc, 100)
			if got := s.tokenCalls.Load() - base; got != expiry {
				t.Fatalf("after %d expiries: %d requests to /oauth/token, want %d", expiry, got, expiry)
			}
		}
	})
	t.Run("After401", func(t *testing.T) {
		// The Transport's clock stands still, so only the server knows the
		// token expired: every goroutine gets a 401, one refreshes, all
		// retry with the new token.
		s := start(t, func(st *refreshing.Settings) { st.AccessTTL = time.Minute })
		tr := s.signedIn(t, "ada")
		frozen := s.clock.Now()
		tr.Now = func() time.Time { return frozen }
		hc := tr.Client()
		base := s.tokenCalls.Load()
		for expiry := int64(1); expiry <= 3; expiry++ {
			s.clock.Advance(time.Minute)
			before := s.resourceCalls.Load()
			s.hammer(t, hc, 100)
			if got := s.tokenCalls.Load() - base; got != expiry {
				t.Fatalf("after %d expiries: %d requests to /oauth/token, want %d", expiry, got, expiry)
			}
			if got := s.resourceCalls.Load() - before; got < 101 || got > 200 {
				t.Errorf("%d requests reached /resource for 100 calls, want each refused one retried once", got)
			}
		}
	})
	t.Run("EarlyWhileStillValid", func(t *testing.T) {
		// Inside the refresh margin (30 s, or a tenth of the lifetime) one
		// goroutine refreshes while the others go on with the valid token.
		s := start(t, func(st *refreshing.Settings) { st.AccessTTL = 10 * time.Minute })
		tr := s.signedIn(t, "ada")
		first, err := tr.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		base := s.tokenCalls.Load()
		s.clock.Advance(10*time.Minute - client.RefreshMargin - time.Second)
		s.hammer(t, tr.Client(), 100)
		if got := s.tokenCalls.Load() - base; got != 0 {
			t.Fatalf("%d refreshes before the margin, want none", got)
		}
		s.clock.Advance(2 * time.Second)
		s.hammer(t, tr.Client(), 100)
		if got := s.tokenCalls.Load() - base; got != 1 {
			t.Fatalf("%d refreshes inside the margin, want 1", got)
		}
		next, err := tr.Token(t.Context())
		if err != nil || next.AccessToken == first.AccessToken || next.RefreshToken == first.RefreshToken {
			t.Fatalf("Token() after the early refresh = %+v, %v; want a new access and refresh token", next, err)
		}
	})
}

func TestTransportReplay(t *testing.T) {
	s := start(t, nil)
	tr := s.signedIn(t, "ada")
	frozen := s.clock.Now()
	tr.Now = func() time.Time { return frozen } // the server alone sees expiries
	hc := tr.Client()

	t.Run("RetriedWithItsBody", func(t *testing.T) {
		s.clock.Advance(15 * time.Minute)
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/resource", strings.NewReader("hello"))
		before := s.resourceCalls.Load()
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasSuffix(string(b), `body "hello"`) {
			t.Errorf("%d %s, want 200 with the body sent again", res.StatusCode, b)
		}
		if got := s.resourceCalls.Load() - before; got != 2 {
			t.Errorf("%d requests reached /resource, want the refused one and its retry", got)
		}
	})
	t.Run("NotRetriedWithoutGetBody", func(t *testing.T) {
		s.clock.Advance(15 * time.Minute)
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/resource", io.NopCloser(strings.NewReader("once")))
		if req.GetBody != nil {
			t.Fatal("the test needs a body that cannot be replayed")
		}
		before, refreshes := s.resourceCalls.Load(), s.tokenCalls.Load()
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || s.resourceCalls.Load()-before != 1 || s.tokenCalls.Load() != refreshes {
			t.Errorf("status %d after %d requests and %d refreshes, want the server's 401 after one request and no refresh",
				res.StatusCode, s.resourceCalls.Load()-before, s.tokenCalls.Load()-refreshes)
		}
		// The next request that can be replayed refreshes.
		if status, _, err := s.get(hc); err != nil || status != http.StatusOK {
			t.Errorf("next request: %d %v", status, err)
		}
	})
}

func TestTransportSignedOut(t *testing.T) {
	s := start(t, nil)
	tr := s.signedIn(t, "ada")
	tok, err := tr.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.svc.Revoke(t.Context(), tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(15 * time.Minute)
	base := s.tokenCalls.Load()
	for range 3 {
		if _, _, err := s.get(tr.Client()); !errors.Is(err, client.ErrSignedOut) {
			t.Fatalf("a request after the session was revoked: %v, want ErrSignedOut", err)
		}
	}
	if got := s.tokenCalls.Load() - base; got != 1 {
		t.Errorf("%d refresh attempts with the refused token, want 1", got)
	}
	if _, err := tr.Token(t.Context()); !errors.Is(err, client.ErrSignedOut) {
		t.Errorf("Token() = %v, want ErrSignedOut", err)
	}
	if err := tr.SignIn(t.Context(), "ada", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if status, _, err := s.get(tr.Client()); status != http.StatusOK || err != nil {
		t.Errorf("after signing in again: %d %v", status, err)
	}
	var oe *client.OAuthError
	if err := tr.SignIn(t.Context(), "ada", "wrong"); !errors.As(err, &oe) || oe.Code != "invalid_grant" {
		t.Errorf("SignIn with a wrong password: %v, want invalid_grant", err)
	}
}

func TestTransportConfidentialClient(t *testing.T) {
	s := start(t, nil)
	if _, err := s.svc.CreateUser(t.Context(), "ada", "ada@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	_, secret, err := s.svc.CreateClient(t.Context(), refreshing.ClientSpec{ID: "backend", GenerateSecret: true, Grants: []string{"password"}})
	if err != nil {
		t.Fatal(err)
	}
	tr := &client.Transport{TokenURL: s.URL + "/oauth/token", ClientID: "backend", ClientSecret: secret, Store: client.NewMemoryStore(nil), Now: s.clock.Now}
	if err := tr.SignIn(t.Context(), "ada", "correct horse"); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(15 * time.Minute)
	if status, _, err := s.get(tr.Client()); status != http.StatusOK || err != nil {
		t.Fatalf("after a refresh as a confidential client: %d %v", status, err)
	}
	wrong := &client.Transport{TokenURL: s.URL + "/oauth/token", ClientID: "backend", ClientSecret: "wrong", Store: client.NewMemoryStore(nil)}
	var oe *client.OAuthError
	if err := wrong.SignIn(t.Context(), "ada", "correct horse"); !errors.As(err, &oe) || oe.Code != "invalid_client" || errors.Is(err, client.ErrSignedOut) {
		t.Errorf("a wrong client secret: %v, want invalid_client (not signed out)", err)
	}
}

func TestTransportTokenFromAPI(t *testing.T) {
	// A token pair from /api/auth/local (no client, no expiry given): the
	// Transport reads the expiry from the JWT itself.
	s := start(t, nil)
	g, err := s.svc.Register(t.Context(), refreshing.Registration{Username: "ada", Email: "ada@example.com", Password: "correct horse"}, refreshing.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &client.Transport{TokenURL: s.URL + "/oauth/token", Now: s.clock.Now,
		Store: client.NewMemoryStore(&client.Token{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken})}
	tok, err := tr.Token(t.Context())
	if err != nil || !tok.Expiry.Equal(g.AccessExpiresAt) || tok.AccessToken != g.AccessToken {
		t.Fatalf("Token() = %+v, %v; want the stored token with its exp %v", tok, err, g.AccessExpiresAt)
	}
	base := s.tokenCalls.Load()
	s.clock.Advance(15 * time.Minute)
	s.hammer(t, tr.Client(), 20)
	if got := s.tokenCalls.Load() - base; got != 1 {
		t.Errorf("%d refreshes, want 1", got)
	}
}

func TestFileStore(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "config", "refreshing", "token.json")
	fs := client.FileStore{Path: path}
	t.Run("MissingIsNoToken", func(t *testing.T) {
		if tok, err := fs.Load(ctx); tok != nil || err != nil {
			t.Fatalf("Load() of a missing file = %v, %v; want nil, nil", tok, err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		want := &client.Token{AccessToken: "a", RefreshToken: "r", Expiry: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), IssuedAt: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}
		for range 2 { // a second Save replaces the file
			if err := fs.Save(ctx, want); err != nil {
				t.Fatal(err)
			}
		}
		got, err := fs.Load(ctx)
		if err != nil || *got != *want {
			t.Fatalf("Load() = %+v, %v; want %+v", got, err, want)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("token file mode %v (%v), want 0600", fi.Mode().Perm(), err)
		}
		di, err := os.Stat(filepath.Dir(path))
		if err != nil || di.Mode().Perm() != 0o700 {
			t.Errorf("token directory mode %v (%v), want 0700", di.Mode().Perm(), err)
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 {
			t.Errorf("directory holds %d entries, want only the token file (no temporary files left)", len(entries))
		}
	})
	t.Run("Corrupt", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "token.json")
		os.WriteFile(bad, []byte("{not json"), 0o600)
		if _, err := (client.FileStore{Path: bad}).Load(ctx); err == nil {
			t.Error("a corrupt token file loaded without error")
		}
	})
}

func TestTransportSurvivesRestart(t *testing.T) {
	s := start(t, nil)
	path := filepath.Join(t.TempDir(), "token.json")
	newTransport := func() *client.Transport {
		return &client.Transport{TokenURL: s.URL + "/oauth/token", ClientID: "app", Store: client.FileStore{Path: path}, Now: s.clock.Now}
	}
	s.signedIn(t, "bob") // creates the client "app"
	if _, err := s.svc.CreateUser(t.Context(), "ada", "ada@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if err := newTransport().SignIn(t.Context(), "ada", "correct horse"); err != nil {
		t.Fatal(err)
	}
	signedIn, _ := client.FileStore{Path: path}.Load(t.Context())
	// Three runs of the program, each after an expiry: each refreshes with
	// the token the previous run saved. Were a retired token presented after
	// the grace window, the server would end the session.
	for run := range 3 {
		s.clock.Advance(15 * time.Minute)
		if status, body, err := s.get(newTransport().Client()); status != http.StatusOK || err != nil {
			t.Fatalf("run %d: %d %s %v", run, status, body, err)
		}
	}
	saved, _ := client.FileStore{Path: path}.Load(t.Context())
	if saved.RefreshToken == signedIn.RefreshToken {
		t.Error("the rotated refresh token was not saved")
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), signedIn.RefreshToken) {
		t.Error("the file still holds the retired refresh token")
	}
}

func TestTransportSharedFileStore(t *testing.T) {
	// Two programs share one token file. After A refreshed, B reads the
	// file before refreshing and takes A's token instead of exchanging a
	// retired one.
	s := start(t, nil)
	s.signedIn(t, "bob") // creates the client "app"
	if _, err := s.svc.CreateUser(t.Context(), "ada", "ada@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	store := client.FileStore{Path: filepath.Join(t.TempDir(), "token.json")}
	a := &client.Transport{TokenURL: s.URL + "/oauth/token", ClientID: "app", Store: store, Now: s.clock.Now}
	b := &client.Transport{TokenURL: s.URL + "/oauth/token", ClientID: "app", Store: store, Now: s.clock.Now}
	if err := a.SignIn(t.Context(), "ada", "correct horse"); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []*client.Transport{a, b} {
		if status, _, err := s.get(tr.Client()); status != http.StatusOK || err != nil {
			t.Fatalf("%d %v", status, err)
		}
	}
	s.clock.Advance(15 * time.Minute)
	base := s.tokenCalls.Load()
	if status, _, err := s.get(a.Client()); status != http.StatusOK || err != nil {
		t.Fatalf("A after the expiry: %d %v", status, err)
	}
	s.clock.Advance(20 * time.Second) // past the grace window: a retired token would now be theft
	if status, _, err := s.get(b.Client()); status != http.StatusOK || err != nil {
		t.Fatalf("B after A refreshed: %d %v", status, err)
	}
	if got := s.tokenCalls.Load() - base; got != 1 {
		t.Errorf("%d refreshes for two programs sharing a token file, want 1", got)
	}
	ta, _ := a.Token(t.Context())
	tb, _ := b.Token(t.Context())
	if ta.RefreshToken != tb.RefreshToken {
		t.Error("A and B hold different refresh tokens")
	}
}

// cancelAfter is a RoundTripper that cancels the caller's context as soon as
// a response to path has arrived, before its body is read; reading the body
// then fails if the request's context is done, as it may on a real network.
type cancelAfter struct {
	path   string
	cancel context.CancelFunc
}

func (c *cancelAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.URL.Path == c.path {
		c.cancel()
		res.Body = ctxBody{res.Body, r.Context()}
	}
	return res, err
}

type ctxBody struct {
	io.ReadCloser
	ctx context.Context
}

func (b ctxBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	return b.ReadCloser.Read(p)
}

func TestTransportCancelledCaller(t *testing.T) {
	// The caller gives up while its refresh is in flight, after the server
	// rotated the token. The refresh runs to its end all the same and the
	// rotated token is kept: had it been thrown away, the next refresh would
	// present the retired one, and past the grace window the server would
	// end the session as stolen.
	s := start(t, nil)
	tr := s.signedIn(t, "ada")
	s.clock.Advance(15 * time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	tr.Base = &cancelAfter{path: "/oauth/token", cancel: cancel}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/resource", nil)
	if res, err := tr.Client().Do(req); err == nil {
		res.Body.Close()
	}
	tr.Base = nil
	s.clock.Advance(15 * time.Minute)
	if status, body, err := s.get(tr.Client()); status != http.StatusOK || err != nil {
		t.Fatalf("after a cancelled request: %d %s %v", status, body, err)
	}
}
