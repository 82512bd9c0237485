package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// runAdmin runs the conformance tests of the admin screens' storage.
func runAdmin(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("CreateAdmin", func(t *testing.T) { testCreateAdmin(t, open) })
	t.Run("AdminSessions", func(t *testing.T) { testAdminSessions(t, open) })
	t.Run("SearchUsers", func(t *testing.T) { testSearchUsers(t, open) })
	t.Run("Roles", func(t *testing.T) { testRoles(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("ListSessionsFilters", func(t *testing.T) { testListSessionsFilters(t, open) })
}

func testCreateAdmin(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a := &refreshing.Admin{Email: "ops@example.com", PasswordHash: "$argon2id$x", CreatedAt: at(0)}
		if err := st.CreateAdmin(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 {
			t.Fatal("ID not set")
		}
		for _, get := range []func() (*refreshing.Admin, error){
			func() (*refreshing.Admin, error) { return st.AdminByEmail(t.Context(), "ops@example.com") },
			func() (*refreshing.Admin, error) { return st.AdminByID(t.Context(), a.ID) },
		} {
			got, err := get()
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != a.ID || got.Email != a.Email || got.PasswordHash != a.PasswordHash || !got.CreatedAt.Equal(a.CreatedAt) {
				t.Errorf("got %+v, want %+v", got, a)
			}
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		st := open(t)
		a := &refreshing.Admin{Email: "ops@example.com", PasswordHash: "h", CreatedAt: at(0)}
		if err := st.CreateAdmin(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		b := &refreshing.Admin{Email: "ops@example.com", PasswordHash: "h2", CreatedAt: at(1)}
		if err := st.CreateAdmin(t.Context(), b); !errors.Is(err, refreshing.ErrConflict) {
			t.Fatalf("err = %v, want ErrConflict", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if _, err := st.AdminByEmail(t.Context(), "nobody@example.com"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("AdminByEmail: %v, want ErrNotFound", err)
		}
		if _, err := st.AdminByID(t.Context(), 42); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("AdminByID: %v, want ErrNotFound", err)
		}
	})
}

func testAdminSessions(t *testing.T, open func(t *testing.T) refreshing.Store) {
	newAdmin := func(t *testing.T, st refreshing.Store) *refreshing.Admin {
		a := &refreshing.Admin{Email: "ops@example.com", PasswordHash: "h", CreatedAt: at(0)}
		if err := st.CreateAdmin(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a := newAdmin(t, st)
		s := &refreshing.AdminSession{TokenHash: hash("admin-1"), AdminID: a.ID, CreatedAt: at(time.Minute),
			LastSeen: at(time.Minute), IP: "192.0.2.1", UserAgent: "Firefox"}
		if err := st.CreateAdminSession(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		got, err := st.AdminSession(t.Context(), hash("admin-1"))
		if err != nil {
			t.Fatal(err)
		}
		if got.AdminID != a.ID || !got.CreatedAt.Equal(s.CreatedAt) || !got.LastSeen.Equal(s.LastSeen) || got.IP != s.IP || got.UserAgent != s.UserAgent {
			t.Errorf("got %+v, want %+v", got, s)
		}
		if err := st.TouchAdminSession(t.Context(), hash("admin-1"), at(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.AdminSession(t.Context(), hash("admin-1")); !got.LastSeen.Equal(at(5 * time.Minute)) {
			t.Errorf("LastSeen = %v after touch", got.LastSeen)
		}
		if err := st.DeleteAdminSession(t.Context(), hash("admin-1")); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AdminSession(t.Context(), hash("admin-1")); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("after delete: %v, want ErrNotFound", err)
		}
		if err := st.DeleteAdminSession(t.Context(), hash("admin-1")); err != nil {
			t.Errorf("deleting again: %v, want nil", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		s := &refreshing.AdminSession{TokenHash: hash("x"), AdminID: 99, CreatedAt: at(0), LastSeen: at(0)}
		if err := st.CreateAdminSession(t.Context(), s); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("session of a missing admin: %v, want ErrNotFound", err)
		}
		if err := st.TouchAdminSession(t.Context(), hash("x"), at(0)); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("touch: %v, want ErrNotFound", err)
		}
	})
	t.Run("DeleteAdminSessions", func(t *testing.T) {
		st := open(t)
		a := newAdmin(t, st)
		for _, c := range []struct {
			name            string
			created, seen   time.Duration
			survivesCleanup bool
		}{
			{"fresh", 10 * time.Hour, 10 * time.Hour, true},
			{"idle", 9 * time.Hour, 9 * time.Hour, false},
			{"old", time.Hour, 10 * time.Hour, false},
		} {
			s := &refreshing.AdminSession{TokenHash: hash(c.name), AdminID: a.ID, CreatedAt: at(c.created), LastSeen: at(c.seen)}
			if err := st.CreateAdminSession(t.Context(), s); err != nil {
				t.Fatal(err)
			}
		}
		n, err := st.DeleteAdminSessions(t.Context(), at(9*time.Hour+30*time.Minute), at(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("deleted %d, want 2", n)
		}
		if _, err := st.AdminSession(t.Context(), hash("fresh")); err != nil {
			t.Errorf("fresh session: %v", err)
		}
	})
}

func testSearchUsers(t *testing.T, open func(t *testing.T) refreshing.Store) {
	st := open(t)
	var ids []int64
	for _, name := range []string{"alice", "bob", "alicia", "carol", "under_score"} {
		ids = append(ids, createUser(t, st, name).ID)
	}
	search := func(t *testing.T, q string, after int64, limit int) []string {
		t.Helper()
		us, err := st.SearchUsers(t.Context(), q, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range us {
			names = append(names, u.Username)
		}
		return names
	}
	for _, c := range []struct {
		name, q string
		after   int64
		limit   int
		want    []string
	}{
		{"OKAll", "", 0, 10, []string{"alice", "bob", "alicia", "carol", "under_score"}},
		{"OKSubstring", "ALI", 0, 10, []string{"alice", "alicia"}},
		{"OKEmail", "bob@example", 0, 10, []string{"bob"}},
		{"OKAfter", "ali", ids[0], 10, []string{"alicia"}},
		{"OKLimit", "", 0, 2, []string{"alice", "bob"}},
		{"OKWildcardsAreLiteral", "_", 0, 10, []string{"under_score"}},
		{"OKPercentIsLiteral", "%", 0, 10, nil},
		{"OKZeroLimit", "", 0, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := search(t, c.q, c.after, c.limit); !slices.Equal(got, c.want) {
				t.Errorf("SearchUsers(%q, %d, %d) = %v, want %v", c.q, c.after, c.limit, got, c.want)
			}
		})
	}
}

func testRoles(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		if roles, err := st.Roles(t.Context()); err != nil || len(roles) != 0 {
			t.Fatalf("new store: %v, %v; want none", roles, err)
		}
		editor := refreshing.Role{Name: "editor", Description: "Edits", Permissions: []string{"a.b", "c.d"}}
		empty := refreshing.Role{Name: "auditor", Description: ""}
		for _, r := range []refreshing.Role{editor, empty} {
			if err := st.SaveRole(t.Context(), r); err != nil {
				t.Fatal(err)
			}
		}
		editor.Permissions = []string{"c.d"}
		editor.Description = "Edits less"
		if err := st.SaveRole(t.Context(), editor); err != nil {
			t.Fatal(err)
		}
		roles, err := st.Roles(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(roles) != 2 || roles[0].Name != "auditor" || roles[1].Name != "editor" {
			t.Fatalf("roles = %+v, want auditor and editor in name order", roles)
		}
		if len(roles[0].Permissions) != 0 {
			t.Errorf("auditor permissions = %v, want none", roles[0].Permissions)
		}
		if got := roles[1]; got.Description != "Edits less" || !slices.Equal(got.Permissions, []string{"c.d"}) {
			t.Errorf("editor = %+v after replacing it", got)
		}
		if err := st.DeleteRole(t.Context(), "editor"); err != nil {
			t.Fatal(err)
		}
		if roles, _ := st.Roles(t.Context()); len(roles) != 1 {
			t.Errorf("after delete: %+v", roles)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if err := open(t).DeleteRole(t.Context(), "nope"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("DeleteRole: %v, want ErrNotFound", err)
		}
	})
}

func testAudit(t *testing.T, open func(t *testing.T) refreshing.Store) {
	newEvents := func() []refreshing.AuditEvent {
		var es []refreshing.AuditEvent
		for i := range 10 {
			e := refreshing.AuditEvent{
				At: at(time.Duration(i/2) * time.Minute), Type: refreshing.AuditLogin, Actor: fmt.Sprintf("user %d", i%3+1),
				UserID: int64(i%3 + 1), SessionID: fmt.Sprintf("s%d", i), IP: "192.0.2.1", UserAgent: "ua <script>", Detail: "d",
			}
			if i%2 == 1 {
				e.Type, e.IP = refreshing.AuditExchange, "198.51.100.2"
			}
			es = append(es, e)
		}
		return es
	}
	list := func(t *testing.T, st refreshing.Store, f refreshing.AuditFilter) []refreshing.AuditEvent {
		t.Helper()
		es, err := st.ListAudit(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		es := newEvents()
		if err := st.AppendAudit(t.Context(), es); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(es); i++ {
			if es[i].ID <= es[i-1].ID {
				t.Fatalf("IDs not increasing: %d then %d", es[i-1].ID, es[i].ID)
			}
		}
		got := list(t, st, refreshing.AuditFilter{})
		if len(got) != 10 {
			t.Fatalf("%d events, want 10", len(got))
		}
		// Newest first, ties in At by descending ID.
		if got[0].ID != es[9].ID || got[1].ID != es[8].ID || got[9].ID != es[0].ID {
			t.Errorf("order: %d %d ... %d", got[0].ID, got[1].ID, got[9].ID)
		}
		if g, w := got[9], es[0]; g.Type != w.Type || g.Actor != w.Actor || g.UserID != w.UserID || g.SessionID != w.SessionID ||
			g.IP != w.IP || g.UserAgent != w.UserAgent || g.Detail != w.Detail || !g.At.Equal(w.At) {
			t.Errorf("round trip: got %+v, want %+v", g, w)
		}
	})
	t.Run("OKFilters", func(t *testing.T) {
		st := open(t)
		if err := st.AppendAudit(t.Context(), newEvents()); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			f    refreshing.AuditFilter
			want int
		}{
			{"Type", refreshing.AuditFilter{Type: refreshing.AuditExchange}, 5},
			{"UserID", refreshing.AuditFilter{UserID: 1}, 4},
			{"IP", refreshing.AuditFilter{IP: "198.51.100.2"}, 5},
			{"Actor", refreshing.AuditFilter{Actor: "user 2"}, 3},
			{"Since", refreshing.AuditFilter{Since: at(3 * time.Minute)}, 4},
			{"Combined", refreshing.AuditFilter{Type: refreshing.AuditLogin, UserID: 1}, 2},
			{"Limit", refreshing.AuditFilter{Limit: 3}, 3},
		} {
			t.Run(c.name, func(t *testing.T) {
				if got := list(t, st, c.f); len(got) != c.want {
					t.Errorf("%d events, want %d", len(got), c.want)
				}
			})
		}
	})
	t.Run("OKKeyset", func(t *testing.T) {
		st := open(t)
		if err := st.AppendAudit(t.Context(), newEvents()); err != nil {
			t.Fatal(err)
		}
		all := list(t, st, refreshing.AuditFilter{})
		var paged []refreshing.AuditEvent
		f := refreshing.AuditFilter{Limit: 3}
		for {
			page := list(t, st, f)
			paged = append(paged, page...)
			if len(page) < f.Limit {
				break
			}
			last := page[len(page)-1]
			f.BeforeAt, f.BeforeID = last.At, last.ID
		}
		if len(paged) != len(all) {
			t.Fatalf("paged %d events, want %d", len(paged), len(all))
		}
		for i := range all {
			if paged[i].ID != all[i].ID {
				t.Fatalf("page order differs at %d", i)
			}
		}
	})
	t.Run("DeleteAuditBefore", func(t *testing.T) {
		st := open(t)
		if err := st.AppendAudit(t.Context(), newEvents()); err != nil {
			t.Fatal(err)
		}
		// Events before 3m: six of them (two per minute).
		n, err := st.DeleteAuditBefore(t.Context(), at(3*time.Minute), 4)
		if err != nil || n != 4 {
			t.Fatalf("first batch: %d, %v; want 4", n, err)
		}
		n, err = st.DeleteAuditBefore(t.Context(), at(3*time.Minute), 4)
		if err != nil || n != 2 {
			t.Fatalf("second batch: %d, %v; want 2", n, err)
		}
		got := list(t, st, refreshing.AuditFilter{})
		if len(got) != 4 || got[len(got)-1].At.Before(at(3*time.Minute)) {
			t.Errorf("left %d events, the oldest at %v", len(got), got[len(got)-1].At)
		}
	})
}

func testListSessionsFilters(t *testing.T, open func(t *testing.T) refreshing.Store) {
	st := open(t)
	u := createUser(t, st, "alice")
	now := at(100 * time.Hour)
	mk := func(id string, lastActive time.Duration, mod func(*refreshing.Session)) {
		s := newSession(u.ID, id, at(lastActive))
		s.ExpiresAt = at(200 * time.Hour)
		if mod != nil {
			mod(s)
		}
		createSession(t, st, s)
	}
	mk("live", 99*time.Hour, nil)
	mk("idle", 90*time.Hour, nil)
	mk("expired", 98*time.Hour, func(s *refreshing.Session) { s.ExpiresAt = at(99 * time.Hour) })
	mk("revoked", 97*time.Hour, func(s *refreshing.Session) {
		s.RevokedAt, s.RevokeReason = at(97*time.Hour), refreshing.ReasonReuseDetected
	})
	mk("phone", 96*time.Hour, func(s *refreshing.Session) {
		s.IP, s.UserAgent = "203.0.113.9", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Version/17.0 Mobile Safari/604.1"
	})
	mk("pct", 95*time.Hour, func(s *refreshing.Session) { s.UserAgent = "100% agent_x" })
	idleBefore := now.Add(-7 * time.Hour)
	for _, c := range []struct {
		name string
		f    refreshing.SessionFilter
		want []string
	}{
		{"Active", refreshing.SessionFilter{Active: true, ActiveAt: now}, []string{"live", "phone", "pct", "idle"}},
		{"ActiveIdle", refreshing.SessionFilter{Active: true, ActiveAt: now, IdleBefore: idleBefore}, []string{"live", "phone", "pct"}},
		{"Expired", refreshing.SessionFilter{Expired: true, ActiveAt: now}, []string{"expired"}},
		{"ExpiredIdle", refreshing.SessionFilter{Expired: true, ActiveAt: now, IdleBefore: idleBefore}, []string{"expired", "idle"}},
		{"Revoked", refreshing.SessionFilter{Revoked: true}, []string{"revoked"}},
		{"IP", refreshing.SessionFilter{IP: "203.0.113.9"}, []string{"phone"}},
		{"UserAgent", refreshing.SessionFilter{UserAgent: "iphone"}, []string{"phone"}},
		{"UserAgentLiteral", refreshing.SessionFilter{UserAgent: "0% agent_"}, []string{"pct"}},
		{"UserAgentNoWildcard", refreshing.SessionFilter{UserAgent: "_x"}, []string{"pct"}},
		{"Combined", refreshing.SessionFilter{UserID: u.ID, Active: true, ActiveAt: now, UserAgent: "firefox"}, []string{"live", "idle"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := st.ListSessions(t.Context(), c.f)
			if err != nil {
				t.Fatal(err)
			}
			if ids := sessionIDs(got); !slices.Equal(ids, c.want) {
				t.Errorf("ListSessions = %v, want %v", ids, c.want)
			}
		})
	}
}
