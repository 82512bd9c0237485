package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// customSettings differs from DefaultSettings in every field.
func customSettings() refreshing.Settings {
	return refreshing.Settings{
		AccessTTL:         5 * time.Minute,
		RefreshTTL:        0,
		RefreshIdle:       36 * time.Hour,
		Rotation:          false,
		ReuseGrace:        1500 * time.Millisecond,
		MaxSessions:       3,
		IssueOnLogin:      false,
		Registration:      false,
		EmailConfirmation: true,
	}
}

func testSettings(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if _, err := st.Settings(t.Context()); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("Settings before any save: got %v, want ErrNotFound", err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		for _, want := range []refreshing.Settings{customSettings(), refreshing.DefaultSettings()} {
			if err := st.SaveSettings(t.Context(), want); err != nil {
				t.Fatal(err)
			}
			got, err := st.Settings(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("Settings() = %+v, want %+v", got, want)
			}
		}
	})
}

func testInitSettings(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		// The first InitSettings saves; later ones return what is stored.
		st := open(t)
		first, second := customSettings(), refreshing.DefaultSettings()
		for i, s := range []refreshing.Settings{first, second} {
			got, err := st.InitSettings(t.Context(), s)
			if err != nil {
				t.Fatal(err)
			}
			if got != first {
				t.Fatalf("InitSettings #%d = %+v, want %+v", i+1, got, first)
			}
		}
		got, err := st.Settings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got != first {
			t.Fatalf("Settings() = %+v, want %+v", got, first)
		}
	})
	t.Run("OKAfterSave", func(t *testing.T) {
		st := open(t)
		saved := customSettings()
		if err := st.SaveSettings(t.Context(), saved); err != nil {
			t.Fatal(err)
		}
		got, err := st.InitSettings(t.Context(), refreshing.DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		if got != saved {
			t.Fatalf("InitSettings = %+v, want the saved %+v", got, saved)
		}
	})
	t.Run("OKConcurrent", func(t *testing.T) {
		// Instances starting at once all end up with one and the same value.
		st := open(t)
		const n = 10
		got := make([]refreshing.Settings, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				s := refreshing.DefaultSettings()
				s.MaxSessions = i + 1
				got[i], errs[i] = st.InitSettings(t.Context(), s)
			})
		}
		wg.Wait()
		stored, err := st.Settings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if got[i] != stored {
				t.Errorf("caller %d got %+v, stored is %+v", i, got[i], stored)
			}
		}
	})
}

// newKey returns a signing key whose material derives from id.
func newKey(id string, created time.Time) refreshing.SigningKey {
	return refreshing.SigningKey{ID: id, Algorithm: "EdDSA", Material: hash("key " + id), CreatedAt: created}
}

// equalKeys reports the first difference between got and want.
func equalKeys(t *testing.T, got, want []refreshing.SigningKey) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d keys, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Algorithm != w.Algorithm || !bytes.Equal(g.Material, w.Material) || !g.CreatedAt.Equal(w.CreatedAt) {
			t.Fatalf("key %d = {%q %q %s %s}, want {%q %q %s %s}", i,
				g.ID, g.Algorithm, fmtHash(g.Material), fmtTime(g.CreatedAt),
				w.ID, w.Algorithm, fmtHash(w.Material), fmtTime(w.CreatedAt))
		}
	}
}

func signingKeys(t *testing.T, st refreshing.Store) []refreshing.SigningKey {
	t.Helper()
	keys, err := st.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func testSigningKeys(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		k1, k2, k3 := newKey("k1", at(0)), newKey("k2", at(48*time.Hour)), newKey("k3", at(24*time.Hour+time.Microsecond))
		for _, k := range []refreshing.SigningKey{k1, k2, k3} {
			if err := st.AddSigningKey(t.Context(), k, false); err != nil {
				t.Fatal(err)
			}
		}
		equalKeys(t, signingKeys(t, st), []refreshing.SigningKey{k2, k3, k1})
	})
	t.Run("OKEmpty", func(t *testing.T) {
		st := open(t)
		equalKeys(t, signingKeys(t, st), nil)
	})
}

func testAddSigningKey(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		k := newKey("k1", at(0))
		if err := st.AddSigningKey(t.Context(), k, false); err != nil {
			t.Fatal(err)
		}
		equalKeys(t, signingKeys(t, st), []refreshing.SigningKey{k})
	})
	t.Run("OKOnlyIfNone", func(t *testing.T) {
		st := open(t)
		k1, k2 := newKey("k1", at(0)), newKey("k2", at(time.Hour))
		if err := st.AddSigningKey(t.Context(), k1, true); err != nil {
			t.Fatal(err)
		}
		equalKeys(t, signingKeys(t, st), []refreshing.SigningKey{k1})
		if err := st.AddSigningKey(t.Context(), k2, true); err != nil {
			t.Fatalf("onlyIfNone with a key present: got %v, want nil", err)
		}
		equalKeys(t, signingKeys(t, st), []refreshing.SigningKey{k1})
		// Without onlyIfNone the second key is added.
		if err := st.AddSigningKey(t.Context(), k2, false); err != nil {
			t.Fatal(err)
		}
		equalKeys(t, signingKeys(t, st), []refreshing.SigningKey{k2, k1})
	})
	t.Run("OKOnlyIfNoneConcurrent", func(t *testing.T) {
		// Instances starting at once each generate a key; exactly one is kept.
		st := open(t)
		const n = 10
		keys := make([]refreshing.SigningKey, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			keys[i] = newKey(fmt.Sprintf("k%d", i), at(time.Duration(i)*time.Second))
			wg.Go(func() { errs[i] = st.AddSigningKey(t.Context(), keys[i], true) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
		}
		got := signingKeys(t, st)
		if len(got) != 1 {
			t.Fatalf("%d keys stored, want exactly 1", len(got))
		}
		var i int
		if _, err := fmt.Sscanf(got[0].ID, "k%d", &i); err != nil || i < 0 || i >= n {
			t.Fatalf("stored key %q is none of the callers'", got[0].ID)
		}
		equalKeys(t, got, keys[i:i+1])
	})
	t.Run("ErrConflict", func(t *testing.T) {
		st := open(t)
		k := newKey("k1", at(0))
		if err := st.AddSigningKey(t.Context(), k, false); err != nil {
			t.Fatal(err)
		}
		dup := newKey("k1", at(time.Hour))
		dup.Material = hash("other")
		if err := st.AddSigningKey(t.Context(), dup, false); !errors.Is(err, refreshing.ErrConflict) {
			t.Fatalf("got %v, want ErrConflict", err)
		}
		equalKeys(t, signingKeys(t, st), []refreshing.SigningKey{k})
	})
}

func testDeleteSigningKey(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		k1, k2 := newKey("k1", at(0)), newKey("k2", at(time.Hour))
		for _, k := range []refreshing.SigningKey{k1, k2} {
			if err := st.AddSigningKey(t.Context(), k, false); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.DeleteSigningKey(t.Context(), "k1"); err != nil {
			t.Fatal(err)
		}
		equalKeys(t, signingKeys(t, st), []refreshing.SigningKey{k2})
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if err := st.AddSigningKey(t.Context(), newKey("k1", at(0)), false); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteSigningKey(t.Context(), "k2"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		if err := st.DeleteSigningKey(t.Context(), "k1"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteSigningKey(t.Context(), "k1"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("second delete: got %v, want ErrNotFound", err)
		}
	})
}

func testSecret(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OKFirstWins", func(t *testing.T) {
		st := open(t)
		for _, c := range []struct {
			name  string
			value []byte
			want  []byte
		}{
			{"hs256", []byte("first"), []byte("first")},
			{"hs256", []byte("second"), []byte("first")},
			{"cookie", []byte{0, 1, 2, 255}, []byte{0, 1, 2, 255}},
			{"cookie", []byte("x"), []byte{0, 1, 2, 255}},
			{"hs256", nil, []byte("first")},
		} {
			got, err := st.Secret(t.Context(), c.name, c.value)
			if err != nil {
				t.Fatalf("Secret(%q): %v", c.name, err)
			}
			if !bytes.Equal(got, c.want) {
				t.Fatalf("Secret(%q, %q) = %q, want %q", c.name, c.value, got, c.want)
			}
		}
	})
	t.Run("ErrNoValue", func(t *testing.T) {
		// A secret is not created from an empty value: an empty HMAC key
		// would sign anything anyone can compute.
		st := open(t)
		for _, value := range [][]byte{nil, {}} {
			if got, err := st.Secret(t.Context(), "new", value); err == nil {
				t.Fatalf("Secret(%q, %#v) = %q, want an error", "new", value, got)
			}
		}
		// Nothing was stored: the first real value is the secret.
		got, err := st.Secret(t.Context(), "new", []byte("value"))
		if err != nil {
			t.Fatal(err)
		}
		if want := []byte("value"); !bytes.Equal(got, want) {
			t.Fatalf("Secret after refusing empty values = %q, want %q", got, want)
		}
	})
	t.Run("OKConcurrent", func(t *testing.T) {
		st := open(t)
		const n = 10
		got := make([][]byte, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i], errs[i] = st.Secret(t.Context(), "race", fmt.Appendf(nil, "value %d", i)) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if !bytes.Equal(got[i], got[0]) {
				t.Errorf("caller %d got %q, caller 0 got %q", i, got[i], got[0])
			}
		}
		var i int
		if _, err := fmt.Sscanf(string(got[0]), "value %d", &i); err != nil || i < 0 || i >= n {
			t.Fatalf("stored %q is none of the callers' values", got[0])
		}
	})
}
