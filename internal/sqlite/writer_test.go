package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
	"github.com/refreshing/refreshing/internal/storetest"
)

// TestStoreGroupCommitOff runs the conformance suite with every write in a
// transaction of its own (TestStore covers the default, group commit on).
func TestStoreGroupCommitOff(t *testing.T) {
	storetest.Run(t, func(t *testing.T) refreshing.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "refreshing.db")+"?group_commit=off")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestOpenOptions(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, opt := range []string{"group_commit=off", "group_commit=on", ""} {
			dir := t.TempDir()
			s, err := sqlite.Open(t.Context(), filepath.Join(dir, "r.db")+"?"+opt)
			if err != nil {
				t.Fatalf("%q: %v", opt, err)
			}
			s.Close()
			if _, err := os.Stat(filepath.Join(dir, "r.db")); err != nil {
				t.Errorf("%q: the database is not at the path before the options: %v", opt, err)
			}
		}
	})
	t.Run("ErrBadOption", func(t *testing.T) {
		for _, opt := range []string{"group_commit=maybe", "group_commit=on&group_commit=off", "cache=shared", "%zz"} {
			dir := t.TempDir()
			s, err := sqlite.Open(t.Context(), filepath.Join(dir, "r.db")+"?"+opt)
			if err == nil {
				s.Close()
				t.Errorf("%q: Open succeeded, want an error", opt)
				continue
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("%q: a refused Open created %s", opt, entries[0].Name())
			}
		}
	})
}

// writerFixture is a store with n users, each with one session at generation 0.
type writerFixture struct {
	s   *sqlite.Store
	ids []string
}

func newWriterFixture(t *testing.T, dsnOptions string, n int) *writerFixture {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "refreshing.db")+dsnOptions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &writerFixture{s: s}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range n {
		u := &refreshing.User{Username: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i)}
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		ss := &refreshing.Session{ID: fmt.Sprintf("s%d", i), UserID: u.ID, CreatedAt: now, LastActivity: now, TokenHash: hash(fmt.Sprintf("s%d/0", i))}
		if err := s.CreateSession(t.Context(), ss, 0); err != nil {
			t.Fatal(err)
		}
		f.ids = append(f.ids, ss.ID)
	}
	return f
}

// rotation is the first rotation of session id.
func rotation(id string) refreshing.Rotation {
	return refreshing.Rotation{SessionID: id, Generation: 0, NewHash: hash(id + "/1"), At: time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)}
}

// generations returns the stored generation of each of f's sessions.
func (f *writerFixture) generations(t *testing.T) []int64 {
	t.Helper()
	var gens []int64
	for _, id := range f.ids {
		ss, err := f.s.Session(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		gens = append(gens, ss.Generation)
	}
	return gens
}

// hold occupies the writer with a write that lasts until release is called,
// so that the writes issued meanwhile queue up and form one batch.
func hold(t *testing.T, s *sqlite.Store) (release func()) {
	t.Helper()
	started, stop := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- sqlite.WriterDo(context.Background(), s, func(ctx context.Context, tx *sql.Tx) error {
			close(started)
			<-stop
			return nil
		})
	}()
	<-started
	return func() {
		close(stop)
		if err := <-errc; err != nil {
			t.Errorf("holding write: %v", err)
		}
	}
}

// waitQueued waits until n writes are queued behind the writer.
func waitQueued(t *testing.T, s *sqlite.Store, n int) {
	t.Helper()
	for sqlite.Queued(s) < n {
		if t.Context().Err() != nil {
			t.Fatalf("only %d writes queued, want %d", sqlite.Queued(s), n)
		}
		runtime.Gosched()
	}
}

// rotateAll rotates each of f's sessions concurrently and returns each
// caller's result, after start has been called with the rotations in flight.
func (f *writerFixture) rotateAll(t *testing.T, start func()) []error {
	t.Helper()
	errs := make([]error, len(f.ids))
	var wg sync.WaitGroup
	for i, id := range f.ids {
		wg.Go(func() { errs[i] = f.s.RotateSession(t.Context(), rotation(id)) })
	}
	start()
	wg.Wait()
	return errs
}

// poison is a write whose own statements succeed but whose transaction
// cannot commit: a session of a user that does not exist, with the foreign
// key check deferred to COMMIT.
func poison(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, client_id, device_id, description, user_agent, ip,
		created_at, last_activity, generation, token_hash) VALUES ('orphan', 424242, '', '', '', '', '', 0, 0, 0, x'00')`)
	return err
}

func TestGroupCommit(t *testing.T) {
	const n = 20
	t.Run("OKBatchOfRotations", func(t *testing.T) {
		f := newWriterFixture(t, "", n)
		before := f.s.WriterStats()
		release := hold(t, f.s)
		errs := f.rotateAll(t, func() {
			waitQueued(t, f.s, n)
			release()
		})
		// The holding write, then the n rotations in one transaction.
		after := f.s.WriterStats()
		if commits, writes := after.Commits-before.Commits, after.Writes-before.Writes; commits != 2 || writes != n+1 {
			t.Errorf("%d writes in %d commits, want %d in 2", writes, commits, n+1)
		}
		for i, err := range errs {
			if err != nil {
				t.Errorf("rotation of %s: %v", f.ids[i], err)
			}
		}
		for i, g := range f.generations(t) {
			if g != 1 {
				t.Errorf("%s: generation %d after its rotation, want 1", f.ids[i], g)
			}
		}
	})
	t.Run("ErrCommitFailsEveryCaller", func(t *testing.T) {
		// The poison and n rotations share one transaction, whose COMMIT
		// fails: every rotation must be told so, and none stored.
		f := newWriterFixture(t, "", n)
		release := hold(t, f.s)
		poisonErr := make(chan error, 1)
		go func() { poisonErr <- sqlite.WriterDo(t.Context(), f.s, poison) }()
		waitQueued(t, f.s, 1)
		errs := f.rotateAll(t, func() {
			waitQueued(t, f.s, n+1)
			release()
		})
		if err := <-poisonErr; err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
			t.Errorf("poisoned write: got %v, want the failed commit's FOREIGN KEY error", err)
		}
		for i, err := range errs {
			if err == nil {
				t.Errorf("rotation of %s acknowledged, but its transaction did not commit", f.ids[i])
			}
		}
		for i, g := range f.generations(t) {
			if g != 0 {
				t.Errorf("%s: generation %d, want 0: a rotation survived a failed commit", f.ids[i], g)
			}
		}
		if _, err := f.s.Session(t.Context(), "orphan"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("the poisoned write's session: got %v, want ErrNotFound", err)
		}
		// The writer recovered: the same rotations now commit.
		for _, id := range f.ids {
			if err := f.s.RotateSession(t.Context(), rotation(id)); err != nil {
				t.Fatalf("rotation after the failed batch: %v", err)
			}
		}
	})
	t.Run("OKOneFailedWriteSparesTheOthers", func(t *testing.T) {
		// A write that changes a row and then fails loses its own change
		// and nothing else of its batch.
		f := newWriterFixture(t, "", n)
		release := hold(t, f.s)
		failed := errors.New("refused after writing")
		failErr := make(chan error, 1)
		go func() {
			failErr <- sqlite.WriterDo(t.Context(), f.s, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `UPDATE sessions SET generation = 99 WHERE id = ?`, f.ids[0]); err != nil {
					return err
				}
				return failed
			})
		}()
		waitQueued(t, f.s, 1)
		errs := f.rotateAll(t, func() {
			waitQueued(t, f.s, n+1)
			release()
		})
		if err := <-failErr; !errors.Is(err, failed) {
			t.Errorf("failing write: got %v, want its own error", err)
		}
		for i, err := range errs {
			if err != nil {
				t.Errorf("rotation of %s: %v", f.ids[i], err)
			}
		}
		for i, g := range f.generations(t) {
			if g != 1 {
				t.Errorf("%s: generation %d, want 1", f.ids[i], g)
			}
		}
	})
	t.Run("ErrAtomicWriteFailsItsBatch", func(t *testing.T) {
		// A write without a savepoint that fails otherwise than its
		// contract allows may have left anything behind: the batch fails.
		f := newWriterFixture(t, "", n)
		release := hold(t, f.s)
		broken := errors.New("broken")
		atomicErr := make(chan error, 1)
		go func() {
			atomicErr <- sqlite.WriterDoAtomic(t.Context(), f.s, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `UPDATE sessions SET generation = 99 WHERE id = ?`, f.ids[0]); err != nil {
					return err
				}
				return broken
			})
		}()
		waitQueued(t, f.s, 1)
		errs := f.rotateAll(t, func() {
			waitQueued(t, f.s, n+1)
			release()
		})
		if err := <-atomicErr; !errors.Is(err, broken) || !errors.Is(err, refreshing.ErrUnavailable) {
			t.Errorf("failing write: got %v, want its error as ErrUnavailable", err)
		}
		for i, err := range errs {
			if err == nil {
				t.Errorf("rotation of %s acknowledged, but its batch failed", f.ids[i])
			}
		}
		for i, g := range f.generations(t) {
			if g != 0 {
				t.Errorf("%s: generation %d, want 0", f.ids[i], g)
			}
		}
	})
	t.Run("OKPanicInWrite", func(t *testing.T) {
		f := newWriterFixture(t, "", 1)
		release := hold(t, f.s)
		panicErr := make(chan error, 1)
		go func() {
			panicErr <- sqlite.WriterDo(t.Context(), f.s, func(ctx context.Context, tx *sql.Tx) error { panic("boom") })
		}()
		waitQueued(t, f.s, 1)
		errs := f.rotateAll(t, func() {
			waitQueued(t, f.s, 2)
			release()
		})
		if err := <-panicErr; err == nil || !strings.Contains(err.Error(), "boom") {
			t.Errorf("panicking write: got %v, want an error naming the panic", err)
		}
		if errs[0] != nil {
			t.Errorf("rotation beside a panicking write: %v", errs[0])
		}
	})
	t.Run("ErrCancelledBeforeRunning", func(t *testing.T) {
		f := newWriterFixture(t, "", 1)
		release := hold(t, f.s)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- f.s.RotateSession(ctx, rotation(f.ids[0])) }()
		waitQueued(t, f.s, 1)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled rotation: got %v, want context.Canceled", err)
		}
		release()
		// Flush the queue with a write of our own, then look.
		if err := sqlite.WriterDo(t.Context(), f.s, func(context.Context, *sql.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if g := f.generations(t)[0]; g != 0 {
			t.Errorf("generation %d, want 0: a cancelled write ran", g)
		}
	})
	t.Run("ErrUnavailableAfterClose", func(t *testing.T) {
		for _, opts := range []string{"", "?group_commit=off"} {
			f := newWriterFixture(t, opts, 1)
			if err := f.s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := f.s.RotateSession(t.Context(), rotation(f.ids[0])); !errors.Is(err, refreshing.ErrUnavailable) {
				t.Errorf("%q: rotation after Close: got %v, want ErrUnavailable", opts, err)
			}
		}
	})
	t.Run("OKOffOneCommitEach", func(t *testing.T) {
		f := newWriterFixture(t, "?group_commit=off", n)
		before := f.s.WriterStats()
		for i, err := range f.rotateAll(t, func() {}) {
			if err != nil {
				t.Errorf("rotation of %s: %v", f.ids[i], err)
			}
		}
		after := f.s.WriterStats()
		if commits, writes := after.Commits-before.Commits, after.Writes-before.Writes; commits != n || writes != n {
			t.Errorf("%d writes in %d commits, want %d in %d", writes, commits, n, n)
		}
	})
	t.Run("ErrCommitOff", func(t *testing.T) {
		// Without group commit a failed commit fails its own caller, and
		// the connection is usable afterwards.
		f := newWriterFixture(t, "?group_commit=off", 1)
		if err := sqlite.WriterDo(t.Context(), f.s, poison); err == nil {
			t.Fatal("poisoned write succeeded")
		}
		if err := f.s.RotateSession(t.Context(), rotation(f.ids[0])); err != nil {
			t.Fatalf("rotation after a failed commit: %v", err)
		}
	})
}

func TestCheckpointer(t *testing.T) {
	t.Run("OKCopiesEveryFrame", func(t *testing.T) {
		f := newWriterFixture(t, "", 50)
		for _, id := range f.ids {
			if err := f.s.RotateSession(t.Context(), rotation(id)); err != nil {
				t.Fatal(err)
			}
		}
		frames, copied, err := sqlite.Checkpoint(f.s)
		if err != nil {
			t.Fatal(err)
		}
		if copied != frames {
			t.Errorf("checkpoint copied %d of the WAL's %d frames", copied, frames)
		}
	})
	t.Run("OKAfterManyCommitsOrSeconds", func(t *testing.T) {
		s, _ := open(t)
		opened := time.Now()
		write := func(i int) {
			t.Helper()
			err := sqlite.WriterDo(t.Context(), s, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO secrets (name, value) VALUES ('test', ?)`, []byte{byte(i)})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for i := range 20 {
			write(i)
		}
		time.Sleep(500 * time.Millisecond)
		if got := sqlite.CheckpointerRuns(s); got != 0 {
			t.Fatalf("%d checkpoints after 20 commits in %v, want none yet", got, time.Since(opened))
		}
		for i := range 500 {
			write(i)
		}
		time.Sleep(400 * time.Millisecond)
		if elapsed := time.Since(opened); elapsed < 2*time.Second {
			if got := sqlite.CheckpointerRuns(s); got != 1 {
				t.Fatalf("%d checkpoints after 520 commits in %v, want 1", got, elapsed)
			}
		} else {
			t.Logf("520 commits took %v: too slow here to tell the count from the clock", elapsed)
		}
		before := sqlite.CheckpointerRuns(s)
		write(0)
		time.Sleep(2500 * time.Millisecond)
		if got := sqlite.CheckpointerRuns(s) - before; got != 1 {
			t.Fatalf("%d checkpoints in the 2.5 s after one commit, want 1", got)
		}
		// Nothing written since: nothing to copy.
		time.Sleep(2500 * time.Millisecond)
		if got := sqlite.CheckpointerRuns(s) - before; got != 1 {
			t.Fatalf("%d checkpoints in 5 s with one commit, want 1", got)
		}
	})
	t.Run("OKWriterPragmas", func(t *testing.T) {
		s, _ := open(t)
		var pages, tempStore, cacheSize int
		err := sqlite.WriterTx(t.Context(), s, func(tx *sql.Tx) error {
			if err := tx.QueryRowContext(t.Context(), `PRAGMA wal_autocheckpoint`).Scan(&pages); err != nil {
				return err
			}
			if err := tx.QueryRowContext(t.Context(), `PRAGMA temp_store`).Scan(&tempStore); err != nil {
				return err
			}
			return tx.QueryRowContext(t.Context(), `PRAGMA cache_size`).Scan(&cacheSize)
		})
		if err != nil {
			t.Fatal(err)
		}
		if pages <= 1000 {
			t.Errorf("the writer checkpoints at %d pages, want more than SQLite's 1000: the checkpointer does it", pages)
		}
		if tempStore != 2 {
			t.Errorf("temp_store = %d, want 2 (MEMORY): savepoints journal in memory", tempStore)
		}
		if cacheSize != -65536 {
			t.Errorf("cache_size = %d, want -65536 (64 MiB)", cacheSize)
		}
	})
}

func TestCheckpointTruncates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "refreshing.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := &refreshing.User{Username: "ada", Email: "ada@example.com"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("the WAL before: %v, %v; want a non-empty file", fi, err)
	}
	if err := s.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != 0 {
		t.Fatalf("the WAL after: %v, %v; want an empty file", fi, err)
	}
	if _, err := s.UserByID(t.Context(), u.ID); err != nil {
		t.Fatalf("the user after the checkpoint: %v", err)
	}
}
