package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"slices"
	"time"

	"github.com/refreshing/refreshing/internal/migration"
)

// migrationFiles holds the schema's forward-only migrations, NNNN_name.sql,
// numbered like those of internal/postgres. A migration, once released, is
// never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]migration.File, error) {
	return migration.Load(migrationFiles, "migrations/*.sql")
}

// migrate applies, in order, every migration that schema_migrations does not
// record, each in its own transaction together with its record. It writes
// nothing when the schema is current, so a database that is up to date opens
// even read-only. Several processes may migrate at once: BEGIN IMMEDIATE
// serialises them and each re-reads the record inside its transaction.
//
// A database whose schema is newer than this program's migrations is refused:
// this program could misread it.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	applied, err := appliedVersions(ctx, db)
	if err != nil {
		return err
	}
	if len(ms) > 0 && len(applied) > 0 && applied[len(applied)-1] > ms[len(ms)-1].Version {
		return fmt.Errorf("database schema version %d is newer than this program's %d", applied[len(applied)-1], ms[len(ms)-1].Version)
	}
	for _, m := range ms {
		if _, ok := slices.BinarySearch(applied, m.Version); ok {
			continue
		}
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// checkCurrent reports whether the schema has every migration of this
// program's, without changing anything.
func checkCurrent(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	applied, err := appliedVersions(ctx, db)
	if err != nil {
		return classify(err)
	}
	for _, m := range ms {
		if _, ok := slices.BinarySearch(applied, m.Version); !ok {
			return fmt.Errorf("the schema lacks migration %s: run refreshing migrate first", m.Name)
		}
	}
	return nil
}

// appliedVersions returns the versions schema_migrations records, in order,
// without creating the table.
func appliedVersions(ctx context.Context, db *sql.DB) ([]int, error) {
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (
		SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations')`).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// apply runs m and records it in one transaction, unless another process
// recorded it meanwhile.
func apply(ctx context.Context, db *sql.DB, m migration.File) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL -- unix microseconds UTC
	) STRICT`); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.Version, micros(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}
