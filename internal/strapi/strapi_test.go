package strapi_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/refreshing/refreshing/internal/strapi"
)

// build creates a SQLite database at a temporary path from a testdata
// script, as Strapi would have left it, and returns the path.
func build(t *testing.T, script string) string {
	t.Helper()
	sqlText, err := os.ReadFile(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "strapi.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), string(sqlText)); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReader(t *testing.T) {
	ms := func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	for _, tc := range []struct {
		script  string
		version int
		users   []strapi.User
		tokens  []strapi.Token
	}{
		{"v4.sql", 4, []strapi.User{
			{ID: 3, Username: "grace", Email: "Grace@Example.com", Provider: "local", PasswordHash: "$2a$04$ehyNv706pJmGP4guno8WM.mwFLlpS/9aTrW0SB2exk4HP.TtwiRFW",
				Confirmed: true, Role: "editor", CreatedAt: ms(1675853412345), UpdatedAt: ms(1696258338123)},
			{ID: 7, Username: "linus", Email: "linus@example.com", Provider: "local", PasswordHash: "$2a$04$84euzxcoB2KTNjRu9Wvp4.9fErWdMzi1mXusR5AOlIYedc1MFHwsO",
				Role: "authenticated", CreatedAt: ms(1675853413000), UpdatedAt: ms(1675853413000)},
			{ID: 9, Username: "mallory", Email: "mallory@example.com", Provider: "local", PasswordHash: "$2a$04$4pHe/.XubE7vFg36WXOLzeyc7hwaewltKXgQdJS2SkxlA.qXrKI2q",
				Confirmed: true, Blocked: true, Role: "authenticated", CreatedAt: ms(1675853414000), UpdatedAt: ms(1675853414000)},
			{ID: 11, Username: "oauthie", Email: "oauthie@example.com", Provider: "google", Confirmed: true,
				CreatedAt: ms(1675853415000), UpdatedAt: ms(1675853415000)},
		}, []strapi.Token{
			{Token: "2f1c4d3e-5b6a-4c7d-8e9f-0a1b2c3d4e5f", UserID: 3, Description: "Refresh Token", UserAgent: "okhttp/4.9.3", IP: "203.0.113.9",
				CreatedAt: ms(1690000000000), LastActivity: ms(1696258338000)},
			{Token: "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", UserID: 7, Description: "iPad", UserAgent: "CFNetwork/1410", IP: "198.51.100.20",
				CreatedAt: ms(1690000001000), LastActivity: ms(1696258339000)},
			{Token: "e0e0e0e0-0000-4000-8000-000000000001", UserID: 3, Description: "old", UserAgent: "curl/8.0", IP: "192.0.2.1",
				CreatedAt: ms(1590000000000), LastActivity: ms(1599999999000), ExpiresAt: ms(1600000000000)},
			{Token: "ffffffff-0000-4000-8000-0000000000ff", Description: "orphan", UserAgent: "curl/8.0", IP: "192.0.2.1",
				CreatedAt: ms(1690000001000), LastActivity: ms(1696258339000)},
		}},
		{"v5.sql", 5, []strapi.User{
			{ID: 3, DocumentID: "k9x2m4n6b8v0c1z3l5j7h9g2", Username: "grace", Email: "grace@example.com", Provider: "local",
				PasswordHash: "$2a$04$ehyNv706pJmGP4guno8WM.mwFLlpS/9aTrW0SB2exk4HP.TtwiRFW", Confirmed: true, Role: "editor",
				CreatedAt: time.Date(2024, 10, 2, 8, 30, 0, 123e6, time.UTC), UpdatedAt: time.Date(2025, 1, 5, 9, 0, 0, 0, time.UTC)},
			{ID: 7, DocumentID: "p0o9i8u7y6t5r4e3w2q1a2s3", Username: "linus", Email: "linus@example.com", Provider: "local",
				PasswordHash: "$2a$04$84euzxcoB2KTNjRu9Wvp4.9fErWdMzi1mXusR5AOlIYedc1MFHwsO", Confirmed: true, Role: "authenticated",
				CreatedAt: time.Date(2024, 10, 3, 8, 30, 0, 0, time.UTC), UpdatedAt: time.Date(2024, 10, 3, 8, 30, 0, 0, time.UTC)},
			{ID: 9, DocumentID: "m1m2m3m4m5m6m7m8m9m0m1m2", Username: "mallory", Email: "mallory@example.com", Provider: "local",
				PasswordHash: "$2a$04$4pHe/.XubE7vFg36WXOLzeyc7hwaewltKXgQdJS2SkxlA.qXrKI2q", Confirmed: true, Blocked: true, Role: "authenticated",
				CreatedAt: time.Date(2024, 10, 4, 8, 30, 0, 0, time.UTC), UpdatedAt: time.Date(2024, 10, 4, 8, 30, 0, 0, time.UTC)},
		}, []strapi.Token{
			{Token: "2f1c4d3e-5b6a-4c7d-8e9f-0a1b2c3d4e5f", UserID: 3, Description: "Refresh Token", UserAgent: "okhttp/4.9.3", IP: "203.0.113.9",
				CreatedAt: time.Date(2024, 12, 1, 9, 0, 0, 0, time.UTC), LastActivity: time.Date(2025, 1, 5, 9, 0, 0, 0, time.UTC)},
			{Token: "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", UserID: 7, Description: "iPad", UserAgent: "CFNetwork/1410", IP: "198.51.100.20",
				CreatedAt: time.Date(2024, 12, 2, 9, 0, 0, 0, time.UTC), LastActivity: time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC),
				ExpiresAt: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)},
			{Token: "e0e0e0e0-0000-4000-8000-000000000001", UserID: 3, Description: "old", UserAgent: "curl/8.0", IP: "192.0.2.1",
				CreatedAt: time.Date(2020, 5, 20, 18, 40, 0, 0, time.UTC), LastActivity: time.Date(2020, 9, 13, 12, 26, 39, 0, time.UTC),
				ExpiresAt: time.Date(2020, 9, 13, 12, 26, 40, 0, time.UTC)},
		}},
	} {
		t.Run(tc.script, func(t *testing.T) {
			r, err := strapi.Open(t.Context(), "sqlite:"+build(t, tc.script))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Version() != tc.version || !r.HasTokens() {
				t.Fatalf("Version() = %d, HasTokens() = %v; want %d, true", r.Version(), r.HasTokens(), tc.version)
			}
			users, err := r.Users(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != len(tc.users) {
				t.Fatalf("%d users, want %d: %+v", len(users), len(tc.users), users)
			}
			for i := range users {
				if users[i] != tc.users[i] {
					t.Errorf("user %d:\n got %+v\nwant %+v", i, users[i], tc.users[i])
				}
			}
			tokens, err := r.Tokens(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(tokens) != len(tc.tokens) {
				t.Fatalf("%d tokens, want %d: %+v", len(tokens), len(tc.tokens), tokens)
			}
			for i := range tokens {
				if tokens[i] != tc.tokens[i] {
					t.Errorf("token %d:\n got %+v\nwant %+v", i, tokens[i], tc.tokens[i])
				}
			}
		})
	}
}

func TestOpen(t *testing.T) {
	t.Run("ErrNotStrapi", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "other.db")
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`CREATE TABLE things (id integer)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, err := strapi.Open(t.Context(), path); err == nil {
			t.Fatal("Open of a database without up_users succeeded")
		}
	})
	t.Run("ErrMissingFile", func(t *testing.T) {
		if _, err := strapi.Open(t.Context(), filepath.Join(t.TempDir(), "missing.db")); err == nil {
			t.Fatal("Open of a missing file succeeded (and may have created it)")
		}
	})
	t.Run("OKWithoutPlugin", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "noplugin.db")
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("CREATE TABLE `up_users` (`id` integer primary key, `username` varchar(255), `email` varchar(255), `password` varchar(255))"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		r, err := strapi.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if tokens, err := r.Tokens(t.Context()); err != nil || tokens != nil || r.HasTokens() {
			t.Fatalf("Tokens() = %v, %v without the plugin; want none", tokens, err)
		}
		if users, err := r.Users(t.Context()); err != nil || len(users) != 0 {
			t.Fatalf("Users() = %v, %v; want none", users, err)
		}
	})
}

// TestReaderStrapi554 reads the tables a real Strapi 5.54 app wrote
// (testdata/strapi554.sql): its sessions of users-permissions and the
// refresh-token plugin's rows, with their users.
func TestReaderStrapi554(t *testing.T) {
	r, err := strapi.Open(t.Context(), build(t, "strapi554.sql"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := r.Version(), 5; got != want {
		t.Errorf("Version = %d, want %d", got, want)
	}
	if r.HasTokens() || !r.HasSessions() || !r.HasPluginTokens() {
		t.Errorf("HasTokens, HasSessions, HasPluginTokens = %v, %v, %v; want false, true, true", r.HasTokens(), r.HasSessions(), r.HasPluginTokens())
	}
	users, err := r.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 4 || users[0].Username != "alice" || users[0].Role != "authenticated" || users[0].PasswordHash == "" {
		t.Errorf("Users = %+v, want alice, bob, carol and dave", users)
	}
	sessions, err := r.Sessions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]strapi.Session{}
	for _, s := range sessions {
		byID[s.SessionID] = s
	}
	// Ten active sessions; bob's first, rotated by a refresh in Strapi, is
	// not one (its child is), nor carol's, signed out (deleted).
	if len(sessions) != 10 {
		t.Errorf("%d sessions, want 10: %+v", len(sessions), sessions)
	}
	for _, gone := range []string{"6a83580999c3e28eea9bde223a0c8dac", "5c4e061f2ea13e35a1417841aa5acd6a"} {
		if _, ok := byID[gone]; ok {
			t.Errorf("session %s (rotated or signed out in Strapi) was read", gone)
		}
	}
	ms := func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	want := strapi.Session{UserID: 1, SessionID: "3d2cdb3d2319776f1da3ae811b9eb4f8", DeviceID: "alice-laptop", DeviceName: "Firefox on Linux",
		CreatedAt: ms(1796590816756), ExpiresAt: ms(4952350816756), AbsoluteExpiresAt: ms(4952350816756)}
	if got := byID[want.SessionID]; got != want {
		t.Errorf("alice's session = %+v, want %+v", got, want)
	}
	if got := byID["6d0d2798bd16eb286eef545dafcfa1be"]; got.UserID != 3 || !got.ExpiresAt.Equal(got.CreatedAt) {
		t.Errorf("carol's expired session = %+v, want user 3, expiring when created", got)
	}
	plugin, err := r.PluginTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantPlugin := []strapi.PluginToken{
		{UserID: 1, DocumentID: "j6yms0o67j205nmuj8orwmly", IP: "127.0.0.1", CreatedAt: ms(1796590817391)},
		{UserID: 4, DocumentID: "qld2b4r70ykat0lrwja9qjrs", IP: "127.0.0.1", CreatedAt: ms(1796590821227)},
	}
	if len(plugin) != len(wantPlugin) || plugin[0] != wantPlugin[0] || plugin[1] != wantPlugin[1] {
		t.Errorf("PluginTokens = %+v, want %+v", plugin, wantPlugin)
	}
}
