package server_test

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
)

// scrape fetches GET /metrics and returns each sample line's value by its
// series ("name{labels}"), and the raw text.
func scrape(t *testing.T, c *apiClient) (map[string]float64, string) {
	t.Helper()
	res, err := c.http.Get(c.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out, string(raw)
}

func TestMetrics(t *testing.T) {
	// No grace window: a retired token presented again is reuse at once.
	c, _ := contractServer(t, func(s *refreshing.Settings) { s.ReuseGrace = 0 })
	before, _ := scrape(t, c)
	for _, series := range []string{
		`refreshing_token_exchanges_total{outcome="rotated"}`, `refreshing_token_exchanges_total{outcome="reuse_detected"}`,
		`refreshing_logins_total{outcome="success"}`, `refreshing_active_sessions`, `refreshing_janitor_deleted_sessions_total`,
	} {
		if v, ok := before[series]; !ok || v != 0 {
			t.Errorf("%s = %v (present %v) before any traffic, want 0", series, v, ok)
		}
	}

	_, reg := c.call(http.MethodPost, "/api/auth/local/register", map[string]any{"username": "ada", "email": "ada@example.com", "password": "correct horse"}, true, nil)
	token, _ := reg["refreshToken"].(string)
	first := token
	for range 3 {
		_, m := c.call(http.MethodPost, "/api/auth/token", map[string]any{"token": token}, true, nil)
		token, _ = m["refreshToken"].(string)
	}
	c.call(http.MethodPost, "/api/auth/local", map[string]any{"identifier": "ada", "password": "wrong horse"}, true, nil)
	c.call(http.MethodPost, "/api/auth/local", map[string]any{"identifier": "ada", "password": "correct horse"}, true, nil)
	// The first token, three rotations old: reuse detected.
	c.call(http.MethodPost, "/api/auth/token", map[string]any{"token": first}, true, nil)
	c.call(http.MethodPost, "/api/auth/token", map[string]any{"token": "rt_junk"}, true, nil)
	const probe = "/api/users/4242/secret-looking-path-rt_abc"
	c.call(http.MethodGet, probe, nil, false, nil)

	after, text := scrape(t, c)
	for series, want := range map[string]float64{
		`refreshing_token_exchanges_total{outcome="rotated"}`:                                     3,
		`refreshing_token_exchanges_total{outcome="reuse_detected"}`:                              1,
		`refreshing_token_exchanges_total{outcome="invalid"}`:                                     1,
		`refreshing_logins_total{outcome="success"}`:                                              1,
		`refreshing_logins_total{outcome="invalid_credentials"}`:                                  1,
		`refreshing_http_requests_total{code="2xx",route="POST /api/auth/token"}`:                 3,
		`refreshing_http_requests_total{code="4xx",route="POST /api/auth/token"}`:                 2,
		`refreshing_http_requests_total{code="4xx",route="unmatched"}`:                            1,
		`refreshing_http_request_duration_seconds_count{code="2xx",route="POST /api/auth/token"}`: 3,
	} {
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s grew by %v, want %v", series, got, want)
		}
	}
	if after[`refreshing_store_operation_duration_seconds_count{op="rotate_matching",result="ok"}`] != 3 {
		t.Errorf("store rotate_matching timings = %v, want 3", after[`refreshing_store_operation_duration_seconds_count{op="rotate_matching",result="ok"}`])
	}
	// Labels carry patterns and outcomes only: never a path, a token or an id.
	for _, secret := range []string{probe, "4242", first, token, "ada@example.com"} {
		if strings.Contains(text, secret) {
			t.Errorf("the metrics contain %q", secret)
		}
	}
}
