package clienttest_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// The DPoP key helpers below are client/dpopverify_test.go's: client is a
// module of its own, and its test helpers cannot be imported from here.

var b64 = base64.RawURLEncoding

// dpopKey is a client's DPoP key, and makes its proofs: written here with
// the standard library, apart from the code under test.
type dpopKey struct {
	signer crypto.Signer
	alg    string
	jwk    map[string]string
}

func newDPoPKey(t testing.TB, alg string) *dpopKey {
	t.Helper()
	switch alg {
	case "ES256", "ES384":
		curve, crv := elliptic.P256(), "P-256"
		if alg == "ES384" {
			curve, crv = elliptic.P384(), "P-384"
		}
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		size := (curve.Params().BitSize + 7) / 8
		return &dpopKey{k, alg, map[string]string{"kty": "EC", "crv": crv,
			"x": b64.EncodeToString(k.X.FillBytes(make([]byte, size))), "y": b64.EncodeToString(k.Y.FillBytes(make([]byte, size)))}}
	case "EdDSA":
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		return &dpopKey{priv, alg, map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(pub)}}
	default: // RS256, PS256
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return &dpopKey{k, alg, map[string]string{"kty": "RSA", "n": b64.EncodeToString(k.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}}
	}
}

// thumbprint is RFC 7638's: the required members, in lexicographic order
// (encoding/json sorts a map's keys), hashed with SHA-256.
func (k *dpopKey) thumbprint() string {
	req := map[string]string{"kty": k.jwk["kty"]}
	names := map[string][]string{"EC": {"crv", "x", "y"}, "OKP": {"crv", "x"}, "RSA": {"e", "n"}}[k.jwk["kty"]]
	for _, n := range names {
		req[n] = k.jwk[n]
	}
	b, _ := json.Marshal(req)
	sum := sha256.Sum256(b)
	return b64.EncodeToString(sum[:])
}

// proof returns a proof of k for method and htu, carrying the hash of
// token; edit changes the header and claims first, to make it wrong.
func (k *dpopKey) proof(method, htu, token string, iat time.Time, edit func(h, c map[string]any)) string {
	jti := make([]byte, 12)
	rand.Read(jti)
	sum := sha256.Sum256([]byte(token))
	h := map[string]any{"typ": "dpop+jwt", "alg": k.alg, "jwk": k.jwk}
	c := map[string]any{"jti": b64.EncodeToString(jti), "htm": method, "htu": htu, "iat": iat.Unix(), "ath": b64.EncodeToString(sum[:])}
	if edit != nil {
		edit(h, c)
	}
	hj, _ := json.Marshal(h)
	cj, _ := json.Marshal(c)
	input := b64.EncodeToString(hj) + "." + b64.EncodeToString(cj)
	var sig []byte
	switch s := k.signer.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(s, []byte(input))
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256([]byte(input))
		d := digest[:]
		if k.alg == "ES384" {
			d384 := crypto.SHA384.New()
			d384.Write([]byte(input))
			d = d384.Sum(nil)
		}
		r, ss, err := ecdsa.Sign(rand.Reader, s, d)
		if err != nil {
			panic(err)
		}
		size := (s.Curve.Params().BitSize + 7) / 8
		sig = append(r.FillBytes(make([]byte, size)), ss.FillBytes(make([]byte, size))...)
	case *rsa.PrivateKey:
		digest := sha256.Sum256([]byte(input))
		var err error
		if k.alg == "PS256" {
			sig, err = rsa.SignPSS(rand.Reader, s, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, s, crypto.SHA256, digest[:])
		}
		if err != nil {
			panic(err)
		}
	}
	return input + "." + b64.EncodeToString(sig)
}

// dpopRequest is a request to resource carrying token with the DPoP scheme
// and the given proofs.
func dpopRequest(method, resource, token string, proofs ...string) *http.Request {
	r := httptest.NewRequest(method, resource, nil)
	r.Header.Set("Authorization", "DPoP "+token)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

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
	k := newDPoPKey(t, "ES256")
	form := url.Values{"grant_type": {"password"}, "client_id": {"spa"}, "username": {"ada"}, "password": {"correct horse"}}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", k.proof(http.MethodPost, s.URL+"/oauth/token", "", s.clock.Now(), func(_, c map[string]any) { delete(c, "ath") }))
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
	if res := call("DPoP", k.proof(http.MethodGet, s.URL+"/resource", tok.AccessToken, s.clock.Now(), nil)); res.StatusCode != http.StatusOK {
		t.Fatalf("with its proof: %d", res.StatusCode)
	}
	for name, c := range map[string]struct {
		res  *http.Response
		code string
	}{
		"Bearer":     {call("Bearer"), "invalid_token"},
		"NoProof":    {call("DPoP"), "invalid_dpop_proof"},
		"OtherPath":  {call("DPoP", k.proof(http.MethodGet, s.URL+"/other", tok.AccessToken, s.clock.Now(), nil)), "invalid_dpop_proof"},
		"OtherKey":   {call("DPoP", newDPoPKey(t, "EdDSA").proof(http.MethodGet, s.URL+"/resource", tok.AccessToken, s.clock.Now(), nil)), "invalid_dpop_proof"},
		"StaleProof": {call("DPoP", k.proof(http.MethodGet, s.URL+"/resource", tok.AccessToken, s.clock.Now().Add(-2*time.Minute), nil)), "invalid_dpop_proof"},
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
