package server_test

import (
	"crypto/rand"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/ratelimit"
)

// limits returns a settings editor with the given budgets per hour.
func limits(ip, identifier, exchange int) func(*refreshing.Settings) {
	return func(s *refreshing.Settings) {
		s.RateWindow, s.RateLimitIP, s.RateLimitIdentifier, s.RateLimitExchangeIP = time.Hour, ip, identifier, exchange
	}
}

// login tries a password on POST path (with an optional X-Forwarded-For).
func (e *env) tryLogin(path, identifier, password, xff string) response {
	e.t.Helper()
	req := request{method: http.MethodPost, path: path, body: map[string]any{"identifier": identifier, "password": password}}
	if xff != "" {
		req.header = map[string]string{"X-Forwarded-For": xff}
	}
	return e.do(req)
}

// wantRateLimited checks a 429 RateLimitError with a Retry-After in seconds.
func (r response) wantRateLimited(t *testing.T, retryAfter string) {
	t.Helper()
	r.want(t, http.StatusTooManyRequests, "RateLimitError", "Too many requests, please try again later.")
	if got := r.header.Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After = %q, want %q", got, retryAfter)
	}
}

func TestRateLimitPerIP(t *testing.T) {
	e := start(t, setup{settings: limits(3, 0, 2)})
	a := e.register("ada") // register draws on its own route's budget
	for i := range 3 {
		e.tryLogin("/api/auth/local", a.username, "wrong password", "").want(t, http.StatusBadRequest, "ValidationError", "Invalid identifier or password")
		_ = i
	}
	// 3 per hour: one attempt's worth comes back every 20 minutes.
	e.tryLogin("/api/auth/local", a.username, a.password, "").wantRateLimited(t, "1200")

	t.Run("RateLimitErrorWhateverTheBody", func(t *testing.T) {
		for _, body := range []string{
			`{"identifier":"ada","password":"` + a.password + `","identifier2":"x","extra":{"a":[1,2]}}`,
			`{"identifier":"someone-else","password":"x"}`,
			`{}`,
			`not json at all`,
		} {
			e.do(request{method: http.MethodPost, path: "/api/auth/local", body: body}).wantRateLimited(t, "1200")
		}
	})
	t.Run("RateLimitErrorWhateverTheQuery", func(t *testing.T) {
		for _, q := range []string{"?", "?x=1", "?identifier=bob", "?" + strings.Repeat("a=b&", 100)} {
			e.tryLogin("/api/auth/local"+q, a.username, a.password, "").wantRateLimited(t, "1200")
		}
	})
	t.Run("OtherSpellingsOfThePathAreNotRoutes", func(t *testing.T) {
		// The ServeMux matches the exact path: these never reach a handler,
		// so they cannot check a password and cost nothing.
		for _, p := range []string{"/API/auth/local", "/api/auth/LOCAL", "/api/auth/local/", "/Api/Auth/Local", "/api/auth/local%2f", "/api/auth/local;x"} {
			e.tryLogin(p, a.username, a.password, "").want(t, http.StatusNotFound, "NotFoundError", "Not Found")
		}
		// Unclean paths are redirected (to the route, which is rate limited),
		// never served: a client would have to follow with a new request.
		for _, p := range []string{"/api/auth//local", "/api/auth/./local", "/api/x/../auth/local"} {
			r := e.tryLogin(p, a.username, a.password, "")
			if r.status != http.StatusMovedPermanently && r.status != http.StatusTooManyRequests {
				t.Errorf("%s: status %d, want a redirect or 429; body %s", p, r.status, r.body)
			}
		}
	})
	t.Run("XForwardedForIgnoredFromUntrustedPeers", func(t *testing.T) {
		for _, ip := range []string{"192.0.2.1", "198.51.100.7", "2001:db8::1"} {
			e.tryLogin("/api/auth/local", a.username, a.password, ip).wantRateLimited(t, "1200")
		}
	})
	t.Run("OtherRoutesHaveTheirOwnBudget", func(t *testing.T) {
		e.post("/api/auth/token/request", map[string]any{"identifier": a.username, "password": a.password}).want(t, http.StatusOK, "", "")
	})
	t.Run("RefillsAfterRetryAfter", func(t *testing.T) {
		e.clock.Advance(20*time.Minute - time.Second)
		e.tryLogin("/api/auth/local", a.username, a.password, "").wantRateLimited(t, "1")
		e.clock.Advance(time.Second)
		e.tryLogin("/api/auth/local", a.username, a.password, "").want(t, http.StatusOK, "", "")
		e.tryLogin("/api/auth/local", a.username, a.password, "").wantRateLimited(t, "1200")
	})
	t.Run("ExchangesRateLimited", func(t *testing.T) {
		// Refresh-token exchanges have a budget of their own per route,
		// charged whatever the token (a guessing client pays too).
		e.exchange("rt_nonsense").want(t, http.StatusUnauthorized, "UnauthorizedError", "")
		e.exchange(a.refresh).want(t, http.StatusOK, "", "")
		e.exchange(a.refresh).wantRateLimited(t, "1800")
		e.post("/api/auth/refresh", map[string]any{"refreshToken": "x"}).want(t, http.StatusUnauthorized, "", "")
	})
}

func TestRateLimitNotFoundCostsNothing(t *testing.T) {
	e := start(t, setup{settings: limits(2, 2, 0)})
	a := e.register("ada")
	for range 50 {
		e.tryLogin("/API/auth/local", a.username, a.password, "").want(t, http.StatusNotFound, "NotFoundError", "")
		e.tryLogin("/api/auth/local/", a.username, a.password, "").want(t, http.StatusNotFound, "NotFoundError", "")
	}
	// Neither the route's nor the identifier's budget was touched.
	e.tryLogin("/api/auth/local", a.username, a.password, "").want(t, http.StatusOK, "", "")
	e.tryLogin("/api/auth/local", a.username, a.password, "").want(t, http.StatusOK, "", "")
	e.tryLogin("/api/auth/local", a.username, a.password, "").wantRateLimited(t, "1800")
}

func TestRateLimitPerIdentifier(t *testing.T) {
	proxy := netip.MustParsePrefix("127.0.0.1/32")
	e := start(t, setup{settings: limits(100, 3, 0), trusted: []netip.Prefix{proxy}})
	a := e.register("ada")
	b := e.register("bob")

	// Every attempt comes through the trusted proxy from another address,
	// in another spelling, on another route: one budget for "ada" all the same.
	e.tryLogin("/api/auth/local", "ada", "wrong", "192.0.2.1").want(t, http.StatusBadRequest, "ValidationError", "")
	e.tryLogin("/api/auth/local", " ADA ", "wrong", "192.0.2.2").want(t, http.StatusBadRequest, "", "")
	e.post("/api/auth/token/request", map[string]any{"identifier": "Ada", "password": "wrong", "description": "x"}).want(t, http.StatusBadRequest, "", "")
	e.tryLogin("/api/auth/local", a.username, a.password, "192.0.2.4").wantRateLimited(t, "1200")
	e.post("/api/auth/token/request", map[string]any{"identifier": "ada", "password": a.password}).wantRateLimited(t, "1200")

	t.Run("OtherIdentifiersUnaffected", func(t *testing.T) {
		e.tryLogin("/api/auth/local", b.username, b.password, "192.0.2.1").want(t, http.StatusOK, "", "")
	})
	t.Run("UnknownIdentifiersLimitedAlike", func(t *testing.T) {
		// Existing and unknown accounts are refused alike: the limit says
		// nothing about which exist.
		for range 3 {
			e.tryLogin("/api/auth/local", "nobody", "wrong", "").want(t, http.StatusBadRequest, "ValidationError", "Invalid identifier or password")
		}
		e.tryLogin("/api/auth/local", "nobody", "wrong", "").wantRateLimited(t, "1200")
	})
	t.Run("RegisterLimitedPerEmail", func(t *testing.T) {
		for i := range 3 {
			e.post("/api/auth/local/register", map[string]any{"username": "eve" + string(rune('a'+i)), "email": "Eve@Example.com", "password": "secret-eve"})
		}
		e.post("/api/auth/local/register", map[string]any{"username": "eved", "email": "eve@example.com", "password": "secret-eve"}).wantRateLimited(t, "1200")
	})
}

func TestRateLimitChangePassword(t *testing.T) {
	// change tries currentPassword on POST /api/auth/change-password, from
	// the address xff when the test trusts its proxy.
	change := func(e *env, a account, current, xff string) response {
		e.t.Helper()
		req := request{method: http.MethodPost, path: "/api/auth/change-password", bearer: a.jwt,
			body: map[string]any{"currentPassword": current, "password": "a new secret", "passwordConfirmation": "a new secret"}}
		if xff != "" {
			req.header = map[string]string{"X-Forwarded-For": xff}
		}
		return e.do(req)
	}
	t.Run("PerIP", func(t *testing.T) {
		e := start(t, setup{settings: limits(3, 0, 0)})
		a := e.register("ada")
		for range 3 {
			change(e, a, "not my password", "").want(t, http.StatusBadRequest, "ValidationError", "The provided current password is invalid")
		}
		// The right password, with a valid token, is refused all the same.
		change(e, a, a.password, "").wantRateLimited(t, "1200")
		// Without a token the request still spends the route's budget.
		e.do(request{method: http.MethodPost, path: "/api/auth/change-password", body: map[string]any{}}).wantRateLimited(t, "1200")
		e.tryLogin("/api/auth/local", a.username, "a new secret", "").want(t, http.StatusBadRequest, "ValidationError", "")
	})
	t.Run("PerIdentifier", func(t *testing.T) {
		proxy := netip.MustParsePrefix("127.0.0.1/32")
		e := start(t, setup{settings: limits(100, 4, 0), trusted: []netip.Prefix{proxy}})
		a := e.register("ada") // charges ada@example.com once
		b := e.login(a, nil)   // another session; charges "ada"
		// From other addresses, with other tokens of the account, and by
		// sign-in with its email: one budget for ada@example.com.
		change(e, a, "not my password", "192.0.2.1").want(t, http.StatusBadRequest, "ValidationError", "")
		change(e, b, "not my password", "192.0.2.2").want(t, http.StatusBadRequest, "ValidationError", "")
		e.tryLogin("/api/auth/local", " ADA@example.com", "wrong", "192.0.2.3").want(t, http.StatusBadRequest, "ValidationError", "")
		change(e, a, a.password, "192.0.2.4").wantRateLimited(t, "900")
		e.tryLogin("/api/auth/local", a.email, a.password, "192.0.2.5").wantRateLimited(t, "900")
	})
}

func TestRateLimitIPv6Network(t *testing.T) {
	proxy := netip.MustParsePrefix("127.0.0.1/32")
	e := start(t, setup{settings: limits(2, 0, 0), trusted: []netip.Prefix{proxy}})
	e.tryLogin("/api/auth/local", "x", "wrong", "2001:db8:1:2::1").want(t, http.StatusBadRequest, "", "")
	e.tryLogin("/api/auth/local", "x", "wrong", "2001:db8:1:2:ffff::9").want(t, http.StatusBadRequest, "", "")
	// The same /64: one budget.
	e.tryLogin("/api/auth/local", "x", "wrong", "2001:db8:1:2:abcd::1").wantRateLimited(t, "1800")
	// Another /64, and an IPv4 client: budgets of their own.
	e.tryLogin("/api/auth/local", "x", "wrong", "2001:db8:1:3::1").want(t, http.StatusBadRequest, "", "")
	e.tryLogin("/api/auth/local", "x", "wrong", "192.0.2.1").want(t, http.StatusBadRequest, "", "")
}

func TestRateLimitSettingsApplyAtOnce(t *testing.T) {
	e := start(t, setup{settings: limits(1, 0, 0)})
	e.tryLogin("/api/auth/local", "x", "wrong", "").want(t, http.StatusBadRequest, "", "")
	e.tryLogin("/api/auth/local", "x", "wrong", "").wantRateLimited(t, "3600")
	st, err := e.svc.Settings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st.RateLimitIP = 0
	if err := e.svc.UpdateSettings(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	e.tryLogin("/api/auth/local", "x", "wrong", "").want(t, http.StatusBadRequest, "", "")
}

// testRedis returns a client on REFRESHING_TEST_REDIS, or skips.
func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	u := os.Getenv("REFRESHING_TEST_REDIS")
	if u == "" {
		t.Skip("REFRESHING_TEST_REDIS is not set; skipping the Redis tests")
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("REFRESHING_TEST_REDIS is set but Redis does not answer: %v", err)
	}
	return c
}

func TestRateLimitRedis(t *testing.T) {
	t.Run("BudgetSharedByInstances", func(t *testing.T) {
		c := testRedis(t)
		prefix := "refreshing-test:" + rand.Text() + ":"
		t.Cleanup(func() {
			if keys, _ := c.Keys(t.Context(), prefix+"*").Result(); len(keys) > 0 {
				c.Del(t.Context(), keys...)
			}
		})
		onRedis := func(now func() time.Time) ratelimit.Limiter { return ratelimit.NewRedis(c, prefix, now) }
		e1 := start(t, setup{settings: limits(0, 4, 0), limiter: onRedis})
		e2 := start(t, setup{settings: limits(0, 4, 0), limiter: onRedis})
		for i := range 4 {
			e := []*env{e1, e2}[i%2]
			e.tryLogin("/api/auth/local", "ada", "wrong", "").want(t, http.StatusBadRequest, "", "")
		}
		e1.tryLogin("/api/auth/local", "ada", "wrong", "").wantRateLimited(t, "900")
		e2.tryLogin("/api/auth/local", "ada", "wrong", "").wantRateLimited(t, "900")
	})
	t.Run("RedisDownFallsBackToLocalBudget", func(t *testing.T) {
		down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
		t.Cleanup(func() { down.Close() })
		e := start(t, setup{settings: limits(0, 2, 0), limiter: func(now func() time.Time) ratelimit.Limiter {
			return ratelimit.NewRedis(down, "x:", now)
		}})
		e.tryLogin("/api/auth/local", "ada", "wrong", "").want(t, http.StatusBadRequest, "", "")
		e.tryLogin("/api/auth/local", "ada", "wrong", "").want(t, http.StatusBadRequest, "", "")
		e.tryLogin("/api/auth/local", "ada", "wrong", "").wantRateLimited(t, "1800")
		warned := 0
		for _, l := range e.logLines() {
			if l["msg"] == "rate limiter degraded" {
				warned++
			}
		}
		if warned != 1 {
			t.Errorf("%d warnings about the degraded limiter, want 1 (at most one per 10 s)", warned)
		}
	})
}
