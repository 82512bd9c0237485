package refreshing_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// gatedAdmins holds every AdminByEmail call at a gate until the test opens
// it, so that parallel admin logins are all in flight at once.
type gatedAdmins struct {
	refreshing.Store
	arrived chan struct{} // one send per call, buffered for all of them; nil: no gate
	gate    chan struct{} // closed to let the held calls through
}

func (g *gatedAdmins) AdminByEmail(ctx context.Context, email string) (*refreshing.Admin, error) {
	if g.arrived != nil {
		g.arrived <- struct{}{}
		<-g.gate
	}
	return g.Store.AdminByEmail(ctx, email)
}

func TestAdminLoginLimit(t *testing.T) {
	const password = "admin-secret-password"
	ci := refreshing.ClientInfo{IP: "192.0.2.1", UserAgent: "test"}
	t.Run("ParallelAttemptsCountBeforeTheCheck", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "refreshing.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		g := &gatedAdmins{Store: st}
		e := newEnvOn(t, g, nil)
		if _, err := e.svc.CreateAdmin(t.Context(), "ops@example.com", password); err != nil {
			t.Fatal(err)
		}
		const n = 25
		g.arrived, g.gate = make(chan struct{}, n+1), make(chan struct{})
		results := make(chan error, n)
		for range n {
			go func() {
				_, _, err := e.svc.AdminLogin(t.Context(), "ops@example.com", "wrong guess", ci)
				results <- err
			}()
		}
		// Wait until every attempt is held at the lookup, before its limits
		// are consulted, then let them all go at once.
		for i := range n {
			select {
			case <-g.arrived:
			case err := <-results:
				t.Fatalf("an attempt ended before the lookup (%d held): %v", i, err)
			case <-time.After(10 * time.Second):
				t.Fatalf("%d of %d attempts reached the lookup", i, n)
			}
		}
		close(g.gate)
		checked, refused := 0, 0
		for range n {
			switch err := <-results; {
			case errors.Is(err, refreshing.ErrInvalidCredentials):
				checked++
			case errors.Is(err, refreshing.ErrTooManyAttempts):
				refused++
			default:
				t.Errorf("parallel attempt: %v", err)
			}
		}
		if checked != 5 || refused != n-5 {
			t.Fatalf("%d passwords checked and %d refused of %d parallel attempts, want 5 and %d", checked, refused, n, n-5)
		}
		if _, _, err := e.svc.AdminLogin(t.Context(), "ops@example.com", password, ci); !errors.Is(err, refreshing.ErrTooManyAttempts) {
			t.Fatalf("right password after 5 failures: %v, want ErrTooManyAttempts", err)
		}
	})
	t.Run("RightPasswordGivesItsAttemptBack", func(t *testing.T) {
		e := newEnv(t, nil)
		if _, err := e.svc.CreateAdmin(t.Context(), "ops@example.com", password); err != nil {
			t.Fatal(err)
		}
		login := func(pw string) error {
			_, _, err := e.svc.AdminLogin(t.Context(), "ops@example.com", pw, ci)
			return err
		}
		for range 4 {
			if err := login("wrong guess"); !errors.Is(err, refreshing.ErrInvalidCredentials) {
				t.Fatalf("wrong password: %v", err)
			}
		}
		for range 3 {
			if err := login(password); err != nil {
				t.Fatalf("right password after 4 failures: %v", err)
			}
		}
		if err := login("wrong guess"); !errors.Is(err, refreshing.ErrInvalidCredentials) {
			t.Fatalf("fifth wrong password: %v, want ErrInvalidCredentials", err)
		}
		if err := login(password); !errors.Is(err, refreshing.ErrTooManyAttempts) {
			t.Fatalf("right password after 5 failures: %v, want ErrTooManyAttempts", err)
		}
		e.clock.Add(15 * time.Minute)
		if err := login(password); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

func TestAdminLoginAudit(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.svc.CreateAdmin(t.Context(), "ops@example.com", "admin-secret-password"); err != nil {
		t.Fatal(err)
	}
	ci := refreshing.ClientInfo{IP: "192.0.2.1", UserAgent: "test"}
	// A password typed into the email field, then the known email typed
	// otherwise, until it is locked out.
	if _, _, err := e.svc.AdminLogin(t.Context(), "Hunter2-Typed-Here", "wrong guess", ci); !errors.Is(err, refreshing.ErrInvalidCredentials) {
		t.Fatalf("unknown email: %v", err)
	}
	for range 6 {
		e.svc.AdminLogin(t.Context(), " OPS@Example.com ", "wrong guess", ci)
	}
	list, err := e.svc.ListAudit(t.Context(), refreshing.AuditFilter{Type: refreshing.AuditAdminLoginFailed})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(list) - 1; i >= 0; i-- {
		if strings.Contains(strings.ToLower(list[i].Actor+list[i].Detail), "hunter2") {
			t.Errorf("the audit log keeps what was typed as an email: %+v", list[i])
		}
		got = append(got, list[i].Actor+": "+list[i].Detail)
	}
	want := []string{"unknown admin: wrong email or password"}
	for range 5 {
		want = append(want, "admin ops@example.com: wrong email or password")
	}
	want = append(want, "admin ops@example.com: refused: too many failed attempts")
	if !slices.Equal(got, want) {
		t.Fatalf("failed admin logins in the audit log:\n%q\nwant\n%q", got, want)
	}
	t.Run("RefusedUnknownEmail", func(t *testing.T) {
		for range 6 {
			e.svc.AdminLogin(t.Context(), "Hunter2-Again", "wrong guess", refreshing.ClientInfo{IP: "192.0.2.2"})
		}
		list, err := e.svc.ListAudit(t.Context(), refreshing.AuditFilter{Type: refreshing.AuditAdminLoginFailed, IP: "192.0.2.2"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 6 || list[0].Detail != "refused: too many failed attempts" {
			t.Fatalf("events %+v, want 5 failures and a refusal", list)
		}
		for _, ev := range list {
			if ev.Actor != "unknown admin" {
				t.Errorf("actor %q, want unknown admin", ev.Actor)
			}
		}
	})
}
