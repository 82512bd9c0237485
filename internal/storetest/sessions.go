package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func testCreateSession(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s1", at(time.Minute))
		s.DeviceID = "device-1"
		want := *s
		if err := st.CreateSession(t.Context(), s, 0); err != nil {
			t.Fatal(err)
		}
		equalSession(t, getSession(t, st, "s1"), &want)
	})
	t.Run("OKEveryField", func(t *testing.T) {
		// A session arriving with every field set (an import, say) comes
		// back exactly, times at microsecond precision.
		st := open(t)
		u := createUser(t, st, "alice")
		s := &refreshing.Session{
			ID:           "s-every-field",
			UserID:       u.ID,
			ClientID:     "cli",
			DeviceID:     "d-42",
			Description:  "Ünïcödé 🚀 description",
			UserAgent:    "curl/8.0",
			IP:           "2001:db8::1",
			CreatedAt:    at(time.Microsecond),
			LastActivity: at(2*time.Hour + 3*time.Microsecond),
			ExpiresAt:    at(720*time.Hour + 999999*time.Microsecond),
			RevokedAt:    at(3*time.Hour + 7*time.Microsecond),
			RevokeReason: refreshing.ReasonAdmin,
			Generation:   7,
			TokenHash:    hash("every/7"),
			PrevHash:     hash("every/6"),
			RotatedAt:    at(90*time.Minute + 11*time.Microsecond),
		}
		want := *s
		if err := st.CreateSession(t.Context(), s, 0); err != nil {
			t.Fatal(err)
		}
		equalSession(t, getSession(t, st, s.ID), &want)
	})
	t.Run("OKZeroTimes", func(t *testing.T) {
		// A session that never expires, was never revoked and never
		// rotated keeps its zero times and nil PrevHash.
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "forever", at(0))
		s.ExpiresAt = time.Time{}
		want := *s
		createSession(t, st, s)
		got := getSession(t, st, s.ID)
		equalSession(t, got, &want)
		if !got.ExpiresAt.IsZero() || !got.RevokedAt.IsZero() || !got.RotatedAt.IsZero() || got.PrevHash != nil {
			t.Errorf("zero fields came back set: %s", fmtSession(got))
		}
	})
	t.Run("OKOldTimes", func(t *testing.T) {
		// Times far from t0, before 1970 and after 2100, round-trip too.
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "old", time.Date(1969, time.July, 20, 20, 17, 40, 1000, time.UTC))
		s.ExpiresAt = time.Date(2262, time.January, 1, 0, 0, 0, 999000, time.UTC)
		want := *s
		createSession(t, st, s)
		equalSession(t, getSession(t, st, s.ID), &want)
	})
	t.Run("OKReplacesSameDevice", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		other := createUser(t, st, "bob")
		old := newSession(u.ID, "old", at(time.Minute))
		old.DeviceID = "phone"
		laptop := newSession(u.ID, "laptop", at(2*time.Minute))
		laptop.DeviceID = "laptop"
		noDevice := newSession(u.ID, "nodevice", at(3*time.Minute))
		othersPhone := newSession(other.ID, "othersphone", at(4*time.Minute))
		othersPhone.DeviceID = "phone"
		for _, s := range []*refreshing.Session{old, laptop, noDevice, othersPhone} {
			createSession(t, st, s)
		}
		s := newSession(u.ID, "new", at(time.Hour))
		s.DeviceID = "phone"
		if err := st.CreateSession(t.Context(), s, 0); err != nil {
			t.Fatal(err)
		}
		old.RevokedAt, old.RevokeReason = s.CreatedAt, refreshing.ReasonReplaced
		for _, want := range []*refreshing.Session{old, laptop, noDevice, othersPhone, s} {
			equalSession(t, getSession(t, st, want.ID), want)
		}
		// An empty DeviceID replaces nothing.
		s2 := newSession(u.ID, "new-nodevice", at(2*time.Hour))
		createSession(t, st, s2)
		equalSession(t, getSession(t, st, noDevice.ID), noDevice)
	})
	t.Run("OKSessionLimit", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		other := createUser(t, st, "bob")
		// s1..s3 are active; s1 was used last, so s2 is the least recently
		// active. expired is older still but past its absolute expiry,
		// revoked is revoked: neither counts nor is touched.
		s1 := newSession(u.ID, "s1", at(time.Minute))
		s2 := newSession(u.ID, "s2", at(2*time.Minute))
		s3 := newSession(u.ID, "s3", at(3*time.Minute))
		expired := newSession(u.ID, "expired", at(-48*time.Hour))
		expired.ExpiresAt = at(-time.Hour)
		revoked := newSession(u.ID, "revoked", at(-time.Hour))
		o := newSession(other.ID, "o", at(-72*time.Hour))
		for _, s := range []*refreshing.Session{s1, s2, s3, expired, revoked, o} {
			createSession(t, st, s)
		}
		if err := st.RevokeSession(t.Context(), "revoked", refreshing.ReasonLogout, at(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		revoked.RevokedAt, revoked.RevokeReason = at(-time.Minute), refreshing.ReasonLogout
		if err := st.TouchSession(t.Context(), "s1", at(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		s1.LastActivity = at(10 * time.Minute)

		s4 := newSession(u.ID, "s4", at(time.Hour))
		if err := st.CreateSession(t.Context(), s4, 3); err != nil {
			t.Fatal(err)
		}
		s2.RevokedAt, s2.RevokeReason = s4.CreatedAt, refreshing.ReasonSessionLimit
		for _, want := range []*refreshing.Session{s1, s2, s3, s4, expired, revoked, o} {
			equalSession(t, getSession(t, st, want.ID), want)
		}

		// With limit 1 only the new session remains.
		s5 := newSession(u.ID, "s5", at(2*time.Hour))
		if err := st.CreateSession(t.Context(), s5, 1); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*refreshing.Session{s1, s3, s4} {
			s.RevokedAt, s.RevokeReason = s5.CreatedAt, refreshing.ReasonSessionLimit
		}
		for _, want := range []*refreshing.Session{s1, s2, s3, s4, s5, expired, revoked, o} {
			equalSession(t, getSession(t, st, want.ID), want)
		}
	})
	t.Run("OKReplacedBeforeLimit", func(t *testing.T) {
		// The same-device rule applies first: once the old session of the
		// device is replaced, the limit is not exceeded and evicts nothing.
		st := open(t)
		u := createUser(t, st, "alice")
		a := newSession(u.ID, "a", at(time.Minute))
		a.DeviceID = "phone"
		b := newSession(u.ID, "b", at(2*time.Minute))
		b.DeviceID = "laptop"
		createSession(t, st, a)
		createSession(t, st, b)
		c := newSession(u.ID, "c", at(time.Hour))
		c.DeviceID = "phone"
		if err := st.CreateSession(t.Context(), c, 2); err != nil {
			t.Fatal(err)
		}
		a.RevokedAt, a.RevokeReason = c.CreatedAt, refreshing.ReasonReplaced
		for _, want := range []*refreshing.Session{a, b, c} {
			equalSession(t, getSession(t, st, want.ID), want)
		}
	})
	t.Run("OKNoLimit", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		var want []*refreshing.Session
		for i := range 6 {
			s := newSession(u.ID, fmt.Sprintf("s%d", i), at(time.Duration(i)*time.Minute))
			if err := st.CreateSession(t.Context(), s, 0); err != nil {
				t.Fatal(err)
			}
			want = append(want, s)
		}
		for _, w := range want {
			equalSession(t, getSession(t, st, w.ID), w)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		// A taken id fails the whole call: nothing is inserted or revoked.
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s1", at(time.Minute))
		s.DeviceID = "phone"
		createSession(t, st, s)
		dup := newSession(u.ID, "s1", at(time.Hour))
		dup.DeviceID = "phone"
		dup.TokenHash = hash("other")
		if err := st.CreateSession(t.Context(), dup, 1); !errors.Is(err, refreshing.ErrConflict) {
			t.Fatalf("got %v, want ErrConflict", err)
		}
		equalSession(t, getSession(t, st, "s1"), s)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID+1000, "s1", at(time.Minute))
		if err := st.CreateSession(t.Context(), s, 0); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		if _, err := st.Session(t.Context(), "s1"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("Session after the failed create: got %v, want ErrNotFound", err)
		}
	})
}

func testSession(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		a := newSession(u.ID, "a", at(time.Minute))
		b := newSession(u.ID, "b", at(2*time.Minute))
		createSession(t, st, a)
		createSession(t, st, b)
		equalSession(t, getSession(t, st, "a"), a)
		equalSession(t, getSession(t, st, "b"), b)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		createSession(t, st, newSession(u.ID, "a", at(time.Minute)))
		for _, id := range []string{"b", "A", ""} {
			if _, err := st.Session(t.Context(), id); !errors.Is(err, refreshing.ErrNotFound) {
				t.Errorf("Session(%q): got %v, want ErrNotFound", id, err)
			}
		}
	})
}

func testRotateSession(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s", at(time.Minute))
		createSession(t, st, s)
		want := *s
		for gen := int64(0); gen < 3; gen++ {
			r := refreshing.Rotation{SessionID: "s", Generation: gen, NewHash: hash(fmt.Sprintf("s/%d", gen+1)), At: at(time.Hour + time.Duration(gen)*time.Second)}
			if err := st.RotateSession(t.Context(), r); err != nil {
				t.Fatalf("rotation %d: %v", gen, err)
			}
			want.PrevHash, want.TokenHash = want.TokenHash, r.NewHash
			want.Generation = gen + 1
			want.RotatedAt, want.LastActivity = r.At, r.At
			// No GraceFrom: only the token this rotation retires.
			want.GraceGeneration, want.GraceSince = gen, r.At
			equalSession(t, getSession(t, st, "s"), &want)
		}
	})
	t.Run("GraceWindow", func(t *testing.T) {
		testGraceWindow(t, open, func(st refreshing.Store, r refreshing.Rotation) error {
			return st.RotateSession(t.Context(), r)
		})
	})
	t.Run("ErrStaleGeneration", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s", at(time.Minute))
		createSession(t, st, s)
		first := refreshing.Rotation{SessionID: "s", Generation: 0, NewHash: hash("s/1"), At: at(time.Hour)}
		if err := st.RotateSession(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		want := getSession(t, st, "s")
		for _, gen := range []int64{0, 2, -1} {
			r := refreshing.Rotation{SessionID: "s", Generation: gen, NewHash: hash("evil"), At: at(2 * time.Hour)}
			if err := st.RotateSession(t.Context(), r); !errors.Is(err, refreshing.ErrStale) {
				t.Errorf("generation %d: got %v, want ErrStale", gen, err)
			}
		}
		equalSession(t, getSession(t, st, "s"), want)
	})
	t.Run("ErrStaleRevoked", func(t *testing.T) {
		st := open(t)
		want := revokedSession(t, st)
		r := refreshing.Rotation{SessionID: "s", Generation: 0, NewHash: hash("s/1"), At: at(2 * time.Hour)}
		if err := st.RotateSession(t.Context(), r); !errors.Is(err, refreshing.ErrStale) {
			t.Fatalf("got %v, want ErrStale", err)
		}
		equalSession(t, getSession(t, st, "s"), want)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		createSession(t, st, newSession(u.ID, "s", at(time.Minute)))
		r := refreshing.Rotation{SessionID: "nope", Generation: 0, NewHash: hash("x"), At: at(time.Hour)}
		if err := st.RotateSession(t.Context(), r); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("OKConcurrentOneWins", func(t *testing.T) {
		// Many clients present the same token at once: exactly one
		// rotation wins, every other caller is told ErrStale.
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s", at(time.Minute))
		s.Generation = 4
		createSession(t, st, s)
		const n = 50
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := refreshing.Rotation{SessionID: "s", Generation: 4, NewHash: hash(fmt.Sprintf("racer %d", i)), At: at(time.Hour + time.Duration(i)*time.Microsecond)}
				errs[i] = st.RotateSession(t.Context(), r)
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("racers %d and %d both rotated", winner, i)
				}
				winner = i
			case !errors.Is(err, refreshing.ErrStale):
				t.Errorf("racer %d: got %v, want nil or ErrStale", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no racer rotated")
		}
		got := getSession(t, st, "s")
		if got, want := got.Generation, int64(5); got != want {
			t.Errorf("Generation = %d, want %d", got, want)
		}
		if !bytes.Equal(got.PrevHash, s.TokenHash) {
			t.Errorf("PrevHash = %s, want the old TokenHash %s", fmtHash(got.PrevHash), fmtHash(s.TokenHash))
		}
		if want := hash(fmt.Sprintf("racer %d", winner)); !bytes.Equal(got.TokenHash, want) {
			t.Errorf("TokenHash = %s, want the winner's %s", fmtHash(got.TokenHash), fmtHash(want))
		}
		if want := at(time.Hour + time.Duration(winner)*time.Microsecond); !got.RotatedAt.Equal(want) || !got.LastActivity.Equal(want) {
			t.Errorf("RotatedAt = %s, LastActivity = %s, want both %s", fmtTime(got.RotatedAt), fmtTime(got.LastActivity), fmtTime(want))
		}
	})
}

func testTouchSession(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s", at(time.Minute))
		createSession(t, st, s)
		if err := st.TouchSession(t.Context(), "s", at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.LastActivity = at(time.Hour)
		equalSession(t, getSession(t, st, "s"), s)
	})
	t.Run("OKOnlyForward", func(t *testing.T) {
		// An earlier or equal time (a late request) leaves LastActivity alone.
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s", at(time.Minute))
		createSession(t, st, s)
		if err := st.TouchSession(t.Context(), "s", at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.LastActivity = at(time.Hour)
		for _, when := range []time.Time{at(30 * time.Minute), at(time.Hour)} {
			if err := st.TouchSession(t.Context(), "s", when); err != nil {
				t.Fatalf("TouchSession(%s): %v", fmtTime(when), err)
			}
			equalSession(t, getSession(t, st, "s"), s)
		}
	})
	t.Run("ErrStale", func(t *testing.T) {
		st := open(t)
		want := revokedSession(t, st)
		if err := st.TouchSession(t.Context(), "s", at(2*time.Hour)); !errors.Is(err, refreshing.ErrStale) {
			t.Fatalf("got %v, want ErrStale", err)
		}
		equalSession(t, getSession(t, st, "s"), want)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if err := st.TouchSession(t.Context(), "nope", at(time.Hour)); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}

// testSetAuthTime: a re-authentication moves AuthTime (which otherwise is
// the sign-in, through rotations too) and LastActivity forward; it is
// refused for a revoked session and changes nothing then.
func testSetAuthTime(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s", at(time.Minute))
		createSession(t, st, s)
		if got := getSession(t, st, "s").AuthTime; !got.Equal(at(time.Minute)) {
			t.Fatalf("AuthTime of a new session = %s, want its CreatedAt", fmtTime(got))
		}
		if err := st.SetAuthTime(t.Context(), "s", at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.AuthTime, s.LastActivity = at(time.Hour), at(time.Hour)
		equalSession(t, getSession(t, st, "s"), s)
		// A rotation keeps it, and hands it back.
		r := refreshing.Rotation{SessionID: "s", Generation: 0, NewHash: hash("s/1"), At: at(2 * time.Hour)}
		if err := st.RotateSession(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		got, err := st.RotateMatching(t.Context(), refreshing.MatchingRotation{
			Rotation:  refreshing.Rotation{SessionID: "s", Generation: 1, NewHash: hash("s/2"), At: at(3 * time.Hour)},
			TokenHash: hash("s/1"), ClientID: "web",
		})
		if err != nil {
			t.Fatal(err)
		}
		if !got.AuthTime.Equal(at(time.Hour)) {
			t.Fatalf("RotateMatching returned AuthTime %s, want %s", fmtTime(got.AuthTime), fmtTime(at(time.Hour)))
		}
		sess, _, err := st.SessionWithUser(t.Context(), "s")
		if err != nil {
			t.Fatal(err)
		}
		if !sess.AuthTime.Equal(at(time.Hour)) {
			t.Fatalf("SessionWithUser returned AuthTime %s, want %s", fmtTime(sess.AuthTime), fmtTime(at(time.Hour)))
		}
	})
	t.Run("OKLastActivityOnlyForward", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s", at(time.Minute))
		createSession(t, st, s)
		if err := st.TouchSession(t.Context(), "s", at(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.SetAuthTime(t.Context(), "s", at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.AuthTime, s.LastActivity = at(time.Hour), at(2*time.Hour)
		equalSession(t, getSession(t, st, "s"), s)
	})
	t.Run("ErrStale", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		createSession(t, st, newSession(u.ID, "s", at(time.Minute)))
		if err := st.RevokeSession(t.Context(), "s", refreshing.ReasonLogout, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		want := getSession(t, st, "s")
		if err := st.SetAuthTime(t.Context(), "s", at(2*time.Hour)); !errors.Is(err, refreshing.ErrStale) {
			t.Fatalf("got %v, want ErrStale", err)
		}
		equalSession(t, getSession(t, st, "s"), want)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if err := st.SetAuthTime(t.Context(), "nope", at(time.Hour)); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}

func testRevokeSession(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s", at(time.Minute))
		other := newSession(u.ID, "other", at(time.Minute))
		createSession(t, st, s)
		createSession(t, st, other)
		if err := st.RevokeSession(t.Context(), "s", refreshing.ReasonLogout, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.RevokedAt, s.RevokeReason = at(time.Hour), refreshing.ReasonLogout
		equalSession(t, getSession(t, st, "s"), s)
		equalSession(t, getSession(t, st, "other"), other)
	})
	t.Run("OKKeepsFirstReason", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s", at(time.Minute))
		createSession(t, st, s)
		if err := st.RevokeSession(t.Context(), "s", refreshing.ReasonReuseDetected, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeSession(t.Context(), "s", refreshing.ReasonLogout, at(2*time.Hour)); err != nil {
			t.Fatalf("revoking a revoked session: %v", err)
		}
		s.RevokedAt, s.RevokeReason = at(time.Hour), refreshing.ReasonReuseDetected
		equalSession(t, getSession(t, st, "s"), s)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if err := st.RevokeSession(t.Context(), "nope", refreshing.ReasonLogout, at(time.Hour)); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}

func testRevokeSessions(t *testing.T, open func(t *testing.T) refreshing.Store) {
	revoke := func(t *testing.T, st refreshing.Store, r refreshing.Revocation, want int) {
		t.Helper()
		n, err := st.RevokeSessions(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("RevokeSessions(%+v) = %d, want %d", r, n, want)
		}
	}
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		f := newRevocationFixture(t, st)
		when := at(time.Hour)
		r := refreshing.Revocation{UserID: f.user.ID, Reason: refreshing.ReasonSignOutOthers, At: when}
		revoke(t, st, r, 3)
		f.check(t, st, refreshing.ReasonSignOutOthers, when, f.a, f.b, f.c)
		// Nothing is left to revoke; the first reason stays.
		r.Reason, r.At = refreshing.ReasonAdmin, at(2*time.Hour)
		revoke(t, st, r, 0)
		f.check(t, st, refreshing.ReasonSignOutOthers, when)
	})
	t.Run("OKExcept", func(t *testing.T) {
		st := open(t)
		f := newRevocationFixture(t, st)
		when := at(time.Hour)
		revoke(t, st, refreshing.Revocation{UserID: f.user.ID, Except: "b", Reason: refreshing.ReasonSignOutOthers, At: when}, 2)
		f.check(t, st, refreshing.ReasonSignOutOthers, when, f.a, f.c)
	})
	t.Run("OKDeviceID", func(t *testing.T) {
		st := open(t)
		f := newRevocationFixture(t, st)
		when := at(time.Hour)
		revoke(t, st, refreshing.Revocation{UserID: f.user.ID, DeviceID: "phone", Reason: refreshing.ReasonLogout, At: when}, 1)
		f.check(t, st, refreshing.ReasonLogout, when, f.a)
	})
	t.Run("OKDeviceIDExcept", func(t *testing.T) {
		st := open(t)
		f := newRevocationFixture(t, st)
		when := at(time.Hour)
		revoke(t, st, refreshing.Revocation{UserID: f.user.ID, DeviceID: "phone", Except: "a", Reason: refreshing.ReasonLogout, At: when}, 0)
		revoke(t, st, refreshing.Revocation{UserID: f.user.ID, DeviceID: "laptop", Except: "a", Reason: refreshing.ReasonLogout, At: when}, 1)
		f.check(t, st, refreshing.ReasonLogout, when, f.b)
	})
	t.Run("OKNone", func(t *testing.T) {
		st := open(t)
		f := newRevocationFixture(t, st)
		revoke(t, st, refreshing.Revocation{UserID: f.user.ID + f.other.ID + 1000, Reason: refreshing.ReasonAdmin, At: at(time.Hour)}, 0)
		revoke(t, st, refreshing.Revocation{UserID: f.user.ID, DeviceID: "tablet", Reason: refreshing.ReasonAdmin, At: at(time.Hour)}, 0)
		f.check(t, st, "", time.Time{})
	})
}

func testUserSessions(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		other := createUser(t, st, "bob")
		now := at(24 * time.Hour)
		mk := func(id string, lastActivity time.Duration) *refreshing.Session {
			s := newSession(u.ID, id, at(0))
			s.LastActivity = at(lastActivity)
			return s
		}
		recent := mk("recent", 3*time.Hour)
		older := mk("older", time.Hour)
		forever := mk("forever", 2*time.Hour)
		forever.ExpiresAt = time.Time{}
		expiring := mk("expiring", 30*time.Minute)
		expiring.ExpiresAt = now.Add(time.Microsecond)
		expiredNow := mk("expired-now", 4*time.Hour)
		expiredNow.ExpiresAt = now
		expired := mk("expired", 5*time.Hour)
		expired.ExpiresAt = now.Add(-time.Hour)
		revoked := mk("revoked", 6*time.Hour)
		others := newSession(other.ID, "others", at(0))
		others.LastActivity = at(7 * time.Hour)
		for _, s := range []*refreshing.Session{older, recent, forever, expiring, expiredNow, expired, revoked, others} {
			createSession(t, st, s)
		}
		if err := st.RevokeSession(t.Context(), "revoked", refreshing.ReasonLogout, at(6*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := st.UserSessions(t.Context(), u.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		want := []*refreshing.Session{recent, forever, older, expiring}
		if gotIDs, wantIDs := sessionIDs(got), []string{"recent", "forever", "older", "expiring"}; !slices.Equal(gotIDs, wantIDs) {
			t.Fatalf("UserSessions = %q, want %q", gotIDs, wantIDs)
		}
		for i := range want {
			equalSession(t, &got[i], want[i])
		}
	})
	t.Run("OKEmpty", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		for _, id := range []int64{u.ID, u.ID + 1000} {
			got, err := st.UserSessions(t.Context(), id, at(0))
			if err != nil {
				t.Fatalf("UserSessions(%d): %v", id, err)
			}
			if len(got) != 0 {
				t.Fatalf("UserSessions(%d) = %q, want none", id, sessionIDs(got))
			}
		}
	})
}

func testListSessions(t *testing.T, open func(t *testing.T) refreshing.Store) {
	// fixture stores 25 sessions of three users; several share a
	// CreatedAt so that the ID breaks ties, and LastActivity runs the other
	// way, so that only the sign-in time can give the order. It returns them
	// in the listing order: CreatedAt descending, then ID descending.
	fixture := func(t *testing.T, st refreshing.Store) (users []*refreshing.User, all []*refreshing.Session) {
		t.Helper()
		users = []*refreshing.User{createUser(t, st, "alice"), createUser(t, st, "bob"), createUser(t, st, "carol")}
		for i := range 25 {
			s := newSession(users[i%3].ID, fmt.Sprintf("s%02d", (i*7)%25), at(time.Duration(i/3)*time.Minute)) // groups of three share a time
			s.LastActivity = at(time.Duration(100-i) * time.Minute)
			switch i % 5 {
			case 1:
				s.ExpiresAt = at(time.Minute) // expired at the ActiveAt used below
			case 2:
				s.ExpiresAt = time.Time{}
			}
			createSession(t, st, s)
			if i%4 == 3 {
				if err := st.RevokeSession(t.Context(), s.ID, refreshing.ReasonAdmin, at(time.Hour)); err != nil {
					t.Fatal(err)
				}
				s.RevokedAt, s.RevokeReason = at(time.Hour), refreshing.ReasonAdmin
			}
			all = append(all, s)
		}
		slices.SortFunc(all, func(a, b *refreshing.Session) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			switch {
			case a.ID > b.ID:
				return -1
			case a.ID < b.ID:
				return 1
			}
			return 0
		})
		return users, all
	}
	// page lists every session f selects, following the cursor page by page.
	page := func(t *testing.T, st refreshing.Store, f refreshing.SessionFilter) (got []refreshing.Session, sizes []int) {
		t.Helper()
		for range 100 {
			p, err := st.ListSessions(t.Context(), f)
			if err != nil {
				t.Fatal(err)
			}
			if len(p) > f.Limit {
				t.Fatalf("page of %d sessions, want at most %d", len(p), f.Limit)
			}
			if len(p) == 0 {
				return got, sizes
			}
			sizes = append(sizes, len(p))
			got = append(got, p...)
			last := p[len(p)-1]
			f.AfterCreated, f.AfterID = last.CreatedAt, last.ID
		}
		t.Fatal("paging does not end")
		return nil, nil
	}
	check := func(t *testing.T, got []refreshing.Session, want []*refreshing.Session) {
		t.Helper()
		wantIDs := make([]string, len(want))
		for i, s := range want {
			wantIDs[i] = s.ID
		}
		if gotIDs := sessionIDs(got); !slices.Equal(gotIDs, wantIDs) {
			t.Fatalf("listed\n %q\nwant\n %q", gotIDs, wantIDs)
		}
		for i := range want {
			equalSession(t, &got[i], want[i])
		}
	}

	t.Run("OK", func(t *testing.T) {
		st := open(t)
		_, all := fixture(t, st)
		got, sizes := page(t, st, refreshing.SessionFilter{Limit: 10})
		if !slices.Equal(sizes, []int{10, 10, 5}) {
			t.Errorf("page sizes %v, want [10 10 5]", sizes)
		}
		check(t, got, all)
	})
	t.Run("OKDefaultLimit", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		for i := range 101 {
			createSession(t, st, newSession(u.ID, fmt.Sprintf("s%03d", i), at(time.Duration(i)*time.Second)))
		}
		got, err := st.ListSessions(t.Context(), refreshing.SessionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 100 {
			t.Fatalf("got %d sessions with Limit 0, want 100", len(got))
		}
		if got[0].ID != "s100" || got[99].ID != "s001" {
			t.Fatalf("listed %s … %s, want s100 … s001", got[0].ID, got[99].ID)
		}
	})
	t.Run("OKCursor", func(t *testing.T) {
		// The cursor is exclusive, and works from any position, including
		// the middle of a group sharing one CreatedAt.
		st := open(t)
		_, all := fixture(t, st)
		for i := range all {
			f := refreshing.SessionFilter{AfterCreated: all[i].CreatedAt, AfterID: all[i].ID, Limit: 3}
			got, err := st.ListSessions(t.Context(), f)
			if err != nil {
				t.Fatal(err)
			}
			check(t, got, all[i+1:min(i+4, len(all))])
		}
	})
	t.Run("OKUserID", func(t *testing.T) {
		st := open(t)
		users, all := fixture(t, st)
		for _, u := range users {
			var want []*refreshing.Session
			for _, s := range all {
				if s.UserID == u.ID {
					want = append(want, s)
				}
			}
			got, _ := page(t, st, refreshing.SessionFilter{UserID: u.ID, Limit: 3})
			check(t, got, want)
		}
	})
	t.Run("OKActive", func(t *testing.T) {
		st := open(t)
		users, all := fixture(t, st)
		activeAt := at(time.Minute) // sessions expiring at exactly this time are not active
		var want, wantUser []*refreshing.Session
		for _, s := range all {
			if s.RevokedAt.IsZero() && (s.ExpiresAt.IsZero() || s.ExpiresAt.After(activeAt)) {
				want = append(want, s)
				if s.UserID == users[1].ID {
					wantUser = append(wantUser, s)
				}
			}
		}
		if len(want) == len(all) || len(want) == 0 {
			t.Fatal("the fixture has no inactive sessions")
		}
		got, _ := page(t, st, refreshing.SessionFilter{Active: true, ActiveAt: activeAt, Limit: 4})
		check(t, got, want)
		got, _ = page(t, st, refreshing.SessionFilter{UserID: users[1].ID, Active: true, ActiveAt: activeAt, Limit: 2})
		check(t, got, wantUser)
	})
	t.Run("OKEmpty", func(t *testing.T) {
		st := open(t)
		got, err := st.ListSessions(t.Context(), refreshing.SessionFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("got %d sessions from an empty store", len(got))
		}
	})
}

// revokedSession stores alice's session "s", started at 1m and revoked
// (logout) at 1h, and returns it as read back.
func revokedSession(t *testing.T, st refreshing.Store) *refreshing.Session {
	t.Helper()
	u := createUser(t, st, "alice")
	createSession(t, st, newSession(u.ID, "s", at(time.Minute)))
	if err := st.RevokeSession(t.Context(), "s", refreshing.ReasonLogout, at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return getSession(t, st, "s")
}
