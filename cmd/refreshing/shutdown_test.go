package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestGracefulShutdown sends SIGTERM mid-storm and checks that the request in
// flight finishes, new connections are refused, the process exits 0 after
// closing the store, and no acknowledged rotation is lost: with a reuse grace
// of 0, only the live token of a session exchanges, so every client's last
// acknowledged token working after the restart proves that the server
// stored exactly what it acknowledged.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "refreshing.db")
	env := serveEnv(db, "REFRESHING_REUSE_GRACE=0s")
	p := startProc(t, env)
	s := newStorm(t, p.url, "user", 4, 16)

	// A client whose request is in flight when SIGTERM arrives: its headers
	// and half its body are sent, the rest comes after the signal.
	slow := newStorm(t, p.url, "slow", 1, 1).clients[0]
	body, _ := json.Marshal(map[string]any{"token": slow.last})
	addr := strings.TrimPrefix(p.url, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/auth/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body[:len(body)/2])

	stop := make(chan struct{})
	var acks atomic.Int64
	wg := s.run(t, p.url, stop, &acks)
	deadline := time.Now().Add(5 * time.Second)
	for acks.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling, not a timing assertion
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	t.Run("NewConnectionsRefused", func(t *testing.T) {
		refused := false
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				refused = true
				break
			}
			c.Close()
		}
		if !refused {
			t.Fatal("the server still accepts connections 10 s after SIGTERM")
		}
	})
	t.Run("InFlightRequestFinishes", func(t *testing.T) {
		if _, err := conn.Write(body[len(body)/2:]); err != nil {
			t.Fatalf("finishing the request in flight: %v", err)
		}
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer to the request in flight: %v", err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		tok, _ := out["refreshToken"].(string)
		if res.StatusCode != http.StatusOK || tok == "" {
			t.Fatalf("request in flight: %d %v", res.StatusCode, out)
		}
		slow.previous, slow.last = slow.last, tok
		slow.acked++
	})
	if err := p.wait(); !exitedCleanly(err) {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Logs())
	}
	close(stop)
	wg.Wait()
	t.Logf("SIGTERM after %d acknowledged rotations", acks.Load())

	t.Run("StoreClosedCleanly", func(t *testing.T) {
		if !strings.Contains(p.Logs(), `"msg":"stopped"`) {
			t.Errorf("no \"stopped\" log line:\n%s", p.Logs())
		}
		// Close checkpoints the WAL into the database file.
		if fi, err := os.Stat(db + "-wal"); err == nil && fi.Size() > 0 {
			t.Errorf("the WAL still holds %d bytes after a clean shutdown", fi.Size())
		}
		integrityCheck(t, db)
	})

	p = startProc(t, env)
	t.Run("NoAcknowledgedRotationLost", func(t *testing.T) {
		for _, c := range append(s.clients, slow) {
			if c.revoked || c.inFlightRevoke {
				continue
			}
			a := call(t.Context(), s.http, p.url, http.MethodPost, "/api/auth/token", map[string]any{"token": c.last}, "")
			if a.status != http.StatusOK {
				t.Errorf("client %d: last acknowledged token (rotation %d, in flight %v) answered %d %s", c.id, c.acked, c.inFlight, a.status, a.raw)
			}
		}
	})
	t.Run("RevokedSessionsStayRevoked", func(t *testing.T) {
		for _, c := range s.clients {
			if c.revoked {
				if a := call(t.Context(), s.http, p.url, http.MethodPost, "/api/auth/token", map[string]any{"token": c.last}, ""); a.status != http.StatusUnauthorized {
					t.Errorf("client %d: revoked session answered %d", c.id, a.status)
				}
			}
		}
	})
	if err := p.signal(syscall.SIGTERM); !exitedCleanly(err) {
		t.Errorf("second SIGTERM: %v", err)
	}
}
