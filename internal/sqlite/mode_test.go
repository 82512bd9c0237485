//go:build unix

package sqlite_test

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// umask sets the process's umask for the test (it is process-wide, so the
// test must not run in parallel with one that creates files).
func umask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func TestFileModes(t *testing.T) {
	t.Run("OKNewFilesPrivate", func(t *testing.T) {
		// The database holds the signing key and the refresh-chain key:
		// under the usual umask, SQLite alone would create all three files
		// -rw-r--r--.
		umask(t, 0o022)
		path := filepath.Join(t.TempDir(), "data", "refreshing.db")
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// A write, so that the WAL and the shared-memory index exist.
		if err := s.CreateUser(t.Context(), &refreshing.User{Username: "alice", Email: "alice@example.com"}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
				t.Errorf("%s: mode %v, want %v", filepath.Base(name), got, want)
			}
		}
		if got, err := sqlite.Exposed(path + "?group_commit=off"); err != nil || len(got) != 0 {
			t.Errorf("Exposed = %q, %v; want none", got, err)
		}
	})
	t.Run("OKExistingModeKept", func(t *testing.T) {
		// An operator's file keeps its mode; Exposed names it, with the
		// WAL files SQLite created with the same mode.
		umask(t, 0o022)
		path := filepath.Join(t.TempDir(), "refreshing.db")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o644); got != want {
			t.Errorf("mode %v, want %v (unchanged)", got, want)
		}
		got, err := sqlite.Exposed(path)
		if want := []string{path, path + "-wal", path + "-shm"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("Exposed = %q, %v; want %q", got, err, want)
		}
	})
}
