package refreshing

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// The janitor deletes sessions that ended (were revoked, or expired
// absolutely or by idleness) more than Settings.SessionRetention ago, so the
// sessions table does not grow without bound. The audit log keeps its own
// copy of what it shows (user, session id, IP, user agent), so deleting a
// session never breaks an audit event.
//
// It works in small batches, each one short transaction, pausing between
// them: on SQLite, whose single writer the exchanges need too, a batch holds
// the writer for a few milliseconds at a time. With several instances on one
// database, a lease in the Store lets only one of them run it at a time.

// janitorLease is the name of the lease the janitor holds while it works.
const janitorLease = "janitor"

// Janitor configures RunJanitor and JanitorRound. Zero fields take the
// defaults given.
type Janitor struct {
	// Holder names this instance in the lease; default a random name.
	Holder string
	// Interval is the time between rounds; default 1 minute.
	Interval time.Duration
	// Batch is how many sessions one transaction deletes at most; default 500.
	Batch int
	// Pause is the rest between two batches of a round, which leaves the
	// storage's writer to the requests; default 100 ms. A batch of 500 on
	// SQLite takes about 28 ms (BenchmarkPurgeSessions in internal/sqlite),
	// so a backlog holds the writer less than a quarter of the time.
	Pause time.Duration
	// Logger receives a line per round that deleted something, and errors;
	// nil discards them.
	Logger *slog.Logger
}

// withDefaults returns j with its zero fields set to the defaults.
func (j Janitor) withDefaults() Janitor {
	if j.Holder == "" {
		j.Holder = "instance-" + randomString(9)
	}
	if j.Interval <= 0 {
		j.Interval = time.Minute
	}
	if j.Batch <= 0 {
		j.Batch = 500
	}
	if j.Pause <= 0 {
		j.Pause = 100 * time.Millisecond
	}
	if j.Logger == nil {
		j.Logger = slog.New(slog.DiscardHandler)
	}
	return j
}

// PurgeSessions deletes at most limit sessions that ended more than the
// session retention ago and reports how many it deleted. With a retention of
// 0 (keep forever) it deletes nothing. The cutoffs are this Service's rules:
// a session ends when revoked, at its absolute expiry, or after the idle
// timeout since its last activity.
func (s *Service) PurgeSessions(ctx context.Context, limit int) (int, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return 0, err
	}
	if st.SessionRetention <= 0 || limit <= 0 {
		return 0, nil
	}
	cutoff := s.clock().Add(-st.SessionRetention)
	p := Purge{RevokedBefore: cutoff, ExpiredBefore: cutoff, Limit: limit}
	if st.RefreshIdle > 0 {
		p.InactiveBefore = cutoff.Add(-st.RefreshIdle)
	}
	n, err := s.store.PurgeSessions(ctx, p)
	if n > 0 {
		s.obs.Purged(n)
	}
	if err != nil {
		return n, fmt.Errorf("purge sessions: %w", err)
	}
	return n, nil
}

// JanitorRound runs one round of the janitor: if it can take (or renew) the
// lease, it purges batch after batch until one comes back short, renewing the
// lease before each. It reports how many sessions it deleted and whether it
// held the lease.
func (s *Service) JanitorRound(ctx context.Context, j Janitor) (deleted int, held bool, err error) {
	j = j.withDefaults()
	// The lease outlives the interval so that the holder keeps it from
	// round to round; another instance takes over only when it is gone.
	leaseFor := 3 * j.Interval
	for {
		now := s.clock()
		held, err = s.store.AcquireLease(ctx, janitorLease, j.Holder, now, now.Add(leaseFor))
		if err != nil {
			return deleted, held, fmt.Errorf("janitor lease: %w", err)
		}
		if !held {
			return deleted, false, nil
		}
		n, err := s.PurgeSessions(ctx, j.Batch)
		deleted += n
		if err != nil || n < j.Batch {
			return deleted, true, err
		}
		t := time.NewTimer(j.Pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return deleted, true, ctx.Err()
		case <-t.C:
		}
	}
}

// RunJanitor runs a janitor round now and then every j.Interval until ctx
// ends. Failures are logged and retried at the next round.
func (s *Service) RunJanitor(ctx context.Context, j Janitor) {
	j = j.withDefaults()
	tick := time.NewTicker(j.Interval)
	defer tick.Stop()
	for {
		n, held, err := s.JanitorRound(ctx, j)
		switch {
		case err != nil && ctx.Err() == nil:
			j.Logger.WarnContext(ctx, "janitor", "err", err, "deleted", n)
		case n > 0:
			j.Logger.InfoContext(ctx, "janitor deleted ended sessions", "deleted", n)
		case !held:
			j.Logger.DebugContext(ctx, "janitor lease held by another instance")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// ActiveSessions counts the sessions that can still be used now: not
// revoked, not past their absolute expiry, and, with an idle timeout, active
// within it. It reads an index of live sessions; callers such as the metrics
// gauge call it on a timer, not per request.
func (s *Service) ActiveSessions(ctx context.Context) (int64, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return 0, err
	}
	now := s.clock()
	var activeAfter time.Time
	if st.RefreshIdle > 0 {
		activeAfter = now.Add(-st.RefreshIdle)
	}
	n, err := s.store.CountActiveSessions(ctx, now, activeAfter)
	if err != nil {
		return 0, fmt.Errorf("count active sessions: %w", err)
	}
	return n, nil
}
