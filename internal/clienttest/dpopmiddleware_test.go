package clienttest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/dpop/dpoptest"
)

// TestMiddlewareDPoP runs the Middleware in front of a resource of a real
// Refreshing: a token bound at /oauth/token with a proof is admitted with
// a proof of its key, and refused as a bearer token or with a bad proof,
// with RFC 9449's challenges.
func TestMiddlewareDPoP(t *testing.T) {
	s := start(t, nil)
	if _, err := s.svc.Register(t.Context(), refreshing.Registration{Username: "ada", Email: "ada@example.com", Password: "correct horse"}, refreshing.ClientInfo{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.svc.CreateClient(t.Context(), refreshing.ClientSpec{ID: "spa", Grants: []string{refreshing.GrantPassword}}); err != nil {
		t.Fatal(err)
	}
	k := dpoptest.NewES256()
	form := url.Values{"grant_type": {"password"}, "client_id": {"spa"}, "username": {"ada"}, "password": {"correct horse"}}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", k.Proof(http.MethodPost, s.URL+"/oauth/token", dpoptest.Options{IAT: s.clock.Now()}))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(body, &tok); err != nil || tok.TokenType != "DPoP" {
		t.Fatalf("token answer %d %s", res.StatusCode, body)
	}
	call := func(scheme string, proofs ...string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/resource", nil)
		req.Header.Set("Authorization", scheme+" "+tok.AccessToken)
		for _, p := range proofs {
			req.Header.Add("DPoP", p)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := call("DPoP", k.Proof(http.MethodGet, s.URL+"/resource", dpoptest.Options{IAT: s.clock.Now(), AccessToken: tok.AccessToken})); res.StatusCode != http.StatusOK {
		t.Fatalf("with its proof: %d", res.StatusCode)
	}
	for name, c := range map[string]struct {
		res  *http.Response
		code string
	}{
		"Bearer":     {call("Bearer"), "invalid_token"},
		"NoProof":    {call("DPoP"), "invalid_dpop_proof"},
		"OtherPath":  {call("DPoP", k.Proof(http.MethodGet, s.URL+"/other", dpoptest.Options{IAT: s.clock.Now(), AccessToken: tok.AccessToken})), "invalid_dpop_proof"},
		"OtherKey":   {call("DPoP", dpoptest.NewEd25519().Proof(http.MethodGet, s.URL+"/resource", dpoptest.Options{IAT: s.clock.Now(), AccessToken: tok.AccessToken})), "invalid_dpop_proof"},
		"StaleProof": {call("DPoP", k.Proof(http.MethodGet, s.URL+"/resource", dpoptest.Options{IAT: s.clock.Now().Add(-2 * time.Minute), AccessToken: tok.AccessToken})), "invalid_dpop_proof"},
	} {
		t.Run(name, func(t *testing.T) {
			if c.res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", c.res.StatusCode)
			}
			if got := c.res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `DPoP error="`+c.code+`"`) || !strings.Contains(got, `algs="`) {
				t.Errorf("WWW-Authenticate = %q, want a DPoP challenge with %s", got, c.code)
			}
		})
	}
}
