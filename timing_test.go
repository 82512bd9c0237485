package refreshing_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// TestEnumerationTiming checks that a login (and a token request) for an
// identifier that does not exist takes as long as one with a wrong password
// for an account that does, with the production argon2 parameters. It
// interleaves the tries, compares medians, and fails only on a gap far above
// the measurement noise: skipping the password hash for unknown accounts
// would make the gap a hundred times the noise.
func TestEnumerationTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes passwords with the production parameters; skipped with -short")
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	settings := refreshing.DefaultSettings()
	svc, err := refreshing.New(t.Context(), refreshing.Config{
		Store: st, Settings: &settings, Hasher: refreshing.NewHasher(refreshing.DefaultArgon2Params, 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Register(t.Context(), refreshing.Registration{Username: "ada", Email: "ada@example.com", Password: "correct horse"}, refreshing.ClientInfo{}); err != nil {
		t.Fatal(err)
	}

	const tries = 11
	for _, ep := range []struct {
		name string
		call func(ctx context.Context, identifier, password string) error
	}{
		{"Login", func(ctx context.Context, id, pw string) error {
			_, err := svc.Login(ctx, id, pw, refreshing.ClientInfo{})
			return err
		}},
		{"TokenRequest", func(ctx context.Context, id, pw string) error {
			_, err := svc.RequestToken(ctx, id, pw, refreshing.ClientInfo{})
			return err
		}},
	} {
		t.Run(ep.name+"SameTime", func(t *testing.T) {
			kinds := []struct{ name, identifier string }{
				{"unknown email", "nobody@example.com"},
				{"unknown username", "nobody"},
				{"known email, wrong password", "ada@example.com"},
				{"known username, wrong password", "ada"},
			}
			times := make([][]time.Duration, len(kinds))
			for range tries {
				for i, k := range kinds {
					start := time.Now()
					err := ep.call(t.Context(), k.identifier, "wrong password")
					times[i] = append(times[i], time.Since(start))
					if !errors.Is(err, refreshing.ErrInvalidCredentials) {
						t.Fatalf("%s: %v, want ErrInvalidCredentials (the same answer for all)", k.name, err)
					}
				}
			}
			med := make([]time.Duration, len(kinds))
			noise := time.Duration(0)
			for i := range kinds {
				med[i], noise = median(times[i]), max(noise, mad(times[i]))
			}
			lo, hi := slices.Min(med), slices.Max(med)
			t.Logf("medians over %d tries: %v (%v); largest median absolute deviation %v", tries, med, kindsOf(kinds), noise)
			// Far above noise: more than half the slowest median and more
			// than three times the worst spread; or one kind four times as
			// fast as another, which noise cannot do when every kind pays
			// for one hash (noise only ever adds time).
			if gap := hi - lo; (gap > hi/2 && gap > 3*noise) || lo < hi/4 {
				t.Errorf("the median times differ by %v (%v to %v): the time tells which accounts exist", gap, lo, hi)
			}
		})
	}
}

func kindsOf(ks []struct{ name, identifier string }) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.name)
	}
	return out
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// mad returns the median absolute deviation of ds from their median.
func mad(ds []time.Duration) time.Duration {
	m := median(ds)
	dev := make([]time.Duration, len(ds))
	for i, d := range ds {
		dev[i] = max(d-m, m-d)
	}
	return median(dev)
}
