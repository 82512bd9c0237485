package clienttest_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
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
	"github.com/refreshing/refreshing/internal/dpop"
)

func TestDPoPKeyProof(t *testing.T) {
	// The proofs are checked by internal/dpop, the server's checker (on
	// go-jose): another implementation than the one that signs them.
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	for _, tc := range []struct {
		alg    string
		signer crypto.Signer
	}{{"ES256", ec}, {"EdDSA", ed}} {
		t.Run(tc.alg, func(t *testing.T) {
			k, err := client.NewDPoPKey(tc.signer)
			if err != nil {
				t.Fatal(err)
			}
			proof, err := k.Proof("GET", "https://API.example.com:443/orders?page=2#top", now, "n-1", "the-access-token")
			if err != nil {
				t.Fatal(err)
			}
			p, err := dpop.Check(proof, dpop.Want{Method: "GET", URLs: []string{"https://api.example.com/orders"}, AccessToken: "the-access-token"}, now, dpop.NewReplayCache(10, time.Now))
			if err != nil {
				t.Fatalf("the server's checker refuses the proof: %v", err)
			}
			if got, want := p.JKT, k.Thumbprint(); got != want {
				t.Errorf("thumbprint: the checker computes %s, the key says %s", got, want)
			}
			var h struct {
				Typ, Alg string
				JWK      map[string]any
			}
			b, _ := base64.RawURLEncoding.DecodeString(strings.Split(proof, ".")[0])
			if err := json.Unmarshal(b, &h); err != nil {
				t.Fatal(err)
			}
			if h.Typ != "dpop+jwt" || h.Alg != tc.alg || h.JWK["d"] != nil {
				t.Errorf("header %s: want typ dpop+jwt, alg %s, a public jwk", b, tc.alg)
			}
			c := proofClaims(proof)
			sum := sha256.Sum256([]byte("the-access-token"))
			if c.HTU != "https://API.example.com:443/orders" || c.HTM != "GET" || c.IAT != now.Unix() || c.Nonce != "n-1" ||
				c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) || len(c.JTI) < 16 {
				t.Errorf("claims %+v", c)
			}
			again, _ := k.Proof("GET", "https://api.example.com/orders", now, "", "")
			if c2 := proofClaims(again); c2.JTI == c.JTI || c2.Nonce != "" || c2.ATH != "" {
				t.Errorf("a second proof %+v: want a new jti, no nonce, no ath", c2)
			}
		})
	}
	t.Run("OtherKeys", func(t *testing.T) {
		p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
		for _, signer := range []crypto.Signer{p384, rsaKey} {
			if _, err := client.NewDPoPKey(signer); err == nil {
				t.Errorf("NewDPoPKey(%T) accepted the key", signer)
			}
		}
	})
	t.Run("RelativeURL", func(t *testing.T) {
		k, _ := client.GenerateDPoPKey()
		if _, err := k.Proof("GET", "/orders", now, "", ""); err == nil {
			t.Error("a proof for a relative URL")
		}
	})
}

func TestFileDPoPKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "dpop.pem")
	// Programs starting at once end up with one key.
	keys := make([]*client.DPoPKey, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := client.FileDPoPKey(path)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, k := range keys {
		if k.Thumbprint() != keys[0].Thumbprint() {
			t.Fatal("programs starting at once got different keys")
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "keys", ".*tmp")); len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
	again, err := client.FileDPoPKey(path)
	if err != nil || again.Thumbprint() != keys[0].Thumbprint() {
		t.Fatalf("reloaded: %v, %v; want the same key", again, err)
	}

	t.Run("Ed25519", func(t *testing.T) {
		_, ed, _ := ed25519.GenerateKey(rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(ed)
		p := filepath.Join(dir, "ed.pem")
		os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
		k, err := client.FileDPoPKey(p)
		want, _ := client.NewDPoPKey(ed)
		if err != nil || k.Thumbprint() != want.Thumbprint() {
			t.Fatalf("%v, %v", k, err)
		}
	})
	t.Run("NotAKey", func(t *testing.T) {
		p := filepath.Join(dir, "junk.pem")
		os.WriteFile(p, []byte("junk"), 0o600)
		if _, err := client.FileDPoPKey(p); err == nil {
			t.Fatal("junk taken for a key")
		}
	})
}

// dpopClient registers the public client "spa", allowed the password grant
// and requiring DPoP, and a user, and returns a Transport with a new DPoP
// key, signed in as that user.
func (s *refreshingServer) dpopClient(t *testing.T, name string) *client.Transport {
	t.Helper()
	if _, err := s.svc.CreateUser(t.Context(), name, name+"@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Client(t.Context(), "spa"); err != nil {
		if _, _, err := s.svc.CreateClient(t.Context(), refreshing.ClientSpec{ID: "spa", Grants: []string{"password"}, RequireDPoP: true}); err != nil {
			t.Fatal(err)
		}
	}
	key, err := client.GenerateDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	tr := &client.Transport{TokenURL: s.URL + "/oauth/token", ClientID: "spa", Store: client.NewMemoryStore(nil), Now: s.clock.Now, DPoP: key}
	if err := tr.SignIn(t.Context(), name, "correct horse"); err != nil {
		t.Fatal(err)
	}
	return tr
}

// cnfJKT reads an access token's cnf.jkt without verifying it.
func cnfJKT(t *testing.T, access string) string {
	t.Helper()
	var p struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", access)
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(b, &p)
	return p.Cnf.JKT
}

// getDPoP sends GET /dpop-resource through hc.
func (s *refreshingServer) getDPoP(hc *http.Client) (int, string, error) {
	res, err := hc.Get(s.URL + "/dpop-resource?x=1")
	if err != nil {
		return 0, "", err
	}
	b, err := readAll(res)
	return res.StatusCode, b, err
}

func TestTransportDPoP(t *testing.T) {
	s := start(t, func(st *refreshing.Settings) { st.AccessTTL = time.Minute })
	tr := s.dpopClient(t, "ada")
	tok, err := tr.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" || cnfJKT(t, tok.AccessToken) != tr.DPoP.Thumbprint() {
		t.Fatalf("signed in: token_type %q, cnf.jkt %q; want DPoP bound to %s", tok.TokenType, cnfJKT(t, tok.AccessToken), tr.DPoP.Thumbprint())
	}

	t.Run("ResourceServer", func(t *testing.T) {
		// "Authorization: DPoP" and a proof with ath, a new one each time
		// (the resource keeps a replay cache).
		hc := tr.Client()
		for range 3 {
			status, body, err := s.getDPoP(hc)
			if err != nil || status != http.StatusOK || !strings.Contains(body, "jkt "+tr.DPoP.Thumbprint()) {
				t.Fatalf("GET /dpop-resource: %d %q %v", status, body, err)
			}
		}
		// client.Verifier's Middleware and the server's own /api/users/me
		// take the bound token with its proof.
		if status, body, err := s.get(hc); err != nil || status != http.StatusOK {
			t.Fatalf("GET /resource (client.Verifier): %d %q %v", status, body, err)
		}
		me, err := hc.Get(s.URL + "/api/users/me")
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := readAll(me); me.StatusCode != http.StatusOK || !strings.Contains(b, `"ada"`) {
			t.Fatalf("GET /api/users/me: %d %q", me.StatusCode, b)
		}
		// A POST with a body that can be sent again.
		res, err := hc.Post(s.URL+"/dpop-resource", "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := readAll(res)
		if res.StatusCode != http.StatusOK || !strings.Contains(b, `body "hello"`) {
			t.Fatalf("POST: %d %q", res.StatusCode, b)
		}
	})

	t.Run("BoundRefresh", func(t *testing.T) {
		before := s.tokenCalls.Load()
		s.clock.Advance(time.Minute)
		status, body, err := s.getDPoP(tr.Client())
		if err != nil || status != http.StatusOK {
			t.Fatalf("after expiry: %d %q %v", status, body, err)
		}
		next, _ := tr.Token(t.Context())
		if s.tokenCalls.Load()-before != 1 || next.AccessToken == tok.AccessToken || next.RefreshToken == tok.RefreshToken || next.TokenType != "DPoP" {
			t.Fatalf("want one bound refresh; %d token requests, token %+v", s.tokenCalls.Load()-before, next)
		}
		if cnfJKT(t, next.AccessToken) != tr.DPoP.Thumbprint() {
			t.Fatal("the refreshed access token is not bound to the key")
		}
	})

	t.Run("StolenRefreshToken", func(t *testing.T) {
		// The refresh token is bound to the key: without a proof, or with
		// another key's, the server refuses it and nothing changes.
		cur, _ := tr.Token(t.Context())
		s.clock.Advance(time.Minute)
		noKey := &client.Transport{TokenURL: s.URL + "/oauth/token", ClientID: "spa", Store: client.NewMemoryStore(&client.Token{RefreshToken: cur.RefreshToken, Expiry: s.clock.Now()}), Now: s.clock.Now}
		var oe *client.OAuthError
		if _, err := noKey.Token(t.Context()); !errors.As(err, &oe) || oe.Code != "invalid_dpop_proof" {
			t.Fatalf("without a key: %v; want invalid_dpop_proof", err)
		}
		otherKey, _ := client.GenerateDPoPKey()
		thief := &client.Transport{TokenURL: s.URL + "/oauth/token", ClientID: "spa", Store: client.NewMemoryStore(&client.Token{RefreshToken: cur.RefreshToken, Expiry: s.clock.Now()}), Now: s.clock.Now, DPoP: otherKey}
		if _, err := thief.Token(t.Context()); !errors.Is(err, client.ErrSignedOut) {
			t.Fatalf("with another key: %v; want ErrSignedOut (invalid_grant)", err)
		}
		if status, body, err := s.getDPoP(tr.Client()); err != nil || status != http.StatusOK {
			t.Fatalf("the owner, after the attempts: %d %q %v", status, body, err)
		}
	})

	t.Run("BoundTokenWithoutKey", func(t *testing.T) {
		cur, _ := tr.Token(t.Context())
		keyless := &client.Transport{TokenURL: s.URL + "/oauth/token", ClientID: "spa", Store: client.NewMemoryStore(cur), Now: s.clock.Now}
		if _, _, err := s.getDPoP(keyless.Client()); err == nil || !strings.Contains(err.Error(), "no DPoP key") {
			t.Fatalf("a bound token without its key: %v", err)
		}
	})
}

func TestTransportDPoPNonce(t *testing.T) {
	// The server requires its nonces at the token endpoint (and at its own
	// /api); /dpop-resource wants one of its own.
	s := start(t, func(st *refreshing.Settings) { st.AccessTTL = time.Minute; st.DPoPNonceRequired = true })
	n1 := "rs-1"
	s.resourceNonce.Store(&n1)
	before := s.tokenCalls.Load()
	tr := s.dpopClient(t, "ada")
	if got := s.tokenCalls.Load() - before; got != 2 {
		t.Fatalf("sign-in: %d token requests; want 2 (use_dpop_nonce, then the grant)", got)
	}
	hc := tr.Client()
	before = s.resourceCalls.Load()
	for i := range 2 {
		if status, body, err := s.getDPoP(hc); err != nil || status != http.StatusOK {
			t.Fatalf("request %d: %d %q %v", i, status, body, err)
		}
	}
	if got := s.resourceCalls.Load() - before; got != 3 {
		t.Fatalf("%d resource requests; want 3 (use_dpop_nonce, then two with the nonce)", got)
	}
	me, err := hc.Get(s.URL + "/api/users/me") // the server's own resource, its own nonce
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := readAll(me); me.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/users/me: %d %q", me.StatusCode, b)
	}

	t.Run("RotatedNonce", func(t *testing.T) {
		// Both move on to new nonces (the server's after two of its
		// periods) while the access token expires: each asks once more.
		n2 := "rs-2"
		s.resourceNonce.Store(&n2)
		s.clock.Advance(2*dpop.NoncePeriod + time.Minute)
		tb, rb := s.tokenCalls.Load(), s.resourceCalls.Load()
		if status, body, err := s.getDPoP(hc); err != nil || status != http.StatusOK {
			t.Fatalf("%d %q %v", status, body, err)
		}
		if got := s.tokenCalls.Load() - tb; got != 2 {
			t.Errorf("refresh: %d token requests; want 2", got)
		}
		if got := s.resourceCalls.Load() - rb; got != 2 {
			t.Errorf("%d resource requests; want 2", got)
		}
	})

	t.Run("NoncesKeptApart", func(t *testing.T) {
		// The token endpoint and /dpop-resource share an origin but not a
		// nonce: each keeps its own, so neither asks again.
		s.clock.Advance(time.Minute)
		tb, rb := s.tokenCalls.Load(), s.resourceCalls.Load()
		if status, body, err := s.getDPoP(hc); err != nil || status != http.StatusOK {
			t.Fatalf("%d %q %v", status, body, err)
		}
		if got := s.tokenCalls.Load() - tb; got != 1 {
			t.Errorf("refresh: %d token requests; want 1", got)
		}
		if got := s.resourceCalls.Load() - rb; got != 1 {
			t.Errorf("%d resource requests; want 1", got)
		}
	})

	t.Run("OneRetryOnly", func(t *testing.T) {
		// A server that wants another nonce each time gets one retry, and
		// then its answer is the error: no loop.
		s.tokenNonceChurn.Store(true)
		defer s.tokenNonceChurn.Store(false)
		s.clock.Advance(time.Minute)
		tb := s.tokenCalls.Load()
		var oe *client.OAuthError
		if _, err := tr.Token(t.Context()); !errors.As(err, &oe) || oe.Code != "use_dpop_nonce" {
			t.Fatalf("%v: want use_dpop_nonce", err)
		}
		if got := s.tokenCalls.Load() - tb; got != 2 {
			t.Fatalf("%d token requests for one refresh; want 2", got)
		}
	})
}

func readAll(res *http.Response) (string, error) {
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}
