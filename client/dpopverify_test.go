package client_test

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
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing/client"
)

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

// TestVerifyRequestDPoP: a DPoP-bound token is admitted with "DPoP" and a
// proof of its key for the very request, once, for every accepted
// algorithm; anything else is refused with the right error.
func TestVerifyRequestDPoP(t *testing.T) {
	ks := newKeyServer(t)
	ks.add("k1")
	const resource = "https://api.example.com/things?page=2"
	htu := "https://api.example.com/things"
	for _, alg := range []string{"ES256", "ES384", "EdDSA", "RS256", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			v := &client.Verifier{Issuer: iss, JWKSURL: ks.srv.URL, Now: func() time.Time { return t0 }}
			k := newDPoPKey(t, alg)
			claims := goodClaims()
			claims["cnf"] = map[string]string{"jkt": k.thumbprint()}
			token := ks.sign(goodHeader(), claims)
			r := dpopRequest(http.MethodGet, resource, token, k.proof(http.MethodGet, htu, token, t0, nil))
			c, err := v.VerifyRequest(r)
			if err != nil {
				t.Fatal(err)
			}
			if c.JKT != k.thumbprint() || c.UserID != 42 {
				t.Fatalf("claims = %+v", c)
			}
			if _, err := v.VerifyRequest(r); !errors.Is(err, client.ErrInvalidDPoPProof) {
				t.Fatalf("the same proof again: %v, want ErrInvalidDPoPProof", err)
			}
		})
	}

	v := &client.Verifier{Issuer: iss, JWKSURL: ks.srv.URL, Now: func() time.Time { return t0 }}
	k, other := newDPoPKey(t, "ES256"), newDPoPKey(t, "EdDSA")
	claims := goodClaims()
	claims["cnf"] = map[string]string{"jkt": k.thumbprint()}
	bound := ks.sign(goodHeader(), claims)
	unbound := ks.sign(goodHeader(), goodClaims())
	proof := func(edit func(h, c map[string]any)) string { return k.proof(http.MethodGet, htu, bound, t0, edit) }
	parts := strings.Split(proof(nil), ".")

	t.Run("BearerUnaffected", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, resource, nil)
		r.Header.Set("Authorization", "Bearer "+unbound)
		if c, err := v.VerifyRequest(r); err != nil || c.JKT != "" {
			t.Fatalf("a bearer token: %+v, %v", c, err)
		}
	})
	t.Run("ErrBoundToken", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, resource, nil)
		r.Header.Set("Authorization", "Bearer "+bound)
		if _, err := v.VerifyRequest(r); !errors.Is(err, client.ErrBoundToken) || !errors.Is(err, client.ErrInvalidToken) {
			t.Fatalf("a bound token as bearer: %v, want ErrBoundToken", err)
		}
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		for _, auth := range []string{"", "DPoP ", "Basic YTpi"} {
			r := httptest.NewRequest(http.MethodGet, resource, nil)
			r.Header.Set("Authorization", auth)
			if _, err := v.VerifyRequest(r); !errors.Is(err, client.ErrNoToken) {
				t.Errorf("%q: %v, want ErrNoToken", auth, err)
			}
		}
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		for name, token := range map[string]string{"Unbound": unbound, "Garbage": "a.b.c"} {
			r := dpopRequest(http.MethodGet, resource, token, k.proof(http.MethodGet, htu, token, t0, nil))
			if _, err := v.VerifyRequest(r); !errors.Is(err, client.ErrInvalidToken) {
				t.Errorf("%s: %v, want ErrInvalidToken", name, err)
			}
		}
	})
	for name, proofs := range map[string][]string{
		"None":       nil,
		"Two":        {proof(nil), proof(nil)},
		"OtherKey":   {other.proof(http.MethodGet, htu, bound, t0, nil)},
		"WrongHTM":   {proof(func(_, c map[string]any) { c["htm"] = "POST" })},
		"WrongPath":  {proof(func(_, c map[string]any) { c["htu"] = "https://api.example.com/other" })},
		"WrongHost":  {proof(func(_, c map[string]any) { c["htu"] = "https://elsewhere.example.com/things" })},
		"NoATH":      {proof(func(_, c map[string]any) { delete(c, "ath") })},
		"OtherATH":   {k.proof(http.MethodGet, htu, unbound, t0, nil)},
		"NoJTI":      {proof(func(_, c map[string]any) { delete(c, "jti") })},
		"NoIAT":      {proof(func(_, c map[string]any) { delete(c, "iat") })},
		"StaleIAT":   {k.proof(http.MethodGet, htu, bound, t0.Add(-2*time.Minute), nil)},
		"FutureIAT":  {k.proof(http.MethodGet, htu, bound, t0.Add(time.Minute), nil)},
		"QuotedIAT":  {proof(func(_, c map[string]any) { c["iat"] = "1778051289" })},
		"WrongTyp":   {proof(func(h, _ map[string]any) { h["typ"] = "JWT" })},
		"HS256":      {proof(func(h, _ map[string]any) { h["alg"] = "HS256" })},
		"AlgNone":    {parts[0] + "." + parts[1] + "."},
		"WrongCurve": {proof(func(h, _ map[string]any) { h["alg"] = "ES384" })},
		"Crit":       {proof(func(h, _ map[string]any) { h["crit"] = []string{"exp"} })},
		"NoJWK":      {proof(func(h, _ map[string]any) { delete(h, "jwk") })},
		"PrivateJWK": {proof(func(h, _ map[string]any) {
			h["jwk"] = map[string]string{"kty": "EC", "crv": "P-256", "x": k.jwk["x"], "y": k.jwk["y"], "d": k.jwk["x"]}
		})},
		"BadSignature": {parts[0] + "." + parts[1] + "." + b64.EncodeToString(make([]byte, 64))},
		"Garbage":      {"not-a-proof"},
	} {
		t.Run("ErrInvalidDPoPProof"+name, func(t *testing.T) {
			if _, err := v.VerifyRequest(dpopRequest(http.MethodGet, resource, bound, proofs...)); !errors.Is(err, client.ErrInvalidDPoPProof) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
		})
	}
	t.Run("BaseURLs", func(t *testing.T) {
		v := &client.Verifier{Issuer: iss, JWKSURL: ks.srv.URL, Now: func() time.Time { return t0 }, BaseURLs: []string{"https://api.example.com/v1"}}
		// The request reached /things behind a proxy that strips /v1.
		ok := dpopRequest(http.MethodGet, "http://10.0.0.7:8080/things", bound, k.proof(http.MethodGet, "https://api.example.com/v1/things", bound, t0, nil))
		if _, err := v.VerifyRequest(ok); err != nil {
			t.Fatalf("a proof for the configured URL: %v", err)
		}
		// A proof for the Host the request names is no longer enough.
		r := dpopRequest(http.MethodGet, "https://other.example.com/things", bound, k.proof(http.MethodGet, "https://other.example.com/things", bound, t0, nil))
		if _, err := v.VerifyRequest(r); !errors.Is(err, client.ErrInvalidDPoPProof) {
			t.Fatalf("a proof for the request's Host: %v, want ErrInvalidDPoPProof", err)
		}
	})
}
