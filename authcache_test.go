package refreshing_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// countingStore counts the reads Authenticate makes, and fails
// AuthRevision while failRevision is set.
type countingStore struct {
	refreshing.Store
	reads, revisions atomic.Int64
	failRevision     atomic.Bool
}

func (c *countingStore) AuthRevision(ctx context.Context) (int64, error) {
	c.revisions.Add(1)
	if c.failRevision.Load() {
		return 0, errors.New("revision unavailable")
	}
	return c.Store.AuthRevision(ctx)
}

func (c *countingStore) SessionWithUser(ctx context.Context, id string) (*refreshing.Session, *refreshing.User, error) {
	c.reads.Add(1)
	return c.Store.SessionWithUser(ctx, id)
}

func TestAuthCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "refreshing.db")
	// a and b stand for two processes on one database.
	open := func() (*refreshing.Service, *countingStore) {
		st, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		cs := &countingStore{Store: st}
		svc, err := refreshing.New(t.Context(), refreshing.Config{Store: cs, Hasher: refreshing.NewHasher(cheap, 0), SettingsTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return svc, cs
	}
	a, ca := open()
	b, cb := open()
	ctx := t.Context()
	register := func(name string) *refreshing.Grant {
		g, err := a.Register(ctx, refreshing.Registration{Username: name, Email: name + "@example.com", Password: "correct horse"}, refreshing.ClientInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	authOK := func(svc *refreshing.Service, g *refreshing.Grant) {
		t.Helper()
		if _, err := svc.Authenticate(ctx, g.AccessToken); err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
	}
	refused := func(svc *refreshing.Service, g *refreshing.Grant) {
		t.Helper()
		if _, err := svc.Authenticate(ctx, g.AccessToken); !errors.Is(err, refreshing.ErrUnauthenticated) {
			t.Fatalf("Authenticate: %v, want ErrUnauthenticated", err)
		}
	}

	t.Run("OKOneReadWhileNothingChanges", func(t *testing.T) {
		g := register("ada")
		before, revisions := ca.reads.Load(), ca.revisions.Load()
		start := time.Now()
		for range 100 {
			authOK(a, g)
		}
		// Long enough for several reads of the revision: nothing changed
		// it, so what the first authentication read is still good.
		for range 20 {
			time.Sleep(10 * time.Millisecond)
			authOK(a, g)
		}
		elapsed := time.Since(start)
		if got := ca.reads.Load() - before; got != 1 {
			t.Fatalf("120 authentications over %v read the store %d times, want 1", elapsed, got)
		}
		// One read of the revision per 20 ms at most (and one to start).
		got := ca.revisions.Load() - revisions
		if limit := int64(elapsed/(20*time.Millisecond)) + 2; got < 2 || got > limit {
			t.Fatalf("the revision was read %d times in %v, want 2 to %d", got, elapsed, limit)
		}
	})
	t.Run("OKEveryTimeWithoutRevision", func(t *testing.T) {
		// While the revision cannot be read, nothing is served from memory.
		g := register("dora")
		authOK(b, g)
		cb.failRevision.Store(true)
		defer cb.failRevision.Store(false)
		time.Sleep(60 * time.Millisecond)
		before := cb.reads.Load()
		for range 10 {
			authOK(b, g)
		}
		if got := cb.reads.Load() - before; got != 10 {
			t.Fatalf("10 authentications without the revision read the store %d times, want 10", got)
		}
	})
	// The writes, all made through a, that end a user's access.
	ends := []struct {
		name string
		do   func(g *refreshing.Grant) error
	}{
		{"logout", func(g *refreshing.Grant) error { return a.Revoke(ctx, g.RefreshToken) }},
		{"block", func(g *refreshing.Grant) error { _, err := a.SetBlocked(ctx, g.User.ID, true); return err }},
		{"delete", func(g *refreshing.Grant) error { return a.DeleteUser(ctx, g.User.ID) }},
	}
	// a sees its own writes at once; b, another process on the database,
	// through the store's revision, 50 ms after the write returned at most.
	for _, where := range []struct {
		name string
		svc  *refreshing.Service
		wait time.Duration
	}{
		{"AtOnceHere", a, 0},
		{"SoonInAnotherProcess", b, 60 * time.Millisecond},
	} {
		t.Run("ErrUnauthenticated"+where.name, func(t *testing.T) {
			for _, end := range ends {
				g := register(where.name + "-" + end.name)
				authOK(where.svc, g)
				authOK(where.svc, g)
				if err := end.do(g); err != nil {
					t.Fatalf("%s: %v", end.name, err)
				}
				time.Sleep(where.wait)
				refused(where.svc, g)
			}
		})
		t.Run("OKExchangeShowsUserChanges"+where.name, func(t *testing.T) {
			g := register(where.name + "-role")
			role := "role-" + strings.ToLower(where.name)
			if err := a.SaveRole(ctx, refreshing.Role{Name: role}); err != nil {
				t.Fatal(err)
			}
			g1, err := where.svc.Exchange(ctx, g.RefreshToken, refreshing.ClientInfo{})
			if err != nil || g1.User.Role != "authenticated" {
				t.Fatalf("first exchange: %v, %+v", err, g1)
			}
			if _, err := a.SetUserRole(ctx, g.User.ID, role); err != nil {
				t.Fatal(err)
			}
			time.Sleep(where.wait)
			g2, err := where.svc.Exchange(ctx, g1.RefreshToken, refreshing.ClientInfo{})
			if err != nil || g2.User.Role != role {
				t.Fatalf("exchange after the role change: %v, role %q, want %s", err, g2.User.Role, role)
			}
		})
	}
	t.Run("OKConcurrentWithRevocations", func(t *testing.T) {
		// Authentications racing revocations: once a revocation returned,
		// no later authentication on this Service accepts its session.
		var wg sync.WaitGroup
		for i := range 8 {
			g := register("racer" + string(rune('a'+i)))
			wg.Go(func() {
				for range 50 {
					authOK(a, g)
				}
				if err := a.Revoke(ctx, g.RefreshToken); err != nil {
					t.Error(err)
					return
				}
				refused(a, g)
			})
			wg.Go(func() {
				for range 50 {
					a.Authenticate(ctx, g.AccessToken)
				}
			})
		}
		wg.Wait()
	})
}

// sessionEnding lists the Store methods that can end a session or change a
// user, each with a call that does, on a store holding user u (with session
// "s1" and reset code "c1"): the Service's view of its Store must
// invalidate the authentication cache after every one of them.
var sessionEnding = map[string]func(ctx context.Context, st refreshing.Store, u *refreshing.User, now time.Time) error{
	"UpdateUser": func(ctx context.Context, st refreshing.Store, u *refreshing.User, now time.Time) error {
		u.Blocked = true
		return st.UpdateUser(ctx, u, &refreshing.Revocation{UserID: u.ID, Reason: refreshing.ReasonBlocked, At: now})
	},
	"DeleteUser": func(ctx context.Context, st refreshing.Store, u *refreshing.User, now time.Time) error {
		return st.DeleteUser(ctx, u.ID)
	},
	"CreateSession": func(ctx context.Context, st refreshing.Store, u *refreshing.User, now time.Time) error {
		return st.CreateSession(ctx, &refreshing.Session{ID: "s2", UserID: u.ID, CreatedAt: now, LastActivity: now, TokenHash: []byte("s2")}, 1)
	},
	"RevokeSession": func(ctx context.Context, st refreshing.Store, u *refreshing.User, now time.Time) error {
		return st.RevokeSession(ctx, "s1", refreshing.ReasonLogout, now)
	},
	"DeleteClient": func(ctx context.Context, st refreshing.Store, u *refreshing.User, now time.Time) error {
		_, err := st.DeleteClient(ctx, "cli", now)
		return err
	},
	"RevokeSessions": func(ctx context.Context, st refreshing.Store, u *refreshing.User, now time.Time) error {
		_, err := st.RevokeSessions(ctx, refreshing.Revocation{UserID: u.ID, Reason: refreshing.ReasonLogout, At: now})
		return err
	},
	"ImportSession": func(ctx context.Context, st refreshing.Store, u *refreshing.User, now time.Time) error {
		return st.ImportSession(ctx, &refreshing.Session{ID: "s3", UserID: u.ID, CreatedAt: now, LastActivity: now, TokenHash: []byte("s3")}, []byte("import"))
	},
	"ImportUser": func(ctx context.Context, st refreshing.Store, u *refreshing.User, now time.Time) error {
		return st.ImportUser(ctx, &refreshing.User{ID: 77, DocumentID: "u_77", Username: "imported", Email: "imported@example.com", Provider: "local", Role: "authenticated", CreatedAt: now, UpdatedAt: now})
	},
	"RedeemCode": func(ctx context.Context, st refreshing.Store, u *refreshing.User, now time.Time) error {
		u.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$bmV3"
		return st.RedeemCode(ctx, "c1", u, &refreshing.Revocation{UserID: u.ID, Reason: refreshing.ReasonPasswordReset, At: now})
	},
}

// keepsSessions lists every other Store method, with why it cannot end an
// active session or change a user the authentication cache holds.
var keepsSessions = map[string]string{
	"Ping": "reads", "Close": "closes", "CreateUser": "a new user, without a session yet",
	"UserByID": "reads", "UserByEmail": "reads", "UserByUsername": "reads", "ListUsers": "reads",
	"UserByUsernameKey": "reads", "UsersWithoutUsernameKey": "reads",
	"SetUsernameKey": "the key is never read back into a User",
	"Session":        "reads", "SessionWithUser": "reads", "UserSessions": "reads", "ListSessions": "reads",
	"CountActiveSessions": "reads",
	"RotateSession":       "leaves the session active", "RotateMatching": "leaves the session active",
	"TouchSession": "leaves the session active", "SetAuthTime": "leaves the session active (Authenticate reads no auth time)",
	"AuthRevision": "reads", "SessionIDByImportHash": "reads", "HasImportedSessions": "reads",
	"PurgeSessions": "deletes only sessions that Active already refuses (revoked, expired, idle)",
	"AcquireLease":  "leases", "Settings": "reads", "SaveSettings": "settings are cached apart",
	"InitSettings": "settings are cached apart", "SigningKeys": "reads", "AddSigningKey": "keys",
	"DeleteSigningKey": "keys: a token signed with it fails verification before the cache",
	"Secret":           "secrets",
	"SearchUsers":      "reads", "FindUsers": "reads", "CountUsers": "reads", "UsersByID": "reads", "UserStats": "reads",
	"CreateAdmin": "administrators are not end users", "AdminByEmail": "reads", "AdminByID": "reads",
	"ListAdmins": "reads", "DeleteAdmin": "admin sessions are never cached",
	"SetAdminPassword": "admin sessions are never cached", "CreateAdminSession": "admin sessions",
	"AdminSession": "reads", "TouchAdminSession": "admin sessions", "DeleteAdminSession": "admin sessions are never cached",
	"DeleteAdminSessions": "admin sessions are never cached", "CreateAdminToken": "admin tokens",
	"AdminTokenByHash": "reads", "AdminTokens": "reads", "DeleteAdminToken": "admin tokens are never cached",
	"Roles": "reads", "SaveRole": "roles are cached apart", "DeleteRole": "roles are cached apart",
	"AppendAudit": "the audit log", "ListAudit": "reads", "DeleteAuditBefore": "the audit log",
	"CreateClient": "clients", "Client": "reads", "ListClients": "reads",
	"SetClientDPoP": "its sessions stay; what a token request must carry is read with the client",
	"AddIdentity":   "identities", "IdentityBySubject": "reads", "UserIdentities": "reads",
	"SignInProviders": "reads", "SaveSignInProvider": "sign-in configuration", "DeleteSignInProvider": "sign-in configuration; identities stay",
	"EnqueueMail": "the outbox", "ClaimMail": "the outbox", "FinishMail": "the outbox", "RetryMail": "the outbox",
	"ListMail": "reads", "CountMail": "reads", "PutCode": "codes", "Code": "reads", "DeleteCode": "codes",
	"PurgeMail": "the outbox and expired codes",
}

// TestInvalidatingCoversStore proves that every Store method that can end a
// session or change a user invalidates the authentication cache: each
// method of the interface must be classified above (a new one fails this
// test until it is), store.go's docs must mark exactly the session-ending
// ones, and each of those, called through the Service's view of a real
// store, must invalidate.
func TestInvalidatingCoversStore(t *testing.T) {
	iface := reflect.TypeFor[refreshing.Store]()
	declared := map[string]bool{}
	for i := range iface.NumMethod() {
		name := iface.Method(i).Name
		declared[name] = true
		_, ends := sessionEnding[name]
		_, keeps := keepsSessions[name]
		if ends == keeps {
			t.Errorf("Store.%s: list it in sessionEnding (and make invalidating, authcache.go, implement it) or in keepsSessions with why it cannot end a session", name)
		}
	}
	for name := range sessionEnding {
		if !declared[name] {
			t.Errorf("sessionEnding lists %s, which Store does not have", name)
		}
	}
	for name := range keepsSessions {
		if !declared[name] {
			t.Errorf("keepsSessions lists %s, which Store does not have", name)
		}
	}

	// store.go says which methods end sessions; it must say what the list says.
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "store.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	marked := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Store" {
			return true
		}
		for _, m := range ts.Type.(*ast.InterfaceType).Methods.List {
			if len(m.Names) == 1 && m.Doc != nil && strings.Contains(m.Doc.Text(), "It can end sessions or change a user") {
				marked[m.Names[0].Name] = true
			}
		}
		return false
	})
	for name := range declared {
		if _, ends := sessionEnding[name]; ends != marked[name] {
			t.Errorf("Store.%s: store.go marks it session-ending: %v; sessionEnding lists it: %v", name, marked[name], ends)
		}
	}

	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	open := func(t *testing.T) (refreshing.Store, *refreshing.User) {
		raw, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "refreshing.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		u := &refreshing.User{DocumentID: "u_ada", Username: "ada", Email: "ada@example.com", Provider: "local", Role: "authenticated", CreatedAt: now, UpdatedAt: now}
		if err := raw.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		if err := raw.CreateClient(t.Context(), &refreshing.Client{ID: "cli", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := raw.CreateSession(t.Context(), &refreshing.Session{ID: "s1", UserID: u.ID, ClientID: "cli", CreatedAt: now, LastActivity: now, TokenHash: []byte("s1")}, 0); err != nil {
			t.Fatal(err)
		}
		if err := raw.PutCode(t.Context(), refreshing.AccountCode{ID: "c1", UserID: u.ID, Purpose: refreshing.CodeResetPassword, Hash: []byte("c1"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return raw, u
	}
	t.Run("ReadsLeaveTheCache", func(t *testing.T) {
		raw, _ := open(t)
		st, epoch := refreshing.InvalidatingStore(raw)
		before := epoch()
		if _, err := st.Session(t.Context(), "s1"); err != nil {
			t.Fatal(err)
		}
		if epoch() != before {
			t.Error("a read invalidated the cache")
		}
	})
	for name, call := range sessionEnding {
		t.Run(name, func(t *testing.T) {
			raw, u := open(t)
			st, epoch := refreshing.InvalidatingStore(raw)
			before := epoch()
			if err := call(t.Context(), st, u, now); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if epoch() == before {
				t.Errorf("%s did not invalidate the authentication cache", name)
			}
		})
	}
}
