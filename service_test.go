package refreshing_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// cheap argon2id parameters keep the suite fast; production uses DefaultArgon2Params.
var cheap = refreshing.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type env struct {
	svc   *refreshing.Service
	store refreshing.Store
	clock *clock
	path  string
}

func newEnv(t *testing.T, mod func(*refreshing.Settings)) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "refreshing.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnvOn(t, st, mod)
	e.path = path
	return e
}

// newEnvOn returns a Service with a settable clock on st.
func newEnvOn(t *testing.T, st refreshing.Store, mod func(*refreshing.Settings)) *env {
	t.Helper()
	settings := refreshing.DefaultSettings()
	if mod != nil {
		mod(&settings)
	}
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	svc, err := refreshing.New(t.Context(), refreshing.Config{
		Store: st, Settings: &settings, Now: c.Now, Hasher: refreshing.NewHasher(cheap, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, store: st, clock: c}
}

func (e *env) register(t *testing.T, name string) *refreshing.Grant {
	t.Helper()
	g, err := e.svc.Register(t.Context(), refreshing.Registration{Username: name, Email: name + "@Example.com", Password: "correct horse"}, refreshing.ClientInfo{UserAgent: "test", IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (e *env) exchange(t *testing.T, token string) (*refreshing.Grant, error) {
	t.Helper()
	return e.svc.Exchange(t.Context(), token, refreshing.ClientInfo{})
}

func TestRegisterAndLogin(t *testing.T) {
	e := newEnv(t, nil)
	g := e.register(t, "ada")
	if g.AccessToken == "" || g.RefreshToken == "" || g.User.Email != "ada@example.com" || !g.User.Confirmed {
		t.Fatalf("grant = %+v", g)
	}
	ctx := t.Context()
	for _, id := range []string{"ada@example.com", "ADA@Example.COM", "ada"} {
		if _, err := e.svc.Login(ctx, id, "correct horse", refreshing.ClientInfo{}); err != nil {
			t.Fatalf("login as %q: %v", id, err)
		}
	}
	t.Run("ErrTaken", func(t *testing.T) {
		for _, r := range []refreshing.Registration{
			{Username: "ada2", Email: "ADA@example.com", Password: "secret12"},
			{Username: "ada", Email: "other@example.com", Password: "secret12"},
		} {
			if _, err := e.svc.Register(ctx, r, refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrTaken) {
				t.Fatalf("register %+v: err = %v, want ErrTaken", r, err)
			}
		}
	})
	t.Run("ErrInvalidCredentials", func(t *testing.T) {
		for _, c := range [][2]string{{"ada", "wrong password"}, {"nobody@example.com", "correct horse"}, {"Ada", "correct horse"}} {
			if _, err := e.svc.Login(ctx, c[0], c[1], refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrInvalidCredentials) {
				t.Fatalf("login %q: err = %v, want ErrInvalidCredentials", c[0], err)
			}
		}
	})
	t.Run("FieldError", func(t *testing.T) {
		var fe *refreshing.FieldError
		for _, c := range []struct{ id, pw, field string }{
			{"", "pw", "identifier"}, {"ada", "", "password"}, {"a\x00b", "pw", "identifier"},
			{string(make([]byte, 2000)), "pw", "identifier"}, {"ada", string(make([]rune, 300)), "password"},
		} {
			_, err := e.svc.Login(ctx, c.id, c.pw, refreshing.ClientInfo{})
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("login(%.10q, %.10q): err = %v, want field %s", c.id, c.pw, err, c.field)
			}
		}
	})
	t.Run("ErrBlocked", func(t *testing.T) {
		g := e.register(t, "bob")
		if _, err := e.svc.SetBlocked(ctx, g.User.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Login(ctx, "bob", "wrong password", refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrInvalidCredentials) {
			t.Fatalf("blocked + wrong password: err = %v, want ErrInvalidCredentials (blocked is said only after the password)", err)
		}
		if _, err := e.svc.Login(ctx, "bob", "correct horse", refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrBlocked) {
			t.Fatalf("err = %v, want ErrBlocked", err)
		}
		if _, err := e.exchange(t, g.RefreshToken); !errors.Is(err, refreshing.ErrInvalidToken) {
			t.Fatalf("blocked user's refresh: err = %v", err)
		}
		if _, err := e.svc.Authenticate(ctx, g.AccessToken); !errors.Is(err, refreshing.ErrUnauthenticated) {
			t.Fatalf("blocked user's JWT: err = %v", err)
		}
	})
}

func TestEmailConfirmation(t *testing.T) {
	// A mail server is configured: without one, registration answers
	// ErrConfirmationMail as Strapi does (lifecycle_test.go).
	e := newMailEnv(t, &memMailer{}, func(s *refreshing.Settings) { s.EmailConfirmation = true })
	g, err := e.svc.Register(t.Context(), refreshing.Registration{Username: "cyd", Email: "cy@example.com", Password: "secret12"}, refreshing.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if g.AccessToken != "" || g.RefreshToken != "" || g.User.Confirmed {
		t.Fatalf("pending confirmation got tokens: %+v", g)
	}
	if _, err := e.svc.Login(t.Context(), "cyd", "secret12", refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrNotConfirmed) {
		t.Fatalf("err = %v, want ErrNotConfirmed", err)
	}
	if _, err := e.svc.Login(t.Context(), "cyd", "wrong1", refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrInvalidCredentials) {
		t.Fatalf("err = %v, want ErrInvalidCredentials", err)
	}
}

func TestRegistrationClosed(t *testing.T) {
	e := newEnv(t, func(s *refreshing.Settings) { s.Registration = false })
	_, err := e.svc.Register(t.Context(), refreshing.Registration{Username: "dan", Email: "dan@example.com", Password: "secret12"}, refreshing.ClientInfo{})
	if !errors.Is(err, refreshing.ErrRegistrationClosed) {
		t.Fatalf("err = %v", err)
	}
}

func TestExchange(t *testing.T) {
	t.Run("Rotated", func(t *testing.T) {
		e := newEnv(t, nil)
		g := e.register(t, "ada")
		g2, err := e.exchange(t, g.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if g2.RefreshToken == g.RefreshToken || g2.AccessToken == "" || g2.Session.ID != g.Session.ID {
			t.Fatalf("rotation: %+v", g2)
		}
		p, err := e.svc.Authenticate(t.Context(), g2.AccessToken)
		if err != nil || p.SessionID != g.Session.ID || p.User.ID != g.User.ID {
			t.Fatalf("authenticate: %+v, %v", p, err)
		}
		if _, err := e.exchange(t, g2.RefreshToken); err != nil {
			t.Fatalf("second rotation: %v", err)
		}
	})
	t.Run("Grace", func(t *testing.T) {
		e := newEnv(t, nil)
		g := e.register(t, "ada")
		g2, _ := e.exchange(t, g.RefreshToken)
		e.clock.Add(9 * time.Second)
		g3, err := e.exchange(t, g.RefreshToken)
		if err != nil {
			t.Fatalf("within grace: %v", err)
		}
		if g3.RefreshToken != g2.RefreshToken {
			t.Fatal("a retry within the grace window must yield the live successor")
		}
		if _, err := e.exchange(t, g3.RefreshToken); err != nil {
			t.Fatalf("successor after grace retry: %v", err)
		}
	})
	t.Run("ErrReuseDetected", func(t *testing.T) {
		e := newEnv(t, nil)
		g := e.register(t, "ada")
		g2, _ := e.exchange(t, g.RefreshToken)
		e.clock.Add(11 * time.Second)
		_, err := e.exchange(t, g.RefreshToken)
		if got := refreshing.ExchangeOutcome(err); got != refreshing.OutcomeReuseDetected {
			t.Fatalf("outcome = %q (%v), want reuse_detected", got, err)
		}
		if _, err := e.exchange(t, g2.RefreshToken); !errors.Is(err, refreshing.ErrInvalidToken) {
			t.Fatalf("live token after reuse: err = %v, want the session revoked", err)
		}
		s, _ := e.store.Session(t.Context(), g.Session.ID)
		if s.RevokeReason != refreshing.ReasonReuseDetected {
			t.Fatalf("reason = %q", s.RevokeReason)
		}
		if _, err := e.svc.Authenticate(t.Context(), g2.AccessToken); !errors.Is(err, refreshing.ErrUnauthenticated) {
			t.Fatalf("JWT of a revoked session: err = %v", err)
		}
	})
	t.Run("GraceOlder", func(t *testing.T) {
		// Three tabs: one rotates T0 to T1, another T1 to T2, and so on;
		// a slow one still holds T0. Each token retired within the window
		// is served, and yields the live token.
		e := newEnv(t, nil)
		g := e.register(t, "ada")
		tok := g.RefreshToken
		for range 5 {
			n, err := e.exchange(t, tok)
			if err != nil {
				t.Fatal(err)
			}
			tok = n.RefreshToken
			e.clock.Add(time.Second)
		}
		e.clock.Add(4 * time.Second) // T0 retired 9 s ago
		n, err := e.exchange(t, g.RefreshToken)
		if err != nil || n.Outcome != refreshing.OutcomeGrace || n.RefreshToken != tok {
			t.Fatalf("five rotations old, retired within the window: %+v, %v; want the live token", n, err)
		}
		if _, err := e.exchange(t, tok); err != nil {
			t.Fatalf("the live token after: %v", err)
		}
	})
	t.Run("ErrReuseDetectedOlder", func(t *testing.T) {
		e := newEnv(t, nil)
		g := e.register(t, "ada")
		toks := []string{g.RefreshToken}
		for range 3 { // T0, T1 and T2 retired at 0, 6 and 12 s
			n, err := e.exchange(t, toks[len(toks)-1])
			if err != nil {
				t.Fatal(err)
			}
			toks = append(toks, n.RefreshToken)
			e.clock.Add(6 * time.Second)
		}
		e.clock.Add(-3 * time.Second) // now 15 s: T1 is within the window, T0 is not
		if n, err := e.exchange(t, toks[1]); err != nil || n.RefreshToken != toks[3] {
			t.Fatalf("T1, retired 9 s ago: %v", err)
		}
		_, err := e.exchange(t, toks[0])
		if got := refreshing.ExchangeOutcome(err); got != refreshing.OutcomeReuseDetected {
			t.Fatalf("T0, retired 15 s ago: outcome = %q, want reuse_detected", got)
		}
		if _, err := e.exchange(t, toks[3]); !errors.Is(err, refreshing.ErrInvalidToken) {
			t.Fatalf("live token after reuse: err = %v, want the session revoked", err)
		}
	})
	t.Run("ErrInvalidBeyondChainWalk", func(t *testing.T) {
		// A token retired more than 64 rotations ago is not recognised:
		// refused as unknown, at the cost of 64 HMACs at most, and its
		// session left alone.
		e := newEnv(t, nil)
		g := e.register(t, "ada")
		toks := []string{g.RefreshToken}
		for range 66 {
			n, err := e.exchange(t, toks[len(toks)-1])
			if err != nil {
				t.Fatal(err)
			}
			toks = append(toks, n.RefreshToken)
		}
		e.clock.Add(time.Minute)
		if _, err := e.exchange(t, toks[0]); refreshing.ExchangeOutcome(err) != refreshing.OutcomeInvalid {
			t.Fatalf("66 rotations old: %v, want invalid", err)
		}
		if _, err := e.exchange(t, toks[len(toks)-1]); err != nil {
			t.Fatalf("the live token after: %v", err)
		}
		if _, err := e.exchange(t, toks[len(toks)-64]); refreshing.ExchangeOutcome(err) != refreshing.OutcomeReuseDetected {
			t.Fatalf("64 rotations old: %v, want reuse_detected", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		e := newEnv(t, nil)
		g := e.register(t, "ada")
		last := "A" // another last character than the token's own (1 in 64 tokens ends in "A")
		if strings.HasSuffix(g.RefreshToken, last) {
			last = "B"
		}
		bad := []string{"", "garbage", g.AccessToken, g.RefreshToken[:len(g.RefreshToken)-1] + last, g.RefreshToken + "x",
			"rt_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
		for _, b := range bad {
			if got := refreshing.ExchangeOutcome(func() error { _, err := e.exchange(t, b); return err }()); got != refreshing.OutcomeInvalid {
				t.Fatalf("%.30q: outcome %q", b, got)
			}
		}
		if _, err := e.exchange(t, g.RefreshToken); err != nil {
			t.Fatalf("bad tokens changed state: %v", err)
		}
	})
	t.Run("RotationOff", func(t *testing.T) {
		e := newEnv(t, func(s *refreshing.Settings) { s.Rotation = false })
		g := e.register(t, "ada")
		for range 3 {
			g2, err := e.exchange(t, g.RefreshToken)
			if err != nil || g2.RefreshToken != g.RefreshToken {
				t.Fatalf("rotation off: %v %v", g2, err)
			}
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		e := newEnv(t, func(s *refreshing.Settings) { s.RefreshTTL = time.Hour })
		g := e.register(t, "ada")
		e.clock.Add(time.Hour)
		if got := refreshing.ExchangeOutcome(func() error { _, err := e.exchange(t, g.RefreshToken); return err }()); got != refreshing.OutcomeExpired {
			t.Fatalf("outcome %q", got)
		}
	})
	t.Run("NeverExpires", func(t *testing.T) {
		e := newEnv(t, func(s *refreshing.Settings) { s.RefreshTTL = 0 })
		g := e.register(t, "ada")
		if !g.Session.ExpiresAt.IsZero() {
			t.Fatalf("ExpiresAt = %v, want zero", g.Session.ExpiresAt)
		}
		e.clock.Add(24 * 365 * 10 * time.Hour)
		if _, err := e.exchange(t, g.RefreshToken); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrIdle", func(t *testing.T) {
		e := newEnv(t, func(s *refreshing.Settings) { s.RefreshIdle = time.Hour })
		g := e.register(t, "ada")
		e.clock.Add(59 * time.Minute)
		g2, err := e.exchange(t, g.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Add(59 * time.Minute)
		g3, err := e.exchange(t, g2.RefreshToken)
		if err != nil {
			t.Fatalf("activity must reset the idle timer: %v", err)
		}
		e.clock.Add(61 * time.Minute)
		if got := refreshing.ExchangeOutcome(func() error { _, err := e.exchange(t, g3.RefreshToken); return err }()); got != refreshing.OutcomeExpired {
			t.Fatalf("outcome %q", got)
		}
	})
	t.Run("ErrRevoked", func(t *testing.T) {
		e := newEnv(t, nil)
		g := e.register(t, "ada")
		if err := e.svc.Revoke(t.Context(), g.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if got := refreshing.ExchangeOutcome(func() error { _, err := e.exchange(t, g.RefreshToken); return err }()); got != refreshing.OutcomeRevoked {
			t.Fatalf("outcome %q", got)
		}
		for _, tok := range []string{g.RefreshToken, "unknown", ""} {
			if err := e.svc.Revoke(t.Context(), tok); err != nil {
				t.Fatalf("revoke %q again: %v", tok, err)
			}
		}
	})
	t.Run("ClientBound", func(t *testing.T) {
		e := newEnv(t, nil)
		e.register(t, "ada")
		g, err := e.svc.RequestToken(t.Context(), "ada", "correct horse", refreshing.ClientInfo{ClientID: "app-a"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Exchange(t.Context(), g.RefreshToken, refreshing.ClientInfo{ClientID: "app-b"}); !errors.Is(err, refreshing.ErrInvalidToken) {
			t.Fatalf("another client: err = %v", err)
		}
		if _, err := e.svc.Exchange(t.Context(), g.RefreshToken, refreshing.ClientInfo{ClientID: "app-a"}); err != nil {
			t.Fatalf("own client: %v", err)
		}
	})
}

// TestRacingClients is the contract's racing-tabs rule: 20 simultaneous
// exchanges of one token all succeed, every token handed out works once more,
// and after the grace window reuse revokes the session.
func TestRacingClients(t *testing.T) {
	e := newEnv(t, nil)
	g := e.register(t, "ada")
	const n = 20
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			r, err := e.exchange(t, g.RefreshToken)
			errs[i] = err
			if err == nil {
				got[i] = r.RefreshToken
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("racer %d: %v", i, errs[i])
		}
	}
	for i := range n {
		wg.Go(func() { _, errs[i] = e.exchange(t, got[i]) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("racer %d, second exchange: %v", i, errs[i])
		}
	}
	e.clock.Add(11 * time.Second)
	if _, err := e.exchange(t, got[0]); refreshing.ExchangeOutcome(err) != refreshing.OutcomeReuseDetected {
		t.Fatalf("after the window: %v", err)
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	t.Run("Limit", func(t *testing.T) {
		e := newEnv(t, func(s *refreshing.Settings) { s.MaxSessions = 2 })
		first := e.register(t, "ada")
		e.clock.Add(time.Second)
		second, _ := e.svc.Login(ctx, "ada", "correct horse", refreshing.ClientInfo{})
		e.clock.Add(time.Second)
		if _, err := e.exchange(t, first.RefreshToken); err != nil { // first is now the most recently active
			t.Fatal(err)
		}
		e.clock.Add(time.Second)
		if _, err := e.svc.Login(ctx, "ada", "correct horse", refreshing.ClientInfo{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.exchange(t, second.RefreshToken); refreshing.ExchangeOutcome(err) != refreshing.OutcomeRevoked {
			t.Fatalf("least recently active session not evicted: %v", err)
		}
		p, _ := e.svc.Authenticate(ctx, first.AccessToken)
		list, _ := e.svc.Sessions(ctx, p)
		if len(list) != 2 {
			t.Fatalf("sessions = %d, want 2", len(list))
		}
	})
	t.Run("DeviceReplaced", func(t *testing.T) {
		e := newEnv(t, nil)
		e.register(t, "ada")
		a, _ := e.svc.Login(ctx, "ada", "correct horse", refreshing.ClientInfo{DeviceID: "phone"})
		b, _ := e.svc.Login(ctx, "ada", "correct horse", refreshing.ClientInfo{DeviceID: "phone"})
		if _, err := e.exchange(t, a.RefreshToken); !errors.Is(err, refreshing.ErrInvalidToken) {
			t.Fatalf("replaced device session still works: %v", err)
		}
		if _, err := e.exchange(t, b.RefreshToken); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ListAndRevoke", func(t *testing.T) {
		e := newEnv(t, nil)
		a := e.register(t, "ada")
		e.clock.Add(time.Second)
		b, _ := e.svc.Login(ctx, "ada", "correct horse", refreshing.ClientInfo{UserAgent: "Mozilla/5.0 (Macintosh) Chrome/120.0"})
		other := e.register(t, "eve")
		p, err := e.svc.Authenticate(ctx, b.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		list, err := e.svc.Sessions(ctx, p)
		if err != nil || len(list) != 2 || list[0].ID != b.Session.ID {
			t.Fatalf("sessions = %+v, %v", list, err)
		}
		if err := e.svc.RevokeOwnSession(ctx, p, other.Session.ID); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("another user's session: %v", err)
		}
		if err := e.svc.RevokeOwnSession(ctx, p, a.Session.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ := e.svc.Sessions(ctx, p); len(list) != 1 {
			t.Fatalf("after revoke: %d sessions", len(list))
		}
		if _, err := e.svc.RevokeOwnSessions(ctx, p, "bogus"); err == nil {
			t.Fatal("bad scope accepted")
		}
		c, _ := e.svc.Login(ctx, "ada", "correct horse", refreshing.ClientInfo{})
		if n, err := e.svc.RevokeOwnSessions(ctx, p, refreshing.ScopeOthers); err != nil || n != 1 {
			t.Fatalf("scope=others: %d, %v", n, err)
		}
		if _, err := e.exchange(t, c.RefreshToken); err == nil {
			t.Fatal("other session survived scope=others")
		}
		if _, err := e.exchange(t, b.RefreshToken); err != nil {
			t.Fatalf("own session revoked by scope=others: %v", err)
		}
		if _, err := e.svc.RevokeOwnSessions(ctx, p, refreshing.ScopeAll); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Authenticate(ctx, b.AccessToken); !errors.Is(err, refreshing.ErrUnauthenticated) {
			t.Fatalf("scope=all left the caller signed in: %v", err)
		}
	})
	t.Run("Logout", func(t *testing.T) {
		e := newEnv(t, nil)
		e.register(t, "ada")
		a, _ := e.svc.Login(ctx, "ada", "correct horse", refreshing.ClientInfo{DeviceID: "tablet"})
		b, _ := e.svc.Login(ctx, "ada", "correct horse", refreshing.ClientInfo{})
		if err := e.svc.Logout(ctx, refreshing.Logout{RefreshToken: b.RefreshToken}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.exchange(t, b.RefreshToken); err == nil {
			t.Fatal("logout by refresh token left the session alive")
		}
		p, _ := e.svc.Authenticate(ctx, a.AccessToken)
		if err := e.svc.Logout(ctx, refreshing.Logout{Principal: p, DeviceID: "tablet"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.exchange(t, a.RefreshToken); err == nil {
			t.Fatal("logout by device left the session alive")
		}
		if err := e.svc.Logout(ctx, refreshing.Logout{}); !errors.Is(err, refreshing.ErrUnauthenticated) {
			t.Fatalf("anonymous logout: %v", err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	a := e.register(t, "ada")
	b, _ := e.svc.Login(ctx, "ada", "correct horse", refreshing.ClientInfo{})
	p, _ := e.svc.Authenticate(ctx, a.AccessToken)
	if _, err := e.svc.ChangePassword(ctx, p, refreshing.PasswordChange{Current: "wrong pw", New: "battery staple", Confirmation: "battery staple"}, refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrWrongPassword) {
		t.Fatalf("wrong current: %v", err)
	}
	if _, err := e.svc.ChangePassword(ctx, p, refreshing.PasswordChange{Current: "correct horse", New: "battery staple", Confirmation: "battery stable"}, refreshing.ClientInfo{}); err == nil {
		t.Fatal("mismatched confirmation accepted")
	}
	g, err := e.svc.ChangePassword(ctx, p, refreshing.PasswordChange{Current: "correct horse", New: "battery staple", Confirmation: "battery staple"}, refreshing.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{a.RefreshToken, b.RefreshToken} {
		if _, err := e.exchange(t, old); err == nil {
			t.Fatal("a session survived the password change")
		}
	}
	if _, err := e.exchange(t, g.RefreshToken); err != nil {
		t.Fatalf("the new session: %v", err)
	}
	if _, err := e.svc.Login(ctx, "ada", "battery staple", refreshing.ClientInfo{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(ctx, "ada", "correct horse", refreshing.ClientInfo{}); !errors.Is(err, refreshing.ErrInvalidCredentials) {
		t.Fatal("the old password still works")
	}
}

// TestRestart checks that keys, the token chain key and sessions survive a
// restart: tokens issued before it keep working after it.
func TestRestart(t *testing.T) {
	e := newEnv(t, nil)
	g := e.register(t, "ada")
	e.store.Close()
	st, err := sqlite.Open(t.Context(), e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := refreshing.New(t.Context(), refreshing.Config{Store: st, Now: e.clock.Now, Hasher: refreshing.NewHasher(cheap, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(t.Context(), g.AccessToken); err != nil {
		t.Fatalf("JWT after restart: %v", err)
	}
	g2, err := svc.Exchange(t.Context(), g.RefreshToken, refreshing.ClientInfo{})
	if err != nil {
		t.Fatalf("refresh after restart: %v", err)
	}
	e.clock.Add(time.Second)
	if g3, err := svc.Exchange(t.Context(), g.RefreshToken, refreshing.ClientInfo{}); err != nil || g3.RefreshToken != g2.RefreshToken {
		t.Fatalf("grace after restart: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t, nil)
	g := e.register(t, "ada")
	if _, err := e.svc.RotateKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(t.Context(), g.AccessToken); err != nil {
		t.Fatalf("token signed by the previous key: %v", err)
	}
	g2, _ := e.svc.Login(t.Context(), "ada", "correct horse", refreshing.ClientInfo{})
	if _, err := e.svc.Authenticate(t.Context(), g2.AccessToken); err != nil {
		t.Fatal(err)
	}
}

func TestSettingsApplyLive(t *testing.T) {
	e := newEnv(t, nil)
	g := e.register(t, "ada")
	st, _ := e.svc.Settings(t.Context())
	st.Rotation = false
	// Written straight to the store, as another instance would.
	if err := e.store.SaveSettings(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Second)
	g2, err := e.exchange(t, g.RefreshToken)
	if err != nil || g2.RefreshToken != g.RefreshToken {
		t.Fatalf("setting changed elsewhere not in force after the TTL: %v", err)
	}
	if err := e.svc.UpdateSettings(t.Context(), refreshing.Settings{AccessTTL: -1}); err == nil {
		t.Fatal("invalid settings accepted")
	}
}

// TestKeyRotationSeenByOtherInstance: a key rotated by one instance is used
// at once, and another instance on the same store verifies its tokens.
func TestKeyRotationSeenByOtherInstance(t *testing.T) {
	e := newEnv(t, nil)
	other, err := refreshing.New(t.Context(), refreshing.Config{Store: e.store, Now: e.clock.Now, Hasher: refreshing.NewHasher(cheap, 0)})
	if err != nil {
		t.Fatal(err)
	}
	e.register(t, "ada")
	if _, err := e.svc.RotateKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	g, err := e.svc.Login(t.Context(), "ada", "correct horse", refreshing.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Authenticate(t.Context(), g.AccessToken); err != nil {
		t.Fatalf("the other instance rejects a token signed with the new key: %v", err)
	}
	if string(other.JWKS()) != string(e.svc.JWKS()) {
		t.Fatal("the instances publish different key sets")
	}
}

func TestExchangeBlockedWithoutRevocation(t *testing.T) {
	// Blocking through the Service revokes every session; a user blocked
	// by other means (an import, a direct write) keeps live sessions, whose
	// tokens must still be refused.
	e := newEnv(t, nil)
	g := e.register(t, "ada")
	u := *g.User
	u.Blocked = true
	if err := e.store.UpdateUser(t.Context(), &u, nil); err != nil {
		t.Fatal(err)
	}
	_, err := e.exchange(t, g.RefreshToken)
	if refreshing.ExchangeOutcome(err) != refreshing.OutcomeRevoked {
		t.Fatalf("exchange for a blocked user: %v, want outcome revoked", err)
	}
}

func TestNewJWTSecret(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret string
		ok     bool
	}{
		{"ErrOneByte", "x", false},
		{"ErrFifteenBytes", "fifteen-bytes!!", false},
		{"OKSixteenBytes", "sixteen-bytes!!!", true},
		{"OKStrapiGenerated", "ZtUeuXJl6nZkYdP6q0bV1Q==", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "refreshing.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			svc, err := refreshing.New(t.Context(), refreshing.Config{Store: st, JWTSecret: []byte(tc.secret), Hasher: refreshing.NewHasher(cheap, 0)})
			if got := err == nil; got != tc.ok {
				t.Fatalf("New with a %d-byte secret: %v", len(tc.secret), err)
			}
			if err == nil {
				defer svc.Close()
				if got, want := svc.SigningAlgorithm(), "HS256"; got != want {
					t.Errorf("SigningAlgorithm = %q, want %q", got, want)
				}
			}
		})
	}
}

func TestValidateIssuer(t *testing.T) {
	for _, tc := range []struct {
		issuer string
		ok     bool
	}{
		{"https://auth.example.com", true},
		{"https://auth.example.com/", true},
		{"https://auth.example.com:8443/tenant-a", true},
		{"http://localhost:1337", true},
		{"http://127.0.0.1:1337/", true},
		{"http://[::1]:1337", true},
		{"https://auth.example.com/?tenant=a#frag", false},
		{"https://auth.example.com/?tenant=a", false},
		{"https://auth.example.com?", false},
		{"https://auth.example.com#frag", false},
		{"https://auth.example.com/#", false},
		{"http://auth.example.com", true},
		{"http://refreshing:1337", true},
		{"https://user:pw@auth.example.com", false},
		{"ftp://auth.example.com", false},
		{"https:auth.example.com", false},
		{"https:///path", false},
		{"auth.example.com", false},
		{"/relative", false},
		{"", false},
	} {
		if err := refreshing.ValidateIssuer(tc.issuer); (err == nil) != tc.ok {
			t.Errorf("ValidateIssuer(%q) = %v, want ok %v", tc.issuer, err, tc.ok)
		}
	}
	for issuer, want := range map[string]bool{
		"http://auth.example.com": true, "http://localhost.example.com": true, "http://refreshing:1337": true,
		"http://localhost:1337": false, "http://127.0.0.1:1337": false, "http://[::1]:1337": false, "https://auth.example.com": false,
	} {
		if got := refreshing.InsecureIssuer(issuer); got != want {
			t.Errorf("InsecureIssuer(%q) = %v, want %v", issuer, got, want)
		}
	}
}

func TestNewIssuer(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "refreshing.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := refreshing.New(t.Context(), refreshing.Config{Store: st, Issuer: "https://auth.example.com/?tenant=a#frag"}); err == nil {
		t.Fatal("New accepted an issuer with a query and a fragment")
	}
	svc, err := refreshing.New(t.Context(), refreshing.Config{Store: st, Hasher: refreshing.NewHasher(cheap, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if got, want := svc.Issuer(), "http://localhost:1337"; got != want {
		t.Errorf("default Issuer = %q, want %q", got, want)
	}
}
