// Package dpoptest makes DPoP proofs (RFC 9449) for tests, signed with the
// standard library alone (crypto/ecdsa, crypto/ed25519), so that the
// server's checks are tested against proofs it did not make itself.
package dpoptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"time"
)

var b64 = base64.RawURLEncoding

// Key is a client's DPoP key.
type Key struct {
	Signer crypto.Signer
	Alg    string
	JWK    map[string]string // the public key, as the proof's header carries it
}

// NewES256 returns a P-256 key.
func NewES256() *Key {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Key{Signer: k, Alg: "ES256", JWK: map[string]string{
		"kty": "EC", "crv": "P-256",
		"x": b64.EncodeToString(k.X.FillBytes(make([]byte, 32))),
		"y": b64.EncodeToString(k.Y.FillBytes(make([]byte, 32))),
	}}
}

// NewEd25519 returns an Ed25519 key.
func NewEd25519() *Key {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Key{Signer: priv, Alg: "EdDSA", JWK: map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(pub)}}
}

// Thumbprint is the key's RFC 7638 SHA-256 thumbprint, base64url.
func (k *Key) Thumbprint() string {
	var members []byte
	if k.JWK["kty"] == "EC" {
		members, _ = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{k.JWK["crv"], k.JWK["kty"], k.JWK["x"], k.JWK["y"]})
	} else {
		members, _ = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{k.JWK["crv"], k.JWK["kty"], k.JWK["x"]})
	}
	sum := sha256.Sum256(members)
	return b64.EncodeToString(sum[:])
}

// Options change a proof, to make it wrong in one way.
type Options struct {
	Typ    string         // default dpop+jwt
	JTI    string         // default random
	IAT    time.Time      // default now
	Header map[string]any // merged into the header last
	// Nonce, when not "", is the nonce claim (RFC 9449 section 8).
	Nonce string
	// AccessToken, when not "", is the access token the proof comes with
	// at a resource: ath is its SHA-256 (RFC 9449 section 4.2).
	AccessToken string
	// Claims are merged into the claims last.
	Claims map[string]any
}

// Proof returns a proof for htm and htu.
func (k *Key) Proof(htm, htu string, o Options) string {
	if o.Typ == "" {
		o.Typ = "dpop+jwt"
	}
	if o.JTI == "" {
		var b [16]byte
		rand.Read(b[:])
		o.JTI = b64.EncodeToString(b[:])
	}
	if o.IAT.IsZero() {
		o.IAT = time.Now()
	}
	h := map[string]any{"typ": o.Typ, "alg": k.Alg, "jwk": k.JWK}
	for n, v := range o.Header {
		h[n] = v
	}
	hj, _ := json.Marshal(h)
	c := map[string]any{"jti": o.JTI, "htm": htm, "htu": htu, "iat": o.IAT.Unix()}
	if o.Nonce != "" {
		c["nonce"] = o.Nonce
	}
	if o.AccessToken != "" {
		sum := sha256.Sum256([]byte(o.AccessToken))
		c["ath"] = b64.EncodeToString(sum[:])
	}
	for n, v := range o.Claims {
		c[n] = v
	}
	cj, _ := json.Marshal(c)
	input := b64.EncodeToString(hj) + "." + b64.EncodeToString(cj)
	return input + "." + b64.EncodeToString(k.sign([]byte(input)))
}

func (k *Key) sign(input []byte) []byte {
	switch s := k.Signer.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(s, input)
	case *ecdsa.PrivateKey:
		sum := sha256.Sum256(input)
		r, ss, err := ecdsa.Sign(rand.Reader, s, sum[:])
		if err != nil {
			panic(err)
		}
		return append(pad(r), pad(ss)...)
	}
	panic("unsupported key")
}

func pad(n *big.Int) []byte { return n.FillBytes(make([]byte, 32)) }
