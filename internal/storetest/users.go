package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func testCreateUser(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a := newUser("alice")
		a.Blocked = true
		a.Confirmed = false
		if err := st.CreateUser(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 {
			t.Fatal("CreateUser left ID zero")
		}
		b := createUser(t, st, "bob")
		if b.ID == a.ID {
			t.Fatalf("two users got the same ID %d", a.ID)
		}
		equalUser(t, getUser(t, st, a.ID), a)
		equalUser(t, getUser(t, st, b.ID), b)
	})
	t.Run("OKEmptyDocumentID", func(t *testing.T) {
		// The document id is assigned by the Service; a store must not
		// require one (imported users may lack it), nor treat two missing
		// ones as the same.
		st := open(t)
		for _, name := range []string{"alice", "bob"} {
			u := newUser(name)
			u.DocumentID = ""
			if err := st.CreateUser(t.Context(), u); err != nil {
				t.Fatalf("CreateUser(%q) without document id: %v", name, err)
			}
			equalUser(t, getUser(t, st, u.ID), u)
		}
	})
	t.Run("OKCaseDiffers", func(t *testing.T) {
		// Email and username are compared exactly; the Service lower-cases.
		st := open(t)
		createUser(t, st, "alice")
		u := newUser("Alice")
		if err := st.CreateUser(t.Context(), u); err != nil {
			t.Fatalf("CreateUser with email and username differing only in case: %v", err)
		}
	})
	t.Run("ErrConflictEmail", func(t *testing.T) {
		st := open(t)
		a := createUser(t, st, "alice")
		u := newUser("bob")
		u.Email = a.Email
		if err := st.CreateUser(t.Context(), u); !errors.Is(err, refreshing.ErrConflict) {
			t.Fatalf("CreateUser with a taken email: got %v, want ErrConflict", err)
		}
		if _, err := st.UserByUsername(t.Context(), "bob"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("after the conflict, UserByUsername(bob): got %v, want ErrNotFound", err)
		}
	})
	t.Run("ErrConflictUsername", func(t *testing.T) {
		st := open(t)
		a := createUser(t, st, "alice")
		u := newUser("bob")
		u.Username = a.Username
		if err := st.CreateUser(t.Context(), u); !errors.Is(err, refreshing.ErrConflict) {
			t.Fatalf("CreateUser with a taken username: got %v, want ErrConflict", err)
		}
		if _, err := st.UserByEmail(t.Context(), u.Email); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("after the conflict, UserByEmail: got %v, want ErrNotFound", err)
		}
	})
}

func testUserByID(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		createUser(t, st, "alice")
		b := createUser(t, st, "bob")
		equalUser(t, getUser(t, st, b.ID), b)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		a := createUser(t, st, "alice")
		if _, err := st.UserByID(t.Context(), a.ID+1000); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}

func testUserByEmail(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		createUser(t, st, "alice")
		b := createUser(t, st, "bob")
		u, err := st.UserByEmail(t.Context(), b.Email)
		if err != nil {
			t.Fatal(err)
		}
		equalUser(t, u, b)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		createUser(t, st, "alice")
		for _, email := range []string{"carol@example.com", "ALICE@example.com", "alice"} {
			if _, err := st.UserByEmail(t.Context(), email); !errors.Is(err, refreshing.ErrNotFound) {
				t.Errorf("UserByEmail(%q): got %v, want ErrNotFound", email, err)
			}
		}
	})
}

func testUserByUsername(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		createUser(t, st, "alice")
		b := createUser(t, st, "bob")
		u, err := st.UserByUsername(t.Context(), "bob")
		if err != nil {
			t.Fatal(err)
		}
		equalUser(t, u, b)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		createUser(t, st, "alice")
		for _, name := range []string{"carol", "Alice", "alice@example.com"} {
			if _, err := st.UserByUsername(t.Context(), name); !errors.Is(err, refreshing.ErrNotFound) {
				t.Errorf("UserByUsername(%q): got %v, want ErrNotFound", name, err)
			}
		}
	})
}

// revocationFixture is a user with four sessions, one already revoked, and
// another user with a session on the same device.
type revocationFixture struct {
	user, other *refreshing.User
	// a is on device "phone", where it replaced d; b is on "laptop" and c
	// has no device id. o is the other user's, also on "phone".
	a, b, c, d, o *refreshing.Session
}

func newRevocationFixture(t *testing.T, st refreshing.Store) *revocationFixture {
	t.Helper()
	f := &revocationFixture{user: createUser(t, st, "alice"), other: createUser(t, st, "bob")}
	f.d = newSession(f.user.ID, "d", at(time.Minute))
	f.d.DeviceID = "phone"
	f.a = newSession(f.user.ID, "a", at(2*time.Minute))
	f.a.DeviceID = "phone"
	f.b = newSession(f.user.ID, "b", at(3*time.Minute))
	f.b.DeviceID = "laptop"
	f.c = newSession(f.user.ID, "c", at(4*time.Minute))
	f.o = newSession(f.other.ID, "o", at(5*time.Minute))
	f.o.DeviceID = "phone"
	for _, s := range []*refreshing.Session{f.d, f.a, f.b, f.c, f.o} {
		createSession(t, st, s)
	}
	f.d.RevokedAt, f.d.RevokeReason = f.a.CreatedAt, refreshing.ReasonReplaced
	return f
}

// check verifies that exactly the sessions in revoked were revoked with
// reason at when, and every other session is as it was.
func (f *revocationFixture) check(t *testing.T, st refreshing.Store, reason string, when time.Time, revoked ...*refreshing.Session) {
	t.Helper()
	for _, s := range revoked {
		s.RevokedAt, s.RevokeReason = when, reason
	}
	for _, s := range []*refreshing.Session{f.a, f.b, f.c, f.d, f.o} {
		equalSession(t, getSession(t, st, s.ID), s)
	}
}

func testUpdateUser(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a := createUser(t, st, "alice")
		b := createUser(t, st, "bob")
		want := *a
		want.DocumentID = "u_alice2"
		want.Username = "alice2"
		want.Email = "alice2@example.com"
		want.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdDI$aGFzaDI"
		want.Provider = "strapi"
		want.Role = "admin"
		want.Confirmed = false
		want.Blocked = true
		want.CreatedAt = at(-time.Hour)
		want.UpdatedAt = at(time.Hour)
		u := want
		if err := st.UpdateUser(t.Context(), &u, nil); err != nil {
			t.Fatal(err)
		}
		equalUser(t, getUser(t, st, a.ID), &want)
		equalUser(t, getUser(t, st, b.ID), b)
		if _, err := st.UserByEmail(t.Context(), "alice@example.com"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("old email still found: %v", err)
		}
		got, err := st.UserByUsername(t.Context(), "alice2")
		if err != nil {
			t.Fatal(err)
		}
		equalUser(t, got, &want)
	})
	t.Run("OKWithoutRevocation", func(t *testing.T) {
		st := open(t)
		f := newRevocationFixture(t, st)
		f.user.Role = "editor"
		if err := st.UpdateUser(t.Context(), f.user, nil); err != nil {
			t.Fatal(err)
		}
		f.check(t, st, "", time.Time{})
	})
	t.Run("OKWithRevocation", func(t *testing.T) {
		st := open(t)
		f := newRevocationFixture(t, st)
		f.user.PasswordHash = "$argon2id$new"
		when := at(time.Hour)
		r := &refreshing.Revocation{UserID: f.user.ID, Except: "a", Reason: refreshing.ReasonPasswordChange, At: when}
		if err := st.UpdateUser(t.Context(), f.user, r); err != nil {
			t.Fatal(err)
		}
		equalUser(t, getUser(t, st, f.user.ID), f.user)
		f.check(t, st, refreshing.ReasonPasswordChange, when, f.b, f.c)
	})
	t.Run("OKWithRevocationAll", func(t *testing.T) {
		st := open(t)
		f := newRevocationFixture(t, st)
		f.user.Blocked = true
		when := at(time.Hour)
		r := &refreshing.Revocation{UserID: f.user.ID, Reason: refreshing.ReasonBlocked, At: when}
		if err := st.UpdateUser(t.Context(), f.user, r); err != nil {
			t.Fatal(err)
		}
		equalUser(t, getUser(t, st, f.user.ID), f.user)
		f.check(t, st, refreshing.ReasonBlocked, when, f.a, f.b, f.c)
	})
	t.Run("OKWithRevocationDevice", func(t *testing.T) {
		st := open(t)
		f := newRevocationFixture(t, st)
		when := at(time.Hour)
		r := &refreshing.Revocation{UserID: f.user.ID, DeviceID: "phone", Reason: refreshing.ReasonLogout, At: when}
		if err := st.UpdateUser(t.Context(), f.user, r); err != nil {
			t.Fatal(err)
		}
		f.check(t, st, refreshing.ReasonLogout, when, f.a)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		a := createUser(t, st, "alice")
		u := newUser("ghost")
		u.ID = a.ID + 1000
		if err := st.UpdateUser(t.Context(), u, nil); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		r := &refreshing.Revocation{UserID: u.ID, Reason: refreshing.ReasonBlocked, At: at(time.Hour)}
		if err := st.UpdateUser(t.Context(), u, r); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("with a revocation: got %v, want ErrNotFound", err)
		}
		equalUser(t, getUser(t, st, a.ID), a)
	})
	for name, take := range map[string]func(u, from *refreshing.User){
		"ErrConflictEmail":    func(u, from *refreshing.User) { u.Email = from.Email },
		"ErrConflictUsername": func(u, from *refreshing.User) { u.Username = from.Username },
	} {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			a := createUser(t, st, "alice")
			b := createUser(t, st, "bob")
			u := *b
			take(&u, a)
			if err := st.UpdateUser(t.Context(), &u, nil); !errors.Is(err, refreshing.ErrConflict) {
				t.Fatalf("got %v, want ErrConflict", err)
			}
			equalUser(t, getUser(t, st, b.ID), b)
		})
	}
	t.Run("ErrConflictRevokesNothing", func(t *testing.T) {
		// The update and the revocation are one transaction: when the
		// update fails, no session is revoked.
		st := open(t)
		f := newRevocationFixture(t, st)
		u := *f.user
		u.Email = f.other.Email
		r := &refreshing.Revocation{UserID: u.ID, Reason: refreshing.ReasonPasswordChange, At: at(time.Hour)}
		if err := st.UpdateUser(t.Context(), &u, r); !errors.Is(err, refreshing.ErrConflict) {
			t.Fatalf("got %v, want ErrConflict", err)
		}
		equalUser(t, getUser(t, st, f.user.ID), f.user)
		f.check(t, st, "", time.Time{})
	})
}

func testDeleteUser(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		f := newRevocationFixture(t, st)
		if err := st.DeleteUser(t.Context(), f.user.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UserByID(t.Context(), f.user.ID); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("UserByID after delete: got %v, want ErrNotFound", err)
		}
		if _, err := st.UserByEmail(t.Context(), f.user.Email); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("UserByEmail after delete: got %v, want ErrNotFound", err)
		}
		for _, id := range []string{"a", "b", "c", "d"} {
			if _, err := st.Session(t.Context(), id); !errors.Is(err, refreshing.ErrNotFound) {
				t.Errorf("Session(%q) of the deleted user: got %v, want ErrNotFound", id, err)
			}
		}
		equalUser(t, getUser(t, st, f.other.ID), f.other)
		equalSession(t, getSession(t, st, "o"), f.o)
		// The email and username are free again.
		createUser(t, st, "alice")
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		a := createUser(t, st, "alice")
		if err := st.DeleteUser(t.Context(), a.ID+1000); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		if err := st.DeleteUser(t.Context(), a.ID); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteUser(t.Context(), a.ID); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("second delete: got %v, want ErrNotFound", err)
		}
	})
}

func testListUsers(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		want := make(map[int64]*refreshing.User)
		for _, name := range []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7"} {
			u := createUser(t, st, name)
			want[u.ID] = u
		}
		var after int64
		pages := 0
		seen := make(map[int64]bool)
		for {
			page, err := st.ListUsers(t.Context(), after, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 3 {
				t.Fatalf("page of %d users, want at most 3", len(page))
			}
			if len(page) == 0 {
				break
			}
			pages++
			for _, u := range page {
				if u.ID <= after {
					t.Fatalf("user %d after %d: not in ascending ID order", u.ID, after)
				}
				after = u.ID
				if seen[u.ID] {
					t.Fatalf("user %d listed twice", u.ID)
				}
				seen[u.ID] = true
				w, ok := want[u.ID]
				if !ok {
					t.Fatalf("unknown user %d listed", u.ID)
				}
				equalUser(t, &u, w)
			}
			if pages > 10 {
				t.Fatal("paging does not end")
			}
		}
		if got, want := len(seen), len(want); got != want {
			t.Errorf("listed %d users, want %d", got, want)
		}
		if got, want := pages, 3; got != want {
			t.Errorf("%d pages, want %d", got, want)
		}
	})
	t.Run("OKEmpty", func(t *testing.T) {
		st := open(t)
		users, err := st.ListUsers(t.Context(), 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 0 {
			t.Fatalf("got %d users from an empty store", len(users))
		}
	})
}
