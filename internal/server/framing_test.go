package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConflictingFraming sends, over one raw TCP connection, a request with
// both Content-Length and Transfer-Encoding: chunked followed by a second
// request: the first is answered with Connection: close and the connection
// is closed (RFC 9112 section 6.1), so the second is never read as a request
// of its own. A plain request keeps its connection.
func TestConflictingFraming(t *testing.T) {
	e := start(t, setup{})
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
	t.Run("ContentLengthAndChunked", func(t *testing.T) {
		c, br := dial()
		smuggled := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
		req := "POST /api/auth/revoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"c\r\n{\"token\":\"\"}\r\n0\r\n\r\n" + smuggled
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if !res.Close {
			t.Errorf("answer to a request with conflicting framing: Connection %q, want close", res.Header.Get("Connection"))
		}
		if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
			t.Errorf("after the answer the server sent %q (err %v); want the connection closed", rest, err)
		}
	})
	t.Run("PlainRequestKeepsTheConnection", func(t *testing.T) {
		c, br := dial()
		for i := range 2 {
			if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.Close {
				t.Fatalf("request %d: the connection is closed after a plain request", i)
			}
		}
	})
}
