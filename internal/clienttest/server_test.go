package clienttest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/client"
	"github.com/refreshing/refreshing/internal/dpop"
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
	resourceCalls atomic.Int64 // requests to /resource and /dpop-resource, admitted or not

	// tokenNonceChurn, in front of the server, refuses every proof at
	// /oauth/token with use_dpop_nonce and a new nonce each time (a server
	// gone wrong); resourceNonce, when set, is the nonce /dpop-resource
	// wants (RFC 9449 section 9).
	tokenNonceChurn atomic.Bool
	resourceNonce   atomic.Pointer[string]
	replay          *dpop.ReplayCache // /dpop-resource's
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
			if s.tokenNonceChurn.Load() && r.Header.Get("DPoP") != "" {
				w.Header().Set("DPoP-Nonce", fmt.Sprint("new-", s.tokenCalls.Load()))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"use_dpop_nonce","error_description":"Use the server's DPoP nonce"}`)
				return
			}
		case "/.well-known/jwks.json":
			s.jwksCalls.Add(1)
		case "/resource", "/dpop-resource":
			s.resourceCalls.Add(1)
		}
		mux.ServeHTTP(w, r)
	})
	s.replay = dpop.NewReplayCache(1000, s.clock.Now)
	mux.HandleFunc("/dpop-resource", s.serveDPoPResource)
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

// serveDPoPResource is a resource that takes DPoP-bound access tokens only,
// checked as RFC 9449 section 7 says: "Authorization: DPoP", the token
// valid (client.Verifier), one proof (checked by internal/dpop: typ, alg,
// signature, htm, htu, iat, jti) of the key the token's cnf.jkt names,
// whose ath is the token's hash, and the nonce resourceNonce if set.
func (s *refreshingServer) serveDPoPResource(w http.ResponseWriter, r *http.Request) {
	refuse := func(challenge string) {
		w.Header().Set("WWW-Authenticate", challenge)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, challenge)
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "DPoP") || len(r.Header.Values("DPoP")) != 1 {
		refuse(`DPoP algs="ES256 EdDSA"`)
		return
	}
	claims, err := s.verifier.Verify(r.Context(), token)
	if err != nil {
		refuse(`DPoP error="invalid_token"`)
		return
	}
	var cnf struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	parts := strings.Split(token, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(b, &cnf) != nil || cnf.Cnf.JKT == "" {
		refuse(`DPoP error="invalid_token", error_description="not DPoP-bound"`)
		return
	}
	proof := r.Header.Get("DPoP")
	p, err := dpop.Check(proof, dpop.Want{Method: r.Method, URLs: []string{s.URL + r.URL.Path}, AccessToken: token, JKT: cnf.Cnf.JKT}, s.clock.Now(), s.replay)
	if err != nil {
		refuse(`DPoP error="invalid_dpop_proof"`)
		return
	}
	pc := proofClaims(proof)
	sum := sha256.Sum256([]byte(token))
	if pc.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
		refuse(`DPoP error="invalid_dpop_proof", error_description="ath"`)
		return
	}
	if n := s.resourceNonce.Load(); n != nil && pc.Nonce != *n {
		w.Header().Set("DPoP-Nonce", *n)
		refuse(`DPoP error="use_dpop_nonce"`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "user %s jkt %s body %q", claims.Subject, p.JKT, body)
}

// dpopClaims are the claims of a DPoP proof the tests read.
type dpopClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	Nonce string `json:"nonce"`
	ATH   string `json:"ath"`
}

// proofClaims decodes a proof's claims without checking it (zero if it
// cannot).
func proofClaims(proof string) dpopClaims {
	var c dpopClaims
	if parts := strings.Split(proof, "."); len(parts) == 3 {
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(b, &c)
	}
	return c
}
