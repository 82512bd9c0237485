package refreshing_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func TestCreateClient(t *testing.T) {
	long := strings.Repeat("s", refreshing.MinClientSecretLen)
	for _, c := range []struct {
		name  string
		spec  refreshing.ClientSpec
		field string // the FieldError's field; "" for success
	}{
		{"Public", refreshing.ClientSpec{ID: "spa"}, ""},
		{"PasswordGrant", refreshing.ClientSpec{ID: "cli", Grants: []string{"password", "refresh_token", "password"}}, ""},
		{"GeneratedSecret", refreshing.ClientSpec{ID: "backend", GenerateSecret: true}, ""},
		{"OperatorSecret", refreshing.ClientSpec{ID: "Back-end_1.0~x", Secret: long}, ""},
		{"EmptyID", refreshing.ClientSpec{}, "id"},
		{"IDWithColon", refreshing.ClientSpec{ID: "a:b"}, "id"},
		{"IDWithSpace", refreshing.ClientSpec{ID: "a b"}, "id"},
		{"LongID", refreshing.ClientSpec{ID: strings.Repeat("a", refreshing.MaxClientIDLen+1)}, "id"},
		{"ShortSecret", refreshing.ClientSpec{ID: "x", Secret: long[1:]}, "secret"},
		{"OperatorSecretBase64", refreshing.ClientSpec{ID: "b64", Secret: "q8Zk+3/YpWm0xV9e2Lr7Tn4Ah6Jc1Ud5Bf=="}, ""},
		{"SecretWithSpace", refreshing.ClientSpec{ID: "x", Secret: long + " x"}, "secret"},
		{"SecretNotASCII", refreshing.ClientSpec{ID: "x", Secret: long + "é"}, "secret"},
		{"LongSecret", refreshing.ClientSpec{ID: "x", Secret: strings.Repeat("s", refreshing.MaxClientSecretLen+1)}, "secret"},
		{"SecretAndGenerate", refreshing.ClientSpec{ID: "x", Secret: long, GenerateSecret: true}, "secret"},
		{"UnknownGrant", refreshing.ClientSpec{ID: "x", Grants: []string{"client_credentials"}}, "grant"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			cl, secret, err := e.svc.CreateClient(t.Context(), c.spec)
			if c.field != "" {
				var fe *refreshing.FieldError
				if !errors.As(err, &fe) || fe.Field != c.field {
					t.Fatalf("CreateClient(%+v) = %v, want a FieldError on %s", c.spec, err, c.field)
				}
				if _, err := e.store.Client(t.Context(), c.spec.ID); !errors.Is(err, refreshing.ErrNotFound) {
					t.Errorf("a refused client was stored (%v)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, err := e.store.Client(t.Context(), c.spec.ID)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.spec.GenerateSecret && len(secret) < 43:
				t.Errorf("generated secret %q is shorter than 256 bits", secret)
			case c.spec.Secret != "" && secret != c.spec.Secret:
				t.Errorf("secret = %q, want the operator's", secret)
			case c.spec.Secret == "" && !c.spec.GenerateSecret && secret != "":
				t.Errorf("a public client got a secret %q", secret)
			}
			if got, want := stored.Confidential(), secret != ""; got != want || cl.Confidential() != want {
				t.Errorf("Confidential() = %v, want %v", got, want)
			}
			if secret != "" && (bytes.Contains(stored.SecretHash, []byte(secret)) || len(stored.SecretHash) != 32) {
				t.Errorf("stored secret hash %x is not a SHA-256 of the secret", stored.SecretHash)
			}
			if got, want := stored.Allows(refreshing.GrantPassword), slices.Contains(c.spec.Grants, "password"); got != want {
				t.Errorf("Allows(password) = %v, want %v", got, want)
			}
			if !stored.Allows(refreshing.GrantRefreshToken) {
				t.Error("every client may use the refresh grant")
			}
			if len(stored.Grants) > 1 {
				t.Errorf("Grants = %v, want no duplicates and no implied refresh_token", stored.Grants)
			}
		})
	}
	t.Run("TakenID", func(t *testing.T) {
		e := newEnv(t, nil)
		if _, _, err := e.svc.CreateClient(t.Context(), refreshing.ClientSpec{ID: "app"}); err != nil {
			t.Fatal(err)
		}
		var fe *refreshing.FieldError
		if _, _, err := e.svc.CreateClient(t.Context(), refreshing.ClientSpec{ID: "app", GenerateSecret: true}); !errors.As(err, &fe) || fe.Field != "id" {
			t.Fatalf("a taken id: %v, want a FieldError on id", err)
		}
	})
}

func TestAuthenticateClient(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	_, secret, err := e.svc.CreateClient(ctx, refreshing.ClientSpec{ID: "backend", GenerateSecret: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CreateClient(ctx, refreshing.ClientSpec{ID: "spa"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, id, secret string
		ok               bool
	}{
		{"Confidential", "backend", secret, true},
		{"Public", "spa", "", true},
		{"WrongSecret", "backend", secret[:len(secret)-1] + "x", false},
		{"PrefixOfSecret", "backend", secret[:10], false},
		{"NoSecret", "backend", "", false},
		{"PublicWithSecret", "spa", secret, false},
		{"Unknown", "nobody", "", false},
		{"UnknownWithSecret", "nobody", secret, false},
		{"EmptyID", "", secret, false},
		{"IDOtherCase", "Backend", secret, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, err := e.svc.AuthenticateClient(ctx, c.id, c.secret)
			switch {
			case c.ok && (err != nil || cl.ID != c.id):
				t.Errorf("AuthenticateClient(%q) = %v, %v; want the client", c.id, cl, err)
			case !c.ok && !errors.Is(err, refreshing.ErrInvalidClient):
				t.Errorf("AuthenticateClient(%q) = %v, %v; want ErrInvalidClient", c.id, cl, err)
			}
		})
	}
}

func TestPasswordGrant(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	e.register(t, "ada")
	withPassword, _, err := e.svc.CreateClient(ctx, refreshing.ClientSpec{ID: "cli", Grants: []string{refreshing.GrantPassword}})
	if err != nil {
		t.Fatal(err)
	}
	without, _, err := e.svc.CreateClient(ctx, refreshing.ClientSpec{ID: "spa"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		g, err := e.svc.PasswordGrant(ctx, withPassword, "ada", "correct horse", refreshing.ClientInfo{ClientID: "forged"})
		if err != nil {
			t.Fatal(err)
		}
		if g.Session.ClientID != "cli" {
			t.Errorf("session bound to %q, want cli", g.Session.ClientID)
		}
		// Bound: only the same client may refresh it.
		if _, err := e.svc.RefreshGrant(ctx, without, g.RefreshToken, refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrInvalidToken) {
			t.Errorf("another client's refresh: %v, want ErrInvalidToken", err)
		}
		if _, err := e.svc.RefreshGrant(ctx, nil, g.RefreshToken, refreshing.ClientInfo{ClientID: "cli"}); !errors.Is(err, refreshing.ErrInvalidToken) {
			t.Errorf("a refresh naming no client (ClientInfo cannot claim one): %v, want ErrInvalidToken", err)
		}
		if _, err := e.svc.RefreshGrant(ctx, withPassword, g.RefreshToken, refreshing.ClientInfo{}); err != nil {
			t.Errorf("its own client's refresh: %v", err)
		}
	})
	t.Run("ErrUnauthorizedClient", func(t *testing.T) {
		if _, err := e.svc.PasswordGrant(ctx, without, "ada", "correct horse", refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrUnauthorizedClient) {
			t.Errorf("got %v, want ErrUnauthorizedClient", err)
		}
	})
	t.Run("ErrInvalidClient", func(t *testing.T) {
		if _, err := e.svc.PasswordGrant(ctx, nil, "ada", "correct horse", refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrInvalidClient) {
			t.Errorf("got %v, want ErrInvalidClient", err)
		}
	})
}

func TestPruneKeys(t *testing.T) {
	e := newEnv(t, nil) // AccessTTL 15m
	ctx := t.Context()
	ids := func() []string {
		keys, err := e.store.SigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range keys {
			out = append(out, k.ID)
		}
		return out
	}
	first := ids()[0]
	e.clock.Add(time.Hour)
	second, err := e.svc.RotateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(5 * time.Minute)
	third, err := e.svc.RotateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// first stopped signing 5m before second; each key may verify for
	// KeyPropagation + AccessTTL + 1s after the next one was created.
	window := refreshing.KeyPropagation + 15*time.Minute + time.Second
	for _, step := range []struct {
		advance time.Duration
		pruned  []string
		left    []string
	}{
		{0, nil, []string{third, second, first}},
		{window - 5*time.Minute, nil, []string{third, second, first}},
		{time.Microsecond, []string{first}, []string{third, second}},
		{5*time.Minute - time.Microsecond, nil, []string{third, second}},
		{time.Microsecond, []string{second}, []string{third}},
		{24 * time.Hour, nil, []string{third}},
	} {
		e.clock.Add(step.advance)
		pruned, err := e.svc.PruneKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(pruned, step.pruned) || !slices.Equal(ids(), step.left) {
			t.Fatalf("after %v more: pruned %v, left %v; want pruned %v, left %v", step.advance, pruned, ids(), step.pruned, step.left)
		}
	}
}

func TestJWKSMaxAge(t *testing.T) {
	for _, c := range []struct{ ttl, want time.Duration }{
		{2 * time.Second, 0},
		{time.Minute, 6 * time.Second},
		{15 * time.Minute, 90 * time.Second},
		{time.Hour, 5 * time.Minute},
		{24 * time.Hour, 5 * time.Minute},
	} {
		e := newEnv(t, func(s *refreshing.Settings) { s.AccessTTL = c.ttl })
		if got, err := e.svc.JWKSMaxAge(t.Context()); err != nil || got != c.want {
			t.Errorf("JWKSMaxAge with AccessTTL %v = %v, %v; want %v", c.ttl, got, err, c.want)
		}
	}
}
