package sqlite

import (
	"context"
	"database/sql"
)

// WriterTx runs fn in a transaction on s's writer connection.
func WriterTx(ctx context.Context, s *Store, fn func(tx *sql.Tx) error) error {
	return s.w.tx(ctx, fn)
}
