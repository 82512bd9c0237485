package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// runManage runs the conformance tests of refreshing.Store and of the
// listing directions and date range the admin API added.
func runManage(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("FindUsers", func(t *testing.T) { testFindUsers(t, open) })
	t.Run("CountUsers", func(t *testing.T) { testCountUsers(t, open) })
	t.Run("UsersByID", func(t *testing.T) { testUsersByID(t, open) })
	t.Run("UserStats", func(t *testing.T) { testUserStats(t, open) })
	t.Run("ListAdmins", func(t *testing.T) { testListAdmins(t, open) })
	t.Run("DeleteAdmin", func(t *testing.T) { testDeleteAdmin(t, open) })
	t.Run("SetAdminPassword", func(t *testing.T) { testSetAdminPassword(t, open) })
	t.Run("AdminTokens", func(t *testing.T) { testAdminTokens(t, open) })
	t.Run("ListClients", func(t *testing.T) { testListClients(t, open) })
	t.Run("DeleteClient", func(t *testing.T) { testDeleteClient(t, open) })
	t.Run("SetClientDPoP", func(t *testing.T) { testSetClientDPoP(t, open) })
	t.Run("ListSessionsAscending", func(t *testing.T) { testListSessionsAscending(t, open) })
	t.Run("AuditUntil", func(t *testing.T) { testAuditUntil(t, open) })
}

// userIDs returns the ids of users, in order.
func userIDs(users []refreshing.User) []int64 {
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

func testFindUsers(t *testing.T, open func(t *testing.T) refreshing.Store) {
	// fixture stores seven users; "Ana" and "ana2" match "ANA" (ASCII case
	// folding), "l_x" holds a LIKE wildcard.
	fixture := func(t *testing.T, st refreshing.Store) []int64 {
		var ids []int64
		for _, n := range []string{"bob", "Ana", "carl", "ana2", "dora", "l_x", "lax"} {
			ids = append(ids, createUser(t, st, n).ID)
		}
		return ids
	}
	find := func(t *testing.T, st refreshing.Store, f refreshing.UserFilter) []int64 {
		t.Helper()
		users, err := st.FindUsers(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		return userIDs(users)
	}
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		ids := fixture(t, st)
		desc := slices.Clone(ids)
		slices.Reverse(desc)
		if got := find(t, st, refreshing.UserFilter{}); !slices.Equal(got, desc) {
			t.Errorf("newest first = %v, want %v", got, desc)
		}
		if got := find(t, st, refreshing.UserFilter{Ascending: true}); !slices.Equal(got, ids) {
			t.Errorf("oldest first = %v, want %v", got, ids)
		}
		users, err := st.FindUsers(t.Context(), refreshing.UserFilter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		want := newUser("lax")
		want.ID = ids[6]
		equalUser(t, &users[0], want)
	})
	t.Run("OKCursor", func(t *testing.T) {
		st := open(t)
		ids := fixture(t, st)
		if got := find(t, st, refreshing.UserFilter{AfterID: ids[3], Limit: 2}); !slices.Equal(got, []int64{ids[2], ids[1]}) {
			t.Errorf("descending after %d = %v, want %v", ids[3], got, []int64{ids[2], ids[1]})
		}
		if got := find(t, st, refreshing.UserFilter{AfterID: ids[3], Ascending: true, Limit: 2}); !slices.Equal(got, []int64{ids[4], ids[5]}) {
			t.Errorf("ascending after %d = %v, want %v", ids[3], got, []int64{ids[4], ids[5]})
		}
	})
	t.Run("OKQuery", func(t *testing.T) {
		st := open(t)
		ids := fixture(t, st)
		if got := find(t, st, refreshing.UserFilter{Query: "ANA", Ascending: true}); !slices.Equal(got, []int64{ids[1], ids[3]}) {
			t.Errorf("query ANA = %v, want %v", got, []int64{ids[1], ids[3]})
		}
		if got := find(t, st, refreshing.UserFilter{Query: "l_"}); !slices.Equal(got, []int64{ids[5]}) {
			t.Errorf("query l_ (a literal underscore) = %v, want %v", got, []int64{ids[5]})
		}
		if got := find(t, st, refreshing.UserFilter{Query: "a", AfterID: ids[3], Limit: 1}); !slices.Equal(got, []int64{ids[2]}) {
			t.Errorf("query a after %d = %v, want %v", ids[3], got, []int64{ids[2]})
		}
	})
	t.Run("OKEmpty", func(t *testing.T) {
		st := open(t)
		if got := find(t, st, refreshing.UserFilter{Query: "x"}); len(got) != 0 {
			t.Errorf("empty store = %v", got)
		}
	})
}

func testCountUsers(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		for i := range 3 {
			n, err := st.CountUsers(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(i) {
				t.Fatalf("CountUsers = %d, want %d", n, i)
			}
			createUser(t, st, fmt.Sprintf("user%d", i))
		}
	})
}

func testUsersByID(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a, _, c := createUser(t, st, "alice"), createUser(t, st, "bob"), createUser(t, st, "carol")
		got, err := st.UsersByID(t.Context(), []int64{c.ID, a.ID, c.ID + 1000})
		if err != nil {
			t.Fatal(err)
		}
		if ids := userIDs(got); !slices.Equal(ids, []int64{a.ID, c.ID}) {
			t.Fatalf("UsersByID = %v, want %v (unknown ids skipped, in id order)", ids, []int64{a.ID, c.ID})
		}
		equalUser(t, &got[0], a)
	})
	t.Run("OKEmpty", func(t *testing.T) {
		st := open(t)
		got, err := st.UsersByID(t.Context(), nil)
		if err != nil || len(got) != 0 {
			t.Fatalf("UsersByID(nil) = %v, %v", got, err)
		}
	})
}

func testUserStats(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a, b, c := createUser(t, st, "alice"), createUser(t, st, "bob"), createUser(t, st, "carol")
		now := at(10 * time.Hour)
		mk := func(u *refreshing.User, id string, created time.Duration, mod func(*refreshing.Session)) {
			s := newSession(u.ID, id, at(created))
			if mod != nil {
				mod(s)
			}
			createSession(t, st, s)
		}
		mk(a, "a1", time.Hour, nil)
		mk(a, "a2", 3*time.Hour, func(s *refreshing.Session) { s.RevokedAt, s.RevokeReason = at(4*time.Hour), refreshing.ReasonLogout })
		mk(a, "a3", 2*time.Hour, func(s *refreshing.Session) { s.ExpiresAt = now }) // expired at now
		mk(a, "a4", 2*time.Hour, func(s *refreshing.Session) { s.ExpiresAt = time.Time{} })
		mk(b, "b1", 5*time.Hour, nil)
		got, err := st.UserStats(t.Context(), []int64{a.ID, b.ID, c.ID}, now)
		if err != nil {
			t.Fatal(err)
		}
		want := []refreshing.UserStats{{UserID: a.ID, Sessions: 2, LastSignIn: at(3 * time.Hour)}, {UserID: b.ID, Sessions: 1, LastSignIn: at(5 * time.Hour)}}
		if len(got) != len(want) {
			t.Fatalf("UserStats = %+v, want %+v (no entry for a user without sessions)", got, want)
		}
		for i := range want {
			if got[i].UserID != want[i].UserID || got[i].Sessions != want[i].Sessions || !got[i].LastSignIn.Equal(want[i].LastSignIn) {
				t.Errorf("UserStats[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}

// createAdmin stores an administrator with that email.
func createAdmin(t *testing.T, st refreshing.Store, email string) *refreshing.Admin {
	t.Helper()
	a := &refreshing.Admin{Email: email, PasswordHash: "$argon2id$" + email, CreatedAt: at(0)}
	if err := st.CreateAdmin(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func testListAdmins(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a, b := createAdmin(t, st, "zed@example.com"), createAdmin(t, st, "amy@example.com")
		got, err := st.ListAdmins(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != *a || got[1] != *b {
			t.Fatalf("ListAdmins = %+v, want %+v and %+v in id order", got, a, b)
		}
	})
}

func testDeleteAdmin(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a, b := createAdmin(t, st, "a@example.com"), createAdmin(t, st, "b@example.com")
		sess := &refreshing.AdminSession{TokenHash: hash("a-session"), AdminID: a.ID, CreatedAt: at(0), LastSeen: at(0)}
		if err := st.CreateAdminSession(t.Context(), sess); err != nil {
			t.Fatal(err)
		}
		tok := &refreshing.AdminToken{AdminID: a.ID, Name: "ci", TokenHash: hash("a-token"), CreatedAt: at(0)}
		if err := st.CreateAdminToken(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteAdmin(t.Context(), a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AdminByID(t.Context(), a.ID); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("AdminByID after delete: %v, want ErrNotFound", err)
		}
		if _, err := st.AdminSession(t.Context(), sess.TokenHash); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("the deleted administrator's session: %v, want ErrNotFound", err)
		}
		if _, err := st.AdminTokenByHash(t.Context(), tok.TokenHash); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("the deleted administrator's token: %v, want ErrNotFound", err)
		}
		if _, err := st.AdminByID(t.Context(), b.ID); err != nil {
			t.Errorf("the other administrator: %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		a := createAdmin(t, st, "a@example.com")
		if err := st.DeleteAdmin(t.Context(), a.ID+1); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("DeleteAdmin(unknown) = %v, want ErrNotFound", err)
		}
		if list, _ := st.ListAdmins(t.Context()); len(list) != 1 {
			t.Fatalf("%d administrators left, want 1", len(list))
		}
	})
}

func testSetAdminPassword(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a, b := createAdmin(t, st, "a@example.com"), createAdmin(t, st, "b@example.com")
		for i, id := range []int64{a.ID, b.ID} {
			s := &refreshing.AdminSession{TokenHash: hash(fmt.Sprint("s", i)), AdminID: id, CreatedAt: at(0), LastSeen: at(0)}
			if err := st.CreateAdminSession(t.Context(), s); err != nil {
				t.Fatal(err)
			}
		}
		tok := &refreshing.AdminToken{AdminID: a.ID, Name: "ci", TokenHash: hash("a-token"), CreatedAt: at(0)}
		if err := st.CreateAdminToken(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		if err := st.SetAdminPassword(t.Context(), a.ID, "$argon2id$new"); err != nil {
			t.Fatal(err)
		}
		got, err := st.AdminByID(t.Context(), a.ID)
		if err != nil || got.PasswordHash != "$argon2id$new" {
			t.Fatalf("after SetAdminPassword: %+v, %v", got, err)
		}
		if _, err := st.AdminSession(t.Context(), hash("s0")); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("the administrator's session survived: %v", err)
		}
		if _, err := st.AdminSession(t.Context(), hash("s1")); err != nil {
			t.Errorf("another administrator's session: %v", err)
		}
		if _, err := st.AdminTokenByHash(t.Context(), tok.TokenHash); err != nil {
			t.Errorf("the administrator's API token: %v (tokens stay)", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if err := st.SetAdminPassword(t.Context(), 42, "h"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("SetAdminPassword(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func testAdminTokens(t *testing.T, open func(t *testing.T) refreshing.Store) {
	equal := func(t *testing.T, got, want *refreshing.AdminToken) {
		t.Helper()
		if got.ID != want.ID || got.AdminID != want.AdminID || got.Name != want.Name || !bytes.Equal(got.TokenHash, want.TokenHash) ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Errorf("token = %+v, want %+v", got, want)
		}
	}
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a, b := createAdmin(t, st, "a@example.com"), createAdmin(t, st, "b@example.com")
		t1 := &refreshing.AdminToken{AdminID: a.ID, Name: "deploy", TokenHash: hash("t1"), CreatedAt: at(time.Second), ExpiresAt: at(time.Hour)}
		t2 := &refreshing.AdminToken{AdminID: b.ID, Name: "ci", TokenHash: hash("t2"), CreatedAt: at(2 * time.Second)}
		t3 := &refreshing.AdminToken{AdminID: a.ID, Name: "cron", TokenHash: hash("t3"), CreatedAt: at(3 * time.Second)}
		for _, tk := range []*refreshing.AdminToken{t1, t2, t3} {
			if err := st.CreateAdminToken(t.Context(), tk); err != nil {
				t.Fatal(err)
			}
			if tk.ID == 0 {
				t.Fatal("ID not set")
			}
		}
		got, err := st.AdminTokenByHash(t.Context(), hash("t1"))
		if err != nil {
			t.Fatal(err)
		}
		equal(t, got, t1)
		all, err := st.AdminTokens(t.Context(), 0)
		if err != nil || len(all) != 3 {
			t.Fatalf("AdminTokens(0) = %+v, %v; want three", all, err)
		}
		for i, want := range []*refreshing.AdminToken{t1, t2, t3} {
			equal(t, &all[i], want)
		}
		mine, err := st.AdminTokens(t.Context(), a.ID)
		if err != nil || len(mine) != 2 || mine[0].ID != t1.ID || mine[1].ID != t3.ID {
			t.Fatalf("AdminTokens(a) = %+v, %v; want t1 and t3", mine, err)
		}
		if err := st.DeleteAdminToken(t.Context(), t1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AdminTokenByHash(t.Context(), hash("t1")); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("a deleted token: %v, want ErrNotFound", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		a := createAdmin(t, st, "a@example.com")
		if err := st.CreateAdminToken(t.Context(), &refreshing.AdminToken{AdminID: a.ID + 1, Name: "x", TokenHash: hash("x"), CreatedAt: at(0)}); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("CreateAdminToken for an unknown administrator: %v, want ErrNotFound", err)
		}
		if _, err := st.AdminTokenByHash(t.Context(), hash("x")); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("AdminTokenByHash(unknown): %v, want ErrNotFound", err)
		}
		if err := st.DeleteAdminToken(t.Context(), 99); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("DeleteAdminToken(unknown): %v, want ErrNotFound", err)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		st := open(t)
		a := createAdmin(t, st, "a@example.com")
		first := &refreshing.AdminToken{AdminID: a.ID, Name: "one", TokenHash: hash("same"), CreatedAt: at(0)}
		if err := st.CreateAdminToken(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		second := &refreshing.AdminToken{AdminID: a.ID, Name: "two", TokenHash: hash("same"), CreatedAt: at(1)}
		if err := st.CreateAdminToken(t.Context(), second); !errors.Is(err, refreshing.ErrConflict) {
			t.Fatalf("a taken hash: %v, want ErrConflict", err)
		}
		if all, _ := st.AdminTokens(t.Context(), 0); len(all) != 1 {
			t.Fatalf("%d tokens stored, want 1", len(all))
		}
	})
}

func testListClients(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		want := []*refreshing.Client{
			{ID: "Zeta", SecretHash: hash("s"), Grants: []string{refreshing.GrantPassword}, CreatedAt: at(time.Second)},
			{ID: "alpha", CreatedAt: at(2 * time.Second)},
			{ID: "beta", SecretHash: hash("t"), CreatedAt: at(3 * time.Second)},
		}
		for _, c := range []int{2, 0, 1} {
			if err := st.CreateClient(t.Context(), want[c]); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.ListClients(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("ListClients = %d clients, want %d", len(got), len(want))
		}
		for i := range want { // byte order: upper case first
			equalClient(t, &got[i], want[i])
		}
	})
}

func testSetClientDPoP(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a := &refreshing.Client{ID: "a", Grants: []string{refreshing.GrantPassword}, CreatedAt: at(0)}
		b := &refreshing.Client{ID: "b", SecretHash: hash("secret"), CreatedAt: at(time.Second)}
		for _, c := range []*refreshing.Client{a, b} {
			if err := st.CreateClient(t.Context(), c); err != nil {
				t.Fatal(err)
			}
		}
		for _, require := range []bool{true, true, false} {
			if err := st.SetClientDPoP(t.Context(), "a", require); err != nil {
				t.Fatalf("SetClientDPoP(a, %v): %v", require, err)
			}
			got, err := st.Client(t.Context(), "a")
			if err != nil {
				t.Fatal(err)
			}
			a.RequireDPoP = require
			equalClient(t, got, a) // nothing else changed
		}
		got, err := st.Client(t.Context(), "b")
		if err != nil {
			t.Fatal(err)
		}
		equalClient(t, got, b)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if err := st.SetClientDPoP(t.Context(), "nope", true); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("SetClientDPoP(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func testDeleteClient(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		for _, id := range []string{"a", "b"} {
			if err := st.CreateClient(t.Context(), &refreshing.Client{ID: id, CreatedAt: at(0)}); err != nil {
				t.Fatal(err)
			}
		}
		// a's sessions (one already revoked), b's and one of the /api.
		u := createUser(t, st, "alice")
		sessions := map[string]string{"a1": "a", "a2": "a", "a3": "a", "b1": "b", "api": ""}
		for id, client := range sessions {
			s := newSession(u.ID, id, at(time.Second))
			s.ClientID = client
			createSession(t, st, s)
		}
		if err := st.RevokeSession(t.Context(), "a3", refreshing.ReasonLogout, at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		n, err := st.DeleteClient(t.Context(), "a", at(time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("DeleteClient = %d, %v; want 2 sessions revoked", n, err)
		}
		for id, want := range map[string]struct {
			reason string
			at     time.Time
		}{
			"a1": {refreshing.ReasonClientDeleted, at(time.Hour)}, "a2": {refreshing.ReasonClientDeleted, at(time.Hour)},
			"a3": {refreshing.ReasonLogout, at(time.Minute)}, "b1": {}, "api": {},
		} {
			s := getSession(t, st, id)
			if s.RevokeReason != want.reason || !s.RevokedAt.Equal(want.at) {
				t.Errorf("session %s after deleting client a: revoked %v (%q), want %v (%q)", id, s.RevokedAt, s.RevokeReason, want.at, want.reason)
			}
		}
		if _, err := st.Client(t.Context(), "a"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("Client(deleted) = %v, want ErrNotFound", err)
		}
		if _, err := st.Client(t.Context(), "b"); err != nil {
			t.Errorf("the other client: %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if _, err := st.DeleteClient(t.Context(), "nope", at(0)); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("DeleteClient(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func testListSessionsAscending(t *testing.T, open func(t *testing.T) refreshing.Store) {
	// Ascending pages walk the same order backwards; ties in CreatedAt go by
	// ID in byte order, whatever the collation.
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		ids := []string{"b", "B", "a", "c", "_"}
		for i, id := range ids {
			s := newSession(u.ID, id, at(time.Duration(i/2)*time.Minute)) // b,B | a,c | _
			s.LastActivity = at(time.Duration(10-i) * time.Minute)
			createSession(t, st, s)
		}
		want := []string{"B", "b", "a", "c", "_"} // ascending (CreatedAt, ID)
		var got []string
		f := refreshing.SessionFilter{Ascending: true, Limit: 2}
		for range 10 {
			p, err := st.ListSessions(t.Context(), f)
			if err != nil {
				t.Fatal(err)
			}
			if len(p) == 0 {
				break
			}
			got = append(got, sessionIDs(p)...)
			f.AfterCreated, f.AfterID = p[len(p)-1].CreatedAt, p[len(p)-1].ID
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ascending = %q, want %q", got, want)
		}
		p, err := st.ListSessions(t.Context(), refreshing.SessionFilter{Ascending: true, AfterCreated: at(time.Minute), AfterID: "a", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if ids := sessionIDs(p); !slices.Equal(ids, []string{"c", "_"}) {
			t.Fatalf("ascending after (1m, a) = %q, want [c _]", ids)
		}
		p, err = st.ListSessions(t.Context(), refreshing.SessionFilter{Revoked: false, UserID: u.ID, Ascending: true, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if ids := sessionIDs(p); !slices.Equal(ids, []string{"B"}) {
			t.Fatalf("a user's oldest = %q, want [B]", ids)
		}
	})
}

func testAuditUntil(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		var es []refreshing.AuditEvent
		for i := range 6 {
			es = append(es, refreshing.AuditEvent{At: at(time.Duration(i) * time.Hour), Type: refreshing.AuditLogin, Actor: "anonymous", Detail: fmt.Sprint(i)})
		}
		if err := st.AppendAudit(t.Context(), es); err != nil {
			t.Fatal(err)
		}
		got, err := st.ListAudit(t.Context(), refreshing.AuditFilter{Since: at(time.Hour), Until: at(4 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var details []string
		for _, e := range got {
			details = append(details, e.Detail)
		}
		if !slices.Equal(details, []string{"3", "2", "1"}) {
			t.Fatalf("events in [1h, 4h) = %q, want [3 2 1]", details)
		}
	})
}
