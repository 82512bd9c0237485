package refreshing_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
	"golang.org/x/crypto/bcrypt"
)

// recorder is an Observer that counts what it hears.
type recorder struct {
	mu        sync.Mutex
	exchanges map[refreshing.Outcome]int
	logins    map[refreshing.LoginOutcome]int
	purged    int
}

func newRecorder() *recorder {
	return &recorder{exchanges: map[refreshing.Outcome]int{}, logins: map[refreshing.LoginOutcome]int{}}
}

func (r *recorder) Exchanged(o refreshing.Outcome) { r.mu.Lock(); r.exchanges[o]++; r.mu.Unlock() }
func (r *recorder) LoggedIn(o refreshing.LoginOutcome) {
	r.mu.Lock()
	r.logins[o]++
	r.mu.Unlock()
}
func (r *recorder) Purged(n int) { r.mu.Lock(); r.purged += n; r.mu.Unlock() }

// opsEnv is an env whose Service reports to a recorder, on the SQLite file path.
type opsEnv struct {
	*env
	rec *recorder
}

func newOpsEnv(t *testing.T, path string, c *clock, mod func(*refreshing.Settings)) *opsEnv {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "refreshing.db")
	}
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	settings := refreshing.DefaultSettings()
	if mod != nil {
		mod(&settings)
	}
	if c == nil {
		c = &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	}
	rec := newRecorder()
	svc, err := refreshing.New(t.Context(), refreshing.Config{
		Store: st, Settings: &settings, Now: c.Now, Hasher: refreshing.NewHasher(cheap, 0), Observer: rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &opsEnv{env: &env{svc: svc, store: st, clock: c, path: path}, rec: rec}
}

// exists reports whether session id is still stored.
func (e *opsEnv) exists(t *testing.T, id string) bool {
	t.Helper()
	_, err := e.store.Session(t.Context(), id)
	if errors.Is(err, refreshing.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestPurgeSessions(t *testing.T) {
	const day = 24 * time.Hour
	t.Run("OKDeletesOnlyLongEnded", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, nil) // retention 30 days, sessions live 30 days
		live := e.register(t, "live").Session
		revoked := e.register(t, "revoked")
		if err := e.svc.Revoke(t.Context(), revoked.RefreshToken); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(30*day - time.Second)
		if n, err := e.svc.PurgeSessions(t.Context(), 100); err != nil || n != 0 {
			t.Fatalf("just under the retention: PurgeSessions = %d, %v; want 0", n, err)
		}
		e.clock.Add(2 * time.Second)
		if n, err := e.svc.PurgeSessions(t.Context(), 100); err != nil || n != 1 {
			t.Fatalf("past the retention: PurgeSessions = %d, %v; want the revoked one", n, err)
		}
		if e.exists(t, revoked.Session.ID) || !e.exists(t, live.ID) {
			t.Fatal("wrong session deleted")
		}
		// live expired at +30 days; 30 days later it goes too.
		e.clock.Add(30 * day)
		if n, err := e.svc.PurgeSessions(t.Context(), 100); err != nil || n != 1 || e.exists(t, live.ID) {
			t.Fatalf("30 days after expiry: PurgeSessions = %d, %v; want the expired one deleted", n, err)
		}
		if e.rec.purged != 2 {
			t.Errorf("observer heard %d purged, want 2", e.rec.purged)
		}
	})
	t.Run("OKIdle", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, func(s *refreshing.Settings) { s.RefreshTTL, s.RefreshIdle = 0, time.Hour })
		g := e.register(t, "idle")
		e.clock.Add(30*day + time.Hour - time.Second)
		if n, _ := e.svc.PurgeSessions(t.Context(), 100); n != 0 {
			t.Fatalf("idle ended less than the retention ago: deleted %d", n)
		}
		e.clock.Add(2 * time.Second)
		if n, err := e.svc.PurgeSessions(t.Context(), 100); err != nil || n != 1 || e.exists(t, g.Session.ID) {
			t.Fatalf("PurgeSessions = %d, %v; want the idle session deleted", n, err)
		}
	})
	t.Run("OKRetentionZeroKeepsForever", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, func(s *refreshing.Settings) { s.SessionRetention = 0 })
		g := e.register(t, "kept")
		if err := e.svc.Revoke(t.Context(), g.RefreshToken); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(10000 * day)
		if n, err := e.svc.PurgeSessions(t.Context(), 100); err != nil || n != 0 || !e.exists(t, g.Session.ID) {
			t.Fatalf("PurgeSessions = %d, %v; want nothing deleted", n, err)
		}
	})
	t.Run("OKNeverExpiringLiveSessionKept", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, func(s *refreshing.Settings) { s.RefreshTTL = 0 })
		g := e.register(t, "forever")
		e.clock.Add(10000 * day)
		if n, _ := e.svc.PurgeSessions(t.Context(), 100); n != 0 || !e.exists(t, g.Session.ID) {
			t.Fatal("a live session that never expires was deleted")
		}
		if _, err := e.exchange(t, g.RefreshToken); err != nil {
			t.Fatalf("the kept session no longer exchanges: %v", err)
		}
	})
}

func TestJanitorRound(t *testing.T) {
	const day = 24 * time.Hour
	t.Run("OKBatchesUntilShort", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, nil)
		for _, name := range []string{"aa1", "aa2", "aa3", "aa4", "aa5"} {
			if err := e.svc.Revoke(t.Context(), e.register(t, name).RefreshToken); err != nil {
				t.Fatal(err)
			}
		}
		keep := e.register(t, "keep").Session
		e.clock.Add(31 * day)
		n, held, err := e.svc.JanitorRound(t.Context(), refreshing.Janitor{Holder: "a", Batch: 2, Pause: time.Microsecond})
		if err != nil || !held || n != 5 {
			t.Fatalf("JanitorRound = %d, %v, %v; want 5 deleted under the lease", n, held, err)
		}
		if !e.exists(t, keep.ID) {
			t.Fatal("the live session was deleted")
		}
	})
	t.Run("OKOneInstanceAtATime", func(t *testing.T) {
		// Two instances on one database: only the lease holder works, until
		// its lease runs out without renewal.
		c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
		a := newOpsEnv(t, "", c, nil)
		b := newOpsEnv(t, a.path, c, nil)
		j := refreshing.Janitor{Interval: time.Minute}
		ja, jb := j, j
		ja.Holder, jb.Holder = "a", "b"
		if _, held, err := a.svc.JanitorRound(t.Context(), ja); err != nil || !held {
			t.Fatalf("a: held = %v, %v; want the lease", held, err)
		}
		if err := b.svc.Revoke(t.Context(), b.register(t, "xxx").RefreshToken); err != nil {
			t.Fatal(err)
		}
		c.Add(31 * day)
		// a's lease (3 intervals) ended long ago in this clock: b takes it.
		n, held, err := b.svc.JanitorRound(t.Context(), jb)
		if err != nil || !held || n != 1 {
			t.Fatalf("b after a's lease ended = %d, %v, %v; want the lease and 1 deleted", n, held, err)
		}
		c.Add(time.Minute)
		if _, held, err := a.svc.JanitorRound(t.Context(), ja); err != nil || held {
			t.Fatalf("a while b holds the lease: held = %v, %v; want false", held, err)
		}
		if a.rec.purged != 0 || b.rec.purged != 1 {
			t.Errorf("purged: a %d, b %d; want 0 and 1", a.rec.purged, b.rec.purged)
		}
	})
	t.Run("OKRunJanitorStopsWithContext", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, nil)
		g := e.register(t, "gone")
		if err := e.svc.Revoke(t.Context(), g.RefreshToken); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(31 * day)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			e.svc.RunJanitor(ctx, refreshing.Janitor{Interval: time.Hour})
			close(done)
		}()
		// The first round runs at once.
		deadline := time.Now().Add(10 * time.Second)
		for e.exists(t, g.Session.ID) {
			if time.Now().After(deadline) {
				t.Fatal("RunJanitor did not delete the ended session")
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("RunJanitor did not return after its context ended")
		}
	})
}

func TestImportUser(t *testing.T) {
	ctx := t.Context()
	hash, err := bcrypt.GenerateFromPassword([]byte("strapi password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	strapiUser := refreshing.User{
		ID: 77, DocumentID: "k9x2m4n6b8v0c1z3l5j7h9g2", Username: "Grace", Email: "Grace@Example.com",
		PasswordHash: string(hash), Provider: "local", Role: "editor", Confirmed: true,
		CreatedAt: time.Date(2023, 5, 1, 10, 0, 0, 123456789, time.UTC), UpdatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	t.Run("OKLogsInWithOriginalPasswordThenRehashed", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, nil)
		u, res, err := e.svc.ImportUser(ctx, strapiUser, false)
		if err != nil || res != refreshing.ImportCreated {
			t.Fatalf("ImportUser = %v, %v; want created", res, err)
		}
		if u.ID != 77 || u.DocumentID != strapiUser.DocumentID || u.Email != "grace@example.com" || u.Role != "editor" {
			t.Fatalf("imported user = %+v", u)
		}
		g, err := e.svc.Login(ctx, "grace@example.com", "strapi password", refreshing.ClientInfo{})
		if err != nil {
			t.Fatalf("login with the Strapi password: %v", err)
		}
		if g.User.ID != 77 {
			t.Errorf("login user id = %d, want the Strapi id 77", g.User.ID)
		}
		stored, err := e.store.UserByID(ctx, 77)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
			t.Errorf("after login the hash is %.7s..., want argon2id", stored.PasswordHash)
		}
		if _, err := e.svc.Login(ctx, "Grace", "strapi password", refreshing.ClientInfo{}); err != nil {
			t.Errorf("login after the rehash: %v", err)
		}
		if _, err := e.svc.Login(ctx, "Grace", "wrong password", refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrInvalidCredentials) {
			t.Errorf("wrong password: %v, want ErrInvalidCredentials", err)
		}
	})
	t.Run("OKIdempotent", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, nil)
		if _, _, err := e.svc.ImportUser(ctx, strapiUser, false); err != nil {
			t.Fatal(err)
		}
		before, _ := e.store.UserByID(ctx, 77)
		u, res, err := e.svc.ImportUser(ctx, strapiUser, false)
		if err != nil || res != refreshing.ImportExisting || u.ID != 77 {
			t.Fatalf("second import = %v, %v (id %d); want existing 77", res, err, u.ID)
		}
		after, _ := e.store.UserByID(ctx, 77)
		if *before != *after {
			t.Errorf("second import changed the user:\n%+v\n%+v", before, after)
		}
	})
	t.Run("OKDryRunStoresNothing", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, nil)
		if _, res, err := e.svc.ImportUser(ctx, strapiUser, true); err != nil || res != refreshing.ImportCreated {
			t.Fatalf("dry run = %v, %v; want created", res, err)
		}
		if _, err := e.store.UserByID(ctx, 77); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("a dry run stored the user: %v", err)
		}
	})
	t.Run("OKTakenIDRenumbered", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, nil)
		native := e.register(t, "native").User
		u := strapiUser
		u.ID = native.ID
		got, res, err := e.svc.ImportUser(ctx, u, false)
		if err != nil || res != refreshing.ImportCreated || got.ID == native.ID || got.ID == 0 {
			t.Fatalf("import onto a taken id = %+v, %v, %v; want a new id", got, res, err)
		}
	})
	t.Run("ImportConflict", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, nil)
		// Same username, another email.
		if _, err := e.svc.Register(ctx, refreshing.Registration{Username: "Grace", Email: "other@example.com", Password: "secret12"}, refreshing.ClientInfo{}); err != nil {
			t.Fatal(err)
		}
		if _, res, err := e.svc.ImportUser(ctx, strapiUser, false); err != nil || res != refreshing.ImportConflict {
			t.Fatalf("ImportUser = %v, %v; want conflict", res, err)
		}
		if _, err := e.store.UserByID(ctx, 77); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatal("a conflicting user was stored")
		}
	})
	t.Run("ErrInvalidHash", func(t *testing.T) {
		e := newOpsEnv(t, "", nil, nil)
		u := strapiUser
		u.PasswordHash = "plaintext"
		var fe *refreshing.FieldError
		if _, _, err := e.svc.ImportUser(ctx, u, false); !errors.As(err, &fe) {
			t.Fatalf("ImportUser with a plain password = %v, want a FieldError", err)
		}
	})
}

func TestImportToken(t *testing.T) {
	ctx := t.Context()
	const strapiToken = "0b6f3c2e-8d1a-4f5b-9c7e-2a4d6e8f0a1b" // crypto.randomUUID(), as the plugin issues
	setup := func(t *testing.T, mod func(*refreshing.Settings)) *opsEnv {
		t.Helper()
		e := newOpsEnv(t, "", nil, mod)
		hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
		if _, _, err := e.svc.ImportUser(ctx, refreshing.User{ID: 5, Username: "ada", Email: "ada@example.com", PasswordHash: string(hash), Confirmed: true}, false); err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.ImportToken(ctx, refreshing.ImportedToken{
			Token: strapiToken, UserID: 5, Description: "Refresh Token", UserAgent: "okhttp/4.9", IP: "198.51.100.4",
			LastActivity: e.clock.Now().Add(-time.Hour),
		}, false)
		if err != nil || res != refreshing.ImportCreated {
			t.Fatalf("ImportToken = %v, %v; want created", res, err)
		}
		return e
	}
	t.Run("OKExchangesIntoOurChain", func(t *testing.T) {
		e := setup(t, nil)
		g, err := e.exchange(t, strapiToken)
		if err != nil {
			t.Fatalf("exchanging the imported token: %v", err)
		}
		if !refreshing.LooksLikeRefreshToken(g.RefreshToken) || g.Outcome != refreshing.OutcomeRotated || g.User.ID != 5 {
			t.Fatalf("grant = token %.10s..., outcome %q, user %d", g.RefreshToken, g.Outcome, g.User.ID)
		}
		if g.Session.UserAgent != "okhttp/4.9" || g.Session.IP != "198.51.100.4" || g.Session.Description != "Refresh Token" {
			t.Errorf("session kept %+v", g.Session)
		}
		// A racing client presenting the imported token again within the
		// grace window gets the same successor.
		g2, err := e.exchange(t, strapiToken)
		if err != nil || g2.RefreshToken != g.RefreshToken || g2.Outcome != refreshing.OutcomeGrace {
			t.Fatalf("within grace: %v, same successor %v", err, g2 != nil && g2.RefreshToken == g.RefreshToken)
		}
		g3, err := e.exchange(t, g.RefreshToken)
		if err != nil {
			t.Fatalf("exchanging the successor: %v", err)
		}
		// The imported token replayed after the window is a theft: the
		// session is revoked, successors included.
		e.clock.Add(time.Minute)
		if _, err := e.exchange(t, strapiToken); refreshing.ExchangeOutcome(err) != refreshing.OutcomeReuseDetected {
			t.Fatalf("replay after the window: %v, want reuse_detected", err)
		}
		if _, err := e.exchange(t, g3.RefreshToken); refreshing.ExchangeOutcome(err) != refreshing.OutcomeRevoked {
			t.Fatalf("successor after reuse: %v, want revoked", err)
		}
		e.rec.mu.Lock()
		defer e.rec.mu.Unlock()
		for o, want := range map[refreshing.Outcome]int{refreshing.OutcomeRotated: 2, refreshing.OutcomeGrace: 1,
			refreshing.OutcomeReuseDetected: 1, refreshing.OutcomeRevoked: 1} {
			if got := e.rec.exchanges[o]; got != want {
				t.Errorf("observer heard %d %s exchanges, want %d (all: %v)", got, o, want, e.rec.exchanges)
			}
		}
	})
	t.Run("OKIdempotent", func(t *testing.T) {
		e := setup(t, nil)
		if _, err := e.exchange(t, strapiToken); err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.ImportToken(ctx, refreshing.ImportedToken{Token: strapiToken, UserID: 5}, false)
		if err != nil || res != refreshing.ImportExisting {
			t.Fatalf("second import = %v, %v; want existing", res, err)
		}
		list, err := e.store.ListSessions(ctx, refreshing.SessionFilter{UserID: 5})
		if err != nil || len(list) != 1 {
			t.Fatalf("sessions after a second import: %d, %v; want 1", len(list), err)
		}
	})
	t.Run("OKRevokeAndLogout", func(t *testing.T) {
		e := setup(t, nil)
		if err := e.svc.Revoke(ctx, strapiToken); err != nil {
			t.Fatal(err)
		}
		if _, err := e.exchange(t, strapiToken); refreshing.ExchangeOutcome(err) != refreshing.OutcomeRevoked {
			t.Fatalf("after revoke: %v, want revoked", err)
		}
	})
	t.Run("OKStoredHashedOnly", func(t *testing.T) {
		e := setup(t, nil)
		if err := e.store.Close(); err != nil {
			t.Fatal(err)
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(e.path + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(strapiToken)) {
				t.Fatalf("the plain imported token is in %s", filepath.Base(e.path+suffix))
			}
		}
	})
	t.Run("OKExpiryCappedBySettings", func(t *testing.T) {
		e := setup(t, nil) // the plugin's tokens never expire; ours live 720h
		g, err := e.exchange(t, strapiToken)
		if err != nil {
			t.Fatal(err)
		}
		if want := e.clock.Now().Add(720 * time.Hour); !g.Session.ExpiresAt.Equal(want) {
			t.Errorf("ExpiresAt = %v, want %v", g.Session.ExpiresAt, want)
		}
	})
	t.Run("ImportExpired", func(t *testing.T) {
		e := setup(t, nil)
		res, err := e.svc.ImportToken(ctx, refreshing.ImportedToken{Token: "old-token", UserID: 5, ExpiresAt: e.clock.Now().Add(-time.Second)}, false)
		if err != nil || res != refreshing.ImportExpired {
			t.Fatalf("ImportToken of an expired token = %v, %v; want expired", res, err)
		}
		if _, err := e.exchange(t, "old-token"); refreshing.ExchangeOutcome(err) != refreshing.OutcomeInvalid {
			t.Fatalf("an expired, skipped token exchanged: %v", err)
		}
	})
	t.Run("OKBlockedUserRefused", func(t *testing.T) {
		e := setup(t, nil)
		if _, err := e.svc.SetBlocked(ctx, 5, true); err != nil {
			t.Fatal(err)
		}
		if _, err := e.exchange(t, strapiToken); !errors.Is(err, refreshing.ErrInvalidToken) {
			t.Fatalf("blocked user's imported token: %v, want ErrInvalidToken", err)
		}
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		e := setup(t, nil)
		for _, tok := range []string{"", "rt_not-ours", strings.Repeat("x", refreshing.MaxImportedTokenLen+1)} {
			var fe *refreshing.FieldError
			if _, err := e.svc.ImportToken(ctx, refreshing.ImportedToken{Token: tok, UserID: 5}, false); !errors.As(err, &fe) {
				t.Errorf("ImportToken(%.12q) = %v, want a FieldError", tok, err)
			}
		}
		if _, err := e.exchange(t, "0b6f3c2e-0000-0000-0000-000000000000"); refreshing.ExchangeOutcome(err) != refreshing.OutcomeInvalid {
			t.Fatalf("an unknown foreign token: %v, want invalid", err)
		}
	})
	t.Run("OKDryRun", func(t *testing.T) {
		e := setup(t, nil)
		if res, err := e.svc.ImportToken(ctx, refreshing.ImportedToken{Token: "dry", UserID: 5}, true); err != nil || res != refreshing.ImportCreated {
			t.Fatalf("dry run = %v, %v", res, err)
		}
		if _, err := e.exchange(t, "dry"); refreshing.ExchangeOutcome(err) != refreshing.OutcomeInvalid {
			t.Fatalf("a dry-run token exchanged: %v", err)
		}
	})
}

func TestObserverLogins(t *testing.T) {
	e := newOpsEnv(t, "", nil, nil)
	e.register(t, "ada")
	ctx := t.Context()
	e.svc.Login(ctx, "ada", "correct horse", refreshing.ClientInfo{})
	e.svc.Login(ctx, "ada", "wrong horse", refreshing.ClientInfo{})
	e.svc.Login(ctx, "nobody", "wrong horse", refreshing.ClientInfo{})
	e.svc.Login(ctx, "", "x", refreshing.ClientInfo{})
	if _, err := e.svc.SetBlocked(ctx, 1, true); err != nil {
		t.Fatal(err)
	}
	e.svc.RequestToken(ctx, "ada", "correct horse", refreshing.ClientInfo{})
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	for o, want := range map[refreshing.LoginOutcome]int{refreshing.LoginSuccess: 1, refreshing.LoginInvalid: 2,
		refreshing.LoginBadInput: 1, refreshing.LoginBlocked: 1} {
		if got := e.rec.logins[o]; got != want {
			t.Errorf("observer heard %d %s logins, want %d (all: %v)", got, o, want, e.rec.logins)
		}
	}
}
