package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/refreshing/refreshing/internal/ratelimit"
)

// openLimiter returns the rate limiter --redis (REFRESHING_REDIS) selects: budgets
// shared through that Redis by every instance, or (unset) kept in this
// process. A Redis that does not answer at start is only warned about: until
// it does, each instance enforces the budgets on its own (see SECURITY.md).
// The returned function releases the limiter.
func openLimiter(ctx context.Context, url string, logger *slog.Logger) (ratelimit.Limiter, func() error, error) {
	if url == "" {
		return ratelimit.NewMemory(nil, 0), func() error { return nil }, nil
	}
	// go-redis logs its dial failures to stderr on its own; route them to
	// our logger at debug level (the server warns once per 10 s itself).
	redis.SetLogger(redisLog{logger})
	l, closeFn, err := ratelimit.DialRedis(url, nil)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := l.Ping(pctx); err != nil {
		logger.Warn("rate limits are per instance until Redis answers", "err", err)
	} else {
		logger.Info("rate limits shared through Redis")
	}
	return l, closeFn, nil
}

// redisLog is go-redis's logger on slog, at debug level.
type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}
