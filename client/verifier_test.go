package client_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refreshing/refreshing/client"
)

// keyServer publishes Ed25519 keys as a JWKS, for tokens the tests craft by
// hand; fetches counts the requests.
type keyServer struct {
	srv          *httptest.Server
	mu           sync.Mutex
	keys         map[string]ed25519.PrivateKey
	cacheControl string
	fetches      atomic.Int64
}

func newKeyServer(t *testing.T) *keyServer {
	ks := &keyServer{keys: map[string]ed25519.PrivateKey{}, cacheControl: "public, max-age=60"}
	ks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.fetches.Add(1)
		ks.mu.Lock()
		defer ks.mu.Unlock()
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		for kid, k := range ks.keys {
			set.Keys = append(set.Keys, map[string]string{"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig", "alg": "EdDSA",
				"x": base64.RawURLEncoding.EncodeToString(k.Public().(ed25519.PublicKey))})
		}
		// Keys of other kinds are skipped, not fatal.
		set.Keys = append(set.Keys, map[string]string{"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", ks.cacheControl)
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(ks.srv.Close)
	return ks
}

// add generates a key named kid.
func (ks *keyServer) add(kid string) {
	_, k, _ := ed25519.GenerateKey(nil)
	ks.mu.Lock()
	ks.keys[kid] = k
	ks.mu.Unlock()
}

// sign returns a compact JWS of claims with header, signed by key kid
// (which need not be published: then by a fresh key).
func (ks *keyServer) sign(header, claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	kid, _ := header["kid"].(string)
	ks.mu.Lock()
	k, ok := ks.keys[kid]
	ks.mu.Unlock()
	if !ok {
		_, k, _ = ed25519.GenerateKey(nil)
	}
	signing := enc(header) + "." + enc(claims)
	return signing + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(k, []byte(signing)))
}

const iss = "https://auth.example.com"

var t0 = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// goodHeader and goodClaims make a valid token at t0; each case edits a copy.
func goodHeader() map[string]any { return map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"} }
func goodClaims() map[string]any {
	return map[string]any{"iss": iss, "sub": "42", "id": 42, "sid": "s1", "jti": "j1",
		"iat": t0.Unix(), "exp": t0.Add(15 * time.Minute).Unix()}
}

func TestVerify(t *testing.T) {
	ks := newKeyServer(t)
	ks.add("k1")
	for _, c := range []struct {
		name    string
		header  func(map[string]any)
		claims  func(map[string]any)
		token   func(string) string // edits the signed token
		leeway  time.Duration
		at      time.Duration // after t0
		invalid bool
	}{
		{name: "OK"},
		{name: "OKTypMediaType", header: func(h map[string]any) { h["typ"] = "application/AT+JWT" }},
		{name: "OKWithinLeeway", at: 15*time.Minute + 2*time.Second, leeway: 5 * time.Second},
		{name: "OKFractionalDates", claims: func(c map[string]any) { c["exp"] = float64(t0.Add(time.Minute).Unix()) + 0.5 }},
		{name: "OKWithoutID", claims: func(c map[string]any) { delete(c, "id") }},
		{name: "Expired", at: 15 * time.Minute, invalid: true},
		{name: "ExpiredBeyondLeeway", at: 15*time.Minute + 6*time.Second, leeway: 5 * time.Second, invalid: true},
		{name: "NoExp", claims: func(c map[string]any) { delete(c, "exp") }, invalid: true},
		{name: "ExpNotANumber", claims: func(c map[string]any) { c["exp"] = "tomorrow" }, invalid: true},
		{name: "ExpQuoted", claims: func(c map[string]any) { c["exp"] = strconv.FormatInt(t0.Add(time.Hour).Unix(), 10) }, invalid: true},
		{name: "IatQuoted", claims: func(c map[string]any) { c["iat"] = strconv.FormatInt(t0.Unix(), 10) }, invalid: true},
		{name: "NbfQuoted", claims: func(c map[string]any) { c["nbf"] = strconv.FormatInt(t0.Unix(), 10) }, invalid: true},
		{name: "IDQuoted", claims: func(c map[string]any) { c["id"] = "42" }, invalid: true},
		{name: "AuthTimeQuoted", claims: func(c map[string]any) { c["auth_time"] = strconv.FormatInt(t0.Unix(), 10) }, invalid: true},
		{name: "NoSid", claims: func(c map[string]any) { delete(c, "sid") }, invalid: true},
		{name: "EmptySid", claims: func(c map[string]any) { c["sid"] = "" }, invalid: true},
		{name: "CritEmpty", header: func(h map[string]any) { h["crit"] = []string{} }, invalid: true},
		{name: "CritUnknown", header: func(h map[string]any) { h["crit"] = []string{"x-unknown"}; h["x-unknown"] = true }, invalid: true},
		{name: "NotYetValid", claims: func(c map[string]any) { c["nbf"] = t0.Add(time.Minute).Unix() }, invalid: true},
		{name: "IssuedInTheFuture", claims: func(c map[string]any) { c["iat"] = t0.Add(time.Minute).Unix() }, invalid: true},
		{name: "OtherIssuer", claims: func(c map[string]any) { c["iss"] = "https://evil.example.com" }, invalid: true},
		{name: "NoSubject", claims: func(c map[string]any) { delete(c, "sub") }, invalid: true},
		{name: "IDDisagreesWithSub", claims: func(c map[string]any) { c["id"] = 43 }, invalid: true},
		{name: "AlgNone", header: func(h map[string]any) { h["alg"] = "none" }, token: func(s string) string { return s[:strings.LastIndex(s, ".")+1] }, invalid: true},
		{name: "AlgHS256", header: func(h map[string]any) { h["alg"] = "HS256" }, invalid: true},
		{name: "TypJWT", header: func(h map[string]any) { h["typ"] = "JWT" }, invalid: true},
		{name: "NoTyp", header: func(h map[string]any) { delete(h, "typ") }, invalid: true},
		{name: "NoKid", header: func(h map[string]any) { delete(h, "kid") }, invalid: true},
		{name: "UnknownKid", header: func(h map[string]any) { h["kid"] = "k9" }, invalid: true},
		{name: "Crit", header: func(h map[string]any) { h["crit"] = []string{"exp"} }, invalid: true},
		{name: "BadSignature", token: func(s string) string { return s[:len(s)-2] + flip(s[len(s)-2:]) }, invalid: true},
		{name: "ClaimsSwapped", token: func(s string) string {
			p := strings.Split(s, ".")
			b, _ := json.Marshal(map[string]any{"iss": iss, "sub": "1", "exp": t0.Add(time.Hour).Unix()})
			return p[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + p[2]
		}, invalid: true},
		{name: "TwoSegments", token: func(s string) string { return s[:strings.LastIndex(s, ".")] }, invalid: true},
		{name: "RefreshToken", token: func(string) string {
			return "rt_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		}, invalid: true},
		{name: "TooLong", token: func(s string) string { return s + strings.Repeat("A", 9000) }, invalid: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, cl := goodHeader(), goodClaims()
			if c.header != nil {
				c.header(h)
			}
			if c.claims != nil {
				c.claims(cl)
			}
			token := ks.sign(h, cl)
			if c.token != nil {
				token = c.token(token)
			}
			v := &client.Verifier{Issuer: iss, JWKSURL: ks.srv.URL, Leeway: c.leeway, Now: func() time.Time { return t0.Add(c.at) }}
			got, err := v.Verify(t.Context(), token)
			switch {
			case c.invalid && !errors.Is(err, client.ErrInvalidToken):
				t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", got, err)
			case !c.invalid && err != nil:
				t.Fatalf("Verify: %v", err)
			case !c.invalid:
				want := client.Claims{Issuer: iss, Subject: "42", UserID: 42, SessionID: "s1", ID: "j1", IssuedAt: t0, ExpiresAt: got.ExpiresAt}
				if *got != want || got.ExpiresAt.Before(t0) {
					t.Errorf("claims = %+v, want %+v", *got, want)
				}
			}
		})
	}
}

// flip changes the last base64url character of s to another.
func flip(s string) string {
	if s[len(s)-1] == 'A' {
		return s[:len(s)-1] + "Q"
	}
	return s[:len(s)-1] + "A"
}

// cacheEnv is a Verifier on a keyServer with key k1, a settable clock and
// helpers.
type cacheEnv struct {
	ks      *keyServer
	v       *client.Verifier
	mu      sync.Mutex
	now     time.Time
	verify  func(kid string) error
	fetched func(t *testing.T, n int64)
}

func newCacheEnv(t *testing.T, minFetch time.Duration) *cacheEnv {
	e := &cacheEnv{ks: newKeyServer(t), now: t0}
	e.ks.add("k1")
	clock := func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
	e.v = &client.Verifier{Issuer: iss, JWKSURL: e.ks.srv.URL, Now: clock, MinFetchInterval: minFetch}
	e.verify = func(kid string) error {
		h, c := goodHeader(), goodClaims()
		h["kid"] = kid
		c["iat"], c["exp"] = clock().Unix(), clock().Add(time.Hour).Unix()
		_, err := e.v.Verify(t.Context(), e.ks.sign(h, c))
		return err
	}
	e.fetched = func(t *testing.T, n int64) {
		t.Helper()
		if got := e.ks.fetches.Load(); got != n {
			t.Fatalf("%d JWKS fetches, want %d", got, n)
		}
	}
	return e
}

func (e *cacheEnv) advance(d time.Duration) { e.mu.Lock(); e.now = e.now.Add(d); e.mu.Unlock() }

// concurrently runs f n times at once and returns how many returned nil.
func concurrently(n int, f func() error) int {
	var wg sync.WaitGroup
	var ok atomic.Int64
	for range n {
		wg.Go(func() {
			if f() == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return int(ok.Load())
}

func TestVerifierKeyCache(t *testing.T) {
	t.Run("OneFetchForConcurrentCallers", func(t *testing.T) {
		e := newCacheEnv(t, 0)
		if n := concurrently(50, func() error { return e.verify("k1") }); n != 50 {
			t.Fatalf("%d of 50 verified", n)
		}
		e.fetched(t, 1)
	})
	t.Run("UnknownKidWaitsForTheNextFetch", func(t *testing.T) {
		e := newCacheEnv(t, 300*time.Millisecond)
		if err := e.verify("k1"); err != nil {
			t.Fatal(err)
		}
		e.ks.add("k2") // rotated in at the issuer right after the fetch
		if n := concurrently(20, func() error { return e.verify("k2") }); n != 20 {
			t.Fatalf("%d of 20 tokens of a new key verified, want all", n)
		}
		e.fetched(t, 2)
		// Made-up key ids wait for the next fetch too, and share it: however
		// many come, fetches stay MinFetchInterval apart. (A caller the
		// scheduler starts only after the shared fetch waits for the next
		// one, so the bound is by elapsed time, not a fixed count.)
		start := time.Now()
		if n := concurrently(20, func() error { return e.verify(fmt.Sprint("nope", rand.Int())) }); n != 0 {
			t.Fatalf("%d tokens of made-up keys verified", n)
		}
		most := 1 + int64(time.Since(start)/(300*time.Millisecond))
		if got := e.ks.fetches.Load() - 2; got < 1 || got > most {
			t.Fatalf("20 made-up key ids caused %d fetches in %v, want 1 to %d", got, time.Since(start), most)
		}
	})
	t.Run("RefetchAfterMaxAge", func(t *testing.T) {
		e := newCacheEnv(t, time.Nanosecond) // the key server says max-age=60
		if err := e.verify("k1"); err != nil {
			t.Fatal(err)
		}
		e.advance(59 * time.Second)
		if err := e.verify("k1"); err != nil {
			t.Fatal(err)
		}
		e.fetched(t, 1)
		e.advance(time.Second)
		if err := e.verify("k1"); err != nil {
			t.Fatal(err)
		}
		e.fetched(t, 2)
	})
	t.Run("StaleKeysServeWhenTheIssuerIsDown", func(t *testing.T) {
		e := newCacheEnv(t, time.Nanosecond)
		if err := e.verify("k1"); err != nil {
			t.Fatal(err)
		}
		e.ks.srv.Close()
		e.advance(time.Hour)
		if err := e.verify("k1"); err != nil {
			t.Errorf("a cached key while the issuer is down: %v", err)
		}
		err := e.verify("k3")
		if err == nil || errors.Is(err, client.ErrInvalidToken) {
			t.Errorf("an unknown key while the issuer is down: %v, want a fetch error, not ErrInvalidToken", err)
		}
	})
	t.Run("CancelledWhileWaiting", func(t *testing.T) {
		e := newCacheEnv(t, time.Hour)
		if err := e.verify("k1"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		h := goodHeader()
		h["kid"] = "k2"
		if _, err := e.v.Verify(ctx, e.ks.sign(h, goodClaims())); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a caller that gives up waiting: %v, want its context's error", err)
		}
		e.fetched(t, 1)
	})
}

func TestVerifierHS256Server(t *testing.T) {
	// Strapi-compatible HS256 tokens are not for this Verifier: the secret
	// is not published, so nothing verifies them offline.
	ks := newKeyServer(t)
	h := goodHeader()
	h["alg"] = "HS256"
	body := ks.sign(h, goodClaims())
	v := &client.Verifier{Issuer: iss, JWKSURL: ks.srv.URL, Now: func() time.Time { return t0 }}
	if _, err := v.Verify(t.Context(), body); !errors.Is(err, client.ErrInvalidToken) {
		t.Errorf("HS256: %v, want ErrInvalidToken", err)
	}
	if got := ks.fetches.Load(); got != 0 {
		t.Errorf("%d JWKS fetches for a token of a refused algorithm, want 0", got)
	}
}

// TestMiddlewareKeysUnavailable: a token whose keys cannot be fetched is
// a 503, and the handler is not reached.
func TestMiddlewareKeysUnavailable(t *testing.T) {
	v := &client.Verifier{Issuer: iss, JWKSURL: "http://127.0.0.1:1/jwks.json"}
	h := v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("the handler was reached") }))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+ks(t))
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
}

// ks returns a well-formed EdDSA token whose key nobody publishes.
func ks(t *testing.T) string {
	return newKeyServer(t).sign(goodHeader(), goodClaims())
}
