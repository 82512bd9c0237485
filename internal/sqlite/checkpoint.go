package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/refreshing/refreshing"
)

// checkpointEvery is how often the checkpointer copies the WAL's committed
// pages back into the database file.
const checkpointEvery = 200 * time.Millisecond

// writerAutoCheckpoint is the WAL size, in pages, past which the writer
// checkpoints by itself at a commit, as SQLite does by default at 1,000
// pages. It is a safety net: normally the checkpointer keeps the WAL far
// smaller.
const writerAutoCheckpoint = 16384 // 64 MiB of 4 KiB pages

// checkpointer runs the WAL checkpoints on a connection of its own, so that
// they are not on the writer's path: SQLite's automatic checkpoint runs
// inside the COMMIT that crosses its threshold, copying the pages and
// fsyncing the database file while every write of the batch (and every
// request behind it) waits. A PASSIVE checkpoint here runs beside the
// writer and the readers without blocking them; the writer then restarts
// the WAL from its beginning at its next transaction once everything was
// copied. Durability does not depend on it: a commit is durable in the WAL.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

// startCheckpointer starts checkpointing through db, a pool of one
// connection to the database file.
func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *checkpointer) loop() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.checkpoint()
		}
	}
}

// checkpoint runs one PASSIVE checkpoint and returns the WAL's size and how
// many of its frames are now in the database file. Failures are left for
// the next round (or the writer's own checkpoint): nothing depends on one.
func (c *checkpointer) checkpoint() (walFrames, copied int, err error) {
	var busy int
	err = c.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &walFrames, &copied)
	return walFrames, copied, err
}

// close stops the checkpointer and closes its connection. It is safe on a
// nil checkpointer.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	close(c.stop)
	<-c.done
	return c.db.Close()
}

// Checkpoint copies the whole WAL into the database file and empties it,
// waiting for the writer and readers if need be. The checkpointer does the
// same a little at a time; a bulk load (the load tool's seeding) calls it to
// leave the database at rest, as it would be after a while.
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.ckpt == nil {
		return nil // read-only
	}
	var busy, frames, copied int
	if err := s.ckpt.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("sqlite: checkpoint: %w", classify(err))
	}
	if busy != 0 {
		return fmt.Errorf("sqlite: checkpoint: %w: the WAL is still in use", refreshing.ErrUnavailable)
	}
	return nil
}
