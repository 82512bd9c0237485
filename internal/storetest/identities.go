package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func testAddIdentity(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		id := refreshing.Identity{Provider: "corp", Subject: "sub-1", UserID: u.ID, Email: "alice@corp.example", CreatedAt: at(time.Minute)}
		if err := st.AddIdentity(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		got, err := st.IdentityBySubject(t.Context(), "corp", "sub-1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, id) {
			t.Fatalf("IdentityBySubject = %+v, want %+v", *got, id)
		}
	})
	t.Run("ConflictWhoeverOwnsIt", func(t *testing.T) {
		st := open(t)
		a, b := createUser(t, st, "alice"), createUser(t, st, "bob")
		if err := st.AddIdentity(t.Context(), refreshing.Identity{Provider: "corp", Subject: "s", UserID: a.ID, CreatedAt: at(0)}); err != nil {
			t.Fatal(err)
		}
		for _, uid := range []int64{a.ID, b.ID} {
			err := st.AddIdentity(t.Context(), refreshing.Identity{Provider: "corp", Subject: "s", UserID: uid, CreatedAt: at(time.Second)})
			if !errors.Is(err, refreshing.ErrConflict) {
				t.Fatalf("second link to user %d: %v, want ErrConflict", uid, err)
			}
		}
		got, err := st.IdentityBySubject(t.Context(), "corp", "s")
		if err != nil || got.UserID != a.ID || !got.CreatedAt.Equal(at(0)) {
			t.Fatalf("after conflicts: %+v, %v; want the first link kept", got, err)
		}
		// The same subject at another provider is another account.
		if err := st.AddIdentity(t.Context(), refreshing.Identity{Provider: "other", Subject: "s", UserID: b.ID, CreatedAt: at(0)}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("UnknownUser", func(t *testing.T) {
		st := open(t)
		err := st.AddIdentity(t.Context(), refreshing.Identity{Provider: "corp", Subject: "s", UserID: 424242, CreatedAt: at(0)})
		if !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("AddIdentity for a missing user: %v, want ErrNotFound", err)
		}
		if _, err := st.IdentityBySubject(t.Context(), "corp", "s"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("after a refused link: %v, want ErrNotFound", err)
		}
	})
	t.Run("DeletedWithUser", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		if err := st.AddIdentity(t.Context(), refreshing.Identity{Provider: "corp", Subject: "s", UserID: u.ID, CreatedAt: at(0)}); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteUser(t.Context(), u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.IdentityBySubject(t.Context(), "corp", "s"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("identity of a deleted user: %v, want ErrNotFound", err)
		}
		// The provider account is free again: it may sign up anew.
		v := createUser(t, st, "bob")
		if err := st.AddIdentity(t.Context(), refreshing.Identity{Provider: "corp", Subject: "s", UserID: v.ID, CreatedAt: at(0)}); err != nil {
			t.Fatal(err)
		}
	})
}

func testIdentityBySubject(t *testing.T, open func(t *testing.T) refreshing.Store) {
	st := open(t)
	u := createUser(t, st, "alice")
	if err := st.AddIdentity(t.Context(), refreshing.Identity{Provider: "corp", Subject: "Sub", UserID: u.ID, CreatedAt: at(0)}); err != nil {
		t.Fatal(err)
	}
	// Subjects and provider names compare exactly.
	for _, k := range [][2]string{{"corp", "sub"}, {"Corp", "Sub"}, {"corp", "Sub "}, {"other", "Sub"}} {
		if _, err := st.IdentityBySubject(t.Context(), k[0], k[1]); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("IdentityBySubject(%q, %q) = %v, want ErrNotFound", k[0], k[1], err)
		}
	}
}

func testUserIdentities(t *testing.T, open func(t *testing.T) refreshing.Store) {
	st := open(t)
	a, b := createUser(t, st, "alice"), createUser(t, st, "bob")
	if got, err := st.UserIdentities(t.Context(), a.ID); err != nil || len(got) != 0 {
		t.Fatalf("UserIdentities of a user without any = %v, %v", got, err)
	}
	for _, id := range []refreshing.Identity{
		{Provider: "google", Subject: "9", UserID: a.ID, CreatedAt: at(0)},
		{Provider: "corp", Subject: "b", UserID: a.ID, CreatedAt: at(time.Second)},
		{Provider: "corp", Subject: "B", UserID: a.ID, CreatedAt: at(2 * time.Second)},
		{Provider: "corp", Subject: "x", UserID: b.ID, CreatedAt: at(0)},
	} {
		if err := st.AddIdentity(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.UserIdentities(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, id := range got {
		if id.UserID != a.ID {
			t.Errorf("identity %+v is not alice's", id)
		}
		keys = append(keys, id.Provider+"/"+id.Subject)
	}
	if want := []string{"corp/B", "corp/b", "google/9"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("UserIdentities order = %v, want %v", keys, want)
	}
}
