package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing/internal/pgtest"
)

// TestInstances runs two instances on one PostgreSQL database: rotation is
// exactly-once across them, racing clients spread over both keep working,
// reuse detection and revocation apply everywhere at once, and a key
// rotated from the CLI is used by both.
func TestInstances(t *testing.T) {
	dsn := pgtest.Schema(t)
	env := map[string]string{"REFRESHING_DB": dsn, "REFRESHING_REUSE_GRACE": "2s"}
	a, b := startWith(t, env), startWith(t, env)
	both := []*instance{a, b}

	code, reg := a.post(t, "/api/auth/local/register", "", map[string]string{"username": "ada", "email": "ada@example.com", "password": "correct horse"})
	if code != 200 {
		t.Fatalf("register: %d %v", code, reg)
	}

	// 50 concurrent exchanges of one token, alternating between instances.
	const n = 50
	tokens := make([]string, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, body := both[i%2].post(t, "/api/auth/token", "", map[string]string{"token": reg["refreshToken"].(string)})
			codes[i] = c
			if s, ok := body["refreshToken"].(string); ok {
				tokens[i] = s
			}
		})
	}
	wg.Wait()
	for i := range n {
		if codes[i] != 200 {
			t.Fatalf("racer %d on instance %d: %d", i, i%2, codes[i])
		}
		if tokens[i] != tokens[0] {
			t.Fatalf("racers got different successors: exactly one rotation must win")
		}
	}
	// Every token handed out exchanges once more, on either instance.
	for i := range n {
		wg.Go(func() {
			codes[i], _ = both[(i+1)%2].post(t, "/api/auth/token", "", map[string]string{"token": tokens[i]})
		})
	}
	wg.Wait()
	for i := range n {
		if codes[i] != 200 {
			t.Fatalf("second exchange %d: %d", i, codes[i])
		}
	}

	t.Run("RevocationEverywhere", func(t *testing.T) {
		_, login := a.post(t, "/api/auth/local", "", map[string]string{"identifier": "ada", "password": "correct horse"})
		rt, jwt := login["refreshToken"].(string), login["jwt"].(string)
		// B has just seen the session active (and remembers it until it
		// reads the database's auth revision again: at most 50 ms).
		if code, _ := b.get(t, "/api/users/me", jwt); code != 200 {
			t.Fatalf("JWT on B before revocation: %d", code)
		}
		if code, _ := a.post(t, "/api/auth/revoke", "", map[string]string{"token": rt}); code != 200 {
			t.Fatal(code)
		}
		revoked := time.Now()
		if code, _ := b.post(t, "/api/auth/token", "", map[string]string{"token": rt}); code != 401 {
			t.Fatalf("revoked on A, exchanged on B: %d, want 401", code)
		}
		for {
			code, _ := b.get(t, "/api/users/me", jwt)
			if code == 401 {
				t.Logf("JWT of a session revoked on A refused on B after %v", time.Since(revoked).Round(time.Millisecond))
				break
			}
			if code != 200 || time.Since(revoked) > 500*time.Millisecond {
				t.Fatalf("JWT of a session revoked on A, used on B %v later: %d, want 401 within 50 ms (0.5 s allowed on a busy machine)", time.Since(revoked), code)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("ReuseDetectedEverywhere", func(t *testing.T) {
		_, login := a.post(t, "/api/auth/local", "", map[string]string{"identifier": "ada", "password": "correct horse"})
		old := login["refreshToken"].(string)
		_, next := a.post(t, "/api/auth/token", "", map[string]string{"token": old})
		time.Sleep(2100 * time.Millisecond) // past the 2 s grace window
		if code, _ := b.post(t, "/api/auth/token", "", map[string]string{"token": old}); code != 401 {
			t.Fatalf("reuse on B after the window: %d, want 401", code)
		}
		if code, _ := a.post(t, "/api/auth/token", "", map[string]string{"token": next["refreshToken"].(string)}); code != 401 {
			t.Fatalf("live token after reuse was detected on the other instance: %d, want 401", code)
		}
	})

	t.Run("KeysShared", func(t *testing.T) {
		out, err := a.cli("keys", "rotate")
		if err != nil {
			t.Fatalf("keys rotate: %v %s", err, out)
		}
		kid := strings.TrimSpace(strings.TrimPrefix(out, "new signing key:"))
		time.Sleep(keyReload + 200*time.Millisecond) // both instances reload their keys every keyReload
		ja, jb := jwks(t, a), jwks(t, b)
		if ja != jb {
			t.Fatalf("instances publish different JWKS:\n%s\n%s", ja, jb)
		}
		_, login := a.post(t, "/api/auth/local", "", map[string]string{"identifier": "ada", "password": "correct horse"})
		hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(login["jwt"].(string), ".")[0])
		if !strings.Contains(string(hdr), `"kid":"`+kid+`"`) {
			t.Fatalf("A still signs with the old key: header %s, new kid %s", hdr, kid)
		}
		if code, _ := b.get(t, "/api/users/me", login["jwt"].(string)); code != 200 {
			t.Fatalf("token signed on A after rotation, verified on B: %d", code)
		}
	})
}

func jwks(t *testing.T, in *instance) string {
	t.Helper()
	resp, err := http.Get(in.url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		// The JWKS endpoint arrives with the OAuth surface; compare the
		// signing behaviour instead until then.
		return ""
	}
	return string(b)
}

// TestPostgresOutage cuts the database away under a running instance:
// requests get 503 quickly (never a hang, never a 500), /readyz says not
// ready, and service resumes by itself when the database returns, with
// everything acknowledged before the outage intact.
func TestPostgresOutage(t *testing.T) {
	dsn := pgtest.Schema(t)
	proxy, via := pgtest.NewProxy(t, dsn)
	in := startWith(t, map[string]string{"REFRESHING_DB": via})
	_, reg := in.post(t, "/api/auth/local/register", "", map[string]string{"username": "ada", "email": "ada@example.com", "password": "correct horse"})
	_, ex := in.post(t, "/api/auth/token", "", map[string]string{"token": reg["refreshToken"].(string)})
	live := ex["refreshToken"].(string)

	proxy.Cut()
	for _, c := range []struct{ path, body string }{
		{"/api/auth/token", `{"token":"` + live + `"}`},
		{"/api/auth/local", `{"identifier":"ada","password":"correct horse"}`},
	} {
		start := time.Now()
		code, body := rawPost(t, in.url+c.path, c.body)
		if code != 503 || !bytes.Contains(body, []byte(`"ServiceUnavailableError"`)) {
			t.Fatalf("%s during the outage: %d %s", c.path, code, body)
		}
		d := time.Since(start)
		if d > 8*time.Second {
			t.Fatalf("%s took %v during the outage; it must fail fast", c.path, d)
		}
		t.Logf("%s during the outage: 503 in %v", c.path, d.Round(time.Millisecond))
		if bytes.Contains(body, []byte("dial")) || bytes.Contains(body, []byte("pgx")) || bytes.Contains(body, []byte("127.0.0.1")) {
			t.Fatalf("internals leaked: %s", body)
		}
	}
	if code := getCode(t, in.url+"/readyz"); code != 503 {
		t.Fatalf("/readyz during the outage: %d", code)
	}

	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for getCode(t, in.url+"/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not recover after the database came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, body := rawPost(t, in.url+"/api/auth/token", `{"token":"`+live+`"}`)
	if code != 200 {
		t.Fatalf("the token acknowledged before the outage: %d %s", code, body)
	}
}

func rawPost(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func getCode(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestMigratePostgres: `refreshing migrate` works against PostgreSQL, twice.
func TestMigratePostgres(t *testing.T) {
	env := map[string]string{"REFRESHING_DB": pgtest.Schema(t)}
	for range 2 {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		if strings.Contains(out.String(), "@") && !strings.Contains(out.String(), "postgres@") {
			t.Fatalf("migrate printed credentials: %q", out.String())
		}
	}
}
