// Package pgtest gives tests a PostgreSQL of their own: a fresh schema on
// the server named by REFRESHING_TEST_POSTGRES, and a TCP proxy in front of
// it that a test can cut and restore to simulate an outage without touching
// the shared server.
package pgtest

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the environment variable holding the test server's DSN.
const EnvVar = "REFRESHING_TEST_POSTGRES"

// DSN returns the test server's DSN, or skips the test when EnvVar is unset.
// CI sets it; a server that then does not answer fails the test (Schema).
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvVar)
	if dsn == "" {
		t.Skip(EnvVar + " is not set; skipping the PostgreSQL tests " +
			"(set it to a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return dsn
}

// Schema creates an empty schema on the test server and returns a DSN (URL
// form) whose search_path selects it. The schema is dropped when the test ends.
func Schema(t testing.TB) string {
	t.Helper()
	return SchemaIn(t, DSN(t))
}

// SchemaIn is Schema in the database that dsn, a URL, names: one that
// Database created, say.
func SchemaIn(t testing.TB, dsn string) string {
	t.Helper()
	schema := "rt_" + strings.ToLower(rand.Text())
	if err := exec(dsn, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("%s is set but the server does not answer: %v", EnvVar, err)
	}
	t.Cleanup(func() {
		if err := exec(dsn, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithParam(t, dsn, "search_path", schema)
}

// Database creates a database on the test server with CREATE DATABASE's
// options (such as "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE
// 'en-US'") and returns a DSN (URL form) that names it, or the error
// PostgreSQL gave. The database is dropped when the test ends.
func Database(t testing.TB, options string) (string, error) {
	t.Helper()
	dsn := DSN(t)
	name := "rt_" + strings.ToLower(rand.Text())
	if err := exec(dsn, `CREATE DATABASE `+name+` `+options); err != nil {
		return "", err
	}
	t.Cleanup(func() {
		// FORCE: a pooled connection of the test may not be closed yet.
		// DROP DATABASE waits for a checkpoint, which a busy shared server
		// can take well over exec's 10 s to finish: give it dropTimeout.
		if err := execWithin(dropTimeout, dsn, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// dropTimeout bounds a DROP DATABASE (see Database).
const dropTimeout = 2 * time.Minute

// exec runs sql on a connection of its own to the database dsn names,
// within 10 seconds.
func exec(dsn, sql string) error { return execWithin(10*time.Second, dsn, sql) }

// execWithin is exec within d.
func execWithin(d time.Duration, dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// WithParam returns the URL-form dsn with the query parameter key set to value.
func WithParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL: %q", EnvVar, dsn)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// Proxy forwards TCP connections to a PostgreSQL server. Cut drops every
// connection and refuses new ones; Restore accepts again on the same port.
type Proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

// NewProxy starts a proxy to the server dsn names and returns it with dsn
// rewritten to go through it. It stops when the test ends.
func NewProxy(t testing.TB, dsn string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{target: u.Host, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Cut)
	u.Host = p.addr
	return p, u.String()
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *Proxy) forward(c net.Conn) {
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil {
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { io.Copy(s, c); s.Close() }()
	io.Copy(c, s)
	c.Close()
}

// Cut closes the listener and every proxied connection, as a server that
// went away would.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Drop closes every proxied connection but keeps listening, so that clients
// reconnect at once (and pick up new database defaults).
func (p *Proxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Restore listens again on the same address.
func (p *Proxy) Restore() error {
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after Cut
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.Join(errors.New("pgtest: restore proxy"), err)
}
