package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refreshing/refreshing/internal/pgtest"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/sqlite"
	"github.com/spf13/cobra"
)

// runCLI runs one command line with env as the whole environment.
func runCLI(env map[string]string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// commandPaths lists every command of the tree, as argument lists.
func commandPaths() [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				walk(sub, append(append([]string{}, path...), sub.Name()))
			}
		}
	}
	walk((&app{sources: map[string]string{}}).commands(), nil)
	return out
}

// TestHelpEverywhere: --help, -h and `help` work on every command, exit 0,
// and list the flags with their variables; the commands that read runtime
// settings list those variables too.
func TestHelpEverywhere(t *testing.T) {
	paths := commandPaths()
	if len(paths) < 30 {
		t.Fatalf("only %d commands: %v", len(paths), paths)
	}
	for _, path := range paths {
		forms := [][]string{append(append([]string{}, path...), "--help"), append(append([]string{}, path...), "-h"), append([]string{"help"}, path...)}
		for _, args := range forms {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				out, _, err := runCLI(nil, args...)
				if err != nil {
					t.Fatalf("err = %v (exit %d)", err, exitCode(err))
				}
				for _, want := range []string{"Usage:", "--db", "[$REFRESHING_DB]", "Environment", "--help"} {
					if want == "Environment" && strings.Contains(out, "Configuration (docs/operations.md)") {
						continue
					}
					if !strings.Contains(out, want) {
						t.Errorf("help lacks %q:\n%s", want, out)
					}
				}
				if len(path) == 0 || path[0] == "serve" || path[0] == "config" {
					for _, want := range []string{"REFRESHING_ACCESS_TTL", "REFRESHING_RATE_LIMIT_IP", "REFRESHING_ADDR", "REFRESHING_REDIS", "flags > environment > stored settings"} {
						if !strings.Contains(out, want) {
							t.Errorf("help lacks %q:\n%s", want, out)
						}
					}
				}
			})
		}
	}
	t.Run("JSONEverywhere", func(t *testing.T) {
		groups := map[string]bool{} // commands with subcommands print no data
		for _, path := range paths {
			if len(path) > 1 {
				groups[strings.Join(path[:len(path)-1], " ")] = true
			}
		}
		for _, path := range paths {
			if len(path) < 2 || groups[strings.Join(path, " ")] || !slices.Contains([]string{"users", "sessions", "clients", "providers", "admins", "keys"}, path[0]) {
				continue
			}
			out, _, err := runCLI(nil, append(path, "--help")...)
			if err != nil || !strings.Contains(out, "--json") {
				t.Errorf("%v has no --json: %v", path, err)
			}
		}
	})
	t.Run("ServeFlagsWithEnv", func(t *testing.T) {
		out, _, err := runCLI(nil, "serve", "--help")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"--addr string", "[$REFRESHING_ADDR]", "--trusted-proxies", "[$REFRESHING_LOG_FORMAT]", "[$REFRESHING_JWT_SECRET]"} {
			if !strings.Contains(out, want) {
				t.Errorf("serve --help lacks %q", want)
			}
		}
	})
	t.Run("SecretNotShownAsDefault", func(t *testing.T) {
		out, _, err := runCLI(map[string]string{"REFRESHING_JWT_SECRET": "a-secret-of-thirty-two-bytes-ok!"}, "serve", "--help")
		if err != nil || strings.Contains(out, "a-secret-of") {
			t.Errorf("help shows the environment's secret: %v\n%s", err, out)
		}
	})
}

// TestMissingDatabase: every command but serve and migrate refuses a SQLite
// database that does not exist, naming its path, and creates nothing.
func TestMissingDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "elsewhere")
	db := filepath.Join(dir, "data", "refreshing.db")
	env := map[string]string{"REFRESHING_DB": "sqlite:" + db}
	for _, args := range [][]string{
		{"users", "list"}, {"users", "show", "--email", "a@example.com"}, {"users", "create", "--email", "a@example.com", "--username", "a", "--password", "correct horse"},
		{"users", "block", "--email", "a@example.com"}, {"users", "delete", "--id", "1"}, {"users", "set-password", "--id", "1", "--password", "correct horse"},
		{"sessions", "list"}, {"sessions", "revoke", "--id", "x"}, {"clients", "list"}, {"clients", "create", "--id", "spa"},
		{"admins", "list"}, {"admin", "create", "--email", "o@example.com", "--password", "long enough secret"},
		{"admins", "set-password", "--email", "o@example.com", "--password", "long enough secret"},
		{"keys", "list"}, {"keys", "rotate"}, {"import", "strapi", "--from", filepath.Join(dir, "strapi.db")},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, _, err := runCLI(env, args...)
			if !errors.Is(err, errNoDatabase) || !strings.Contains(err.Error(), db) || exitCode(err) != 1 {
				t.Fatalf("err = %v, want one naming %s", err, db)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s was created: %v", dir, err)
			}
		})
	}
	t.Run("OKConfigShowsDefaults", func(t *testing.T) {
		out, stderr, err := runCLI(env, "config")
		if err != nil || !strings.Contains(out, "accessTTL") || !strings.Contains(stderr, "does not exist yet") {
			t.Fatalf("config: %v\n%s\n%s", err, out, stderr)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("config created %s: %v", dir, err)
		}
	})
	t.Run("SQLiteFileWithoutTables", func(t *testing.T) {
		// An empty file, or another application's database: refused, and
		// left as it was (no Refreshing tables written into it).
		for _, name := range []string{"empty.db", "other.db"} {
			db := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(db, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if name == "other.db" {
				other, err := sql.Open("sqlite", db)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := other.Exec(`CREATE TABLE up_users (id INTEGER PRIMARY KEY)`); err != nil {
					t.Fatal(err)
				}
				other.Close()
			}
			_, _, err := runCLI(map[string]string{"REFRESHING_DB": "sqlite:" + db}, "users", "list")
			if !errors.Is(err, errNoDatabase) || !strings.Contains(err.Error(), "no Refreshing tables") || exitCode(err) != 1 {
				t.Errorf("users list on %s: %v", name, err)
			}
			if ok, err := sqlite.Initialized(t.Context(), db); ok || err != nil {
				t.Errorf("the refused command created the tables in %s: %v %v", name, ok, err)
			}
		}
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		dsn := pgtest.Schema(t) // an empty schema: the database exists, Refreshing's tables do not
		env := map[string]string{"REFRESHING_DB": dsn}
		_, _, err := runCLI(env, "users", "list")
		if !errors.Is(err, errNoDatabase) || !strings.Contains(err.Error(), "no Refreshing tables") {
			t.Fatalf("users list on an empty schema: %v", err)
		}
		if ok, err := postgres.Initialized(t.Context(), dsn); ok || err != nil {
			t.Fatalf("the refused command created the tables: %v %v", ok, err)
		}
		if _, _, err := runCLI(env, "migrate"); err != nil {
			t.Fatal(err)
		}
		if _, stderr, err := runCLI(env, "users", "list"); err != nil || !strings.Contains(stderr, "database: postgres://") {
			t.Fatalf("users list after migrate: %v, stderr %q", err, stderr)
		}
	})
	t.Run("OKNamesTheDatabase", func(t *testing.T) {
		if _, _, err := runCLI(env, "migrate"); err != nil {
			t.Fatal(err)
		}
		_, stderr, err := runCLI(env, "users", "list")
		if err != nil || !strings.Contains(stderr, "database: sqlite:"+db) {
			t.Fatalf("users list: %v, stderr %q", err, stderr)
		}
	})
}

// jwtLifetime returns exp - iat of a JWT, in seconds.
func jwtLifetime(t *testing.T, jwt string) float64 {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Exp, Iat float64 }
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Exp - c.Iat
}

// TestRestartWithChangedEnvironment is the operator's check from issue 19:
// a variable changed between two starts takes effect, and the log says which
// stored value it replaced; rate limits switched off by variables after an
// administrator was created from the CLI are off.
func TestRestartWithChangedEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "refreshing.db")
	in := start(t, db, nil)
	code, reg := in.post(t, "/api/auth/local/register", "", map[string]string{"username": "ada", "email": "ada@example.com", "password": "correct horse"})
	if code != 200 {
		t.Fatalf("register: %d %v", code, reg)
	}
	if got := jwtLifetime(t, reg["jwt"].(string)); got != 15*60 {
		t.Fatalf("default access token lifetime %vs", got)
	}
	in.stop(t)

	in = start(t, db, map[string]string{"REFRESHING_ACCESS_TTL": "1h", "REFRESHING_RATE_LIMIT_IP": "0", "REFRESHING_RATE_LIMIT_IDENTIFIER": "0"})
	code, login := in.post(t, "/api/auth/local", "", map[string]string{"identifier": "ada", "password": "correct horse"})
	if code != 200 {
		t.Fatalf("login: %d %v", code, login)
	}
	if got := jwtLifetime(t, login["jwt"].(string)); got != 3600 {
		t.Errorf("after a restart with REFRESHING_ACCESS_TTL=1h the access token lives %vs", got)
	}
	logs := in.logs.String()
	for _, want := range []string{"replaces the stored value", "setting=accessTTL", "env=REFRESHING_ACCESS_TTL", "stored=15m0s", "value=1h0m0s", "setting=rateLimitIP"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the start's logs lack %q:\n%s", want, logs)
		}
	}
	// More failed logins than the default budget (30 a minute per address): no 429.
	for i := range 35 {
		if code, _ := in.post(t, "/api/auth/local", "", map[string]string{"identifier": "ada", "password": "wrong password"}); code == http.StatusTooManyRequests {
			t.Fatalf("attempt %d: 429 with REFRESHING_RATE_LIMIT_IP=0", i+1)
		}
	}
	in.stop(t)

	// Without the variables the stored values stay (the environment put
	// them there), and the config command says where each comes from.
	out, _, err := runCLI(map[string]string{"REFRESHING_DB": "sqlite:" + db, "REFRESHING_REUSE_GRACE": "3s"}, "config", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep configReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]configEntry{}
	for _, e := range rep.Settings {
		got[e.Name] = e
	}
	if e := got["accessTTL"]; e.Value != "1h0m0s" || e.Source != "stored" {
		t.Errorf("accessTTL: %+v", e)
	}
	if e := got["reuseGrace"]; e.Value != "3s" || e.Source != "environment REFRESHING_REUSE_GRACE" || e.Stored != "10s" {
		t.Errorf("reuseGrace: %+v", e)
	}
}

// TestConfigCommand: sources of bootstrap values, and secrets masked.
func TestConfigCommand(t *testing.T) {
	secret := "a-secret-of-thirty-two-bytes-ok!"
	env := map[string]string{
		"REFRESHING_DB":         "postgres://app:hunter2hunter2@db.example.com/refreshing",
		"REFRESHING_JWT_SECRET": secret,
		"REFRESHING_REDIS":      "redis://:redispassword@cache:6379/0",
		"REFRESHING_ACCESS_TTL": "5m",
		"REFRESHING_SMTP_URL":   "smtp://mailer:smtppassword@mail.example.com:587",
		"REFRESHING_MAIL_FROM":  "Example <no-reply@example.com>",
	}
	// The flag --db (a missing SQLite file: nothing to open) wins over
	// REFRESHING_DB, whose password redactDSN is checked on below.
	missing := filepath.Join(t.TempDir(), "none.db")
	out, _, err := runCLI(env, "config", "--json", "--db", "sqlite:"+missing, "--addr", ":8080")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{secret, "redispassword", "smtppassword"} {
		if strings.Contains(out, s) {
			t.Errorf("config prints a secret (%.6s...):\n%s", s, out)
		}
	}
	var rep configReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]configEntry{}
	for _, e := range rep.Bootstrap {
		got[e.Name] = e
	}
	for name, want := range map[string]configEntry{
		"addr":       {Value: ":8080", Source: "flag --addr"},
		"db":         {Value: "sqlite:" + missing, Source: "flag --db"},
		"jwt-secret": {Value: "(set, 32 bytes, not shown)", Source: "environment REFRESHING_JWT_SECRET"},
		"redis":      {Value: "redis://:xxxxx@cache:6379/0", Source: "environment REFRESHING_REDIS"},
		"log-level":  {Value: "info", Source: "default"},
		// Mail: variables only (mail.go), with the sender's defaults.
		"smtp-url":          {Value: "smtp://mailer:xxxxx@mail.example.com:587", Source: "environment REFRESHING_SMTP_URL"},
		"mail-from":         {Value: "Example <no-reply@example.com>", Source: "environment REFRESHING_MAIL_FROM"},
		"mail-poll":         {Value: "2s", Source: "default"},
		"mail-max-attempts": {Value: "10", Source: "default"},
	} {
		if e := got[name]; e.Value != want.Value || e.Source != want.Source {
			t.Errorf("%s = %+v, want %+v", name, e, want)
		}
	}
	if rep.Exists || rep.Settings[0].Name != "accessTTL" || rep.Settings[0].Value != "5m0s" || rep.Settings[0].Source != "environment REFRESHING_ACCESS_TTL" {
		t.Errorf("settings: %+v", rep.Settings[:1])
	}
	// The password policy is not a secret: its name says "password", its
	// value is a length and a switch.
	for _, e := range rep.Settings {
		if (e.Name == "passwordMinLength" && e.Value != "8") || (e.Name == "passwordRefuseCommon" && e.Value != "true") {
			t.Errorf("%s = %q, want its value shown", e.Name, e.Value)
		}
	}
	if redactDSN(env["REFRESHING_DB"]) != "postgres://app:xxxxx@db.example.com/refreshing" {
		t.Errorf("redactDSN = %q", redactDSN(env["REFRESHING_DB"]))
	}
	t.Run("Text", func(t *testing.T) {
		out, _, err := runCLI(env, "config", "--db", "sqlite:"+missing)
		if err != nil || !strings.Contains(out, "RUNTIME SETTING") || !strings.Contains(out, "environment REFRESHING_ACCESS_TTL") || strings.Contains(out, secret) {
			t.Errorf("config: %v\n%s", err, out)
		}
	})
	t.Run("ErrBadVariable", func(t *testing.T) {
		for v, bad := range map[string]string{"REFRESHING_ROTATION": "perhaps", "REFRESHING_MAIL_POLL": "often", "REFRESHING_SMTP_URL": "ftp://mail.example.com"} {
			_, _, err := runCLI(map[string]string{v: bad}, "config", "--db", "sqlite:"+missing)
			if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), v) {
				t.Errorf("%s=%s: err = %v", v, bad, err)
			}
		}
	})
}

// TestManagementCommands runs the users, sessions and keys commands with
// --json against a database a server wrote, and the admins and clients
// commands when this build's Service has their methods (the admin API's).
func TestManagementCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "refreshing.db")
	in := start(t, db, nil)
	if code, reg := in.post(t, "/api/auth/local/register", "", map[string]string{"username": "ada", "email": "ada@example.com", "password": "correct horse"}); code != 200 {
		t.Fatalf("register: %d %v", code, reg)
	}
	in.stop(t)
	env := map[string]string{"REFRESHING_DB": "sqlite:" + db}
	cli := func(args ...string) string {
		t.Helper()
		out, _, err := runCLI(env, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	decode := func(out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
	}

	cli("users", "create", "--username", "bob", "--email", "bob@example.com", "--password", "correct horse")
	var users []userJSON
	decode(cli("users", "list", "--json"), &users)
	if len(users) != 2 || users[0].Email != "ada@example.com" || users[1].Username != "bob" {
		t.Fatalf("users list: %+v", users)
	}
	var shown struct {
		userJSON
		Sessions []sessionJSON `json:"sessions"`
	}
	decode(cli("users", "show", "--username", "ada", "--json"), &shown)
	if shown.ID != users[0].ID || len(shown.Sessions) != 1 || shown.Sessions[0].Device == "" {
		t.Fatalf("users show: %+v", shown)
	}
	if out := cli("users", "list", "--json"); strings.Contains(out, "argon2") {
		t.Error("users list prints password hashes")
	}
	var sessions []sessionJSON
	decode(cli("sessions", "list", "--json", "--email", "ada@example.com"), &sessions)
	if len(sessions) != 1 || sessions[0].ID != shown.Sessions[0].ID {
		t.Fatalf("sessions list: %+v", sessions)
	}
	var blocked userJSON
	decode(cli("users", "block", "--email", "bob@example.com", "--json"), &blocked)
	if !blocked.Blocked {
		t.Errorf("users block: %+v", blocked)
	}
	var revoked map[string]any
	decode(cli("sessions", "revoke", "--email", "ada@example.com", "--json"), &revoked)
	if revoked["revoked"] != 1.0 {
		t.Errorf("sessions revoke: %v", revoked)
	}
	cli("users", "delete", "--email", "bob@example.com")
	if _, _, err := runCLI(env, "users", "show", "--email", "bob@example.com"); !errors.Is(err, errNoUser) {
		t.Errorf("deleted user: %v", err)
	}

	var keys []keyJSON
	decode(cli("keys", "list", "--json"), &keys)
	if len(keys) != 1 || keys[0].State != "signing" || keys[0].Algorithm != "EdDSA" {
		t.Fatalf("keys list: %+v", keys)
	}
	var rotated struct{ Kid string }
	decode(cli("keys", "rotate", "--json"), &rotated)
	decode(cli("keys", "list", "--json"), &keys)
	if len(keys) != 2 || keys[0].ID != rotated.Kid || keys[0].State != "signing" || keys[1].State == "signing" {
		t.Fatalf("keys list after rotate: %+v", keys)
	}
	if out := cli("keys", "list"); strings.Contains(out, "Material") || !strings.Contains(out, rotated.Kid) {
		t.Errorf("keys list:\n%s", out)
	}

	var created clientJSON
	decode(cli("clients", "create", "--id", "backend", "--secret", "", "--json"), &created)
	if !created.Confidential || len(created.Secret) < 32 {
		t.Fatalf("clients create --json: %+v", created)
	}
	var admin adminJSON
	decode(cli("admins", "create", "--email", "ops@example.com", "--password", "operator password 1", "--json"), &admin)
	if admin.Email != "ops@example.com" {
		t.Fatalf("admins create: %+v", admin)
	}

	// The commands on the admin API's Service methods.
	var clients []clientJSON
	decode(cli("clients", "list", "--json"), &clients)
	if len(clients) != 1 || clients[0].ID != "backend" || clients[0].Secret != "" {
		t.Fatalf("clients list: %+v", clients)
	}
	decode(cli("clients", "show", "--id", "backend", "--json"), &created)
	cli("clients", "delete", "--id", "backend")
	if _, _, err := runCLI(env, "clients", "show", "--id", "backend"); err == nil {
		t.Error("deleted client still shown")
	}
	var admins []adminJSON
	decode(cli("admins", "list", "--json"), &admins)
	if len(admins) != 1 || admins[0].Email != "ops@example.com" {
		t.Fatalf("admins list: %+v", admins)
	}
	cli("admins", "set-password", "--email", "ops@example.com", "--password", "a new operator password")
	cli("users", "set-password", "--email", "ada@example.com", "--password", "a new user password")

	in = start(t, db, nil)
	if code, _ := in.post(t, "/api/auth/local", "", map[string]string{"identifier": "ada", "password": "a new user password"}); code != 200 {
		t.Errorf("login with the password set by the CLI: %d", code)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(in.url+"/admin/login", map[string][]string{"email": {"ops@example.com"}, "password": {"a new operator password"}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("admin login with the reset password: %d", resp.StatusCode)
	}
}

func TestDefaultCommand(t *testing.T) {
	for _, tc := range []struct{ args, want []string }{
		{nil, []string{"serve"}},
		{[]string{"--addr", ":8080"}, []string{"serve", "--addr", ":8080"}},
		{[]string{"-h"}, []string{"-h"}},
		{[]string{"--help"}, []string{"--help"}},
		{[]string{"users", "list"}, []string{"users", "list"}},
	} {
		if got := defaultCommand(tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("defaultCommand(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
