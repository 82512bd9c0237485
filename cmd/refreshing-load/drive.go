package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/refreshing/refreshing/internal/sqlite"
)

// driver runs scenarios against a target with its own HTTP client.
type driver struct {
	c      *config
	t      *target
	client *http.Client
	// perWorker[w] are the chains exchange worker w owns; nobody else
	// presents their tokens, so each worker always holds the latest.
	perWorker [][]*chain
	emails    []string

	profileDone chan struct{} // closed when the CPU profile is written
	profileErr  error
}

func newDriver(c *config, t *target, chains []*chain, emails []string) *driver {
	conns := 2 * (c.concurrency + c.loginWorkers)
	tr := &http.Transport{
		// Loopback only: no proxy from the environment.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	d := &driver{c: c, t: t, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, emails: emails}
	d.perWorker = make([][]*chain, c.concurrency)
	for i, ch := range chains {
		d.perWorker[i%c.concurrency] = append(d.perWorker[i%c.concurrency], ch)
	}
	return d
}

// tokens is the body of a successful exchange.
type tokens struct {
	JWT          string `json:"jwt"`
	RefreshToken string `json:"refreshToken"`
}

// exchange rotates ch once and records the new tokens.
func (d *driver) exchange(ctx context.Context, base string, ch *chain, buf *bytes.Buffer) (int, error) {
	body, _ := json.Marshal(map[string]string{"token": ch.token})
	status, err := d.do(ctx, http.MethodPost, base+"/api/auth/token", "", body, buf)
	if err != nil || status != http.StatusOK {
		return status, err
	}
	var tk tokens
	if err := json.Unmarshal(buf.Bytes(), &tk); err != nil || tk.RefreshToken == "" || tk.JWT == "" {
		return status, fmt.Errorf("exchange answered %q", buf.String())
	}
	ch.token, ch.jwt = tk.RefreshToken, tk.JWT
	return status, nil
}

// do sends one request and reads the whole answer into buf.
func (d *driver) do(ctx context.Context, method, url, bearer string, body []byte, buf *bytes.Buffer) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, err
}

// prime exchanges every chain once, unmeasured, so that each holds an access
// token for the scenarios that need one.
func (d *driver) prime(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(d.perWorker))
	for w, chains := range d.perWorker {
		wg.Go(func() {
			var buf bytes.Buffer
			for _, ch := range chains {
				status, err := d.exchange(ctx, d.base(w), ch, &buf)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("priming exchange: status %d: %s", status, buf.String())
				}
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// base is the server URL worker w talks to: clients spread over instances.
func (d *driver) base(w int) string { return d.t.urls[w%len(d.t.urls)] }

// sample is what one worker measured.
type sample struct {
	lat    histogram
	errors int
	status map[int]int // non-2xx statuses, and 0 for transport errors
}

// request is one request of a scenario, by worker w; it returns the status.
type request func(ctx context.Context, w int, buf *bytes.Buffer) (int, error)

// run runs scenario s for window (after warmup) and returns what each of
// its groups measured (two groups for login+exchange).
func (d *driver) run(ctx context.Context, s string, warmup, window time.Duration, profile bool) []*groupRun {
	var groups []group
	switch s {
	case "baseline":
		groups = []group{{"baseline", d.c.concurrency, d.get("/healthz", false)}}
	case "exchange":
		groups = []group{{"exchange", d.c.concurrency, d.exchangeReq()}}
	case "me":
		groups = []group{{"me", d.c.concurrency, d.get("/api/users/me", true)}}
	case "sessions":
		groups = []group{{"sessions", d.c.concurrency, d.get("/api/users/me/sessions", true)}}
	case "login":
		groups = []group{{"login", d.c.concurrency, d.login()}}
	case "login+exchange":
		groups = []group{
			{"exchange beside logins", d.c.concurrency, d.exchangeReq()},
			{"login beside exchanges", d.c.loginWorkers, d.login()},
		}
	}
	return d.drive(ctx, groups, warmup, window, profile)
}

// groupRun is what one group of workers measured in one run.
type groupRun struct {
	name      string
	workers   int
	samples   []*sample
	cpu       time.Duration // the process's CPU time in the window, shared by the run's groups
	requests  int           // every group's requests in the window
	rss, peak int64         // after the run; 0 if unknown
	cpuKnown  bool
	// The in-process SQLite writer's commits and the writes they held.
	commits, writes int64
}

// group is a set of workers sending the same kind of request.
type group struct {
	name    string
	workers int
	req     request
}

// get is a GET of path; with auth, worker w presents the access tokens of
// its chains in turn (several users and sessions, as real clients would).
func (d *driver) get(path string, auth bool) request {
	next := make([]int, len(d.perWorker))
	return func(ctx context.Context, w int, buf *bytes.Buffer) (int, error) {
		bearer := ""
		if auth {
			chains := d.perWorker[w]
			if len(chains) == 0 {
				return 0, fmt.Errorf("worker %d owns no session", w)
			}
			bearer = chains[next[w]%len(chains)].jwt
			next[w]++
		}
		return d.do(ctx, http.MethodGet, d.base(w)+path, bearer, nil, buf)
	}
}

// exchangeReq rotates worker w's chains in turn.
func (d *driver) exchangeReq() request {
	next := make([]int, len(d.perWorker))
	return func(ctx context.Context, w int, buf *bytes.Buffer) (int, error) {
		chains := d.perWorker[w]
		for range chains {
			ch := chains[next[w]%len(chains)]
			next[w]++
			if ch.dead {
				continue
			}
			status, err := d.exchange(ctx, d.base(w), ch, buf)
			if status == http.StatusUnauthorized {
				ch.dead = true // it would stay refused: do not hammer it
			}
			return status, err
		}
		return 0, fmt.Errorf("worker %d: every chain was refused", w)
	}
}

// login signs in as the seeded users in turn.
func (d *driver) login() request {
	var mu sync.Mutex
	next := 0
	return func(ctx context.Context, w int, buf *bytes.Buffer) (int, error) {
		mu.Lock()
		email := d.emails[next%len(d.emails)]
		next++
		mu.Unlock()
		body, _ := json.Marshal(map[string]string{"identifier": email, "password": loadPassword})
		return d.do(ctx, http.MethodPost, d.base(w)+"/api/auth/local", "", body, buf)
	}
}

// drive runs groups together: warm-up, then the measured window, in which
// only requests that start and end inside it count.
func (d *driver) drive(ctx context.Context, groups []group, warmup, window time.Duration, profiling bool) []*groupRun {
	start := time.Now()
	from := start.Add(warmup)
	until := from.Add(window)
	ctx, cancel := context.WithDeadline(ctx, until.Add(5*time.Second))
	defer cancel()

	if profiling {
		d.profileDone = make(chan struct{})
		go d.profileWindow(from, until)
	}
	var (
		cpu0   time.Duration
		stats0 sqlite.WriterStats
	)
	cpuFrom := make(chan struct{})
	go func() {
		defer close(cpuFrom)
		time.Sleep(time.Until(from))
		cpu0, _ = cpuTime(d.t.pid)
		stats0 = d.t.writerStats()
	}()
	samples := make([][]*sample, len(groups))
	var wg sync.WaitGroup
	for g, gr := range groups {
		samples[g] = make([]*sample, gr.workers)
		for w := range gr.workers {
			smp := &sample{status: map[int]int{}}
			samples[g][w] = smp
			wg.Go(func() {
				var buf bytes.Buffer
				for {
					t0 := time.Now()
					if !t0.Before(until) || ctx.Err() != nil {
						return
					}
					status, err := gr.req(ctx, w, &buf)
					t1 := time.Now()
					if t0.Before(from) || t1.After(until) {
						continue
					}
					smp.lat.add(t1.Sub(t0))
					if err != nil || status < 200 || status > 299 {
						smp.errors++
						smp.status[status]++
					}
				}
			})
		}
	}
	wg.Wait()
	<-cpuFrom
	cpu1, cpuErr := cpuTime(d.t.pid)
	stats1 := d.t.writerStats()
	if profiling {
		<-d.profileDone
	}
	cur, peak, err := rss(d.t.pid)
	out := make([]*groupRun, len(groups))
	for g, gr := range groups {
		out[g] = &groupRun{name: gr.name, workers: gr.workers, samples: samples[g], requests: reqs(samples),
			commits: stats1.Commits - stats0.Commits, writes: stats1.Writes - stats0.Writes}
		if err == nil {
			out[g].rss, out[g].peak = cur, peak
		}
		if cpuErr == nil {
			out[g].cpu, out[g].cpuKnown = cpu1-cpu0, true
		}
	}
	return out
}

// reqs counts the requests of every group's samples.
func reqs(samples [][]*sample) int {
	n := 0
	for _, g := range samples {
		for _, s := range g {
			n += s.lat.n
		}
	}
	return n
}

// profileWindow writes a CPU profile of the process between from and until.
func (d *driver) profileWindow(from, until time.Time) {
	defer close(d.profileDone)
	time.Sleep(time.Until(from))
	f, err := os.Create(d.c.cpuProfile)
	if err != nil {
		d.profileErr = err
		return
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		d.profileErr = err
		return
	}
	time.Sleep(time.Until(until))
	pprof.StopCPUProfile()
}

// summarize merges what a group measured in every round; window is their
// total measured time.
func summarize(runs []*groupRun, window time.Duration) result {
	last := runs[len(runs)-1]
	r := result{Scenario: last.name, Workers: last.workers, Status: map[string]int{}}
	var (
		all      histogram
		cpu      time.Duration
		requests int
		cpuKnown = true
		samples  []*sample
	)
	var commits, writes int64
	for _, run := range runs {
		commits += run.commits
		writes += run.writes
		samples = append(samples, run.samples...)
		cpu += run.cpu
		requests += run.requests
		cpuKnown = cpuKnown && run.cpuKnown
	}
	if commits > 0 {
		r.WritesPerCommit = float64(writes) / float64(commits)
	}
	if last.rss > 0 {
		r.RSSMiB, r.PeakRSSMiB = mib(last.rss), mib(last.peak)
	}
	if cpuKnown {
		r.CPUSeconds = cpu.Seconds()
		if requests > 0 {
			r.CPUPerRequest = float64(cpu) / float64(time.Microsecond) / float64(requests)
		}
	}
	for _, s := range samples {
		all.merge(&s.lat)
		r.Errors += s.errors
		for code, n := range s.status {
			key := fmt.Sprint(code)
			if code == 0 {
				key = "transport"
			}
			r.Status[key] += n
		}
	}
	r.Requests = all.n
	r.PerSecond = float64(all.n) / window.Seconds()
	r.P50, r.P90, r.P99, r.Max = ms(all.quantile(0.50)), ms(all.quantile(0.90)), ms(all.quantile(0.99)), ms(all.max)
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }
