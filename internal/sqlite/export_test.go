package sqlite

import (
	"context"
	"database/sql"
)

// OpenReadOnly opens the database at path with SQLite's mode=ro, so that
// tests can see how a Store that cannot write reports it (tests run as root,
// which chmod does not stop).
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, true)
}

// WriterTx runs fn in a transaction on s's writer connection.
func WriterTx(ctx context.Context, s *Store, fn func(tx *sql.Tx) error) error {
	return s.w.tx(ctx, fn)
}
