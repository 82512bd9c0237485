// Package postgres implements refreshing.Store on PostgreSQL, through pgx and
// its connection pool.
//
// Open takes a pgx connection string, as a URL
// (postgres://user:pass@host:5432/db?sslmode=disable) or as keyword/value
// pairs. Besides the libpq parameters it understands pgx's own; those that
// matter most here:
//
//   - pool_max_conns: the most connections the pool opens. Unset, pgx's
//     default applies: the greater of 4 and runtime.NumCPU().
//   - connect_timeout: seconds to wait for a new connection. When the DSN
//     (and PGCONNECT_TIMEOUT) leave it unset or 0, Open uses 5 seconds, so
//     that a database outage fails a request quickly with
//     refreshing.ErrUnavailable instead of hanging it.
//   - pool_ping_timeout: how long the liveness check of an idle pooled
//     connection may take; Open uses the connect timeout when it is unset.
//   - any other parameter (search_path, application_name, ...): a run-time
//     parameter sent to the server with every new connection.
//
// The schema is built by embedded, forward-only migrations
// (migrations/NNNN_name.sql, numbered as internal/sqlite's). Open applies the
// missing ones in a single transaction holding a PostgreSQL advisory lock, so
// that several instances can start at once against one database; applied
// versions are recorded in schema_migrations.
//
// Every Store method is atomic. Serialization failures and deadlocks
// reported by PostgreSQL, and connection failures that happened before a
// statement was sent, are retried inside the store a few times and never
// reach the caller as such.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/migration"
)

var _ refreshing.Store = (*Store)(nil)

// defaultConnectTimeout bounds connection attempts when the DSN does not.
const defaultConnectTimeout = 5 * time.Second

// Advisory lock keys (pg_advisory_xact_lock takes a bigint). They only need to
// be distinct from each other and from anything else sharing the database;
// the high bytes spell "refresh".
const (
	migrateLock int64 = 0x72656672657368_01 // held while migrating
	keysLock    int64 = 0x72656672657368_02 // held while adding a signing key
)

// maxAttempts bounds how often one Store call runs its statements when
// PostgreSQL asks for a retry (serialization failure, deadlock) or the
// connection failed before anything was sent.
const maxAttempts = 5

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a refreshing.Store backed by a PostgreSQL connection pool. It is
// safe for concurrent use, also by several processes sharing one database.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to the PostgreSQL database that dsn names, applies any
// missing migrations and returns the store. See the package documentation for
// the DSN parameters it honours. It returns an error wrapping
// refreshing.ErrUnavailable if the server cannot be reached.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, false)
}

// OpenReadOnly connects to the PostgreSQL database that dsn names without
// ever writing to it: every transaction of its connections is read-only
// (default_transaction_read_only), so each write method fails, and nothing
// is migrated. It returns an error wrapping refreshing.ErrNotFound if the
// database has no schema of Refreshing's, and an error saying so if the
// schema lacks migrations of this program's (refreshing migrate applies
// them). A dry run of an import reads the target through it.
func OpenReadOnly(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, true)
}

// open is Open, or OpenReadOnly when readOnly.
func open(ctx context.Context, dsn string, readOnly bool) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgconn.ParseConfigError masks the password in its message.
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = cfg.ConnConfig.ConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "refreshing"
	}
	if readOnly {
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap("open", err)
	}
	s := &Store{pool: pool}
	check := s.migrate
	if readOnly {
		check = s.checkCurrent
	}
	if err := check(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes every connection of the pool, waiting for those in use to be
// released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.run(ctx, "ping", func(ctx context.Context) error {
		return s.pool.Ping(ctx)
	})
}

// loadMigrations returns the embedded migrations in version order.
func loadMigrations() ([]migration.File, error) {
	return migration.Load(migrations, "migrations/*.sql")
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, all in one transaction.
//
// The transaction first takes an exclusive advisory lock, released at commit
// or rollback: instances starting together queue up here, and each one after
// the first finds the work done. Versions the database knows but this binary
// does not (a newer instance migrated already) are left alone, so that
// instances of the previous release keep running during a rolling upgrade.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return s.tx(ctx, "migrate", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return err
		}
		// Look before creating: an up-to-date schema then needs no write at
		// all, and Open succeeds on a server that is read-only for a while
		// (its writes fail with ErrUnavailable until it is not).
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := tx.Exec(ctx, `CREATE TABLE schema_migrations (
				version    integer PRIMARY KEY,
				applied_at timestamptz NOT NULL
			)`); err != nil {
				return err
			}
		}
		rows, _ := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		for _, m := range ms {
			if slices.Contains(applied, int32(m.Version)) {
				continue
			}
			// No arguments: pgx sends the file with the simple protocol,
			// which allows several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			// The store has no clock of its own; the wall clock is good
			// enough for a record of when a migration ran.
			now := time.Now().UTC().Truncate(time.Microsecond)
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.Version, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkCurrent reports whether the schema has every migration of this
// program's, without changing anything.
func (s *Store) checkCurrent(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return wrap("check schema", err)
	}
	if !exists {
		return fmt.Errorf("postgres: no Refreshing schema here: %w", refreshing.ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `SELECT version FROM schema_migrations`)
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return wrap("check schema", err)
	}
	for _, m := range ms {
		if !slices.Contains(applied, int32(m.Version)) {
			return fmt.Errorf("postgres: the schema lacks migration %s: run refreshing migrate first", m.Name)
		}
	}
	return nil
}

// run calls fn, again if it failed in a way that is safe and worth retrying
// (see retryable), and returns its error translated by wrap.
func (s *Store) run(ctx context.Context, op string, fn func(context.Context) error) error {
	var err error
	for attempt := range maxAttempts {
		if attempt > 0 {
			// Jittered exponential backoff: 2-4ms, 4-8ms, 8-16ms, 16-32ms.
			d := time.Millisecond << attempt
			d += rand.N(d)
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return wrap(op, err)
			case <-t.C:
			}
		}
		err = fn(ctx)
		if err == nil || !retryable(ctx, err) {
			break
		}
	}
	return wrap(op, err)
}

// tx runs fn in a read-committed transaction, retried as run says; fn must
// therefore be safe to run more than once. The transaction commits if fn
// returns nil and rolls back otherwise.
func (s *Store) tx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	return s.run(ctx, op, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, fn)
	})
}

// retryable reports whether an operation that failed with err may simply be
// run again: PostgreSQL gave up on it for a serialization failure or a
// deadlock (the transaction rolled back), refused a prepared statement whose
// result type changed (see staleStatement), or the connection failed before
// the statement was sent (typically a pooled connection the server closed).
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01" || staleStatement(pgErr)
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		// The server is not there. Retrying would multiply the connect
		// timeout the caller waits for.
		return false
	}
	return pgconn.SafeToRetry(err)
}

// staleStatement reports whether PostgreSQL refused to run a prepared
// statement because the type of a column it returns changed since pgx
// prepared and cached it on that connection: "cached plan must not change
// result type". A migration that another instance applies while this one
// runs does that, even one that only changes a column's collation.
// Nothing ran, a transaction is aborted and rolled back, and pgx has dropped
// the statement from that connection's cache, so running the operation again
// prepares it anew. The message is localised (lc_messages); the routine name
// is not.
func staleStatement(pgErr *pgconn.PgError) bool {
	return pgErr.Code == "0A000" && pgErr.Routine == "RevalidateCachedQuery"
}

// wrap translates err into the refreshing.Store error contract and prefixes
// it with the operation: pgx.ErrNoRows becomes refreshing.ErrNotFound, a
// unique violation refreshing.ErrConflict, and anything that says the server
// cannot be reached or cannot write refreshing.ErrUnavailable. The original
// error stays in the chain for logging.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, refreshing.ErrNotFound), errors.Is(err, refreshing.ErrConflict),
		errors.Is(err, refreshing.ErrStale), errors.Is(err, refreshing.ErrUnavailable):
		return fmt.Errorf("postgres: %s: %w", op, err)
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s: %w", op, refreshing.ErrNotFound)
	case errors.Is(err, context.Canceled):
		// The caller gave up; that says nothing about the server.
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	switch {
	case errors.As(err, &connectErr):
		// Whatever the reason (refused, timed out, starting up, too many
		// connections, authentication), there is no database to talk to.
		return fmt.Errorf("postgres: %s: %w: %w", op, refreshing.ErrUnavailable, err)
	case errors.As(err, &pgErr):
		switch {
		case pgErr.Code == "23505":
			return fmt.Errorf("postgres: %s: %w: %w", op, refreshing.ErrConflict, err)
		case unavailableCode(pgErr.Code):
			return fmt.Errorf("postgres: %s: %w: %w", op, refreshing.ErrUnavailable, err)
		}
		return fmt.Errorf("postgres: %s: %w", op, err)
	case unavailable(err):
		return fmt.Errorf("postgres: %s: %w: %w", op, refreshing.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailableCode reports whether a SQLSTATE means that the server cannot
// serve or cannot write right now, as opposed to a fault in the request.
func unavailableCode(code string) bool {
	switch code {
	case "57P01", // admin_shutdown: the server is stopping
		"57P02", // crash_shutdown
		"57P03", // cannot_connect_now: starting up or in recovery
		"57014", // query_canceled: statement_timeout, an overloaded server
		"25006", // read_only_sql_transaction: a standby, or read-only mode
		"53000", // insufficient_resources
		"53100", // disk_full
		"53200", // out_of_memory
		"53300", // too_many_connections
		"58030", // io_error
		"40001", // serialization_failure, still failing after maxAttempts
		"40P01": // deadlock_detected, likewise
		return true
	}
	// Class 08: connection exception.
	return strings.HasPrefix(code, "08")
}

// unavailable reports whether err, which is not a server error, comes from
// the connection: a timeout, a network error, a connection that the server
// closed.
func unavailable(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) ||
		pgconn.Timeout(err) ||
		pgconn.SafeToRetry(err) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// nullTime returns t as a query argument, NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// notNil returns b, or an empty slice for nil, for NOT NULL bytea columns.
func notNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// timeOf returns the time a nullable timestamptz column held, in UTC; the
// zero time for NULL.
func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// bytesOf returns b, or nil if it is empty, so that an absent hash reads
// back as nil whichever way it was written.
func bytesOf(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// collect runs the query q with args under op (s.run: its error mapping and
// retries) and reads every row with scan: the shape of each listing.
func collect[T any](ctx context.Context, s *Store, op string, scan func(pgx.CollectableRow) (T, error), q string, args ...any) ([]T, error) {
	var out []T
	err := s.run(ctx, op, func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, q, args...)
		var err error
		out, err = pgx.CollectRows(rows, scan)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
