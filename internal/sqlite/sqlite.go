// Package sqlite implements refreshing.Store on a SQLite database file, with
// the pure-Go driver modernc.org/sqlite (no cgo) and embedded forward-only
// migrations.
//
// Durability comes first: the API promises that an acknowledged change
// survives a crash of the process or the machine, so the database runs in WAL
// mode with synchronous=FULL and every write transaction is flushed to disk
// before its method returns.
//
// A Store holds two connection pools on the same file: a writer with a single
// connection, through which every write goes one transaction at a time, and a
// pool of readers, which WAL lets run beside the writer without blocking it.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/refreshing/refreshing"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ refreshing.Store = (*Store)(nil)

// busyTimeout is how long a statement waits for a lock held by another
// connection (another process, or the writer's checkpoint) before giving up
// with SQLITE_BUSY, which the Store reports as ErrUnavailable.
const busyTimeout = 10 * time.Second

// Store is a refreshing.Store on SQLite. Its methods are safe for concurrent
// use. Create it with Open and release it with Close.
type Store struct {
	w    writer  // the one connection that writes
	read *sql.DB // a pool of query_only connections

	readOnly bool          // opened with mode=ro (OpenReadOnly); Close skips the checkpoint
	ckpt     *checkpointer // checkpoints the WAL off the writer's path; nil when readOnly

	// Statements of the hot paths, prepared once. database/sql keeps one
	// prepared copy per connection of their pool.
	sessionByID, userByID, userByEmail, userByUsername *sql.Stmt // readers
	sessionWithUser, userSessions                      *sql.Stmt // readers
	rotate, touch, sessionState                        *sql.Stmt // writer
	rotateMatching                                     *sql.Stmt // writer

	closeOnce sync.Once
	closeErr  error
}

// Open opens the SQLite database at path, creating the file and its parent
// directory if missing, and applies the migrations it has not seen yet.
// Failing to open or create the file is reported as ErrUnavailable.
//
// Options may follow the path after a "?", as URL query parameters:
//
//   - group_commit=off: commit every write in a transaction of its own,
//     instead of committing the writes that arrive together in one
//     transaction (see writer). Both are durable; "on" is the default and
//     is much faster under concurrent load, "off" is there to measure it.
//
// So "data/refreshing.db?group_commit=off"; a path that contains a "?"
// itself must then be followed by one ("a?b.db?").
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, false)
}

// OpenReadOnly opens the existing database at path without ever writing to
// it: SQLite's mode=ro (every write method fails), nothing created, nothing
// migrated, no checkpoint. It returns an error wrapping
// refreshing.ErrNotFound if there is no file at path, and an error saying
// so if its schema lacks migrations of this program's (refreshing migrate
// applies them). A dry run of an import reads the target through it.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	p, _, err := parseOptions(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sqlite: open %s: %w", p, refreshing.ErrNotFound)
	}
	return open(ctx, path, true)
}

// options are those Open accepts after the path.
type options struct {
	groupCommit bool
}

// parseOptions splits path at its last "?" and parses what follows.
func parseOptions(path string) (string, options, error) {
	opts := options{groupCommit: true}
	i := strings.LastIndexByte(path, '?')
	if i < 0 {
		return path, opts, nil
	}
	q, err := url.ParseQuery(path[i+1:])
	if err != nil {
		return "", opts, fmt.Errorf("sqlite: open %s: options: %w", path, err)
	}
	for k, v := range q {
		switch {
		case k == "group_commit" && len(v) == 1 && (v[0] == "on" || v[0] == "off"):
			opts.groupCommit = v[0] == "on"
		case k == "group_commit":
			return "", opts, fmt.Errorf("sqlite: open %s: group_commit must be on or off", path)
		default:
			return "", opts, fmt.Errorf("sqlite: open %s: unknown option %q", path, k)
		}
	}
	return path[:i], opts, nil
}

// open is Open, or OpenReadOnly when readOnly: mode=ro, which also lets
// tests see what a store that cannot write reports (chmod does not stop
// root).
func open(ctx context.Context, path string, readOnly bool) (_ *Store, err error) {
	path, opts, err := parseOptions(path)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !readOnly {
		if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w: %w", path, refreshing.ErrUnavailable, err)
		}
		if err := create(abs); err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w: %w", path, refreshing.ErrUnavailable, err)
		}
	}

	s := &Store{readOnly: readOnly}
	defer func() {
		if err != nil {
			s.closeHandles()
		}
	}()

	q := url.Values{}
	// BEGIN IMMEDIATE for every transaction: it takes the write lock at
	// the start, so a transaction that reads and then writes never has to
	// upgrade its lock halfway, which fails with SQLITE_BUSY when another
	// process writes meanwhile (and busy_timeout cannot help there).
	q.Set("_txlock", "immediate")
	// Wait up to busyTimeout for another process's lock instead of failing
	// at once. Within this process writes queue for the single writer
	// connection and never meet the lock.
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	// WAL: readers do not block the writer nor the writer readers, and a
	// commit appends to one file instead of rewriting pages through a
	// rollback journal. The mode is persistent in the file.
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL: fsync the WAL at every commit. NORMAL, the usual WAL choice,
	// may lose the last commits on power loss, which breaks "acknowledged
	// means durable".
	q.Add("_pragma", "synchronous(FULL)")
	// SQLite leaves foreign keys off by default; without them deleting a
	// user would not delete their sessions (ON DELETE CASCADE).
	q.Add("_pragma", "foreign_keys(ON)")
	// Without a write-ahead log no process has the database open (SQLite
	// keeps the log while any connection is open), and immutable=1 reads
	// the file without locks and without creating the log and shared-memory
	// files that mode=ro alone would leave behind: a read-only open then
	// changes nothing on disk. With a log, mode=ro shares it.
	_, walErr := os.Stat(abs + "-wal")
	immutable := readOnly && errors.Is(walErr, fs.ErrNotExist)
	if readOnly {
		q.Set("mode", "ro")
	}
	if immutable {
		q.Set("immutable", "1")
	}
	// The checkpointer's connection is the writer's kind, but for the
	// writer's own checkpoints, which the checkpointer makes rare.
	cdsn := dsn(abs, q)
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerAutoCheckpoint))
	// Every write of a batch but the single-statement ones runs under a
	// SAVEPOINT, and SQLite saves the first version of each page a
	// savepoint changes into a sub-journal: in a temporary file by
	// default, which costs a write(2) per page. In memory it costs a copy.
	// (It only serves ROLLBACK TO; durability is the WAL's business.)
	q.Add("_pragma", "temp_store(MEMORY)")
	// 64 MiB of page cache instead of SQLite's 2 MiB: the writer's cache
	// stays valid from one transaction to the next (it wrote the changes),
	// so the B-tree pages that rotations keep touching stay in memory even
	// with millions of sessions (16 MiB held too few of them with a million
	// sessions and a few thousand clients: each rotation then read pages
	// from the file). The readers' caches start afresh after every commit
	// anyway, so they keep the default.
	q.Add("_pragma", "cache_size(-65536)")
	wdb, err := sql.Open("sqlite", dsn(abs, q))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.w.db = wdb
	defer func() {
		if err == nil {
			s.w.start(wdb, opts.groupCommit)
		}
	}()
	// One connection: database/sql lends it to one transaction at a time,
	// so writes are serialised in this process and never see "database is
	// locked" from each other. Kept open forever so that its prepared
	// statements live as long as the Store.
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := ping(ctx, wdb); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, classify(err))
	}
	if readOnly {
		if err := checkCurrent(ctx, wdb); err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
	} else if err := migrate(ctx, wdb); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, classify(err))
	}

	q = url.Values{}
	// Readers wait for locks too: a WAL reader can meet one briefly, while
	// another connection recovers or restarts the WAL.
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	// Readers never write: a write sent to the wrong pool fails loudly
	// instead of racing the writer for the lock.
	q.Add("_pragma", "query_only(ON)")
	if readOnly {
		q.Set("mode", "ro")
	}
	if immutable {
		q.Set("immutable", "1")
	}
	rdb, err := sql.Open("sqlite", dsn(abs, q))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.read = rdb
	if !readOnly {
		cdb, err := sql.Open("sqlite", cdsn)
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		cdb.SetMaxOpenConns(1)
		s.ckpt = startCheckpointer(cdb, s.w.commits.Load)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	rdb.SetConnMaxLifetime(0)
	rdb.SetConnMaxIdleTime(0)
	if err := ping(ctx, rdb); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, classify(err))
	}

	for _, p := range []struct {
		dst   **sql.Stmt
		db    *sql.DB
		query string
	}{
		{&s.sessionByID, rdb, `SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?`},
		{&s.sessionWithUser, rdb, sessionWithUserQuery},
		{&s.userSessions, rdb, userSessionsQuery},
		{&s.userByID, rdb, `SELECT ` + userColumns + ` FROM users WHERE id = ?`},
		{&s.userByEmail, rdb, `SELECT ` + userColumns + ` FROM users WHERE email = ?`},
		{&s.userByUsername, rdb, `SELECT ` + userColumns + ` FROM users WHERE username = ?`},
		{&s.rotate, wdb, rotateQuery},
		{&s.touch, wdb, touchQuery},
		{&s.sessionState, wdb, sessionStateQuery},
		{&s.rotateMatching, wdb, rotateMatchingQuery},
	} {
		if *p.dst, err = p.db.PrepareContext(ctx, p.query); err != nil {
			return nil, fmt.Errorf("sqlite: open %s: prepare: %w", path, classify(err))
		}
	}
	return s, nil
}

// create creates the database file at abs, empty and readable and writable
// by its owner only, unless it exists: it holds the signing key and the
// refresh-chain key. SQLite would create it with the umask's mode (often
// readable by everyone), and its unix VFS gives the -wal and -shm files it
// creates the database file's mode, so they are private too. SQLite takes an
// empty file for a new database. An existing file keeps the mode its
// operator gave it (Exposed reports one others can read).
func create(abs string) error {
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// Exposed returns the files of the database at path (as Open takes it,
// options included) that group or others can read or write: of the
// database file and its -wal and -shm files, those that exist. They hold
// the signing key and the refresh-chain key, and Open creates them for
// their owner only; a file created otherwise (by an older version, or
// copied in) keeps its mode, which only its operator should change
// (chmod 600).
func Exposed(path string) ([]string, error) {
	path, _, err := parseOptions(path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	var exposed []string
	for _, name := range []string{abs, abs + "-wal", abs + "-shm"} {
		fi, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			exposed = append(exposed, name)
		}
	}
	return exposed, nil
}

// ping opens db's first connection, which applies the DSN's pragmas. On a
// new file, several processes starting at once each switch it to WAL mode,
// and SQLite answers SQLITE_BUSY at once, without waiting busy_timeout, to
// all but one (two connections that both read the header and then want
// the exclusive lock would deadlock). Those try again, until busyTimeout.
func ping(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(time.Duration(5+rand.IntN(20)) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// dsn returns the driver's data source name for the file at the absolute
// path abs: a file: URI, escaped so that any file name works, whose query
// carries the driver's parameters and SQLite's own (mode).
func dsn(abs string, q url.Values) string {
	u := url.URL{Path: filepath.ToSlash(abs)}
	return "file:" + u.EscapedPath() + "?" + q.Encode()
}

// Close checkpoints the write-ahead log into the database file and closes
// both connection pools. Calling it again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		// Answer the writes in flight first; later ones get ErrUnavailable.
		s.w.close()
		s.ckpt.close()
		s.ckpt = nil
		if !s.readOnly {
			// Fold the WAL back into the database file so that a copy of
			// the .db file alone is complete. Best effort: a checkpoint
			// that fails (another process reading) loses nothing, since
			// the WAL is durable and the next open replays it.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			s.w.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
			cancel()
		}
		s.closeErr = s.closeHandles()
	})
	return s.closeErr
}

// closeHandles closes the prepared statements and both pools, readers first.
func (s *Store) closeHandles() error {
	errs := []error{s.ckpt.close()}
	for _, st := range []*sql.Stmt{s.sessionWithUser, s.userSessions, s.sessionByID, s.userByID, s.userByEmail, s.userByUsername, s.rotate, s.touch, s.sessionState, s.rotateMatching} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.w.db != nil {
		errs = append(errs, s.w.db.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// Ping checks that both pools answer and that the database file is readable.
func (s *Store) Ping(ctx context.Context) error {
	var v sql.NullInt64
	if err := s.read.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("sqlite: ping: %w", classify(err))
	}
	if err := s.w.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", classify(err))
	}
	return nil
}

// classify maps the driver's errors onto the Store's sentinels, keeping the
// original in the chain: unique violations become ErrConflict, and failures
// of the storage itself (disk full, read-only, I/O error, cannot open, still
// locked after busyTimeout) become ErrUnavailable. sql.ErrNoRows is left to
// the callers, which know whether it means ErrNotFound. Anything else is an
// internal fault and is returned as is.
func classify(err error) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	// The driver turns on extended result codes; the low byte is the
	// primary code.
	switch code := se.Code(); code & 0xff {
	case sqlite3.SQLITE_CONSTRAINT:
		if code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return fmt.Errorf("%w: %w", refreshing.ErrConflict, err)
		}
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_BUSY:
		return fmt.Errorf("%w: %w", refreshing.ErrUnavailable, err)
	}
	return err
}

// affected is the number of rows an Exec changed, its error classified:
// res and err as ExecContext returned them.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, classify(err)
	}
	return res.RowsAffected()
}

// micros encodes t as the INTEGER the schema stores: unix microseconds. The
// zero time encodes as the microseconds before 1970 of year 1, and decodes
// back to the zero time.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros is micros for a nullable column: the zero time is NULL.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros decodes what micros encoded, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// fromNullMicros decodes what nullMicros encoded.
func fromNullMicros(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return fromMicros(us.Int64)
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}
