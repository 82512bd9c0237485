package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/server"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// runJSON runs the tool with args and --json and decodes its report.
func runJSON(t *testing.T, args ...string) []report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append(args, "--json")
	if err := run(t.Context(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("run %v: %v\nstderr: %s", args, err, stderr.String())
	}
	var out struct {
		Runs []report `json:"runs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	return out.Runs
}

// checkResults checks that every scenario of rep ran, without errors.
func checkResults(t *testing.T, rep report, want ...string) {
	t.Helper()
	byName := map[string]result{}
	for _, r := range rep.Results {
		byName[r.Scenario] = r
	}
	for _, name := range want {
		r, ok := byName[name]
		switch {
		case !ok:
			t.Errorf("no result for %q in %+v", name, rep.Results)
		case r.Requests == 0:
			t.Errorf("%s: no request completed", name)
		case r.Errors != 0:
			t.Errorf("%s: %d errors %v", name, r.Errors, r.Status)
		case r.PerSecond <= 0 || r.ThroughputRatio <= 0 || r.P50 <= 0 || r.Max < r.P99 || r.P99 < r.P50:
			t.Errorf("%s: implausible figures %+v", name, r)
		case r.RSSMiB <= 0:
			t.Errorf("%s: no RSS", name)
		}
	}
	if b := byName["baseline"]; b.ThroughputRatio != 1 {
		t.Errorf("baseline ratio = %v, want 1", b.ThroughputRatio)
	}
}

func TestRun(t *testing.T) {
	t.Run("OKInProcess", func(t *testing.T) {
		dir := t.TempDir()
		reps := runJSON(t, "--db", "sqlite:"+filepath.Join(dir, "load.db"), "--sessions", "40", "--users", "5",
			"--concurrency", "4", "--chains", "3", "--duration", "400ms", "--warmup", "50ms",
			"--mix", "exchange,me,sessions", "--cpuprofile", filepath.Join(dir, "cpu.prof"))
		if len(reps) != 1 {
			t.Fatalf("%d runs, want 1", len(reps))
		}
		rep := reps[0]
		if rep.Users != 5 || rep.Sessions != 40 || rep.ActiveChains != 12 || rep.Instances != 1 || rep.Rounds != 5 {
			t.Errorf("report = %+v", rep)
		}
		checkResults(t, rep, "baseline", "exchange", "me", "sessions")
		if fi, err := os.Stat(filepath.Join(dir, "cpu.prof")); err != nil || fi.Size() == 0 {
			t.Errorf("CPU profile: %v", err)
		}
		// The users were seeded through the store.
		st, err := sqlite.Open(t.Context(), filepath.Join(dir, "load.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		users, err := st.ListUsers(t.Context(), 0, 100)
		if err != nil || len(users) != 5 {
			t.Errorf("%d users stored (%v), want 5", len(users), err)
		}
	})
	t.Run("OKLogin", func(t *testing.T) {
		// Logins hash with the production argon2id parameters: give them
		// time to complete a few.
		reps := runJSON(t, "--db", "sqlite:"+filepath.Join(t.TempDir(), "load.db"), "--sessions", "4", "--users", "2",
			"--concurrency", "2", "--login-workers", "2", "--duration", "3s", "--rounds", "1", "--warmup", "0s", "--mix", "login,login+exchange")
		checkResults(t, reps[0], "baseline", "login", "exchange beside logins", "login beside exchanges")
	})
	t.Run("OKTwoInstances", func(t *testing.T) {
		reps := runJSON(t, "--db", "sqlite:"+filepath.Join(t.TempDir(), "load.db"), "--sessions", "8", "--concurrency", "2",
			"--duration", "200ms", "--warmup", "0s", "--mix", "exchange", "--instances", "1,2")
		if len(reps) != 2 || reps[0].Instances != 1 || reps[1].Instances != 2 {
			t.Fatalf("runs = %+v, want one with 1 instance and one with 2", reps)
		}
		for _, rep := range reps {
			checkResults(t, rep, "baseline", "exchange")
		}
	})
	t.Run("OKURL", func(t *testing.T) {
		// A server of its own, which the tool seeds through its database.
		path := filepath.Join(t.TempDir(), "server.db")
		st, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		settings := refreshing.DefaultSettings()
		settings.RateLimitIP, settings.RateLimitIdentifier, settings.RateLimitExchangeIP = 0, 0, 0 // one client IP here
		svc, err := refreshing.New(t.Context(), refreshing.Config{Store: st, Settings: &settings})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(server.New(svc, server.Options{}))
		defer srv.Close()
		reps := runJSON(t, "--url", srv.URL, "--pid", "1", "--db", "sqlite:"+path, "--sessions", "8", "--concurrency", "2",
			"--duration", "200ms", "--warmup", "0s", "--mix", "exchange,me")
		checkResults(t, reps[0], "baseline", "exchange", "me")
		if !strings.Contains(reps[0].RSSOf, "process 1") {
			t.Errorf("RSS of %q, want process 1", reps[0].RSSOf)
		}
	})
	t.Run("OKTable", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), []string{"--db", "sqlite:" + filepath.Join(t.TempDir(), "load.db"), "--sessions", "4",
			"--concurrency", "2", "--duration", "100ms", "--warmup", "0s", "--mix", "exchange"},
			func(string) string { return "" }, &stdout, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"baseline", "exchange", "× baseline", "p99 ms", "RSS MiB"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("table lacks %q:\n%s", want, stdout.String())
			}
		}
	})
	t.Run("ErrUsage", func(t *testing.T) {
		for _, args := range [][]string{
			{"--mix", "exchange,dance"},
			{"--concurrency", "0"},
			{"--sessions", "10", "--concurrency", "32"},
			{"--instances", "1,x"},
			{"--url", "http://127.0.0.1:1"},
			{"--url", "http://127.0.0.1:1", "--db", "sqlite:x.db", "--instances", "2"},
			{"--pid", "1"},
			{"stray"},
		} {
			err := run(t.Context(), args, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
			var ue usageError
			if !errors.As(err, &ue) {
				t.Errorf("%v: got %v, want a usage error", args, err)
			}
		}
	})
}
