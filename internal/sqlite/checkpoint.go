package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/refreshing/refreshing"
)

// The checkpointer copies the WAL's committed pages back into the database
// file every checkpointEvery, or sooner once checkpointAfter commits were
// made since the last time, which bounds the WAL (a commit of a batch of
// rotations writes a few dozen pages). It looks every checkpointPoll.
//
// Seldom is cheaper: a page that many commits changed is copied once per
// checkpoint. When the sessions being rotated are spread over a large
// table, nearly every rotation changes a page of its own, and a checkpoint
// every 200 ms copied almost every one of them; every 2 s, exchanges of
// 992 sessions among 200,000 ran 5-10 % faster (refreshing-load, in-process).
const (
	checkpointEvery = 2 * time.Second
	checkpointAfter = 500
	checkpointPoll  = 200 * time.Millisecond
)

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
	db      *sql.DB
	commits func() int64 // the writer's commits so far
	runs    atomic.Int64 // checkpoints the loop ran
	stop    chan struct{}
	done    chan struct{}
}

// startCheckpointer starts checkpointing through db, a pool of one
// connection to the database file, after the commits commits reports.
func startCheckpointer(db *sql.DB, commits func() int64) *checkpointer {
	c := &checkpointer{db: db, commits: commits, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *checkpointer) loop() {
	defer close(c.done)
	t := time.NewTicker(checkpointPoll)
	defer t.Stop()
	last, lastCommits := time.Now(), c.commits()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			n := c.commits()
			if n == lastCommits || (time.Since(last) < checkpointEvery && n-lastCommits < checkpointAfter) {
				continue
			}
			c.checkpoint()
			c.runs.Add(1)
			last, lastCommits = time.Now(), n
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
