package refreshing_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/pgtest"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// counting counts the store calls that concern imported sessions.
type counting struct {
	refreshing.Store
	lookups, probes atomic.Int64
}

func (c *counting) SessionIDByImportHash(ctx context.Context, h []byte) (string, error) {
	c.lookups.Add(1)
	return c.Store.SessionIDByImportHash(ctx, h)
}

func (c *counting) HasImportedSessions(ctx context.Context) (bool, error) {
	c.probes.Add(1)
	return c.Store.HasImportedSessions(ctx)
}

// importStores opens two stores on one database, as two instances would:
// SQLite always, PostgreSQL when REFRESHING_TEST_POSTGRES is set.
var importStores = []struct {
	name string
	open func(t *testing.T) (a, b refreshing.Store)
}{
	{"SQLite", func(t *testing.T) (refreshing.Store, refreshing.Store) {
		path := filepath.Join(t.TempDir(), "refreshing.db")
		var two [2]refreshing.Store
		for i := range two {
			st, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			two[i] = st
		}
		return two[0], two[1]
	}},
	{"PostgreSQL", func(t *testing.T) (refreshing.Store, refreshing.Store) {
		dsn := pgtest.Schema(t)
		var two [2]refreshing.Store
		for i := range two {
			st, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			two[i] = st
		}
		return two[0], two[1]
	}},
}

// TestImportLookupOnlyWithImports checks issue 21's hot-path promise: a
// token that is not ours costs no database read for imports where nothing
// was imported, and an import by another process (another instance, the
// CLI) is seen without a restart.
func TestImportLookupOnlyWithImports(t *testing.T) {
	for _, stores := range importStores {
		t.Run(stores.name, func(t *testing.T) {
			ctx := t.Context()
			a, b := stores.open(t)
			counted := &counting{Store: a}
			serving := newEnvOn(t, counted, nil)
			importing := newEnvOn(t, b, nil)
			g := importing.register(t, "grace")

			for i := range 200 {
				if _, err := serving.exchange(t, "strapi-v4-token-"+strconv.Itoa(i)); refreshing.ExchangeOutcome(err) != refreshing.OutcomeInvalid {
					t.Fatalf("an unknown token: %v, want invalid", err)
				}
			}
			if n := counted.lookups.Load(); n != 0 {
				t.Errorf("%d import lookups with nothing imported, want 0", n)
			}
			if n := counted.probes.Load(); n > 2 {
				t.Errorf("%d HasImportedSessions reads for 200 unknown tokens with the revision unchanged, want at most 2", n)
			}

			// The other instance imports a token: this one accepts it as soon
			// as it has seen the auth revision move (a few dozen ms).
			if res, err := importing.svc.ImportToken(ctx, refreshing.ImportedToken{Token: "strapi-v4-token-7", UserID: g.User.ID}, false); err != nil || res != refreshing.ImportCreated {
				t.Fatalf("ImportToken = %v, %v", res, err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				g, err := serving.exchange(t, "strapi-v4-token-7")
				if err == nil {
					if g.User.Username != "grace" {
						t.Fatalf("the imported token is %s's", g.User.Username)
					}
					break
				}
				if refreshing.ExchangeOutcome(err) != refreshing.OutcomeInvalid || time.Now().After(deadline) {
					t.Fatalf("the token imported by another instance: %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if counted.lookups.Load() == 0 {
				t.Error("the imported token was found without a lookup")
			}
		})
	}
}

// TestImportStrapiJWT checks the tokens of Strapi 5's sessions and of the
// refresh-token plugin: found only once their signature, expiry and type
// verified under the configured secret, and never by their derived key.
func TestImportStrapiJWT(t *testing.T) {
	const sessionSecret, pluginSecret = "strapi-users-permissions-jwt-secret", "refresh-token-plugin-secret"
	for _, stores := range importStores {
		t.Run(stores.name, func(t *testing.T) {
			ctx := t.Context()
			st, _ := stores.open(t)
			c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
			svc, err := refreshing.New(ctx, refreshing.Config{Store: st, Now: c.Now, Hasher: refreshing.NewHasher(cheap, 0),
				StrapiSessionSecret: []byte(sessionSecret), StrapiPluginSecret: []byte(pluginSecret)})
			if err != nil {
				t.Fatal(err)
			}
			u, _, err := svc.ImportUser(ctx, refreshing.User{ID: 5, Username: "ada", Email: "ada@example.com"}, false)
			if err != nil {
				t.Fatal(err)
			}
			exp := c.Now().Add(time.Hour).Unix()
			sign := func(secret string, claims gojwt.MapClaims) string {
				s, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString([]byte(secret))
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			for _, tok := range []refreshing.ImportedToken{
				{Kind: refreshing.ImportStrapiSession, Token: "5:0a1b2c3d", UserID: u.ID, TokenExpiresAt: time.Unix(exp, 0)},
				{Kind: refreshing.ImportStrapiPlugin, Token: "5:docid1", UserID: u.ID},
			} {
				if res, err := svc.ImportToken(ctx, tok, false); err != nil || res != refreshing.ImportCreated {
					t.Fatalf("ImportToken(%s) = %v, %v", tok.Kind, res, err)
				}
			}
			session := gojwt.MapClaims{"userId": "5", "sessionId": "0a1b2c3d", "type": "refresh", "exp": exp}
			with := func(m gojwt.MapClaims, k string, v any) gojwt.MapClaims {
				out := gojwt.MapClaims{}
				for kk, vv := range m {
					out[kk] = vv
				}
				if v == nil {
					delete(out, k)
				} else {
					out[k] = v
				}
				return out
			}
			plugin := gojwt.MapClaims{"userId": 5, "secret": "docid1", "iat": c.Now().Unix(), "exp": exp}
			for name, token := range map[string]string{
				"ErrWrongSecret":        sign(pluginSecret, session),
				"ErrAccessToken":        sign(sessionSecret, with(session, "type", "access")),
				"ErrOtherUser":          sign(sessionSecret, with(session, "userId", "6")),
				"ErrOtherSession":       sign(sessionSecret, with(session, "sessionId", "0a1b2c3e")),
				"ErrNoExpiry":           sign(sessionSecret, with(session, "exp", nil)),
				"ErrExpired":            sign(sessionSecret, with(session, "exp", c.Now().Add(-time.Minute).Unix())),
				"ErrPluginOtherUser":    sign(pluginSecret, with(plugin, "userId", 6)),
				"ErrPluginUserAsString": sign(pluginSecret, with(plugin, "userId", "5")),
				"ErrNone":               none(t, session),
				"ErrDerivedKey":         "\x00refreshing/import\x00strapi-session\x005:0a1b2c3d",
			} {
				if _, err := svc.Exchange(ctx, token, refreshing.ClientInfo{}); refreshing.ExchangeOutcome(err) != refreshing.OutcomeInvalid {
					t.Errorf("%s: %v, want invalid", name, err)
				}
			}
			for name, token := range map[string]string{"session": sign(sessionSecret, session), "plugin": sign(pluginSecret, plugin)} {
				g, err := svc.Exchange(ctx, token, refreshing.ClientInfo{})
				if err != nil || g.User.ID != u.ID {
					t.Fatalf("%s token: %v", name, err)
				}
				// Within the grace window, the same successor; after it, theft.
				again, err := svc.Exchange(ctx, token, refreshing.ClientInfo{})
				if err != nil || again.RefreshToken != g.RefreshToken {
					t.Errorf("%s token again within the grace window: %v", name, err)
				}
				c.Add(11 * time.Second)
				if _, err := svc.Exchange(ctx, token, refreshing.ClientInfo{}); refreshing.ExchangeOutcome(err) != refreshing.OutcomeReuseDetected {
					t.Errorf("%s token after the grace window: %v, want reuse_detected", name, err)
				}
				if _, err := svc.Exchange(ctx, g.RefreshToken, refreshing.ClientInfo{}); err == nil {
					t.Errorf("%s: the successor survived reuse detection", name)
				}
			}
		})
	}
}

// none returns claims as an unsigned token (alg "none").
func none(t *testing.T, claims gojwt.MapClaims) string {
	t.Helper()
	s, err := gojwt.NewWithClaims(gojwt.SigningMethodNone, claims).SignedString(gojwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sessionReads counts the reads of single sessions.
type sessionReads struct {
	refreshing.Store
	reads atomic.Int64
}

func (c *sessionReads) Session(ctx context.Context, id string) (*refreshing.Session, error) {
	c.reads.Add(1)
	return c.Store.Session(ctx, id)
}

func (c *sessionReads) SessionWithUser(ctx context.Context, id string) (*refreshing.Session, *refreshing.User, error) {
	c.reads.Add(1)
	return c.Store.SessionWithUser(ctx, id)
}

// TestImportedRefusalAudited checks that the refusal of an imported
// (generation 0) token is recorded with the session and user it was about,
// and that recording reads nothing the exchange had not read already.
func TestImportedRefusalAudited(t *testing.T) {
	for _, stores := range importStores {
		t.Run(stores.name, func(t *testing.T) {
			ctx := t.Context()
			st, _ := stores.open(t)
			counted := &sessionReads{Store: st}
			e := newEnvOn(t, counted, nil)
			g := e.register(t, "ada")
			if res, err := e.svc.ImportToken(ctx, refreshing.ImportedToken{Token: "strapi-v4-token", UserID: g.User.ID,
				ExpiresAt: e.clock.Now().Add(time.Hour)}, false); err != nil || res != refreshing.ImportCreated {
				t.Fatalf("ImportToken = %v, %v", res, err)
			}
			e.clock.Add(2 * time.Hour)
			before := counted.reads.Load()
			if _, err := e.exchange(t, "strapi-v4-token"); refreshing.ExchangeOutcome(err) != refreshing.OutcomeExpired {
				t.Fatalf("the expired imported token: %v, want expired", err)
			}
			if got, want := counted.reads.Load()-before, int64(1); got != want {
				t.Errorf("the refused exchange read %d sessions, want %d (the exchange's own read)", got, want)
			}
			failed, err := e.svc.ListAudit(ctx, refreshing.AuditFilter{Type: refreshing.AuditExchangeFailed})
			if err != nil {
				t.Fatal(err)
			}
			if len(failed) != 1 {
				t.Fatalf("failed exchange events = %+v, want one", failed)
			}
			sessions, err := e.svc.ListSessions(ctx, refreshing.SessionFilter{UserID: g.User.ID})
			if err != nil {
				t.Fatal(err)
			}
			imported := ""
			for _, s := range sessions {
				if s.ID != g.Session.ID {
					imported = s.ID
				}
			}
			if ev := failed[0]; ev.UserID != g.User.ID || ev.SessionID == "" || ev.SessionID != imported || ev.Detail != string(refreshing.OutcomeExpired) {
				t.Errorf("the event = %+v, want user %d, session %q, expired", ev, g.User.ID, imported)
			}
		})
	}
}
