package server_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/server"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// Interoperability with code nobody here wrote: golang.org/x/oauth2 as the
// OAuth client, go-jose as the JWT verifier.

// TestInteropOAuth2 signs in with x/oauth2's password grant and lets its
// TokenSource refresh on its own across a real access-token expiry of two
// seconds. x/oauth2 reads the real clock, so the server does too here.
func TestInteropOAuth2(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "refreshing.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	settings := refreshing.DefaultSettings()
	settings.AccessTTL = 2 * time.Second
	svc, err := refreshing.New(t.Context(), refreshing.Config{Store: st, Settings: &settings,
		Hasher: refreshing.NewHasher(refreshing.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var refreshes atomic.Int64
	api := server.New(svc, server.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			refreshes.Add(1)
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx := t.Context()
	if _, err := svc.CreateUser(ctx, "ada", "ada@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []refreshing.ClientSpec{
		{ID: "first-party", Grants: []string{refreshing.GrantPassword}},
		{ID: "third-party"},
	} {
		if _, _, err := svc.CreateClient(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	_, secret, err := svc.CreateClient(ctx, refreshing.ClientSpec{ID: "backend", GenerateSecret: true, Grants: []string{refreshing.GrantPassword}})
	if err != nil {
		t.Fatal(err)
	}
	config := func(id, secret string, style oauth2.AuthStyle) *oauth2.Config {
		return &oauth2.Config{ClientID: id, ClientSecret: secret,
			Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/oauth/token", AuthStyle: style}}
	}
	me := func(hc *http.Client, token string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/users/me", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	t.Run("PasswordGrantThenRefreshAcrossExpiry", func(t *testing.T) {
		conf := config("first-party", "", oauth2.AuthStyleInParams)
		first, err := conf.PasswordCredentialsToken(ctx, "ada", "correct horse")
		if err != nil {
			t.Fatal(err)
		}
		if first.TokenType != "Bearer" || first.RefreshToken == "" || time.Until(first.Expiry) > 2*time.Second {
			t.Fatalf("token = %+v, want a Bearer token with a refresh token, expiring within 2 s", first)
		}
		// x/oauth2 treats tokens as expired 10 s early by default (and
		// when asked for 0), longer than this lifetime: ask for 100 ms.
		ts := oauth2.ReuseTokenSourceWithExpiry(first, conf.TokenSource(ctx, first), 100*time.Millisecond)
		hc := oauth2.NewClient(ctx, ts)
		base := refreshes.Load()
		if got := me(hc, ""); got != http.StatusOK {
			t.Fatalf("GET /api/users/me: %d", got)
		}
		if got := refreshes.Load() - base; got != 0 {
			t.Fatalf("%d refreshes before the expiry, want 0", got)
		}
		// Wait (bounded) until the server itself refuses the first token.
		for deadline := time.Now().Add(10 * time.Second); me(http.DefaultClient, first.AccessToken) == http.StatusOK; {
			if time.Now().After(deadline) {
				t.Fatal("the 2 s access token still works after 10 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got := me(hc, ""); got != http.StatusOK {
			t.Fatalf("GET /api/users/me after the expiry: %d, want 200 with a refreshed token", got)
		}
		if got := refreshes.Load() - base; got != 1 {
			t.Errorf("%d refreshes across one expiry, want 1", got)
		}
		second, err := ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		if second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken || second.RefreshToken == "" {
			t.Errorf("after the refresh: access changed %v, refresh token rotated %v", second.AccessToken != first.AccessToken, second.RefreshToken != first.RefreshToken)
		}
	})
	t.Run("ConfidentialClientBasicAuth", func(t *testing.T) {
		conf := config("backend", secret, oauth2.AuthStyleInHeader)
		tok, err := conf.PasswordCredentialsToken(ctx, "ada", "correct horse")
		if err != nil {
			t.Fatal(err)
		}
		// Force a refresh through x/oauth2's refresher.
		tok.Expiry = time.Now().Add(-time.Second)
		next, err := conf.TokenSource(ctx, tok).Token()
		if err != nil || next.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh as a confidential client: %+v, %v", next, err)
		}
	})
	t.Run("AutoDetectedAuthStyle", func(t *testing.T) {
		if _, err := config("backend", secret, oauth2.AuthStyleAutoDetect).PasswordCredentialsToken(ctx, "ada", "correct horse"); err != nil {
			t.Fatal(err)
		}
	})
	for _, c := range []struct {
		name     string
		conf     *oauth2.Config
		password string
		status   int
		code     string
	}{
		{"WrongPassword", config("first-party", "", oauth2.AuthStyleInParams), "wrong", 400, "invalid_grant"},
		{"PasswordGrantNotAllowed", config("third-party", "", oauth2.AuthStyleInParams), "correct horse", 400, "unauthorized_client"},
		{"WrongSecret", config("backend", "wrong", oauth2.AuthStyleInHeader), "correct horse", 401, "invalid_client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.conf.PasswordCredentialsToken(ctx, "ada", c.password)
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != c.code || re.Response.StatusCode != c.status {
				t.Fatalf("got %v, want %d %s", err, c.status, c.code)
			}
		})
	}
}

// TestInteropJOSE verifies access tokens with go-jose against the keys
// fetched from /.well-known/jwks.json, before and after a key rotation.
func TestInteropJOSE(t *testing.T) {
	e := start(t, setup{})
	a := e.register("ada")
	fetchKeys := func() jose.JSONWebKeySet {
		t.Helper()
		_, r := e.jwks()
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(r.body, &set); err != nil {
			t.Fatalf("go-jose cannot read the JWKS %s: %v", r.body, err)
		}
		return set
	}
	verify := func(set jose.JSONWebKeySet, token string) (josejwt.Claims, map[string]any, error) {
		var std josejwt.Claims
		var extra map[string]any
		tok, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil {
			return std, nil, err
		}
		if typ := tok.Headers[0].ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
			return std, nil, errors.New("typ is not at+jwt")
		}
		keys := set.Key(tok.Headers[0].KeyID)
		if len(keys) != 1 {
			return std, nil, errors.New("no key for the kid")
		}
		if err := tok.Claims(keys[0].Key, &std, &extra); err != nil {
			return std, nil, err
		}
		err = std.ValidateWithLeeway(josejwt.Expected{Issuer: "http://localhost:1337", Time: e.clock.Now()}, 0)
		return std, extra, err
	}

	set := fetchKeys()
	if len(set.Keys) != 1 || set.Keys[0].Algorithm != "EdDSA" || !set.Keys[0].IsPublic() || !set.Keys[0].Valid() {
		t.Fatalf("JWKS as go-jose reads it: %+v", set.Keys)
	}
	std, extra, err := verify(set, a.jwt)
	if err != nil {
		t.Fatalf("go-jose: %v", err)
	}
	if std.Subject != "1" || extra["id"] != float64(1) || extra["sid"] == "" || std.ID == "" || std.Expiry.Time().Sub(std.IssuedAt.Time()) != 15*time.Minute {
		t.Errorf("claims = %+v %v", std, extra)
	}

	t.Run("Tampered", func(t *testing.T) {
		b := e.register("bob")
		pa, pb := strings.Split(a.jwt, "."), strings.Split(b.jwt, ".")
		for name, token := range map[string]string{
			"damaged signature": pa[0] + "." + pa[1] + "." + pa[2][:len(pa[2])-4] + "AAAA",
			"swapped claims":    pa[0] + "." + pb[1] + "." + pa[2],
		} {
			if _, _, err := verify(set, token); err == nil {
				t.Errorf("go-jose accepted a token with a %s", name)
			}
		}
	})
	t.Run("RefreshTokenIsNoJWT", func(t *testing.T) {
		if _, err := josejwt.ParseSigned(a.refresh, []jose.SignatureAlgorithm{jose.EdDSA}); err == nil {
			t.Error("go-jose parsed a refresh token as a JWT")
		}
	})
	t.Run("Expired", func(t *testing.T) {
		e.clock.Advance(15*time.Minute + time.Second)
		defer e.clock.Advance(-15*time.Minute - time.Second)
		if _, _, err := verify(set, a.jwt); !errors.Is(err, josejwt.ErrExpired) {
			t.Errorf("go-jose on an expired token: %v, want ErrExpired", err)
		}
	})
	t.Run("AfterRotation", func(t *testing.T) {
		if _, err := e.svc.RotateKey(t.Context()); err != nil {
			t.Fatal(err)
		}
		c := e.login(a, nil)
		if _, _, err := verify(set, c.jwt); err == nil {
			t.Fatal("the old key set verified a token of the new key")
		}
		set := fetchKeys()
		if len(set.Keys) != 2 {
			t.Fatalf("JWKS after the rotation has %d keys, want 2", len(set.Keys))
		}
		for name, jwt := range map[string]string{"new key": c.jwt, "old key": a.jwt} {
			if _, _, err := verify(set, jwt); err != nil {
				t.Errorf("go-jose, token of the %s: %v", name, err)
			}
		}
	})
}
