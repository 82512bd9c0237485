package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func testSessionWithUser(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		alice, bob := createUser(t, st, "alice"), createUser(t, st, "bob")
		bob.DocumentID = "doc-bob"
		bob.Blocked = true
		if err := st.UpdateUser(t.Context(), bob, nil); err != nil {
			t.Fatal(err)
		}
		sa, sb := newSession(alice.ID, "sa", at(time.Minute)), newSession(bob.ID, "sb", at(2*time.Minute))
		sb.ExpiresAt, sb.DeviceID, sb.ClientID = at(time.Hour), "device", "client"
		createSession(t, st, sa)
		createSession(t, st, sb)
		if err := st.RotateSession(t.Context(), refreshing.Rotation{SessionID: "sb", Generation: 0, NewHash: hash("sb/1"), At: at(3 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeSession(t.Context(), "sb", refreshing.ReasonLogout, at(4*time.Minute)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			id   string
			user *refreshing.User
		}{{"sa", alice}, {"sb", getUser(t, st, bob.ID)}} {
			sess, u, err := st.SessionWithUser(t.Context(), tc.id)
			if err != nil {
				t.Fatalf("%s: %v", tc.id, err)
			}
			// Exactly what the two separate reads give.
			equalSession(t, sess, getSession(t, st, tc.id))
			equalUser(t, u, tc.user)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		createSession(t, st, newSession(createUser(t, st, "alice").ID, "s", at(time.Minute)))
		if _, _, err := st.SessionWithUser(t.Context(), "nope"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("ErrNotFoundUserDeleted", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		createSession(t, st, newSession(u.ID, "s", at(time.Minute)))
		if err := st.DeleteUser(t.Context(), u.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.SessionWithUser(t.Context(), "s"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}

func testRotateMatching(t *testing.T, open func(t *testing.T) refreshing.Store) {
	// live returns the rotation that matches session s, created by
	// newSession at created, as it stands (generation 0, token "id/0").
	live := func(id string, when time.Time) refreshing.MatchingRotation {
		return refreshing.MatchingRotation{
			Rotation:  refreshing.Rotation{SessionID: id, Generation: 0, NewHash: hash(id + "/1"), At: when},
			TokenHash: hash(id + "/0"),
			ClientID:  "web",
		}
	}
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "s", at(time.Minute))
		createSession(t, st, s)
		r := live("s", at(time.Hour))
		r.IdleAfter = at(59 * time.Second)
		sess, err := st.RotateMatching(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		want := *s
		want.PrevHash, want.TokenHash, want.Generation = s.TokenHash, r.NewHash, 1
		want.RotatedAt, want.LastActivity = r.At, r.At
		want.GraceGeneration, want.GraceSince = 0, r.At
		equalSession(t, sess, &want)
		equalSession(t, getSession(t, st, "s"), &want)

		// The next one matches the new live token only.
		next := refreshing.MatchingRotation{
			Rotation:  refreshing.Rotation{SessionID: "s", Generation: 1, NewHash: hash("s/2"), At: at(2 * time.Hour)},
			TokenHash: hash("s/1"), ClientID: "web",
		}
		if _, err := st.RotateMatching(t.Context(), r); !errors.Is(err, refreshing.ErrStale) {
			t.Fatalf("the retired token again: got %v, want ErrStale", err)
		}
		if sess, err := st.RotateMatching(t.Context(), next); err != nil || sess.Generation != 2 {
			t.Fatalf("the successor: got %v, %v", sess, err)
		}
	})
	t.Run("GraceWindow", func(t *testing.T) {
		testGraceWindow(t, open, func(st refreshing.Store, r refreshing.Rotation) error {
			got, err := st.RotateMatching(t.Context(), refreshing.MatchingRotation{
				Rotation:  r,
				TokenHash: hash(fmt.Sprintf("%s/%d", r.SessionID, r.Generation)),
				ClientID:  "web",
			})
			if err == nil {
				// What it returns is the row as rotated.
				equalSession(t, got, getSession(t, st, r.SessionID))
			}
			return err
		})
	})
	t.Run("OKUnboundSession", func(t *testing.T) {
		st := open(t)
		s := newSession(createUser(t, st, "alice").ID, "s", at(time.Minute))
		s.ClientID, s.ExpiresAt = "", time.Time{}
		createSession(t, st, s)
		r := live("s", at(10000*time.Hour))
		r.ClientID = "any-client"
		if _, err := st.RotateMatching(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	})
	// DPoP (RFC 9449): a session bound to a key rotates only for a proof of
	// that key; an unbound one for a proof of any key or none.
	t.Run("DPoPBound", func(t *testing.T) {
		st := open(t)
		s := newSession(createUser(t, st, "alice").ID, "s", at(time.Minute))
		s.DPoPJKT = "jkt-A"
		createSession(t, st, s)
		equalSession(t, getSession(t, st, "s"), s)
		for _, jkt := range []string{"", "jkt-B"} {
			r := live("s", at(time.Hour))
			r.DPoPJKT = jkt
			if _, err := st.RotateMatching(t.Context(), r); !errors.Is(err, refreshing.ErrStale) {
				t.Fatalf("proof key %q: got %v, want ErrStale", jkt, err)
			}
			equalSession(t, getSession(t, st, "s"), s)
		}
		r := live("s", at(time.Hour))
		r.DPoPJKT = "jkt-A"
		got, err := st.RotateMatching(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		if got.DPoPJKT != "jkt-A" || got.Generation != 1 {
			t.Fatalf("rotated: jkt %q generation %d", got.DPoPJKT, got.Generation)
		}
		equalSession(t, getSession(t, st, "s"), got)
	})
	t.Run("DPoPUnbound", func(t *testing.T) {
		st := open(t)
		createSession(t, st, newSession(createUser(t, st, "alice").ID, "s", at(time.Minute)))
		r := live("s", at(time.Hour))
		r.DPoPJKT = "jkt-A"
		got, err := st.RotateMatching(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		if got.DPoPJKT != "" {
			t.Fatalf("an exchange bound the session: jkt %q", got.DPoPJKT)
		}
	})
	// Each case breaks one condition; each must change nothing.
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, st refreshing.Store, u *refreshing.User)
		edit  func(r *refreshing.MatchingRotation)
	}{
		{"ErrStaleWrongHash", nil, func(r *refreshing.MatchingRotation) { r.TokenHash = hash("forged") }},
		{"ErrStaleWrongGeneration", nil, func(r *refreshing.MatchingRotation) { r.Generation = 1 }},
		{"ErrStaleNoSession", nil, func(r *refreshing.MatchingRotation) { r.SessionID = "nope" }},
		{"ErrStaleOtherClient", nil, func(r *refreshing.MatchingRotation) { r.ClientID = "other" }},
		{"ErrStaleNoClient", nil, func(r *refreshing.MatchingRotation) { r.ClientID = "" }},
		{"ErrStaleExpired", nil, func(r *refreshing.MatchingRotation) { r.At = at(time.Minute + 720*time.Hour) }},
		{"ErrStaleIdle", nil, func(r *refreshing.MatchingRotation) { r.IdleAfter = at(time.Minute) }},
		{"ErrStaleRevoked", func(t *testing.T, st refreshing.Store, _ *refreshing.User) {
			if err := st.RevokeSession(t.Context(), "s", refreshing.ReasonLogout, at(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			u := createUser(t, st, "alice")
			createSession(t, st, newSession(u.ID, "s", at(time.Minute)))
			if tc.setup != nil {
				tc.setup(t, st, u)
			}
			want := getSession(t, st, "s")
			r := live("s", at(time.Hour))
			if tc.edit != nil {
				tc.edit(&r)
			}
			if _, err := st.RotateMatching(t.Context(), r); !errors.Is(err, refreshing.ErrStale) {
				t.Fatalf("got %v, want ErrStale", err)
			}
			equalSession(t, getSession(t, st, "s"), want)
		})
	}
	t.Run("OKConcurrentOneWins", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		createSession(t, st, newSession(u.ID, "s", at(time.Minute)))
		const n = 50
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := live("s", at(time.Hour+time.Duration(i)*time.Microsecond))
				r.NewHash = hash(fmt.Sprintf("racer %d", i))
				_, errs[i] = st.RotateMatching(t.Context(), r)
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, refreshing.ErrStale):
				t.Errorf("racer %d: got %v, want nil or ErrStale", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d racers rotated, want exactly 1", won)
		}
		if got := getSession(t, st, "s").Generation; got != 1 {
			t.Errorf("Generation = %d, want 1", got)
		}
	})
}

func testAuthRevision(t *testing.T, open func(t *testing.T) refreshing.Store) {
	st := open(t)
	ctx := t.Context()
	alice, bob := createUser(t, st, "alice"), createUser(t, st, "bob")
	rev := func() int64 {
		t.Helper()
		n, err := st.AuthRevision(ctx)
		if err != nil {
			t.Fatalf("AuthRevision: %v", err)
		}
		return n
	}
	check := func(name string, wantChange bool, do func() error) {
		t.Helper()
		before := rev()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if changed := rev() != before; changed != wantChange {
			t.Errorf("%s: revision changed %v, want %v", name, changed, wantChange)
		}
	}
	withDevice := func(id, device string) *refreshing.Session {
		s := newSession(alice.ID, id, at(time.Minute))
		s.DeviceID = device
		return s
	}
	// What leaves every active session active, and every user as it was.
	check("CreateUser", false, func() error { return st.CreateUser(ctx, newUser("carol")) })
	check("CreateSession", false, func() error { return st.CreateSession(ctx, newSession(alice.ID, "s1", at(time.Minute)), 0) })
	check("CreateSession with a new device", false, func() error { return st.CreateSession(ctx, withDevice("s2", "phone"), 0) })
	check("RotateSession", false, func() error {
		return st.RotateSession(ctx, refreshing.Rotation{SessionID: "s1", Generation: 0, NewHash: hash("s1/1"), At: at(2 * time.Minute)})
	})
	check("RotateMatching", false, func() error {
		_, err := st.RotateMatching(ctx, refreshing.MatchingRotation{
			Rotation:  refreshing.Rotation{SessionID: "s1", Generation: 1, NewHash: hash("s1/2"), At: at(3 * time.Minute)},
			TokenHash: hash("s1/1"), ClientID: "web",
		})
		return err
	})
	check("TouchSession", false, func() error { return st.TouchSession(ctx, "s1", at(4*time.Minute)) })
	check("UpdateUser refused", false, func() error {
		u := *bob
		u.Email = alice.Email
		if err := st.UpdateUser(ctx, &u, nil); !errors.Is(err, refreshing.ErrConflict) {
			return fmt.Errorf("got %v, want ErrConflict", err)
		}
		return nil
	})

	// What can end an active session or change a user.
	check("RevokeSession", true, func() error { return st.RevokeSession(ctx, "s1", refreshing.ReasonLogout, at(5*time.Minute)) })
	check("RevokeSession again", false, func() error { return st.RevokeSession(ctx, "s1", refreshing.ReasonLogout, at(6*time.Minute)) })
	check("CreateSession replacing a device's", true, func() error { return st.CreateSession(ctx, withDevice("s3", "phone"), 0) })
	check("CreateSession over the limit", true, func() error { return st.CreateSession(ctx, newSession(alice.ID, "s4", at(time.Minute)), 1) })
	check("RevokeSessions", true, func() error {
		_, err := st.RevokeSessions(ctx, refreshing.Revocation{UserID: alice.ID, Reason: refreshing.ReasonLogout, At: at(7 * time.Minute)})
		return err
	})
	check("UpdateUser", true, func() error {
		u := *bob
		u.Blocked = true
		return st.UpdateUser(ctx, &u, nil)
	})
	createSession(t, st, newSession(bob.ID, "s5", at(time.Minute)))
	check("DeleteUser", true, func() error { return st.DeleteUser(ctx, bob.ID) })
	createSession(t, st, newSession(alice.ID, "s6", at(time.Minute)))
	check("PurgeSessions of a live one", true, func() error {
		n, err := st.PurgeSessions(ctx, refreshing.Purge{InactiveBefore: at(time.Hour), Limit: 10})
		if err == nil && n == 0 {
			err = errors.New("purged nothing")
		}
		return err
	})
}

// testGraceWindow checks a rotation's bookkeeping of the tokens retired
// within the grace window (GraceGeneration, GraceSince; see
// refreshing.Store.RotateSession), through rotate, which rotates with
// RotateSession or RotateMatching. Session "s"'s token of generation g
// hashes as hash("s/g").
func testGraceWindow(t *testing.T, open func(t *testing.T) refreshing.Store, rotate func(refreshing.Store, refreshing.Rotation) error) {
	st := open(t)
	u := createUser(t, st, "alice")
	s := newSession(u.ID, "s", at(time.Minute))
	s.ExpiresAt = time.Time{}
	s.TokenHash = hash("s/0")
	createSession(t, st, s)
	const grace = 10 * time.Second
	base := at(time.Hour)
	sec := func(n int) time.Time { return base.Add(time.Duration(n) * time.Second) }
	for _, step := range []struct {
		name      string
		at        int // seconds after base
		noFrom    bool
		wantGen   int64
		wantSince int
	}{
		{"first rotation: the token it retires", 0, false, 0, 0},
		{"within the window of the first: kept", 6, false, 0, 0},
		{"first out of the window, last in: the last", 12, false, 1, 6},
		{"still within the window: kept", 14, false, 1, 6},
		{"every one out of the window: the token it retires", 40, false, 4, 40},
		{"no window given: the token it retires", 41, true, 5, 41},
	} {
		gen := getSession(t, st, "s").Generation
		r := refreshing.Rotation{SessionID: "s", Generation: gen, NewHash: hash(fmt.Sprintf("s/%d", gen+1)), At: sec(step.at)}
		if !step.noFrom {
			r.GraceFrom = r.At.Add(-grace)
		}
		if err := rotate(st, r); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got := getSession(t, st, "s")
		if got.GraceGeneration != step.wantGen || !got.GraceSince.Equal(sec(step.wantSince)) {
			t.Errorf("%s: grace generation %d since %s, want %d since %s", step.name,
				got.GraceGeneration, fmtTime(got.GraceSince), step.wantGen, fmtTime(sec(step.wantSince)))
		}
	}
}
