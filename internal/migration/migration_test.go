package migration_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/refreshing/refreshing/internal/migration"
)

func TestLoad(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
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
	})
	for name, c := range map[string]struct {
		fs   fstest.MapFS
		want string
	}{
		"NoNumber":      {fstest.MapFS{"m/init.sql": {}}, "positive number"},
		"NoUnderscore":  {fstest.MapFS{"m/0001.sql": {}}, "positive number"},
		"Zero":          {fstest.MapFS{"m/0000_x.sql": {}}, "positive number"},
		"SharedVersion": {fstest.MapFS{"m/0001_a.sql": {}, "m/001_b.sql": {}}, "share version 1"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := migration.Load(c.fs, "m/*.sql"); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load: %v, want an error saying %q", err, c.want)
			}
		})
	}
}
