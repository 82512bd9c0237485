package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/server"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// TestHello runs the resource server against a real Refreshing, both on
// real listeners.
func TestHello(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "refreshing.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	auth := httptest.NewUnstartedServer(nil)
	issuer := "http://" + auth.Listener.Addr().String()
	svc, err := refreshing.New(t.Context(), refreshing.Config{Store: st, Issuer: issuer,
		Hasher: refreshing.NewHasher(refreshing.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)})
	if err != nil {
		t.Fatal(err)
	}
	auth.Config.Handler = server.New(svc, server.Options{})
	auth.Start()
	defer auth.Close()
	g, err := svc.Register(t.Context(), refreshing.Registration{Username: "ada", Email: "ada@example.com", Password: "correct horse"}, refreshing.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}

	rs := httptest.NewServer(newHandler(issuer))
	defer rs.Close()
	get := func(bearer string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, rs.URL+"/hello", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get(g.AccessToken); code != http.StatusOK || !strings.HasPrefix(body, "hello, user 1 (session "+g.Session.ID+")") {
		t.Errorf("with a token: %d %q", code, body)
	}
	for _, bad := range []string{"", "garbage", g.RefreshToken} {
		if code, _ := get(bad); code != http.StatusUnauthorized {
			t.Errorf("with %q: %d, want 401", bad, code)
		}
	}
}
