package refreshing_test

import (
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// exchangeEvents returns the Detail (outcome) of every exchange event of
// the audit log, oldest first.
func exchangeEvents(t *testing.T, e *env) []string {
	t.Helper()
	list, err := e.svc.ListAudit(t.Context(), refreshing.AuditFilter{Type: refreshing.AuditExchange})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(list) - 1; i >= 0; i-- {
		out = append(out, list[i].Detail)
	}
	return out
}

func TestAuditExchanges(t *testing.T) {
	// A routine rotation, then the retired token again within the grace
	// window, then a refusal after logout.
	run := func(t *testing.T, e *env) {
		g := e.register(t, "ada")
		next, err := e.exchange(t, g.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Second)
		if _, err := e.exchange(t, g.RefreshToken); err != nil {
			t.Fatalf("within the grace window: %v", err)
		}
		if err := e.svc.Revoke(t.Context(), next.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := e.exchange(t, next.RefreshToken); err == nil {
			t.Fatal("a revoked session exchanged")
		}
	}
	t.Run("OKOfNoteOnly", func(t *testing.T) {
		e := newEnv(t, nil)
		run(t, e)
		if got := exchangeEvents(t, e); len(got) != 1 || got[0] != string(refreshing.OutcomeGrace) {
			t.Fatalf("exchange events = %q, want only the grace one", got)
		}
		failed, err := e.svc.ListAudit(t.Context(), refreshing.AuditFilter{Type: refreshing.AuditExchangeFailed})
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) != 1 || failed[0].Detail != string(refreshing.OutcomeRevoked) || failed[0].UserID == 0 {
			t.Fatalf("failed exchange events = %+v, want the revoked one, naming its user", failed)
		}
	})
	t.Run("OKEveryOneWithAuditExchanges", func(t *testing.T) {
		e := newEnv(t, func(s *refreshing.Settings) { s.AuditExchanges = true })
		run(t, e)
		got := exchangeEvents(t, e)
		if want := []string{string(refreshing.OutcomeRotated), string(refreshing.OutcomeGrace)}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("exchange events = %q, want %q", got, want)
		}
	})
}
