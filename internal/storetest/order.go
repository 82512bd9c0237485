package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// orderIDs are ids of the alphabet of session ids (base64url) whose byte
// order differs from any linguistic order: upper case sorts before lower
// case, '-' before the digits, '_' between the cases.
var orderIDs = []string{"zulu", "Zulu", "bravo", "Bravo", "apple", "Apple", "a_b", "a-b", "aB", "ab", "_x", "-x", "0x", "9x", "Ab"}

// byteOrderDesc returns ids sorted in descending byte order, the order in
// which every Store breaks ties by ID.
func byteOrderDesc(ids []string) []string {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) })
	return ids
}

// testByteOrder checks that ties in time are broken by ID in byte order, in
// every listing and in the session limit, whatever the database's collation.
func testByteOrder(t *testing.T, open func(t *testing.T) refreshing.Store) {
	want := byteOrderDesc(orderIDs)
	// fixture stores a session of one user for each of orderIDs, all last
	// active at the same time.
	fixture := func(t *testing.T, st refreshing.Store) *refreshing.User {
		t.Helper()
		u := createUser(t, st, "alice")
		for _, id := range orderIDs {
			createSession(t, st, newSession(u.ID, id, at(0)))
		}
		return u
	}

	t.Run("ListSessions", func(t *testing.T) {
		st := open(t)
		fixture(t, st)
		got, err := st.ListSessions(t.Context(), refreshing.SessionFilter{Limit: len(orderIDs)})
		if err != nil {
			t.Fatal(err)
		}
		if gotIDs := sessionIDs(got); !slices.Equal(gotIDs, want) {
			t.Fatalf("ListSessions = %q, want %q", gotIDs, want)
		}
	})
	t.Run("ListSessionsCursor", func(t *testing.T) {
		// From each position, the cursor must resume exactly after it.
		st := open(t)
		fixture(t, st)
		for i, id := range want {
			got, err := st.ListSessions(t.Context(), refreshing.SessionFilter{AfterCreated: at(0), AfterID: id, Limit: len(orderIDs)})
			if err != nil {
				t.Fatal(err)
			}
			if gotIDs := sessionIDs(got); !slices.Equal(gotIDs, want[i+1:]) {
				t.Fatalf("ListSessions before %q = %q, want %q", id, gotIDs, want[i+1:])
			}
		}
	})
	t.Run("UserSessions", func(t *testing.T) {
		st := open(t)
		u := fixture(t, st)
		got, err := st.UserSessions(t.Context(), u.ID, at(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if gotIDs := sessionIDs(got); !slices.Equal(gotIDs, want) {
			t.Fatalf("UserSessions = %q, want %q", gotIDs, want)
		}
	})
	t.Run("CreateSessionLimit", func(t *testing.T) {
		// The limit keeps the new session and the limit-1 first of the
		// others in the listing order.
		st := open(t)
		u := fixture(t, st)
		const limit = 4
		if err := st.CreateSession(t.Context(), newSession(u.ID, "new", at(time.Minute)), limit); err != nil {
			t.Fatal(err)
		}
		got, err := st.UserSessions(t.Context(), u.ID, at(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if gotIDs, wantIDs := sessionIDs(got), append([]string{"new"}, want[:limit-1]...); !slices.Equal(gotIDs, wantIDs) {
			t.Fatalf("sessions left by the limit = %q, want %q", gotIDs, wantIDs)
		}
	})
	t.Run("SigningKeys", func(t *testing.T) {
		st := open(t)
		var keys []refreshing.SigningKey
		for _, id := range orderIDs {
			k := newKey(id, at(0))
			if err := st.AddSigningKey(t.Context(), k, false); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		wantKeys := make([]refreshing.SigningKey, len(want))
		for i, id := range want {
			wantKeys[i] = keys[slices.Index(orderIDs, id)]
		}
		equalKeys(t, signingKeys(t, st), wantKeys)
	})
}
