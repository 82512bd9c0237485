package storetest

import (
	"errors"
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
