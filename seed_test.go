package refreshing_test

import (
	"errors"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func TestNewSession(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, nil)
		u := e.register(t, "ada").User
		st, err := e.svc.Settings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now()
		sess, token := refreshing.NewSession(u.ID, refreshing.ClientInfo{UserAgent: "seeder"}, now, st)
		if got, want := sess.ExpiresAt, now.Add(st.RefreshTTL); !got.Equal(want) {
			t.Errorf("ExpiresAt = %v, want %v", got, want)
		}
		if !refreshing.LooksLikeRefreshToken(token) {
			t.Fatalf("token %q does not look like a refresh token", token)
		}
		if err := e.store.CreateSession(t.Context(), sess, 0); err != nil {
			t.Fatal(err)
		}
		g, err := e.exchange(t, token)
		if err != nil {
			t.Fatalf("exchanging a seeded session's token: %v", err)
		}
		if g.Session.ID != sess.ID || g.User.ID != u.ID || g.RefreshToken == token {
			t.Errorf("exchange gave session %s of user %d, token rotated: %v", g.Session.ID, g.User.ID, g.RefreshToken != token)
		}
	})
	t.Run("ErrInvalidTokenUnsaved", func(t *testing.T) {
		e := newEnv(t, nil)
		u := e.register(t, "ada").User
		_, token := refreshing.NewSession(u.ID, refreshing.ClientInfo{}, e.clock.Now(), refreshing.DefaultSettings())
		if _, err := e.exchange(t, token); !errors.Is(err, refreshing.ErrInvalidToken) {
			t.Fatalf("token of an unsaved session: got %v, want ErrInvalidToken", err)
		}
	})
	t.Run("OKNeverExpires", func(t *testing.T) {
		st := refreshing.DefaultSettings()
		st.RefreshTTL = 0
		sess, _ := refreshing.NewSession(1, refreshing.ClientInfo{}, time.Now(), st)
		if !sess.ExpiresAt.IsZero() {
			t.Errorf("ExpiresAt = %v with no refresh lifetime, want zero", sess.ExpiresAt)
		}
	})
}
