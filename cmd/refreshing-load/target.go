package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/metrics"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/ratelimit"
	"github.com/refreshing/refreshing/internal/server"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// target is what the load is driven against: in-process servers on one
// database, or a server given by URL. Its store is for seeding.
type target struct {
	urls      []string
	store     refreshing.Store   // seeding goes through it
	stores    []refreshing.Store // the in-process servers' stores
	storeName string
	pid       int // whose RSS to report; 0 for this process

	closers []func() error
}

// writerStats sums the commits of the in-process SQLite stores (zero for
// other stores and for --url).
func (t *target) writerStats() sqlite.WriterStats {
	var sum sqlite.WriterStats
	for _, st := range t.stores {
		if s, ok := st.(*sqlite.Store); ok {
			ws := s.WriterStats()
			sum.Commits += ws.Commits
			sum.Writes += ws.Writes
		}
	}
	return sum
}

// rssOf says whose memory the RSS figures are.
func (t *target) rssOf() string {
	if t.pid == 0 {
		return "this process (the in-process server and the load generator together)"
	}
	return "process " + strconv.Itoa(t.pid)
}

// close shuts the servers down and closes the stores, in reverse order.
func (t *target) close() error {
	var errs []error
	for i := len(t.closers) - 1; i >= 0; i-- {
		errs = append(errs, t.closers[i]())
	}
	return errors.Join(errs...)
}

// openStore opens the store a DSN names, as cmd/refreshing does:
// postgres:// or postgresql:// URLs select PostgreSQL; sqlite:PATH (or a bare
// path) selects SQLite.
func openStore(ctx context.Context, dsn string) (refreshing.Store, string, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		st, err := postgres.Open(ctx, dsn)
		return st, "postgres", err
	case strings.HasPrefix(dsn, "sqlite:"):
		dsn = strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
	}
	name := "sqlite (group commit on)"
	if strings.Contains(dsn, "group_commit=off") {
		name = "sqlite (group commit off)"
	}
	st, err := sqlite.Open(ctx, dsn)
	return st, name, err
}

// newTarget starts n in-process servers on c.db, or readies c.url.
func newTarget(ctx context.Context, c *config, n int, getenv func(string) string) (_ *target, err error) {
	t := &target{pid: c.pid}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	if c.url != "" {
		st, name, err := openStore(ctx, c.db)
		if err != nil {
			return nil, fmt.Errorf("open storage: %w", err)
		}
		t.closers = append(t.closers, st.Close)
		t.store, t.storeName, t.urls = st, name, []string{strings.TrimRight(c.url, "/")}
		return t, nil
	}
	seed, err := refreshing.SettingsFromEnv(loadEnv(getenv, c.rateLimits))
	if err != nil {
		return nil, usagef("%v", err)
	}
	logw := io.Discard
	if c.serverLog != "" {
		f, err := os.OpenFile(c.serverLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		t.closers = append(t.closers, f.Close)
		logw = f
	}
	logger := slog.New(slog.NewTextHandler(logw, nil))
	for range n {
		st, name, err := openStore(ctx, c.db)
		if err != nil {
			return nil, fmt.Errorf("open storage: %w", err)
		}
		t.closers = append(t.closers, st.Close)
		// As serve builds it: the store timed into the metrics, which
		// also observe the Service, and an in-memory rate limiter.
		m := metrics.New()
		svc, err := refreshing.New(ctx, refreshing.Config{Store: m.Store(st), Observer: m, Settings: &seed})
		if err != nil {
			return nil, fmt.Errorf("start service: %w", err)
		}
		t.closers = append(t.closers, func() error { svc.Close(); return nil })
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		// As serve configures it.
		srv := &http.Server{
			Handler:           server.New(svc, server.Options{Logger: logger, Limiter: ratelimit.NewMemory(nil, 0), Metrics: m}),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		go srv.Serve(ln)
		t.closers = append(t.closers, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(ctx)
		})
		if t.store == nil {
			t.store, t.storeName = st, name
		}
		t.stores = append(t.stores, st)
		t.urls = append(t.urls, "http://"+ln.Addr().String())
	}
	return t, nil
}

// loadEnv is getenv with the rate limits of a new database off, unless they
// are to stay or are set explicitly: every request of this tool comes from
// 127.0.0.1, and per-IP limits would measure the limiter.
func loadEnv(getenv func(string) string, keepLimits bool) func(string) string {
	return func(name string) string {
		v := getenv(name)
		if v == "" && !keepLimits && strings.HasPrefix(name, "REFRESHING_RATE_LIMIT_") {
			return "0"
		}
		return v
	}
}

// cpuTime returns the CPU time (user and system) process pid (0: this
// process) has used so far.
func cpuTime(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The fields after the command, which is in parentheses and may hold
	// spaces: state is the 3rd field of proc_pid_stat(5), utime the 14th.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		ticks += n
	}
	// USER_HZ is 100 on every Linux that Go supports.
	return time.Duration(ticks) * (time.Second / 100), nil
}

// rss returns the resident set size and its peak (VmRSS, VmHWM) of process
// pid (0: this process), in bytes.
func rss(pid int) (cur, peak int64, err error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %s: %w", path, k, err)
		}
		if k == "VmRSS" {
			cur = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return cur, peak, sc.Err()
}
