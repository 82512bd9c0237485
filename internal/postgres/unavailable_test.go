package postgres_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing/internal/pgtest"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/postgres"
)

// TestUnavailable checks that a database that cannot be reached or cannot
// write yields refreshing.ErrUnavailable, promptly.
func TestUnavailable(t *testing.T) {
	t.Run("ErrUnavailableNoServer", func(t *testing.T) {
		// Nothing listens on port 1; this needs no PostgreSQL.
		start := time.Now()
		_, err := postgres.Open(t.Context(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1")
		if !errors.Is(err, refreshing.ErrUnavailable) {
			t.Fatalf("Open without a server: got %v, want ErrUnavailable", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Open without a server took %v", d)
		}
	})

	t.Run("ErrUnavailableServerGone", func(t *testing.T) {
		dsn := pgtest.Schema(t)
		p := startProxy(t, dsn)
		dsn = pgtest.WithParam(t, dsn, "host", "127.0.0.1")
		dsn = pgtest.WithParam(t, dsn, "port", p.port())
		dsn = pgtest.WithParam(t, dsn, "connect_timeout", "1")
		s := openDSN(t, dsn)
		u := &refreshing.User{Username: "alice", Email: "alice@example.com", CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}

		p.stop()
		start := time.Now()
		// The first call finds its pooled connection dead, the second
		// cannot open a new one: both are outages to the caller.
		if _, err := s.UserByID(t.Context(), u.ID); !errors.Is(err, refreshing.ErrUnavailable) {
			t.Errorf("UserByID after the server went away: got %v, want ErrUnavailable", err)
		}
		if err := s.Ping(t.Context()); !errors.Is(err, refreshing.ErrUnavailable) {
			t.Errorf("Ping after the server went away: got %v, want ErrUnavailable", err)
		}
		if err := s.RotateSession(t.Context(), refreshing.Rotation{SessionID: "s", At: t0}); !errors.Is(err, refreshing.ErrUnavailable) {
			t.Errorf("RotateSession after the server went away: got %v, want ErrUnavailable", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("failing took %v", d)
		}
	})

	t.Run("ErrUnavailableReadOnly", func(t *testing.T) {
		// A hot standby or a server in read-only mode accepts connections
		// but refuses writes (SQLSTATE 25006).
		// The schema is migrated first: Open itself then needs no write.
		dsn := pgtest.Schema(t)
		openDSN(t, dsn)
		ro := openDSN(t, pgtest.WithParam(t, dsn, "default_transaction_read_only", "on"))
		u := &refreshing.User{Username: "alice", Email: "alice@example.com", CreatedAt: t0, UpdatedAt: t0}
		if err := ro.CreateUser(t.Context(), u); !errors.Is(err, refreshing.ErrUnavailable) {
			t.Fatalf("CreateUser on a read-only server: got %v, want ErrUnavailable", err)
		}
		if _, err := ro.UserByID(t.Context(), 1); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("UserByID on a read-only server: got %v, want ErrNotFound", err)
		}
	})

	t.Run("ErrUnavailableDeadline", func(t *testing.T) {
		s := openStore(t)
		ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		if _, err := s.UserByID(ctx, 1); !errors.Is(err, refreshing.ErrUnavailable) {
			t.Fatalf("UserByID past its deadline: got %v, want ErrUnavailable", err)
		}
	})

	t.Run("CanceledIsNotUnavailable", func(t *testing.T) {
		// A caller that gave up says nothing about the server.
		s := openStore(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.UserByID(ctx, 1)
		if !errors.Is(err, context.Canceled) || errors.Is(err, refreshing.ErrUnavailable) {
			t.Fatalf("UserByID with a canceled context: got %v, want context.Canceled only", err)
		}
	})
}

// proxy forwards TCP connections to the test server until stop, which closes
// its listener and every forwarded connection as if the server had died.
type proxy struct {
	ln      net.Listener
	mu      sync.Mutex
	conns   []net.Conn
	stopped bool
	wg      sync.WaitGroup
}

// startProxy starts a proxy to the server that dsn names, stopped when the
// test ends.
func startProxy(t *testing.T, dsn string) *proxy {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	network, addr := "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	if strings.HasPrefix(cfg.Host, "/") {
		network, addr = "unix", cfg.Host+"/.s.PGSQL."+strconv.Itoa(int(cfg.Port))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial(network, addr)
			if err != nil {
				c.Close()
				continue
			}
			if !p.track(c, s) {
				c.Close()
				s.Close()
				return
			}
			p.wg.Go(func() { io.Copy(s, c); s.Close() })
			p.wg.Go(func() { io.Copy(c, s); c.Close() })
		}
	})
	t.Cleanup(p.stop)
	return p
}

// track records open connections for stop; false if stop already ran.
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, conns...)
	return !p.stopped
}

// port returns the port the proxy listens on.
func (p *proxy) port() string {
	return strconv.Itoa(p.ln.Addr().(*net.TCPAddr).Port)
}

// stop closes the listener and every forwarded connection. It may be called
// more than once.
func (p *proxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	p.stopped = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
