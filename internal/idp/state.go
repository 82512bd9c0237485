package idp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// State is what one sign-in keeps in the browser between GET
// /api/connect/{provider} and the callback: a cookie, signed with the
// server's key (HMAC-SHA256), short-lived, bound to one provider, and
// cleared at the callback. The provider sees only State and the nonce and
// the S256 challenge of Verifier.
type State struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Redirect string `json:"r,omitempty"`
	Expires  int64  `json:"e"` // unix seconds
}

// StateTTL is how long a sign-in may take between connect and callback.
const StateTTL = 10 * time.Minute

// NewState returns a fresh state for provider with random state, nonce and
// PKCE verifier, expiring StateTTL after now.
func NewState(provider, redirect string, now time.Time) State {
	return State{Provider: provider, State: random(), Nonce: random(), Verifier: random() + random(),
		Redirect: redirect, Expires: now.Add(StateTTL).Unix()}
}

func random() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Seal encodes st and signs it with key.
func Seal(key []byte, st State) string {
	b, _ := json.Marshal(st)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(sign(key, payload))
}

func sign(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("refreshing oidc state\x00" + payload))
	return m.Sum(nil)
}

// Open checks the signature and expiry of a sealed state and that it
// belongs to provider and to the callback's state parameter. Every failure
// is refreshing.ErrProviderState.
func Open(key []byte, sealed, provider, state string, now time.Time) (State, error) {
	var st State
	payload, mac, ok := strings.Cut(sealed, ".")
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if !ok || err != nil || !hmac.Equal(got, sign(key, payload)) {
		return st, fmt.Errorf("%w: state cookie missing or not signed by this server", refreshing.ErrProviderState)
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(b, &st) != nil {
		return State{}, fmt.Errorf("%w: state cookie unreadable", refreshing.ErrProviderState)
	}
	switch {
	case now.Unix() >= st.Expires:
		return State{}, fmt.Errorf("%w: sign-in took longer than %v", refreshing.ErrProviderState, StateTTL)
	case st.Provider != provider:
		return State{}, fmt.Errorf("%w: sign-in started with another provider", refreshing.ErrProviderState)
	case state == "" || !hmac.Equal([]byte(st.State), []byte(state)):
		return State{}, fmt.Errorf("%w: state does not match this browser's sign-in", refreshing.ErrProviderState)
	}
	return st, nil
}
