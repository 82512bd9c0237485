package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// Initialized reports whether the SQLite file at path (as Open takes it,
// options included) holds Refreshing's tables, without writing to it: the
// commands other than serve and migrate use it to refuse a file nobody set
// up (an empty file, another application's database) rather than migrating
// it by surprise. A missing file is not initialized.
func Initialized(ctx context.Context, path string) (bool, error) {
	path, _, err := parseOptions(path)
	if err != nil {
		return false, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return false, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	q := url.Values{}
	q.Set("mode", "ro")
	// As OpenReadOnly: without a write-ahead log, immutable=1 reads the
	// file without creating the log and shared-memory files.
	if _, err := os.Stat(abs + "-wal"); errors.Is(err, fs.ErrNotExist) {
		q.Set("immutable", "1")
	}
	db, err := sql.Open("sqlite", dsn(abs, q))
	if err != nil {
		return false, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return n > 0, nil
}
