package clienttest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/client"
)

func TestVerifierAgainstRefreshing(t *testing.T) {
	s := start(t, nil)
	g, err := s.svc.Register(t.Context(), refreshing.Registration{Username: "ada", Email: "ada@example.com", Password: "correct horse"}, refreshing.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.verifier.Verify(t.Context(), g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	want := client.Claims{Issuer: s.URL, Subject: fmt.Sprint(g.User.ID), UserID: g.User.ID, SessionID: g.Session.ID,
		ID: c.ID, IssuedAt: s.clock.Now(), ExpiresAt: g.AccessExpiresAt, AuthTime: g.Session.CreatedAt.Truncate(time.Second)}
	if *c != want || c.ID == "" {
		t.Errorf("claims = %+v, want %+v", *c, want)
	}
	if _, err := s.verifier.Verify(t.Context(), g.RefreshToken); !errors.Is(err, client.ErrInvalidToken) {
		t.Errorf("a refresh token as an access token: %v, want ErrInvalidToken", err)
	}

	// A rotated key signs at once; the Verifier learns it on first sight.
	fetches := s.jwksCalls.Load()
	s.clock.Advance(time.Minute)
	if _, err := s.svc.RotateKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	g2, err := s.svc.Login(t.Context(), "ada", "correct horse", refreshing.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.verifier.Verify(t.Context(), g2.AccessToken); err != nil {
		t.Fatalf("a token of the rotated-in key: %v", err)
	}
	if _, err := s.verifier.Verify(t.Context(), g.AccessToken); err != nil {
		t.Fatalf("a token of the previous key after the rotation: %v", err)
	}
	if got := s.jwksCalls.Load() - fetches; got != 1 {
		t.Errorf("%d JWKS fetches for the rotation, want 1", got)
	}
	s.clock.Advance(15 * time.Minute)
	if _, err := s.verifier.Verify(t.Context(), g2.AccessToken); !errors.Is(err, client.ErrInvalidToken) {
		t.Errorf("an expired token: %v, want ErrInvalidToken", err)
	}
}

func TestMiddleware(t *testing.T) {
	s := start(t, nil)
	g, err := s.svc.Register(t.Context(), refreshing.Registration{Username: "ada", Email: "ada@example.com", Password: "correct horse"}, refreshing.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	// call returns the answer and, when it is JSON, its members.
	call := func(authorization string) (*http.Response, map[string]string) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/resource", nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]string
		if res.Header.Get("Content-Type") == "application/json" {
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatalf("body: %v", err)
			}
		}
		return res, body
	}
	t.Run("OK", func(t *testing.T) {
		before := s.resourceCalls.Load()
		res, _ := call("Bearer " + g.AccessToken)
		if res.StatusCode != http.StatusOK || s.resourceCalls.Load() != before+1 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	// Without a bearer token, RFC 6750 §3.1: a challenge without an error
	// code or other error information, and no error code in the body.
	for name, auth := range map[string]string{
		"Missing":     "",
		"Basic":       "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
		"EmptyBearer": "Bearer ",
	} {
		t.Run(name, func(t *testing.T) {
			res, body := call(auth)
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.StatusCode)
			}
			if got, want := res.Header.Get("WWW-Authenticate"), "Bearer"; got != want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
			if code, ok := body["error"]; ok {
				t.Errorf("body has error %q, want none", code)
			}
		})
	}
	for name, auth := range map[string]string{
		"Garbage":      "Bearer garbage",
		"RefreshToken": "Bearer " + g.RefreshToken,
	} {
		t.Run(name, func(t *testing.T) {
			res, body := call(auth)
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.StatusCode)
			}
			if got := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_token", error_description="`) {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			if got, want := body["error"], "invalid_token"; got != want {
				t.Errorf("body error = %q, want %q", got, want)
			}
		})
	}
	t.Run("Expired", func(t *testing.T) {
		s.clock.Advance(15 * time.Minute)
		res, _ := call("Bearer " + g.AccessToken)
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", res.StatusCode)
		}
		if got := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_token"`) {
			t.Errorf("WWW-Authenticate = %q", got)
		}
	})
}
