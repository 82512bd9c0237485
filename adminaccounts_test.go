package refreshing_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// gatedAdmins holds every AdminByEmail call at a gate until the test opens
// it, so that parallel admin logins are all in flight at once.
type gatedAdmins struct {
	refreshing.Store
	arrived chan struct{} // one send per held call; nil: no gate
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
		g.arrived, g.gate = make(chan struct{}), make(chan struct{})
		results := make(chan error, n)
		for range n {
			go func() {
				_, _, err := e.svc.AdminLogin(t.Context(), "ops@example.com", "wrong guess", ci)
				results <- err
			}()
		}
		// Wait until every attempt is either held at the lookup or refused,
		// then let the held ones check their password.
		held, checked, refused := 0, 0, 0
		for held+refused < n {
			select {
			case <-g.arrived:
				held++
			case err := <-results:
				if !errors.Is(err, refreshing.ErrTooManyAttempts) {
					t.Fatalf("before any check: %v, want ErrTooManyAttempts", err)
				}
				refused++
			}
		}
		close(g.gate)
		for range held {
			switch err := <-results; {
			case errors.Is(err, refreshing.ErrInvalidCredentials):
				checked++
			default:
				t.Errorf("held attempt: %v, want ErrInvalidCredentials", err)
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
