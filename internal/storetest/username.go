package storetest

import (
	"errors"
	"testing"

	"github.com/refreshing/refreshing"
)

// testUsernameKey checks the username-key contract: CreateUser and
// ImportUser keep a non-empty key unique (ErrConflict), "" is no key and
// never conflicts, UsersWithoutUsernameKey pages over the users with none,
// SetUsernameKey sets one (ErrConflict if another user has it, ErrNotFound
// for no user), UserByUsernameKey finds its holder, and UpdateUser keeps the
// key while the username stays.
func testUsernameKey(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("ErrConflictOnCreate", func(t *testing.T) {
		st := open(t)
		a := newUser("ada")
		a.UsernameKey = "ada"
		if err := st.CreateUser(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		b := newUser("Ada")
		b.UsernameKey = "ada"
		if err := st.CreateUser(t.Context(), b); !errors.Is(err, refreshing.ErrConflict) {
			t.Fatalf("CreateUser with a taken key: %v, want ErrConflict", err)
		}
		c := newUser("ADA")
		c.UsernameKey = "ada"
		c.ID = 0
		if err := st.ImportUser(t.Context(), c); !errors.Is(err, refreshing.ErrConflict) {
			t.Fatalf("ImportUser with a taken key: %v, want ErrConflict", err)
		}
		got, err := st.UserByUsernameKey(t.Context(), "ada")
		if err != nil || got.ID != a.ID {
			t.Fatalf("UserByUsernameKey = %v, %v; want user %d", got, err, a.ID)
		}
		if _, err := st.UserByUsernameKey(t.Context(), "bob"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("UserByUsernameKey(unknown) = %v, want ErrNotFound", err)
		}
	})
	t.Run("EmptyIsNoKey", func(t *testing.T) {
		st := open(t)
		x, y := createUser(t, st, "x1"), createUser(t, st, "y1") // no keys: no conflict
		z := createUser(t, st, "z1")
		if err := st.SetUsernameKey(t.Context(), z.ID, "z1"); err != nil {
			t.Fatal(err)
		}
		got, err := st.UsersWithoutUsernameKey(t.Context(), 0, 10)
		if err != nil || len(got) != 2 || got[0].ID != x.ID || got[1].ID != y.ID {
			t.Fatalf("UsersWithoutUsernameKey = %v, %v; want users %d and %d", got, err, x.ID, y.ID)
		}
		if got, err := st.UsersWithoutUsernameKey(t.Context(), x.ID, 1); err != nil || len(got) != 1 || got[0].ID != y.ID {
			t.Fatalf("UsersWithoutUsernameKey after %d, limit 1 = %v, %v; want user %d", x.ID, got, err, y.ID)
		}
		if got, err := st.UsersWithoutUsernameKey(t.Context(), 0, 0); err != nil || len(got) != 0 {
			t.Fatalf("UsersWithoutUsernameKey limit 0 = %v, %v", got, err)
		}
	})
	t.Run("SetUsernameKey", func(t *testing.T) {
		st := open(t)
		a, b := createUser(t, st, "ada"), createUser(t, st, "Ada")
		if err := st.SetUsernameKey(t.Context(), a.ID, "ada"); err != nil {
			t.Fatal(err)
		}
		if err := st.SetUsernameKey(t.Context(), a.ID, "ada"); err != nil {
			t.Errorf("setting a user's own key again: %v", err)
		}
		if err := st.SetUsernameKey(t.Context(), b.ID, "ada"); !errors.Is(err, refreshing.ErrConflict) {
			t.Errorf("SetUsernameKey with another user's key: %v, want ErrConflict", err)
		}
		if err := st.SetUsernameKey(t.Context(), b.ID+100, "zed"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("SetUsernameKey of no user: %v, want ErrNotFound", err)
		}
		if got, err := st.UsersWithoutUsernameKey(t.Context(), 0, 10); err != nil || len(got) != 1 || got[0].ID != b.ID {
			t.Errorf("UsersWithoutUsernameKey = %v, %v; want only user %d", got, err, b.ID)
		}
	})
	t.Run("UpdateUserKeepsTheKey", func(t *testing.T) {
		st := open(t)
		a := newUser("ada")
		a.UsernameKey = "ada"
		if err := st.CreateUser(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		u, err := st.UserByID(t.Context(), a.ID) // read back: no key in it
		if err != nil {
			t.Fatal(err)
		}
		u.Blocked = true
		if err := st.UpdateUser(t.Context(), u, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := st.UserByUsernameKey(t.Context(), "ada"); err != nil || got.ID != a.ID || !got.Blocked {
			t.Fatalf("after UpdateUser: UserByUsernameKey = %v, %v", got, err)
		}
		// A new username with its key replaces the key.
		u.Username, u.UsernameKey = "ada2", "ada2"
		if err := st.UpdateUser(t.Context(), u, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UserByUsernameKey(t.Context(), "ada"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("the old key after a rename: %v, want ErrNotFound", err)
		}
		if got, err := st.UserByUsernameKey(t.Context(), "ada2"); err != nil || got.ID != a.ID {
			t.Errorf("the new key after a rename: %v, %v", got, err)
		}
	})
}
