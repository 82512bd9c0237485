package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// strapiDB builds a Strapi-shaped SQLite database from one of
// internal/strapi's testdata scripts and returns its path.
func strapiDB(t *testing.T, script string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "..", "internal", "strapi", "testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "strapi.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(string(text)); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportStrapi(t *testing.T) {
	for script, users := range map[string]string{"v4.sql": "4", "v5.sql": "3"} {
		t.Run(script, func(t *testing.T) {
			from := strapiDB(t, script)
			db := filepath.Join(t.TempDir(), "refreshing.db")
			env := map[string]string{"REFRESHING_DB": "sqlite:" + db}
			cli := func(args ...string) (string, error) {
				var out bytes.Buffer
				err := run(context.Background(), args, func(k string) string { return env[k] }, &out, io.Discard)
				return out.String(), err
			}
			if _, err := cli("migrate"); err != nil { // only serve and migrate create a database
				t.Fatal(err)
			}
			out, err := cli("import", "strapi", "--from", from, "--dry-run")
			if err != nil || !strings.Contains(out, "dry run: nothing was written") || !strings.Contains(out, "would import "+users+",") {
				t.Fatalf("dry run: %v\n%s", err, out)
			}
			out, err = cli("import", "strapi", "--from", from)
			if err != nil {
				t.Fatalf("import: %v\n%s", err, out)
			}
			if !strings.Contains(out, "refresh tokens: imported 2, already here 0, skipped 1 (expired)") {
				t.Errorf("summary:\n%s", out)
			}
			again, err := cli("import", "strapi", "--from", from)
			if err != nil || !strings.Contains(again, "imported 0, already here "+users+",") || !strings.Contains(again, "refresh tokens: imported 0, already here 2") {
				t.Fatalf("second import changed something: %v\n%s", err, again)
			}

			in := start(t, db, nil)
			// The Strapi password works, by email or username.
			code, m := in.post(t, "/api/auth/local", "", map[string]any{"identifier": "Grace@example.com", "password": "grace-strapi-pw"})
			if code != http.StatusOK {
				t.Fatalf("login with the Strapi password: %d %v", code, m)
			}
			if user := m["user"].(map[string]any); user["id"] != float64(3) || user["username"] != "grace" {
				t.Errorf("user = %v, want Strapi's id 3", user)
			}
			code, m = in.post(t, "/api/auth/local", "", map[string]any{"identifier": "mallory", "password": "blocked-strapi-pw"})
			if code != http.StatusBadRequest || !strings.Contains(m["error"].(map[string]any)["message"].(string), "blocked") {
				t.Errorf("a blocked Strapi user: %d %v", code, m)
			}
			// The plugin's token keeps working and rotates into ours.
			code, m = in.post(t, "/api/auth/token", "", map[string]any{"token": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"})
			if code != http.StatusOK || !strings.HasPrefix(m["refreshToken"].(string), "rt_") {
				t.Fatalf("exchange of an imported token: %d %v", code, m)
			}
			code, _ = in.post(t, "/api/auth/token", "", map[string]any{"token": "e0e0e0e0-0000-4000-8000-000000000001"})
			if code != http.StatusUnauthorized {
				t.Errorf("an expired plugin token: %d, want 401", code)
			}
			in.stop(t)
			raw, err := os.ReadFile(db)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte("7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d")) || bytes.Contains(raw, []byte("2f1c4d3e-5b6a")) {
				t.Error("a plain plugin token is stored in the database")
			}
		})
	}
	t.Run("ErrUsage", func(t *testing.T) {
		env := map[string]string{"REFRESHING_DB": "sqlite:" + filepath.Join(t.TempDir(), "r.db")}
		for _, args := range [][]string{{"import"}, {"import", "strapi"}, {"import", "wordpress"}, {"import", "strapi", "--from", filepath.Join(t.TempDir(), "none.db")}} {
			if err := run(context.Background(), args, func(k string) string { return env[k] }, io.Discard, io.Discard); err == nil {
				t.Errorf("refreshing %v succeeded", args)
			}
		}
	})
}
