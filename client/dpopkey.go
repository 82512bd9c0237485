package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// DPoPKey is the key a Transport proves possession of with DPoP (RFC 9449):
// tokens issued to a Transport with a DPoPKey are bound to the key, so a
// stolen refresh token (or access token) is worthless without it. The key
// must outlive the tokens: a program that keeps its tokens across restarts
// (FileStore) keeps its key too (FileDPoPKey, or any crypto.Signer it
// stores itself, in a keychain or a hardware token).
//
// A DPoPKey is safe for concurrent use.
type DPoPKey struct {
	signer crypto.Signer
	alg    string          // ES256 or EdDSA
	jwk    json.RawMessage // the public key as a JWK, members in RFC 7638 order
	jkt    string          // its SHA-256 thumbprint (RFC 7638), base64url
}

// NewDPoPKey returns the DPoPKey of signer, an ECDSA P-256 key (ES256) or an
// Ed25519 key (EdDSA), such as *ecdsa.PrivateKey and ed25519.PrivateKey or a
// key held by a hardware token behind crypto.Signer.
func NewDPoPKey(signer crypto.Signer) (*DPoPKey, error) {
	k := &DPoPKey{signer: signer}
	b64 := base64.RawURLEncoding.EncodeToString
	var jwk any
	switch pub := signer.Public().(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, errors.New("client: a DPoP ECDSA key must be on P-256")
		}
		raw, err := pub.Bytes() // 0x04 || X || Y, 32 bytes each
		if err != nil || len(raw) != 65 {
			return nil, errors.New("client: invalid P-256 public key")
		}
		k.alg = "ES256"
		// Members in lexicographic order: the JWK is also its own RFC
		// 7638 thumbprint input.
		jwk = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{"P-256", "EC", b64(raw[1:33]), b64(raw[33:])}
	case ed25519.PublicKey:
		k.alg = "EdDSA"
		jwk = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{"Ed25519", "OKP", b64(pub)}
	default:
		return nil, fmt.Errorf("client: a DPoP key must be ECDSA P-256 or Ed25519, not %T", pub)
	}
	b, err := json.Marshal(jwk)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	k.jwk, k.jkt = b, b64(sum[:])
	return k, nil
}

// GenerateDPoPKey returns a new ECDSA P-256 DPoPKey, held in memory only.
func GenerateDPoPKey() (*DPoPKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return NewDPoPKey(priv)
}

// FileDPoPKey returns the DPoPKey kept in the file at path (PKCS #8, PEM),
// creating a new P-256 key there (mode 0600) if the file does not exist:
// the key to go with a FileStore.
func FileDPoPKey(path string) (*DPoPKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		var priv *ecdsa.PrivateKey
		var der []byte
		if priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, err
		}
		if der, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
			return nil, err
		}
		err = writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), true)
		if err == nil {
			return NewDPoPKey(priv)
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("client: save DPoP key: %w", err)
		}
		b, err = os.ReadFile(path) // another program created it meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("client: read DPoP key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("client: %s holds no PKCS #8 PEM private key", filepath.Base(path))
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("client: read DPoP key: %w", err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("client: a DPoP key must be ECDSA P-256 or Ed25519, not %T", priv)
	}
	return NewDPoPKey(signer)
}

// Thumbprint returns the key's SHA-256 JWK thumbprint (RFC 7638), base64url:
// the "jkt" that tokens bound to the key carry in their cnf claim.
func (k *DPoPKey) Thumbprint() string { return k.jkt }

// Proof returns a DPoP proof (RFC 9449 section 4.2) for a request with
// method htm to the URL htu (its query and fragment are left out), at now.
// nonce is the server's DPoP-Nonce, if it gave one. accessToken, when not
// empty, is the access token sent with the request: its hash goes in the
// ath claim (section 7.1).
func (k *DPoPKey) Proof(htm, htu string, now time.Time, nonce, accessToken string) (string, error) {
	u, err := url.Parse(htu)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("client: DPoP proof for %q: not an absolute URL", htu)
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	claims := struct {
		JTI   string `json:"jti"`
		HTM   string `json:"htm"`
		HTU   string `json:"htu"`
		IAT   int64  `json:"iat"`
		Nonce string `json:"nonce,omitempty"`
		ATH   string `json:"ath,omitempty"`
	}{JTI: rand.Text(), HTM: htm, HTU: u.String(), IAT: now.Unix(), Nonce: nonce}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims.ATH = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	header := struct {
		Typ string          `json:"typ"`
		Alg string          `json:"alg"`
		JWK json.RawMessage `json:"jwk"`
	}{"dpop+jwt", k.alg, k.jwk}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(h) + "." + b64(c)
	sig, err := k.sign([]byte(input))
	if err != nil {
		return "", fmt.Errorf("client: sign DPoP proof: %w", err)
	}
	return input + "." + b64(sig), nil
}

// sign returns the JWS signature of input: for ES256 the 64-byte R || S of
// RFC 7518 section 3.4 (crypto.Signer gives ASN.1 DER), for EdDSA the
// Ed25519 signature as it is.
func (k *DPoPKey) sign(input []byte) ([]byte, error) {
	if k.alg == "EdDSA" {
		return k.signer.Sign(rand.Reader, input, crypto.Hash(0))
	}
	digest := sha256.Sum256(input)
	der, err := k.signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
		return nil, errors.New("malformed ECDSA signature")
	}
	out := make([]byte, 64)
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}
