package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/metrics"
)

// activeSessionsEvery is how often the active-sessions gauge is recounted:
// the count reads an index of every live session, so it runs on a timer,
// never per scrape.
const activeSessionsEvery = 30 * time.Second

// janitorEvery is how often the janitor looks for sessions that ended more
// than the retention ago (Settings.SessionRetention).
const janitorEvery = time.Minute

// background starts the work serve does besides answering requests: the
// janitor (on one instance at a time, through a lease in the store) and the
// active-sessions gauge. The returned function stops both and waits for
// them, so that the store can be closed after it.
func background(ctx context.Context, svc *refreshing.Service, m *metrics.Metrics, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	host, _ := os.Hostname()
	wg.Go(func() {
		svc.RunJanitor(ctx, refreshing.Janitor{
			Holder: fmt.Sprintf("%s/%d/%d", host, os.Getpid(), time.Now().UnixNano()), Interval: janitorEvery, Logger: logger,
		})
	})
	wg.Go(func() { m.WatchActiveSessions(ctx, activeSessionsEvery, svc.ActiveSessions, logger) })
	return func() {
		cancel()
		wg.Wait()
	}
}
