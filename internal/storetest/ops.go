package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// sessionExists reports whether session id is still stored.
func sessionExists(t *testing.T, st refreshing.Store, id string) bool {
	t.Helper()
	_, err := st.Session(t.Context(), id)
	if errors.Is(err, refreshing.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("Session(%q): %v", id, err)
	}
	return true
}

func testPurgeSessions(t *testing.T, open func(t *testing.T) refreshing.Store) {
	// fixture stores, for one user: a live session, one revoked at +1h, one
	// that expired at +2h, one last active at -10h that never expires, and
	// one that is live, expires late and was active recently.
	fixture := func(t *testing.T) refreshing.Store {
		st := open(t)
		u := createUser(t, st, "alice")
		live := newSession(u.ID, "live", at(0))
		revoked := newSession(u.ID, "revoked", at(0))
		expired := newSession(u.ID, "expired", at(-72*time.Hour))
		expired.ExpiresAt = at(2 * time.Hour)
		idle := newSession(u.ID, "idle", at(-10*time.Hour))
		idle.ExpiresAt = time.Time{}
		recent := newSession(u.ID, "recent", at(0))
		recent.ExpiresAt = time.Time{}
		for _, s := range []*refreshing.Session{live, revoked, expired, idle, recent} {
			createSession(t, st, s)
		}
		if err := st.TouchSession(t.Context(), "recent", at(5*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeSession(t.Context(), "revoked", refreshing.ReasonLogout, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		return st
	}
	remaining := func(t *testing.T, st refreshing.Store) []string {
		t.Helper()
		var ids []string
		for _, id := range []string{"live", "revoked", "expired", "idle", "recent"} {
			if sessionExists(t, st, id) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	for _, tc := range []struct {
		name    string
		p       refreshing.Purge
		deleted int
		left    []string
	}{
		{"OKRevokedBefore", refreshing.Purge{RevokedBefore: at(time.Hour + time.Microsecond), Limit: 10}, 1,
			[]string{"live", "expired", "idle", "recent"}},
		{"OKRevokedAtCutoffKept", refreshing.Purge{RevokedBefore: at(time.Hour), Limit: 10}, 0,
			[]string{"live", "revoked", "expired", "idle", "recent"}},
		{"OKExpiredBefore", refreshing.Purge{ExpiredBefore: at(3 * time.Hour), Limit: 10}, 1,
			[]string{"live", "revoked", "idle", "recent"}},
		{"OKInactiveBefore", refreshing.Purge{InactiveBefore: at(-time.Hour), Limit: 10}, 2,
			[]string{"live", "revoked", "recent"}},
		{"OKEveryCriterion", refreshing.Purge{RevokedBefore: at(2 * time.Hour), ExpiredBefore: at(3 * time.Hour),
			InactiveBefore: at(-time.Hour), Limit: 10}, 3, []string{"live", "recent"}},
		{"OKZeroCutoffsDeleteNothing", refreshing.Purge{Limit: 10}, 0,
			[]string{"live", "revoked", "expired", "idle", "recent"}},
		{"OKZeroLimitDeletesNothing", refreshing.Purge{RevokedBefore: at(2 * time.Hour), ExpiredBefore: at(3 * time.Hour)}, 0,
			[]string{"live", "revoked", "expired", "idle", "recent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := fixture(t)
			n, err := st.PurgeSessions(t.Context(), tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.deleted {
				t.Errorf("PurgeSessions deleted %d, want %d", n, tc.deleted)
			}
			if got := remaining(t, st); !slices.Equal(got, tc.left) {
				t.Errorf("sessions left = %v, want %v", got, tc.left)
			}
		})
	}
	t.Run("OKBatches", func(t *testing.T) {
		// 25 revoked sessions go in batches of at most 10: 10, 10, 5, 0.
		st := open(t)
		u := createUser(t, st, "alice")
		for i := range 25 {
			s := newSession(u.ID, fmt.Sprintf("s%02d", i), at(0))
			createSession(t, st, s)
			if err := st.RevokeSession(t.Context(), s.ID, refreshing.ReasonLogout, at(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		keep := newSession(u.ID, "keep", at(0))
		createSession(t, st, keep)
		var got []int
		for range 4 {
			n, err := st.PurgeSessions(t.Context(), refreshing.Purge{RevokedBefore: at(time.Hour), Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		if want := []int{10, 10, 5, 0}; !slices.Equal(got, want) {
			t.Errorf("batches deleted %v, want %v", got, want)
		}
		if !sessionExists(t, st, "keep") {
			t.Error("the live session was deleted")
		}
	})
	t.Run("OKLimitAcrossCriteria", func(t *testing.T) {
		st := fixture(t)
		p := refreshing.Purge{RevokedBefore: at(2 * time.Hour), ExpiredBefore: at(3 * time.Hour), InactiveBefore: at(-time.Hour), Limit: 2}
		n, err := st.PurgeSessions(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("first batch deleted %d, want the limit, 2", n)
		}
		n, err = st.PurgeSessions(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("second batch deleted %d, want the remaining 1", n)
		}
		if got, want := remaining(t, st), []string{"live", "recent"}; !slices.Equal(got, want) {
			t.Errorf("sessions left = %v, want %v", got, want)
		}
	})
}

func testCountActiveSessions(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		v := createUser(t, st, "bob")
		live := newSession(u.ID, "live", at(0))       // expires at +720h
		forever := newSession(v.ID, "forever", at(0)) // never expires
		forever.ExpiresAt = time.Time{}
		expired := newSession(u.ID, "expired", at(-800*time.Hour))
		revoked := newSession(u.ID, "revoked", at(0))
		for _, s := range []*refreshing.Session{live, forever, expired, revoked} {
			createSession(t, st, s)
		}
		if err := st.RevokeSession(t.Context(), "revoked", refreshing.ReasonAdmin, at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := st.TouchSession(t.Context(), "live", at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			now, activeAfter time.Time
			want             int64
		}{
			{at(2 * time.Hour), time.Time{}, 2},
			{at(2 * time.Hour), at(30 * time.Minute), 1}, // only live was active after +30m
			{at(2 * time.Hour), at(time.Hour), 0},        // strictly after
			{at(720 * time.Hour), time.Time{}, 1},        // live expired exactly now
			{at(-900 * time.Hour), time.Time{}, 3},       // before expired expired
		} {
			n, err := st.CountActiveSessions(t.Context(), tc.now, tc.activeAfter)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.want {
				t.Errorf("CountActiveSessions(%s, %s) = %d, want %d", fmtTime(tc.now), fmtTime(tc.activeAfter), n, tc.want)
			}
		}
	})
	t.Run("OKEmpty", func(t *testing.T) {
		n, err := open(t).CountActiveSessions(t.Context(), at(0), time.Time{})
		if err != nil || n != 0 {
			t.Fatalf("CountActiveSessions on an empty store = %d, %v; want 0, nil", n, err)
		}
	})
}

func testAcquireLease(t *testing.T, open func(t *testing.T) refreshing.Store) {
	acquire := func(t *testing.T, st refreshing.Store, holder string, now, until time.Time) bool {
		t.Helper()
		ok, err := st.AcquireLease(t.Context(), "janitor", holder, now, until)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		steps := []struct {
			holder     string
			now, until time.Time
			want       bool
		}{
			{"a", at(0), at(time.Minute), true},                        // free
			{"b", at(30 * time.Second), at(2 * time.Minute), false},    // a holds it
			{"a", at(40 * time.Second), at(2 * time.Minute), true},     // a renews
			{"b", at(time.Minute), at(3 * time.Minute), false},         // renewed: still a's
			{"b", at(2 * time.Minute), at(3 * time.Minute), true},      // a's ended at now
			{"a", at(2*time.Minute + 1), at(4 * time.Minute), false},   // b holds it now
			{"c", at(10 * time.Minute), at(11 * time.Minute), true},    // b's long over
			{"b", at(10*time.Minute + 1), at(12 * time.Minute), false}, // c's
		}
		for i, s := range steps {
			if got := acquire(t, st, s.holder, s.now, s.until); got != s.want {
				t.Fatalf("step %d: AcquireLease(%q, now %s) = %v, want %v", i, s.holder, fmtTime(s.now), got, s.want)
			}
		}
		// Another name is another lease.
		ok, err := st.AcquireLease(t.Context(), "other", "b", at(0), at(time.Minute))
		if err != nil || !ok {
			t.Fatalf("AcquireLease(other) = %v, %v; want true", ok, err)
		}
	})
	t.Run("OKOneWinnerOfMany", func(t *testing.T) {
		st := open(t)
		const n = 8
		var wg sync.WaitGroup
		won := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				won[i], errs[i] = st.AcquireLease(t.Context(), "janitor", fmt.Sprintf("h%d", i), at(0), at(time.Minute))
			})
		}
		wg.Wait()
		winners := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("holder %d: %v", i, errs[i])
			}
			if won[i] {
				winners++
			}
		}
		if winners != 1 {
			t.Errorf("%d holders got the lease, want exactly 1", winners)
		}
	})
}

func testImportUser(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OKKeepsID", func(t *testing.T) {
		st := open(t)
		u := newUser("imported")
		u.ID = 42
		u.PasswordHash = "$2a$10$abcdefghijklmnopqrstuuNFxXlv3dE1m6yfQ5QGk9a3vxEoIV5ni"
		want := *u
		if err := st.ImportUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		if u.ID != 42 {
			t.Fatalf("ImportUser set ID %d, want 42", u.ID)
		}
		equalUser(t, getUser(t, st, 42), &want)
		// CreateUser afterwards never reuses an imported id.
		v := createUser(t, st, "native")
		if v.ID <= 42 {
			t.Errorf("CreateUser after an import got ID %d, want more than 42", v.ID)
		}
	})
	t.Run("OKZeroIDAssigned", func(t *testing.T) {
		st := open(t)
		first := createUser(t, st, "first")
		u := newUser("imported")
		if err := st.ImportUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		if u.ID == 0 || u.ID == first.ID {
			t.Fatalf("ImportUser assigned ID %d (first user has %d)", u.ID, first.ID)
		}
		equalUser(t, getUser(t, st, u.ID), u)
	})
	t.Run("OKLowerIDThanExisting", func(t *testing.T) {
		// Importing a low id into a store whose counter is past it moves
		// nothing backwards.
		st := open(t)
		var last *refreshing.User
		for i := range 5 {
			last = createUser(t, st, fmt.Sprintf("n%d", i))
		}
		u := newUser("low")
		u.ID = 1000
		if err := st.ImportUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteUser(t.Context(), 1000); err != nil {
			t.Fatal(err)
		}
		low := newUser("lower")
		low.ID = last.ID + 100
		if err := st.ImportUser(t.Context(), low); err != nil {
			t.Fatal(err)
		}
		v := createUser(t, st, "after")
		if v.ID <= 1000 {
			t.Errorf("CreateUser got ID %d, want more than the highest imported, 1000", v.ID)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		st := open(t)
		existing := createUser(t, st, "alice")
		for name, u := range map[string]*refreshing.User{
			"ID":       func() *refreshing.User { u := newUser("x"); u.ID = existing.ID; return u }(),
			"Email":    func() *refreshing.User { u := newUser("y"); u.Email = existing.Email; return u }(),
			"Username": func() *refreshing.User { u := newUser("z"); u.Username = existing.Username; return u }(),
		} {
			if err := st.ImportUser(t.Context(), u); !errors.Is(err, refreshing.ErrConflict) {
				t.Errorf("ImportUser with a taken %s = %v, want ErrConflict", name, err)
			}
		}
	})
}

func testImportSession(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "imported", at(0))
		s.TokenHash = hash("strapi-token")
		s.LastActivity = at(time.Hour)
		want := *s
		if err := st.ImportSession(t.Context(), s, hash("strapi-token")); err != nil {
			t.Fatal(err)
		}
		equalSession(t, getSession(t, st, "imported"), &want)
		id, err := st.SessionIDByImportHash(t.Context(), hash("strapi-token"))
		if err != nil || id != "imported" {
			t.Fatalf("SessionIDByImportHash = %q, %v; want imported", id, err)
		}
		// The imported session rotates like any other.
		if err := st.RotateSession(t.Context(), refreshing.Rotation{SessionID: "imported", Generation: 0, NewHash: hash("next"), At: at(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if id, err := st.SessionIDByImportHash(t.Context(), hash("strapi-token")); err != nil || id != "imported" {
			t.Fatalf("after a rotation SessionIDByImportHash = %q, %v; want imported", id, err)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		if err := st.ImportSession(t.Context(), newSession(u.ID, "a", at(0)), hash("t1")); err != nil {
			t.Fatal(err)
		}
		if err := st.ImportSession(t.Context(), newSession(u.ID, "b", at(0)), hash("t1")); !errors.Is(err, refreshing.ErrConflict) {
			t.Errorf("same import hash: %v, want ErrConflict", err)
		}
		if err := st.ImportSession(t.Context(), newSession(u.ID, "a", at(0)), hash("t2")); !errors.Is(err, refreshing.ErrConflict) {
			t.Errorf("same id: %v, want ErrConflict", err)
		}
		if sessionExists(t, st, "b") {
			t.Error("a conflicting import was stored")
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if err := st.ImportSession(t.Context(), newSession(999, "a", at(0)), hash("t1")); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("ImportSession for no user = %v, want ErrNotFound", err)
		}
		if _, err := st.SessionIDByImportHash(t.Context(), hash("t1")); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("SessionIDByImportHash of nothing = %v, want ErrNotFound", err)
		}
	})
	t.Run("OKNativeSessionsHaveNoImportHash", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		s := newSession(u.ID, "native", at(0))
		createSession(t, st, s)
		if _, err := st.SessionIDByImportHash(t.Context(), s.TokenHash); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("a native session's token hash found as an import: %v", err)
		}
	})
	t.Run("OKDeletedWithUser", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		if err := st.ImportSession(t.Context(), newSession(u.ID, "a", at(0)), hash("t1")); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteUser(t.Context(), u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SessionIDByImportHash(t.Context(), hash("t1")); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("after DeleteUser: %v, want ErrNotFound", err)
		}
	})
}

// testHasImportedSessions checks what lets the Service skip looking up
// tokens that are not its own: HasImportedSessions, and the AuthRevision
// bump of every import (migration 0011), which is how other processes learn
// that the answer changed.
func testHasImportedSessions(t *testing.T, open func(t *testing.T) refreshing.Store) {
	st := open(t)
	ctx := t.Context()
	has := func() bool {
		t.Helper()
		held, err := st.HasImportedSessions(ctx)
		if err != nil {
			t.Fatalf("HasImportedSessions: %v", err)
		}
		return held
	}
	rev := func() int64 {
		t.Helper()
		n, err := st.AuthRevision(ctx)
		if err != nil {
			t.Fatalf("AuthRevision: %v", err)
		}
		return n
	}
	u := createUser(t, st, "alice")
	createSession(t, st, newSession(u.ID, "native", at(0)))
	if has() {
		t.Fatal("HasImportedSessions = true with only a native session, want false")
	}
	before := rev()
	if err := st.ImportSession(ctx, newSession(u.ID, "imported", at(0)), hash("strapi-token")); err != nil {
		t.Fatal(err)
	}
	if rev() == before {
		t.Error("ImportSession left AuthRevision alone, want it increased")
	}
	if !has() {
		t.Fatal("HasImportedSessions = false after ImportSession, want true")
	}
	// Revoked and rotated, it is still an imported session.
	if err := st.RotateSession(ctx, refreshing.Rotation{SessionID: "imported", Generation: 0, NewHash: hash("next"), At: at(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeSession(ctx, "imported", refreshing.ReasonLogout, at(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !has() {
		t.Error("HasImportedSessions = false for a revoked imported session, want true")
	}
	before = rev()
	if err := st.ImportSession(ctx, newSession(u.ID, "refused", at(0)), hash("strapi-token")); !errors.Is(err, refreshing.ErrConflict) {
		t.Fatalf("ImportSession of a taken hash = %v, want ErrConflict", err)
	}
	if rev() != before {
		t.Error("a refused ImportSession changed AuthRevision")
	}
	if err := st.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if has() {
		t.Error("HasImportedSessions = true once the only imported session went with its user, want false")
	}
}
