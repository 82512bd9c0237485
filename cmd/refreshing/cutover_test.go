package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing/internal/pgtest"
)

// strapi554 is what a real Strapi 5.54 app issued before the cutover
// (internal/strapi/testdata/strapi554-tokens.json): its refresh tokens, as
// its clients hold them, and the secrets it signed them with.
type strapi554 struct {
	StrapiJWTSecret string `json:"strapiJwtSecret"`
	PluginSecret    string `json:"pluginSecret"`
	Users           struct {
		Alice struct{ Session, Plugin string }
		Bob   struct {
			Session, SessionRotated, AccessJWT string
		}
		Carol struct{ SessionLoggedOut, SessionExpired string }
		Dave  struct{ Plugin, PluginRotated string }
	}
}

func loadStrapi554(t *testing.T) strapi554 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "strapi", "testdata", "strapi554-tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f strapi554
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.Users.Alice.Session == "" || f.Users.Dave.Plugin == "" || f.Users.Bob.AccessJWT == "" {
		t.Fatal("strapi554-tokens.json lacks tokens")
	}
	return f
}

// cutoverEnv is the environment of an instance on dsn that verifies the
// imported Strapi tokens; extra is added to it.
func cutoverEnv(f strapi554, dsn string, extra ...string) map[string]string {
	env := map[string]string{
		"REFRESHING_DB":                    dsn,
		"REFRESHING_STRAPI_JWT_SECRET":     f.StrapiJWTSecret,
		"REFRESHING_STRAPI_REFRESH_SECRET": f.PluginSecret,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// importCLI runs `refreshing import strapi` with env and args.
func importCLI(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"import", "strapi"}, args...), func(k string) string { return env[k] }, &out, io.Discard)
	if err != nil {
		t.Fatalf("import strapi %v: %v\n%s", args, err, out.String())
	}
	return out.String()
}

// migrateCLI runs refreshing migrate with env: import strapi, as every
// command but serve and migrate, needs an existing database.
func migrateCLI(t *testing.T, env map[string]string) {
	t.Helper()
	if err := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
}

// TestStrapi5Cutover imports what a real Strapi 5.54 app left (its
// sessions of jwtManagement "refresh" and the refresh-token plugin's
// tokens) and exchanges the tokens its clients hold, through a real
// listener, on both stores: each works once at its usual path, returns a
// token of ours, and is then retired like any of ours.
func TestStrapi5Cutover(t *testing.T) {
	f := loadStrapi554(t)
	for _, store := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"SQLite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "refreshing.db") }},
		{"PostgreSQL", func(t *testing.T) string { return pgtest.Schema(t) }},
	} {
		t.Run(store.name, func(t *testing.T) {
			t.Run("OK", func(t *testing.T) {
				dsn := store.dsn(t)
				from := strapiDB(t, "strapi554.sql")
				env := cutoverEnv(f, dsn)
				migrateCLI(t, env)
				out := importCLI(t, env, "--from", from)
				for _, want := range []string{
					"Strapi v5 users: imported 4, already here 0",
					"refresh tokens: none",
					"Strapi 5 sessions: imported 9, already here 0, skipped 1 (expired), 0 (no imported user), 0 (invalid)",
					"refresh-token plugin tokens: imported 2, already here 0, skipped 0 (expired)",
				} {
					if !strings.Contains(out, want) {
						t.Errorf("summary lacks %q:\n%s", want, out)
					}
				}

				// Without Strapi's secrets, Strapi's tokens cannot be told from
				// forgeries: refused, and left as they were.
				bare := startWith(t, map[string]string{"REFRESHING_DB": dsn})
				if code, m := bare.post(t, "/api/auth/refresh", "", map[string]any{"refreshToken": f.Users.Alice.Session}); code != http.StatusUnauthorized {
					t.Errorf("a Strapi session token without REFRESHING_STRAPI_JWT_SECRET: %d %v, want 401", code, m)
				}
				bare.stop(t)

				in := startWith(t, env)
				// The password Strapi 5.54 hashed logs in as it is.
				if code, m := in.post(t, "/api/auth/local", "", map[string]any{"identifier": "alice@example.com", "password": "alice-strapi-pw"}); code != http.StatusOK {
					t.Errorf("login with alice's Strapi password: %d %v", code, m)
				}
				// A Strapi 5 session's token, at Strapi 5's path: once, into our chain.
				code, m := in.post(t, "/api/auth/refresh", "", map[string]any{"refreshToken": f.Users.Alice.Session})
				rt, _ := m["refreshToken"].(string)
				if code != http.StatusOK || !strings.HasPrefix(rt, "rt_") || m["jwt"] == nil {
					t.Fatalf("exchange of alice's Strapi session token: %d %v", code, m)
				}
				if code, me := in.get(t, "/api/users/me", m["jwt"].(string)); code != http.StatusOK || me.(map[string]any)["username"] != "alice" {
					t.Errorf("/api/users/me with the new access token: %d %v", code, me)
				}
				// A racing tab presenting it again within the grace window gets
				// the same successor.
				code, again := in.post(t, "/api/auth/refresh", "", map[string]any{"refreshToken": f.Users.Alice.Session})
				if code != http.StatusOK || again["refreshToken"] != rt {
					t.Errorf("alice's Strapi token again within the grace window: %d %v, want the same successor", code, again)
				}
				// Ours goes on, at that path or any other.
				code, m = in.post(t, "/api/auth/refresh", "", map[string]any{"refreshToken": rt})
				if next, _ := m["refreshToken"].(string); code != http.StatusOK || !strings.HasPrefix(next, "rt_") || next == rt {
					t.Errorf("exchange of the successor: %d %v", code, m)
				}

				// The refresh-token plugin's token, at the plugin's path.
				code, m = in.post(t, "/api/auth/local/refresh", "", map[string]any{"refreshToken": f.Users.Dave.Plugin})
				rt, _ = m["refreshToken"].(string)
				if code != http.StatusOK || !strings.HasPrefix(rt, "rt_") || m["jwt"] == nil {
					t.Fatalf("exchange of dave's plugin token: %d %v", code, m)
				}
				code, m = in.post(t, "/api/auth/local/refresh", "", map[string]any{"refreshToken": rt})
				if code != http.StatusOK || !strings.HasPrefix(m["refreshToken"].(string), "rt_") {
					t.Errorf("the plugin's clients go on with ours at its path: %d %v", code, m)
				}
				if code, me := in.get(t, "/api/users/me", m["jwt"].(string)); code != http.StatusOK || me.(map[string]any)["username"] != "dave" {
					t.Errorf("/api/users/me as dave: %d %v", code, me)
				}
				code, m = in.post(t, "/api/auth/local/refresh", "", map[string]any{"refreshToken": f.Users.Alice.Plugin})
				if code != http.StatusOK || !strings.HasPrefix(m["refreshToken"].(string), "rt_") {
					t.Errorf("exchange of alice's plugin token: %d %v", code, m)
				}
				// A new Strapi 5.54 app keeps the refresh token in the
				// httpOnly cookie strapi_up_refresh (sessions.httpOnly): sent
				// to the same origin, it goes on the same way, cookie to cookie.
				req, _ := http.NewRequest(http.MethodPost, in.url+"/api/auth/refresh", nil)
				req.Header.Set("Origin", in.url)
				req.AddCookie(&http.Cookie{Name: "strapi_up_refresh", Value: f.Users.Bob.Session})
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				var next *http.Cookie
				for _, c := range resp.Cookies() {
					if c.Name == "strapi_up_refresh" {
						next = c
					}
				}
				if resp.StatusCode != http.StatusOK || next == nil || !strings.HasPrefix(next.Value, "rt_") || !next.HttpOnly {
					t.Errorf("exchange of bob's Strapi token from the cookie: %d, cookie %v", resp.StatusCode, next)
				}

				// What Strapi had already ended, and what is no refresh token.
				tampered := strings.Split(f.Users.Alice.Session, ".")
				tampered[1] = strings.Split(f.Users.Bob.Session, ".")[1]
				for name, tc := range map[string]struct{ path, token string }{
					"rotated in Strapi":          {"/api/auth/refresh", f.Users.Bob.SessionRotated},
					"signed out in Strapi":       {"/api/auth/refresh", f.Users.Carol.SessionLoggedOut},
					"expired in Strapi":          {"/api/auth/refresh", f.Users.Carol.SessionExpired},
					"plugin row rotated":         {"/api/auth/local/refresh", f.Users.Dave.PluginRotated},
					"Strapi access token":        {"/api/auth/refresh", f.Users.Bob.AccessJWT},
					"alice's header, bob's body": {"/api/auth/refresh", strings.Join(tampered, ".")},
					"empty":                      {"/api/auth/local/refresh", ""},
				} {
					code, m := in.post(t, tc.path, "", map[string]any{"refreshToken": tc.token})
					e, _ := m["error"].(map[string]any)
					if code != http.StatusUnauthorized || e == nil || e["name"] != "UnauthorizedError" {
						t.Errorf("%s: %d %v, want 401 in Strapi's error shape", name, code, m)
					}
				}
				in.stop(t)

				if path, ok := sqlitePath(dsn); ok {
					// Only hashes are stored: no token, session id or document id.
					var raw []byte
					for _, p := range []string{path, path + "-wal"} {
						b, _ := os.ReadFile(p)
						raw = append(raw, b...)
					}
					for _, secret := range []string{f.Users.Alice.Session, f.Users.Dave.Plugin, "3d2cdb3d2319776f1da3ae811b9eb4f8", "qld2b4r70ykat0lrwja9qjrs"} {
						if bytes.Contains(raw, []byte(secret)) {
							t.Errorf("%.20s... is stored in plain text", secret)
						}
					}
				}
				if again := importCLI(t, env, "--from", from); !strings.Contains(again, "Strapi 5 sessions: imported 0, already here 9") ||
					!strings.Contains(again, "refresh-token plugin tokens: imported 0, already here 2") {
					t.Errorf("a second import changed something:\n%s", again)
				}
			})
			t.Run("ErrReuseDetected", func(t *testing.T) {
				// No grace window: presenting a Strapi token a second time is
				// theft, and ends the session its first exchange continued.
				dsn := store.dsn(t)
				env := cutoverEnv(f, dsn, "REFRESHING_REUSE_GRACE", "0s")
				migrateCLI(t, env)
				importCLI(t, env, "--from", strapiDB(t, "strapi554.sql"))
				in := startWith(t, env)
				for _, tc := range []struct{ path, token string }{
					{"/api/auth/refresh", f.Users.Alice.Session},
					{"/api/auth/local/refresh", f.Users.Alice.Plugin},
				} {
					code, m := in.post(t, tc.path, "", map[string]any{"refreshToken": tc.token})
					if code != http.StatusOK {
						t.Fatalf("first exchange at %s: %d %v", tc.path, code, m)
					}
					rt := m["refreshToken"].(string)
					if code, m := in.post(t, tc.path, "", map[string]any{"refreshToken": tc.token}); code != http.StatusUnauthorized {
						t.Errorf("the Strapi token again at %s: %d %v, want 401", tc.path, code, m)
					}
					if code, m := in.post(t, tc.path, "", map[string]any{"refreshToken": rt}); code != http.StatusUnauthorized {
						t.Errorf("the successor after reuse at %s: %d %v, want 401 (session revoked)", tc.path, code, m)
					}
				}
			})
		})
	}
}

// TestImportDryRun checks that a dry run writes nothing at all: no
// database is created for a new target, and an existing one is left byte
// for byte, while the summary says what a real run would do.
func TestImportDryRun(t *testing.T) {
	f := loadStrapi554(t)
	from := strapiDB(t, "strapi554.sql")
	t.Run("SQLite", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		db := filepath.Join(dir, "refreshing.db")
		env := cutoverEnv(f, "sqlite:"+db)
		out := importCLI(t, env, "--from", from, "--dry-run")
		for _, want := range []string{"dry run: nothing was written", "would import 4,", "Strapi 5 sessions: would import 9, already here 0, skipped 1 (expired)", "refresh-token plugin tokens: would import 2"} {
			if !strings.Contains(out, want) {
				t.Errorf("dry run against a new database: summary lacks %q:\n%s", want, out)
			}
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a dry run against a new database created %s (%v)", dir, err)
		}

		migrateCLI(t, env)
		importCLI(t, env, "--from", from)
		before := snapshot(t, dir)
		out = importCLI(t, env, "--from", from, "--dry-run")
		if !strings.Contains(out, "would import 0, already here 4") || !strings.Contains(out, "Strapi 5 sessions: would import 0, already here 9") {
			t.Errorf("dry run against the imported database:\n%s", out)
		}
		if after := snapshot(t, dir); !equalSnapshots(before, after) {
			t.Errorf("a dry run changed the database's files:\nbefore %v\nafter  %v", before, after)
		}
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		dsn := pgtest.Schema(t)
		env := cutoverEnv(f, dsn)
		if out := importCLI(t, env, "--from", from, "--dry-run"); !strings.Contains(out, "would import 4,") {
			t.Errorf("dry run against an empty schema:\n%s", out)
		}
		if n := countTables(t, dsn); n != 0 {
			t.Fatalf("a dry run against an empty schema created %d tables", n)
		}
		migrateCLI(t, env)
		importCLI(t, env, "--from", from)
		count := func() (n int) {
			t.Helper()
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.QueryRow(`SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM sessions) + (SELECT n FROM auth_revision)`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := count()
		if out := importCLI(t, env, "--from", from, "--dry-run"); !strings.Contains(out, "would import 0, already here 4") {
			t.Errorf("dry run against the imported schema:\n%s", out)
		}
		if after := count(); after != before {
			t.Errorf("a dry run changed the database: %d rows and revisions before, %d after", before, after)
		}
	})
}

// fileState is what snapshot records of a file.
type fileState struct {
	size    int64
	modTime time.Time
	sum     string
}

// snapshot records every file in dir, with its size, time and contents.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fileState{size: info.Size(), modTime: info.ModTime(), sum: fmt.Sprintf("%x", sha256.Sum256(b))}
	}
	return out
}

func equalSnapshots(a, b map[string]fileState) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// countTables counts the tables of the schema dsn's search_path selects.
func countTables(t *testing.T, dsn string) (n int) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
