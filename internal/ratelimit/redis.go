package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is gcra as one atomic Redis script, so that every instance
// sharing the Redis draws on the same budget. Times are integer microseconds
// supplied by the caller (Lua numbers are doubles, exact to 2^53 µs, some 285
// years). A refused event changes nothing; an allowed one stores the new
// theoretical arrival time with an expiry at which the budget is full again.
//
// KEYS[1] the hashed key; ARGV: now, interval, window (µs).
// Returns {allowed (0/1), retry after (µs)}.
var gcraScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nexttat = tat + interval
local allowat = nexttat - window
if now < allowat then
  return {0, allowat - now}
end
redis.call('SET', KEYS[1], string.format('%d', nexttat), 'PX', math.max(1, math.ceil((nexttat - now) / 1000)))
return {1, 0}
`)

// Redis is a Limiter whose budgets live in Redis, shared by every instance
// that uses the same Redis and key prefix. When Redis cannot be reached it
// falls back to a Memory limiter of its own, and reports the failure.
type Redis struct {
	client   redis.UniversalClient
	prefix   string
	now      func() time.Time
	fallback *Memory
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a Limiter on client whose keys start with prefix, on the
// clock now (time.Now when nil).
func NewRedis(client redis.UniversalClient, prefix string, now func() time.Time) *Redis {
	if now == nil {
		now = time.Now
	}
	return &Redis{client: client, prefix: prefix, now: now, fallback: NewMemory(now, 0)}
}

// DialRedis returns a Limiter on the Redis that url names
// (redis://[user:password@]host:port[/db], rediss:// for TLS), with the key
// prefix "refreshing:rl:", and the function that closes its connections. It
// fails only on a malformed url: a Redis that does not answer yet is what the
// local fallback is for (see Ping).
func DialRedis(url string, now func() time.Time) (*Redis, func() error, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, nil, fmt.Errorf("ratelimit: REFRESHING_REDIS: %w", err)
	}
	// A limiter that waits long for Redis holds up a login; fail fast and
	// fall back to the local budget instead.
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = time.Second, 500*time.Millisecond, 500*time.Millisecond
	opts.MaxRetries = 1
	c := redis.NewClient(opts)
	return NewRedis(c, "refreshing:rl:", now), c.Close, nil
}

// Ping checks that Redis answers.
func (l *Redis) Ping(ctx context.Context) error {
	if err := l.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis: %w", err)
	}
	return nil
}

// Allow implements Limiter. If Redis fails, the decision comes from the
// local fallback limiter and the error says why.
func (l *Redis) Allow(ctx context.Context, key string, limit int, window time.Duration) (Decision, error) {
	if unlimited(limit, window) {
		return Decision{Allowed: true}, nil
	}
	now := l.now().UnixMicro()
	interval := window.Microseconds() / int64(limit)
	res, err := gcraScript.Run(ctx, l.client, []string{l.prefix + hashKey(key)},
		strconv.FormatInt(now, 10), strconv.FormatInt(interval, 10), strconv.FormatInt(window.Microseconds(), 10)).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected script result %v", res)
	}
	if err != nil {
		d, _ := l.fallback.Allow(ctx, key, limit, window)
		return d, fmt.Errorf("ratelimit: redis: %w (using this instance's budget)", err)
	}
	return Decision{Allowed: res[0] == 1, RetryAfter: time.Duration(res[1]) * time.Microsecond}, nil
}

// Once records key for ttl and reports whether it was new, in Redis, so
// that every instance sharing it sees the same keys: of several instances
// recording one key, exactly one is told it was new (SET NX). DPoP's replay
// check uses it for proofs' jti (internal/server/dpop.go). An error means
// Redis did not answer, and nothing is known.
func (l *Redis) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := l.client.SetNX(ctx, l.prefix+"once:"+hashKey(key), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("ratelimit: redis: %w", err)
	}
	return ok, nil
}
