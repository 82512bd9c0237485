package refreshing_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/pgtest"
	"github.com/refreshing/refreshing/internal/postgres"
)

// TestProviderSignInRules checks the account rules of provider sign-in on
// both stores (the protocol side is internal/idp's and internal/server's).
func TestProviderSignInRules(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		testProviderRules(t, func(t *testing.T) *env { return newEnv(t, nil) })
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		testProviderRules(t, func(t *testing.T) *env {
			st, err := postgres.Open(t.Context(), pgtest.Schema(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return newEnvOn(t, st, nil)
		})
	})
}

func testProviderRules(t *testing.T, open func(t *testing.T) *env) {
	ci := refreshing.ClientInfo{UserAgent: "test", IP: "127.0.0.1"}
	users := func(t *testing.T, e *env) int {
		t.Helper()
		us, err := e.store.ListUsers(t.Context(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(us)
	}
	ada := refreshing.ExternalIdentity{Provider: "corp", Subject: "1", Email: "Ada@Corp.Example", EmailVerified: true, Username: "ada"}

	t.Run("CreateThenSameSubject", func(t *testing.T) {
		e := open(t)
		g, err := e.svc.ProviderSignIn(t.Context(), ada, ci)
		if err != nil {
			t.Fatal(err)
		}
		if g.RefreshToken == "" || g.AccessToken == "" || g.User.Email != "ada@corp.example" || g.User.Provider != "corp" || !g.User.Confirmed || g.User.PasswordHash != "" {
			t.Fatalf("grant %+v, user %+v", g, g.User)
		}
		// Rotation as for any session.
		x, err := e.exchange(t, g.RefreshToken)
		if err != nil || x.RefreshToken == g.RefreshToken {
			t.Fatalf("exchange: %v", err)
		}
		other := ada
		other.Email, other.EmailVerified = "someone.else@corp.example", false
		g2, err := e.svc.ProviderSignIn(t.Context(), other, ci)
		if err != nil || g2.User.ID != g.User.ID {
			t.Fatalf("same subject: %v, user %v want %v", err, g2, g.User.ID)
		}
		if n := users(t, e); n != 1 {
			t.Fatalf("%d users", n)
		}
	})
	t.Run("Refusals", func(t *testing.T) {
		e := open(t)
		local := e.register(t, "bob") // bob@example.com
		for name, c := range map[string]struct {
			id   refreshing.ExternalIdentity
			want error
		}{
			"Unverified":     {refreshing.ExternalIdentity{Provider: "corp", Subject: "2", Email: "new@corp.example"}, refreshing.ErrEmailNotVerified},
			"NoEmail":        {refreshing.ExternalIdentity{Provider: "corp", Subject: "3", EmailVerified: true}, refreshing.ErrEmailNotVerified},
			"BadEmail":       {refreshing.ExternalIdentity{Provider: "corp", Subject: "4", Email: "not an email", EmailVerified: true}, refreshing.ErrEmailNotVerified},
			"UnverifiedLink": {refreshing.ExternalIdentity{Provider: "corp", Subject: "5", Email: "bob@example.com", LinkByEmail: true}, refreshing.ErrEmailNotVerified},
			"EmailTaken":     {refreshing.ExternalIdentity{Provider: "corp", Subject: "6", Email: "BOB@example.com", EmailVerified: true}, refreshing.ErrIdentityEmailTaken},
		} {
			if _, err := e.svc.ProviderSignIn(t.Context(), c.id, ci); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", name, err, c.want)
			}
		}
		var fe *refreshing.FieldError
		if _, err := e.svc.ProviderSignIn(t.Context(), refreshing.ExternalIdentity{Provider: "corp", Email: "x@corp.example", EmailVerified: true}, ci); !errors.As(err, &fe) {
			t.Errorf("no subject: %v", err)
		}
		if n := users(t, e); n != 1 {
			t.Fatalf("%d users after refusals", n)
		}
		if ids, _ := e.store.UserIdentities(t.Context(), local.User.ID); len(ids) != 0 {
			t.Fatalf("identities after refusals: %+v", ids)
		}
	})
	t.Run("LinkUsernameBlocked", func(t *testing.T) {
		e := open(t)
		bob := e.register(t, "bob")
		g, err := e.svc.ProviderSignIn(t.Context(), refreshing.ExternalIdentity{Provider: "corp", Subject: "7", Email: "bob@example.com", EmailVerified: true, LinkByEmail: true}, ci)
		if err != nil || g.User.ID != bob.User.ID {
			t.Fatalf("link by verified email: %v", err)
		}
		// A new account whose suggested username is taken gets another one.
		g2, err := e.svc.ProviderSignIn(t.Context(), refreshing.ExternalIdentity{Provider: "other", Subject: "7", Email: "robert@other.example", EmailVerified: true, Username: "bob"}, ci)
		if err != nil || g2.User.ID == bob.User.ID || !strings.HasPrefix(g2.User.Username, "bob_") {
			t.Fatalf("username collision: %v %+v", err, g2)
		}
		u := *bob.User
		u.Blocked = true
		if err := e.store.UpdateUser(t.Context(), &u, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.ProviderSignIn(t.Context(), refreshing.ExternalIdentity{Provider: "corp", Subject: "7"}, ci); !errors.Is(err, refreshing.ErrBlocked) {
			t.Fatalf("blocked: %v", err)
		}
		evs, err := e.svc.ListAudit(t.Context(), refreshing.AuditFilter{UserID: bob.User.ID})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range evs {
			types = append(types, ev.Type)
		}
		if got := strings.Join(types, " "); !strings.Contains(got, refreshing.AuditProviderLoginFailed) || !strings.Contains(got, refreshing.AuditProviderLogin+" ") || !strings.Contains(got, refreshing.AuditIdentityLink) {
			t.Fatalf("audit of bob: %s", got)
		}
	})
	t.Run("Racing", func(t *testing.T) {
		e := open(t)
		const n = 8
		ids := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				g, err := e.svc.ProviderSignIn(t.Context(), ada, ci)
				if errs[i] = err; err == nil {
					ids[i] = g.User.ID
				}
			})
		}
		wg.Wait()
		var winner int64
		for i := range n {
			switch {
			case errs[i] == nil && winner == 0:
				winner = ids[i]
			case errs[i] == nil && ids[i] != winner:
				t.Fatalf("racing sign-ins of one identity landed on users %d and %d", winner, ids[i])
			case errs[i] != nil && !errors.Is(errs[i], refreshing.ErrIdentityEmailTaken):
				t.Fatalf("racing sign-in: %v", errs[i])
			}
		}
		if winner == 0 {
			t.Fatal("no racing sign-in succeeded")
		}
		if c := users(t, e); c != 1 {
			t.Fatalf("%d users after racing sign-ins of one identity", c)
		}
	})
}
