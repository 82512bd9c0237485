// Command refreshing-load measures Refreshing under load, honestly: it starts
// the server in-process (the same construction as `refreshing serve`: store,
// Service, HTTP handler, a real TCP listener on loopback) or targets a running
// one, seeds users and sessions directly through the Store, drives a mix of
// requests at a chosen concurrency, and reports throughput, latency
// percentiles, errors and the server's resident memory.
//
// Every run also drives a baseline, GET /healthz, which crosses the same
// listener and middleware chain but does no work, and reports every figure as
// a ratio to it: absolute numbers on shared machines mean little, ratios
// measured in one run mean more.
//
//	go run ./cmd/refreshing-load --sessions 1000000 --concurrency 32 --duration 20s
//	go run ./cmd/refreshing-load --help
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/refreshing/refreshing"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// As serve does, for the in-process server.
	refreshing.ReserveHashProcs(os.Getenv)
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "refreshing-load:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `Usage: refreshing-load [flags]

Starts Refreshing in-process on 127.0.0.1 (or targets --url), seeds users and
sessions through the Store, then runs each scenario of --mix for --duration
at --concurrency and prints throughput, latency and RSS, each as a ratio to
the baseline (GET /healthz through the same stack) measured in the same run.

Scenarios:
  baseline        GET /healthz (always run first)
  exchange        POST /api/auth/token with rotation; each worker follows its own chains
  me              GET /api/users/me with a JWT
  sessions        GET /api/users/me/sessions with a JWT
  login           POST /api/auth/local (argon2id with the production parameters)
  login+exchange  exchanges at --concurrency beside --login-workers logging in at full blast

Flags:
`

// config is the command line.
type config struct {
	db           string
	url          string
	pid          int
	users        int
	sessions     int
	concurrency  int
	duration     time.Duration
	warmup       time.Duration
	rounds       int
	mix          []string
	chains       int
	loginWorkers int
	instances    []int
	json         bool
	cpuProfile   string
	profile      string
	serverLog    string
	rateLimits   bool
}

var scenarios = []string{"baseline", "exchange", "me", "sessions", "login", "login+exchange"}

// parseFlags parses args into a config.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("refreshing-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var mix, instances string
	fs.StringVar(&c.db, "db", "", "storage of the in-process server, or of the --url server for seeding: sqlite:PATH[?group_commit=off] or postgres://... (default: SQLite in a new temporary directory)")
	fs.StringVar(&c.url, "url", "", "drive the server at this base URL instead of one in-process (seeding then needs --db naming its database)")
	fs.IntVar(&c.pid, "pid", 0, "with --url: the server's process id, to report its RSS")
	fs.IntVar(&c.users, "users", 0, "users to seed (default: sessions/10, at least 1)")
	fs.IntVar(&c.sessions, "sessions", 1000, "sessions to seed")
	fs.IntVar(&c.concurrency, "concurrency", 32, "concurrent clients per scenario")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured time of each scenario")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured time before each scenario of the first round")
	fs.IntVar(&c.rounds, "rounds", 5, "rounds in which every scenario runs for --duration/rounds, each after the baseline: ratios then compare like with like on a noisy machine")
	fs.StringVar(&mix, "mix", strings.Join(scenarios, ","), "comma-separated scenarios to run")
	fs.IntVar(&c.chains, "chains", 64, "seeded sessions each exchange worker owns and rotates (at most sessions/concurrency)")
	fs.IntVar(&c.loginWorkers, "login-workers", 0, "clients logging in during login+exchange (default: --concurrency)")
	fs.StringVar(&instances, "instances", "1", "in-process server instances on the one database, as a list to compare (\"1,2\"); clients spread over them")
	fs.BoolVar(&c.json, "json", false, "print the results as JSON")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole process during the --profile scenario to this file")
	fs.StringVar(&c.profile, "profile", "exchange", "the scenario --cpuprofile covers")
	fs.StringVar(&c.serverLog, "server-log", os.DevNull, "where the in-process server writes its access log (text, as serve does)")
	fs.BoolVar(&c.rateLimits, "rate-limits", false, "keep the per-IP and per-identifier rate limits of a new database on (every client here shares one IP)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q", fs.Arg(0))
	}
	if c.sessions < 1 || c.concurrency < 1 || c.duration <= 0 || c.warmup < 0 || c.chains < 1 || c.users < 0 || c.loginWorkers < 0 || c.rounds < 1 {
		return nil, usagef("--sessions, --concurrency, --duration, --rounds and --chains must be positive")
	}
	if c.sessions < c.concurrency {
		return nil, usagef("--sessions must be at least --concurrency: each exchange worker owns sessions of its own")
	}
	if c.users == 0 {
		c.users = max(1, c.sessions/10)
	}
	if c.loginWorkers == 0 {
		c.loginWorkers = c.concurrency
	}
	for _, s := range strings.Split(mix, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		ok := false
		for _, known := range scenarios {
			ok = ok || s == known
		}
		if !ok {
			return nil, usagef("--mix: unknown scenario %q (known: %s)", s, strings.Join(scenarios, ", "))
		}
		if s != "baseline" {
			c.mix = append(c.mix, s)
		}
	}
	for _, s := range strings.Split(instances, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, usagef("--instances: %q is not a positive number", s)
		}
		c.instances = append(c.instances, n)
	}
	if c.url != "" {
		if len(c.instances) > 1 || c.instances[0] != 1 {
			return nil, usagef("--instances applies to in-process servers, not --url")
		}
		if c.db == "" {
			return nil, usagef("--url needs --db naming the server's database, to seed it")
		}
	}
	if c.pid != 0 && c.url == "" {
		return nil, usagef("--pid applies to --url; in-process, the RSS is this process's")
	}
	return c, nil
}

// run is the whole program: main only adds the process's context, arguments,
// environment and streams, so tests run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	progress := newProgress(stderr)

	if c.db == "" {
		dir, err := os.MkdirTemp("", "refreshing-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.db = "sqlite:" + dir + "/load.db"
	}
	var reports []report
	for _, n := range c.instances {
		t, err := newTarget(ctx, c, n, getenv)
		if err != nil {
			return err
		}
		rep, err := measure(ctx, c, t, progress)
		if cerr := t.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		reports = append(reports, rep)
		if !c.json {
			rep.print(stdout)
		}
	}
	if c.json {
		return printJSON(stdout, reports)
	}
	return nil
}

// measure seeds t and runs every scenario of c's mix on it.
func measure(ctx context.Context, c *config, t *target, progress *progress) (report, error) {
	rep := report{
		Store: t.storeName, Instances: len(t.urls), Users: c.users, Sessions: c.sessions,
		Concurrency: c.concurrency, Duration: c.duration.String(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU: runtime.NumCPU(), RSSOf: t.rssOf(),
	}
	start := time.Now()
	chains, users, err := seed(ctx, c, t, progress)
	if err != nil {
		return rep, err
	}
	// A bulk load leaves a long WAL, which the checkpointer would copy
	// into the database during the first rounds: fold it in first, so
	// that the runs start from a database at rest.
	if cp, ok := t.store.(interface{ Checkpoint(context.Context) error }); ok {
		if err := cp.Checkpoint(ctx); err != nil {
			return rep, fmt.Errorf("checkpoint after seeding: %w", err)
		}
	}
	rep.SeedSeconds = time.Since(start).Seconds()
	rep.ActiveChains = len(chains)
	d := newDriver(c, t, chains, users)
	if err := d.prime(ctx); err != nil {
		return rep, err
	}
	// Round after round, each scenario runs for its share of --duration
	// right after the baseline's: both meet the same neighbours on a
	// shared machine, and the ratios compare like with like.
	var (
		order []string
		runs  = map[string][]*groupRun{}
	)
	window := c.duration / time.Duration(c.rounds)
	for r := range c.rounds {
		warmup := c.warmup
		if r > 0 {
			warmup = settle
		}
		for _, s := range append([]string{"baseline"}, c.mix...) {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			for _, g := range d.run(ctx, s, warmup, window, r == 0 && c.cpuProfile != "" && c.profile == s) {
				if _, ok := runs[g.name]; !ok {
					order = append(order, g.name)
				}
				runs[g.name] = append(runs[g.name], g)
			}
		}
	}
	if err := d.profileErr; err != nil {
		return rep, err
	}
	for _, name := range order {
		rep.Results = append(rep.Results, summarize(runs[name], window*time.Duration(len(runs[name]))))
	}
	rep.Rounds = c.rounds
	rep.ratios()
	return rep, ctx.Err()
}

// settle is the unmeasured time before a scenario in the rounds after the
// first, which warmed everything up: requests of the previous scenario still
// in flight finish meanwhile.
const settle = 100 * time.Millisecond
