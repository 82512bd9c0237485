package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refreshing/refreshing"
)

// loadPassword is every seeded user's password. Seeded users share one
// argon2id hash (DefaultArgon2Params), computed once: hashing per user would
// make seeding take hours and prove nothing.
const loadPassword = "load-test password"

// seedWorkers write concurrently, so that the SQLite writer commits them in
// large batches and PostgreSQL uses its pool.
const seedWorkers = 64

// chain is one seeded session a worker owns: its latest refresh token, and
// the access token of its latest exchange.
type chain struct {
	token string
	jwt   string
	dead  bool // refused for good (the run reports it as an error)
}

// seed creates c.users users and c.sessions sessions through t's Store and
// returns the chains the workers will own (an evenly spread sample of the
// sessions, at most c.concurrency*c.chains) and the users' emails.
func seed(ctx context.Context, c *config, t *target, p *progress) ([]*chain, []string, error) {
	st, err := t.store.Settings(ctx)
	if errors.Is(err, refreshing.ErrNotFound) {
		st, err = refreshing.DefaultSettings(), nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read settings: %w", err)
	}
	hash, err := refreshing.NewHasher(refreshing.DefaultArgon2Params, 1).Hash(ctx, loadPassword)
	if err != nil {
		return nil, nil, err
	}
	// A tag of this run keeps names unique when a database is reused.
	tag := strings.ToLower(rand.Text()[:8])
	now := time.Now().UTC().Truncate(time.Microsecond)

	ids := make([]int64, c.users)
	emails := make([]string, c.users)
	err = parallel(ctx, c.users, p.bar("users", c.users), func(i int) error {
		u := &refreshing.User{
			Username: fmt.Sprintf("load-%s-%d", tag, i), Email: fmt.Sprintf("load-%s-%d@example.com", tag, i),
			PasswordHash: hash, Provider: "local", Role: "authenticated", Confirmed: true,
			CreatedAt: now, UpdatedAt: now,
		}
		if err := t.store.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("seed user: %w", err)
		}
		ids[i], emails[i] = u.ID, u.Email
		return nil
	})
	if err != nil {
		return nil, nil, err
	}

	active := min(c.sessions, c.concurrency*c.chains)
	stride := c.sessions / active
	chains := make([]*chain, active)
	ci := refreshing.ClientInfo{UserAgent: "refreshing-load", IP: "127.0.0.1"}
	err = parallel(ctx, c.sessions, p.bar("sessions", c.sessions), func(i int) error {
		sess, token := refreshing.NewSession(ids[i%len(ids)], ci, now, st)
		if err := t.store.CreateSession(ctx, sess, 0); err != nil {
			return fmt.Errorf("seed session: %w", err)
		}
		if i%stride == 0 && i/stride < active {
			chains[i/stride] = &chain{token: token}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return chains, emails, nil
}

// parallel calls fn(i) for every i in [0, n) from seedWorkers goroutines,
// ticking bar, and returns the first error.
func parallel(ctx context.Context, n int, bar func(done int64), fn func(i int) error) error {
	var (
		next, done atomic.Int64
		once       sync.Once
		first      error
		wg         sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(seedWorkers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := fn(int(i)); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
				done.Add(1)
			}
		})
	}
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				bar(done.Load())
				return
			case <-tick.C:
				bar(done.Load())
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-ticked
	if first != nil {
		return first
	}
	return ctx.Err()
}

// progress draws progress bars on a terminal, and says nothing otherwise.
type progress struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	last string
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		fi, err := f.Stat()
		p.tty = err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
	return p
}

// bar returns the function that draws the bar of one seeding phase of total
// steps; it ends the line when done reaches total.
func (p *progress) bar(what string, total int) func(done int64) {
	start := time.Now()
	return func(done int64) {
		if !p.tty {
			return
		}
		const width = 40
		n := int(done * width / int64(max(total, 1)))
		elapsed := time.Since(start)
		rate := float64(done) / max(elapsed.Seconds(), 1e-9)
		line := fmt.Sprintf("\rseeding %-8s [%s%s] %3d%% %d/%d %.0f/s %s", what,
			strings.Repeat("=", n), strings.Repeat(" ", width-n), done*100/int64(max(total, 1)),
			done, total, rate, elapsed.Round(time.Second))
		p.mu.Lock()
		defer p.mu.Unlock()
		if line == p.last {
			return
		}
		p.last = line
		fmt.Fprint(p.w, line)
		if done >= int64(total) {
			fmt.Fprintln(p.w)
		}
	}
}
