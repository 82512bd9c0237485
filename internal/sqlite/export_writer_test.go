package sqlite

import (
	"context"
	"database/sql"
)

// Queued returns how many writes wait in s's group-commit queue.
func Queued(s *Store) int { return len(s.w.ops) }

// WriterDo runs fn as one write of s's writer, as the Store's methods do.
func WriterDo(ctx context.Context, s *Store, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.w.do(ctx, fn)
}

// WriterDoAtomic runs fn as one write that needs no savepoint of its own.
func WriterDoAtomic(ctx context.Context, s *Store, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.w.doAtomic(ctx, fn)
}

// Checkpoint runs one round of s's checkpointer now.
func Checkpoint(s *Store) (walFrames, copied int, err error) { return s.ckpt.checkpoint() }

// CheckpointerRuns returns how many checkpoints s's checkpointer ran by itself.
func CheckpointerRuns(s *Store) int64 { return s.ckpt.runs.Load() }
