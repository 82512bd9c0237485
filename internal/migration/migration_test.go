package migration_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/refreshing/refreshing/internal/migration"
)

// TestLoad: migrations come in version order, other files are passed over,
// and a misnamed file or a version used twice is an error.
func TestLoad(t *testing.T) {
	bad := map[string]struct {
		fs   fstest.MapFS
		want string
	}{
		"NoNumber":      {fstest.MapFS{"m/init.sql": {}}, "positive number"},
		"NoUnderscore":  {fstest.MapFS{"m/0001.sql": {}}, "positive number"},
		"Zero":          {fstest.MapFS{"m/0000_x.sql": {}}, "positive number"},
		"SharedVersion": {fstest.MapFS{"m/0001_a.sql": {}, "m/001_b.sql": {}}, "share version 1"},
	}
	for name, c := range bad {
		if _, err := migration.Load(c.fs, "m/*.sql"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Load: %v, want an error saying %q", name, err, c.want)
		}
	}
	ms, err := migration.Load(fstest.MapFS{
		"m/0010_b.sql": {Data: []byte("B")},
		"m/0002_a.sql": {Data: []byte("A")},
		"m/README":     {Data: []byte("not a migration")},
	}, "m/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0] != (migration.File{Version: 2, Name: "0002_a.sql", SQL: "A"}) || ms[1].Version != 10 {
		t.Errorf("Load = %+v, want 0002 then 0010", ms)
	}
}
