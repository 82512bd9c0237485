package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refreshing/refreshing"
)

// maxBatch bounds how many writes share one transaction, so that a burst
// cannot make a transaction, and the wait of its first caller, arbitrarily
// long.
const maxBatch = 128

// linger and lingerUntil shape batches under load: when the writes queued at
// once show that clients write concurrently (two or more, and two or more
// in the previous batch too), the writer waits up to linger for more, until
// lingerUntil are queued, before it begins the transaction. Each commit
// costs CPU besides its fsync (a WAL write per page, the fsync's own
// kernel work; hundreds of microseconds on these machines), so on a busy
// server larger batches leave more CPU to requests; a lone write, or a
// trickle, never waits.
const (
	linger      = time.Millisecond
	lingerUntil = 32
)

// errClosed is what a write gets once Close has begun.
var errClosed = fmt.Errorf("%w: store closed", refreshing.ErrUnavailable)

// writer owns the database/sql handle whose single connection performs every
// write. Methods express each write as a function of a *sql.Tx and hand it to
// tx (or do); nothing else begins a write transaction.
//
// With group commit on (the default), one goroutine owns the connection and
// drains a queue of such functions: it takes every write queued at that
// moment (up to maxBatch), runs them in one BEGIN IMMEDIATE transaction, each
// under its own SAVEPOINT so that a write that fails rolls back only its own
// changes, commits once (one fsync of the WAL for the whole batch), and only
// then answers each caller with its own result. If the commit fails, every
// caller of the batch gets the failure: nothing is acknowledged that was not
// stored. Writes arriving while a batch commits form the next batch, so a
// lone write waits for nothing, and under load the fsync, which dominates the
// cost of a write, is shared by all the writes that arrived together; under
// sustained concurrency the writer also lingers up to a millisecond to make
// a small batch larger (see linger).
//
// With group commit off, each write is its own transaction, begun by its
// caller, as if the batch size were one.
type writer struct {
	db    *sql.DB
	group bool

	ops      chan *op      // writes waiting for the loop
	stop     chan struct{} // closed by close: take no more writes
	exited   chan struct{} // closed when the loop has answered its last batch
	stopOnce sync.Once

	commits, writes atomic.Int64 // transactions committed, writes they held
}

// op is one write waiting in the queue.
type op struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *sql.Tx) error
	// atomic says fn changes nothing unless it succeeds, and fails only with
	// ErrStale or ErrNotFound (see doAtomic): it needs no savepoint.
	atomic bool
	state  atomic.Int32 // opQueued, then opTaken by the loop or opCancelled by the caller
	err    error        // fn's result, or the batch's failure; set before done closes
	done   chan struct{}
}

// States of an op. Whoever moves it out of opQueued owns its fate: the loop
// runs it, or the caller gives up on it before it ever ran.
const (
	opQueued int32 = iota
	opTaken
	opCancelled
)

// start readies w on db; with group, it starts the loop.
func (w *writer) start(db *sql.DB, group bool) {
	w.db, w.group = db, group
	w.stop, w.exited = make(chan struct{}), make(chan struct{})
	if !group {
		close(w.exited)
		return
	}
	w.ops = make(chan *op, 2*maxBatch)
	go w.loop()
}

// close stops taking writes and waits until the loop has answered every
// write it took. Writes still queued are answered with errClosed by their
// callers. It is safe to call on a writer that never started and more than once.
func (w *writer) close() {
	if w.stop == nil {
		return
	}
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.exited
}

// tx runs fn in a write transaction (alone, or within a batch under its own
// savepoint) and returns fn's error unchanged if fn fails, after rolling back
// fn's changes. If fn succeeds, tx returns only after the transaction holding
// fn's changes has committed, and returns the commit's failure if it failed.
func (w *writer) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return w.do(ctx, func(_ context.Context, tx *sql.Tx) error { return fn(tx) })
}

// do is tx, for functions that take the context their statements must use:
// ctx's values without its cancellation. A statement interrupted by a
// cancelled context makes SQLite roll back the whole transaction, which in a
// batch is everybody's, so once a write has begun it runs to its end; ctx
// cancels only the wait for the writer.
func (w *writer) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return w.enqueue(ctx, fn, false)
}

// doAtomic is do for a write of a single statement, such as a
// compare-and-swap, which either changes what it should or nothing, and
// whose only failures are refreshing.ErrStale and refreshing.ErrNotFound. In
// a batch it runs without a savepoint of its own (two statements fewer per
// write); any other failure fails the whole batch, since it may have left
// the transaction in a state no savepoint recorded.
func (w *writer) doAtomic(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return w.enqueue(ctx, fn, true)
}

// enqueue hands fn to the loop and waits for its result (or runs it alone
// when group commit is off).
func (w *writer) enqueue(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error, atomic bool) error {
	if !w.group {
		return w.alone(ctx, fn)
	}
	select {
	case <-w.stop:
		return errClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{ctx: ctx, fn: fn, atomic: atomic, done: make(chan struct{})}
	select {
	case w.ops <- o:
	case <-w.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opCancelled) {
			return ctx.Err()
		}
	case <-w.exited:
		if o.state.CompareAndSwap(opQueued, opCancelled) {
			return errClosed
		}
	}
	// The loop took it: its outcome is decided by the batch's commit.
	<-o.done
	return o.err
}

// WriterStats counts the write transactions a Store committed.
type WriterStats struct {
	Commits int64 // write transactions that stored something (each one fsync of the WAL)
	Writes  int64 // the successful writes they held: with group commit, several per commit
}

// WriterStats returns how many write transactions s committed and how many
// writes they held, which tells how well group commit batches.
func (s *Store) WriterStats() WriterStats {
	return WriterStats{Commits: s.w.commits.Load(), Writes: s.w.writes.Load()}
}

// alone runs fn in a transaction of its own (group commit off).
func (w *writer) alone(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	select {
	case <-w.stop:
		return errClosed
	default:
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	if err := fn(context.WithoutCancel(ctx), tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := w.commit(tx); err != nil {
		return err
	}
	w.commits.Add(1)
	w.writes.Add(1)
	return nil
}

// commit commits tx. A COMMIT that fails can leave the transaction open on
// the connection (a deferred constraint, SQLITE_BUSY), which would make the
// next BEGIN fail: roll it back explicitly.
func (w *writer) commit(tx *sql.Tx) error {
	err := tx.Commit()
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrTxDone) {
		w.db.ExecContext(context.Background(), `ROLLBACK`) // "no transaction is active" if SQLite already rolled back
	}
	return classify(err)
}

// loop is the group-commit writer: one batch at a time, until close.
func (w *writer) loop() {
	defer close(w.exited)
	batch := make([]*op, 0, maxBatch)
	prev := 0
	for {
		select {
		case o := <-w.ops:
			batch = append(batch, o)
		case <-w.stop:
			return
		}
		batch = w.gather(batch, prev)
		prev = len(batch)
		w.runBatch(batch)
		clear(batch)
		batch = batch[:0]
	}
}

// gather adds to batch the writes queued now, then, when the batch and the
// previous one (of size prev) show concurrent writers but the batch is still
// small, lingers a little for more.
func (w *writer) gather(batch []*op, prev int) []*op {
	drain := func() {
		for len(batch) < maxBatch {
			select {
			case o := <-w.ops:
				batch = append(batch, o)
			default:
				return
			}
		}
	}
	drain()
	if len(batch) < 2 || prev < 2 || len(batch) >= lingerUntil {
		return batch
	}
	t := time.NewTimer(linger)
	defer t.Stop()
	for len(batch) < lingerUntil {
		select {
		case o := <-w.ops:
			batch = append(batch, o)
			drain()
		case <-t.C:
			return batch
		case <-w.stop:
			return batch
		}
	}
	return batch
}

// runBatch runs the ops of batch that are still wanted in one transaction and
// answers each of them.
func (w *writer) runBatch(batch []*op) {
	live := batch[:0]
	for _, o := range batch {
		if o.state.CompareAndSwap(opQueued, opTaken) {
			live = append(live, o)
		}
	}
	if len(live) == 0 {
		return
	}
	err := w.runTx(live)
	if err == nil {
		stored := 0
		for _, o := range live {
			if o.err == nil {
				stored++
			}
		}
		if stored > 0 {
			w.commits.Add(1)
			w.writes.Add(int64(stored))
		}
	}
	for _, o := range live {
		if err != nil {
			o.err = err
		}
		close(o.done)
	}
}

// runTx runs ops in one transaction and commits it. It sets each op's own
// result, and returns an error, which then is every op's result, if the
// transaction as a whole failed.
func (w *writer) runTx(ops []*op) error {
	bg := context.Background()
	tx, err := w.db.BeginTx(bg, nil)
	if err != nil {
		return classify(err)
	}
	if len(ops) == 1 {
		// Alone, a failing write rolls back the transaction: no savepoint needed.
		o := ops[0]
		if o.err = o.run(tx); o.err != nil {
			tx.Rollback()
			return nil
		}
		return w.commit(tx)
	}
	for _, o := range ops {
		if o.atomic {
			o.err = o.run(tx)
			if o.err != nil && !errors.Is(o.err, refreshing.ErrStale) && !errors.Is(o.err, refreshing.ErrNotFound) {
				tx.Rollback()
				return batchFailed(o.err)
			}
			continue
		}
		if _, err := tx.ExecContext(bg, `SAVEPOINT op`); err != nil {
			tx.Rollback()
			return batchFailed(err)
		}
		o.err = o.run(tx)
		if o.err != nil {
			// If o's failure ended the whole transaction (SQLite rolls
			// back on I/O errors or a full disk), the savepoint is gone
			// and this fails: the batch fails with it.
			if _, err := tx.ExecContext(bg, `ROLLBACK TO op`); err != nil {
				tx.Rollback()
				return batchFailed(err)
			}
		}
		if _, err := tx.ExecContext(bg, `RELEASE op`); err != nil {
			tx.Rollback()
			return batchFailed(err)
		}
	}
	return w.commit(tx)
}

// run calls o.fn within tx. A panic in fn becomes o's error instead of
// killing the loop, and so every other caller's request with it.
func (o *op) run(tx *sql.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("sqlite: panic in a write: %v", v)
		}
	}()
	return o.fn(context.WithoutCancel(o.ctx), tx)
}

// batchFailed reports a batch whose transaction broke before its commit.
func batchFailed(err error) error {
	return fmt.Errorf("%w: write batch aborted: %w", refreshing.ErrUnavailable, classify(err))
}
