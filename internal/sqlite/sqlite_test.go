package sqlite_test

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
	"github.com/refreshing/refreshing/internal/storetest"
)

// open returns a Store on a new file in a fresh temporary directory.
func open(t testing.TB) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "refreshing.db") // "data" does not exist yet
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, path
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) refreshing.Store {
		s, _ := open(t)
		return s
	})
}

// rawDB opens path directly with the driver, bypassing the Store, to look at
// what the Store wrote.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type migrationRecord struct {
	version   int
	appliedAt int64
}

func migrationRecords(t *testing.T, path string) []migrationRecord {
	t.Helper()
	rows, err := rawDB(t, path).QueryContext(t.Context(), `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var recs []migrationRecord
	for rows.Next() {
		var r migrationRecord
		if err := rows.Scan(&r.version, &r.appliedAt); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// migrationFiles counts the migrations the package embeds.
func migrationFiles(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	return len(files)
}

func TestOpen(t *testing.T) {
	t.Run("OKReopen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "refreshing.db")
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		u := &refreshing.User{Username: "alice", Email: "alice@example.com"}
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		before := migrationRecords(t, path)
		if got, want := len(before), migrationFiles(t); got != want || before[0].version != 1 {
			t.Fatalf("schema_migrations = %+v, want %d records from version 1", before, want)
		}

		s, err = sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got, err := s.UserByEmail(t.Context(), "alice@example.com")
		if err != nil {
			t.Fatalf("after reopening: %v", err)
		}
		if got.ID != u.ID {
			t.Errorf("after reopening, user ID = %d, want %d", got.ID, u.ID)
		}
		after := migrationRecords(t, path)
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("reopening changed schema_migrations from %+v to %+v", before, after)
		}
	})
	t.Run("OKPragmas", func(t *testing.T) {
		s, _ := open(t)
		// The writer has a single connection: a transaction holds it, so
		// these queries run on the very connection that writes.
		var got struct {
			journal             string
			synchronous, fk, ms int
		}
		err := sqlite.WriterTx(t.Context(), s, func(tx *sql.Tx) error {
			for _, q := range []struct {
				pragma string
				dst    any
			}{
				{"journal_mode", &got.journal},
				{"synchronous", &got.synchronous},
				{"foreign_keys", &got.fk},
				{"busy_timeout", &got.ms},
			} {
				if err := tx.QueryRowContext(t.Context(), "PRAGMA "+q.pragma).Scan(q.dst); err != nil {
					return fmt.Errorf("PRAGMA %s: %w", q.pragma, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.journal != "wal" {
			t.Errorf("journal_mode = %q, want wal", got.journal)
		}
		if got.synchronous != 2 {
			t.Errorf("synchronous = %d, want 2 (FULL)", got.synchronous)
		}
		if got.fk != 1 {
			t.Errorf("foreign_keys = %d, want 1", got.fk)
		}
		if got.ms != 10000 {
			t.Errorf("busy_timeout = %d, want 10000", got.ms)
		}
	})
	t.Run("OKConcurrent", func(t *testing.T) {
		// Instances starting at once on a new file all open it; the
		// migrations run once.
		path := filepath.Join(t.TempDir(), "refreshing.db")
		const n = 5
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				s, err := sqlite.Open(t.Context(), path)
				if err != nil {
					errs[i] = err
					return
				}
				errs[i] = s.Close()
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Open #%d: %v", i, err)
			}
		}
		if got, want := len(migrationRecords(t, path)), migrationFiles(t); got != want {
			t.Errorf("schema_migrations has %d records, want %d", got, want)
		}
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		// A file that cannot be created: its would-be directory is a
		// regular file.
		_, path := open(t)
		_, err := sqlite.Open(t.Context(), filepath.Join(path, "sub", "x.db"))
		if !errors.Is(err, refreshing.ErrUnavailable) {
			t.Fatalf("Open under a regular file: got %v, want ErrUnavailable", err)
		}
	})
}

func TestReadOnly(t *testing.T) {
	// A store that cannot write (read-only file system, mode=ro here, since
	// tests run as root and root ignores chmod) reports ErrUnavailable.
	s, path := open(t)
	u := &refreshing.User{Username: "alice", Email: "alice@example.com"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	ro, err := sqlite.OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.UserByID(t.Context(), u.ID); err != nil {
		t.Fatalf("reading a read-only store: %v", err)
	}
	writes := []struct {
		name string
		f    func() error
	}{
		{"CreateUser", func() error {
			return ro.CreateUser(t.Context(), &refreshing.User{Username: "bob", Email: "bob@example.com"})
		}},
		{"SaveSettings", func() error { return ro.SaveSettings(t.Context(), refreshing.DefaultSettings()) }},
		{"RotateSession", func() error {
			return ro.RotateSession(t.Context(), refreshing.Rotation{SessionID: "s", NewHash: []byte{1}})
		}},
	}
	for _, w := range writes {
		err := w.f()
		if !errors.Is(err, refreshing.ErrUnavailable) {
			t.Errorf("%s on a read-only store: got %v, want ErrUnavailable", w.name, err)
		}
	}
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// benchSession creates a user with one session and returns the session.
func benchSession(b *testing.B, s *sqlite.Store) *refreshing.Session {
	b.Helper()
	u := &refreshing.User{Username: "alice", Email: "alice@example.com"}
	if err := s.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	ss := &refreshing.Session{ID: "session", UserID: u.ID, CreatedAt: now, LastActivity: now,
		ExpiresAt: now.Add(720 * time.Hour), TokenHash: hash("0")}
	if err := s.CreateSession(b.Context(), ss, 0); err != nil {
		b.Fatal(err)
	}
	return ss
}

// BenchmarkRotateSession measures one durable rotation: a write transaction
// with an fsync of the WAL.
func BenchmarkRotateSession(b *testing.B) {
	s, _ := open(b)
	ss := benchSession(b, s)
	gen := int64(0)
	for b.Loop() {
		r := refreshing.Rotation{SessionID: ss.ID, Generation: gen, NewHash: hash(fmt.Sprint(gen + 1)), At: time.Now()}
		if err := s.RotateSession(b.Context(), r); err != nil {
			b.Fatal(err)
		}
		gen++
	}
}

// BenchmarkSession measures reading one session from the reader pool, in
// parallel.
func BenchmarkSession(b *testing.B) {
	s, _ := open(b)
	ss := benchSession(b, s)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Session(b.Context(), ss.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestOpenReadOnly checks what a dry run relies on: a missing file is
// ErrNotFound and is not created, an existing database is read without a
// byte changing on disk, and one that lacks migrations is refused, not
// migrated.
func TestOpenReadOnly(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none", "refreshing.db")
	if _, err := sqlite.OpenReadOnly(t.Context(), missing); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("OpenReadOnly of a missing file = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenReadOnly of a missing file created its directory (%v)", err)
	}

	s, path := open(t)
	if err := s.CreateUser(t.Context(), &refreshing.User{Username: "alice", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	list := func() map[string]string {
		out := map[string]string{}
		entries, _ := os.ReadDir(filepath.Dir(path))
		for _, e := range entries {
			info, _ := e.Info()
			b, _ := os.ReadFile(filepath.Join(filepath.Dir(path), e.Name()))
			out[e.Name()] = fmt.Sprintf("%d %v %x", info.Size(), info.ModTime(), sha256.Sum256(b))
		}
		return out
	}
	before := list()
	ro, err := sqlite.OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.UserByEmail(t.Context(), "alice@example.com"); err != nil {
		t.Errorf("reading through OpenReadOnly: %v", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if after := list(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("OpenReadOnly changed the files:\nbefore %v\nafter  %v", before, after)
	}

	// A database of an older release: the last migration forgotten.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.OpenReadOnly(t.Context(), path); err == nil || !strings.Contains(err.Error(), "refreshing migrate") {
		t.Errorf("OpenReadOnly of an unmigrated database = %v, want an error naming refreshing migrate", err)
	}
}
