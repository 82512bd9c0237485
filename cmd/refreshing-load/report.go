package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// report is the outcome of one run against one target.
type report struct {
	Store        string   `json:"store"`
	Instances    int      `json:"instances"`
	Users        int      `json:"users"`
	Sessions     int      `json:"sessions"`
	ActiveChains int      `json:"activeChains"` // seeded sessions the exchange workers rotate
	Concurrency  int      `json:"concurrency"`
	Duration     string   `json:"duration"` // measured time of each scenario, over all rounds
	Rounds       int      `json:"rounds"`
	GOMAXPROCS   int      `json:"gomaxprocs"`
	NumCPU       int      `json:"numCPU"`
	SeedSeconds  float64  `json:"seedSeconds"`
	RSSOf        string   `json:"rssOf"`
	Results      []result `json:"results"`
}

// result is one scenario's figures. Latencies are in milliseconds; the
// ratios compare with the baseline of the same run.
type result struct {
	Scenario  string         `json:"scenario"`
	Workers   int            `json:"workers"`
	Requests  int            `json:"requests"`
	Errors    int            `json:"errors"`
	Status    map[string]int `json:"errorsByStatus"` // non-2xx statuses; "transport" for failed requests
	PerSecond float64        `json:"perSecond"`
	P50       float64        `json:"p50ms"`
	P90       float64        `json:"p90ms"`
	P99       float64        `json:"p99ms"`
	Max       float64        `json:"maxms"`
	// CPUSeconds is the CPU time the measured process used in the window:
	// in-process, the server's and the load generator's together.
	CPUSeconds    float64 `json:"cpuSeconds"`
	CPUPerRequest float64 `json:"cpuMicrosPerRequest"` // CPUSeconds per request, in microseconds
	// WritesPerCommit is how many writes the in-process SQLite writer
	// committed per transaction (per fsync) in the window; 0 if none or
	// not known.
	WritesPerCommit float64 `json:"writesPerCommit,omitempty"`
	RSSMiB          float64 `json:"rssMiB"`     // after the scenario
	PeakRSSMiB      float64 `json:"peakRSSMiB"` // the process's peak so far

	ThroughputRatio float64 `json:"throughputRatio"` // PerSecond / the baseline's
	P50Ratio        float64 `json:"p50Ratio"`        // P50 / the baseline's
	P99Ratio        float64 `json:"p99Ratio"`        // P99 / the baseline's
	CPURatio        float64 `json:"cpuRatio"`        // CPUPerRequest / the baseline's
}

// ratios fills in each result's ratios to the baseline's figures.
func (r *report) ratios() {
	i := slices.IndexFunc(r.Results, func(x result) bool { return x.Scenario == "baseline" })
	if i < 0 {
		return
	}
	b := r.Results[i]
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	for j := range r.Results {
		x := &r.Results[j]
		x.ThroughputRatio = div(x.PerSecond, b.PerSecond)
		x.P50Ratio, x.P99Ratio = div(x.P50, b.P50), div(x.P99, b.P99)
		x.CPURatio = div(x.CPUPerRequest, b.CPUPerRequest)
	}
}

// print writes r as a table.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\n%s, %d instance(s); %d users, %d sessions (%d rotated by the workers), seeded in %.1fs\n",
		r.Store, r.Instances, r.Users, r.Sessions, r.ActiveChains, r.SeedSeconds)
	fmt.Fprintf(w, "concurrency %d, %s per scenario in %d rounds, GOMAXPROCS %d of %d CPUs; RSS of %s\n\n",
		r.Concurrency, r.Duration, r.Rounds, r.GOMAXPROCS, r.NumCPU, r.RSSOf)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tworkers\trequests\terrors\treq/s\t× baseline\tp50 ms\tp90 ms\tp99 ms\tmax ms\tp99 × baseline\tCPU µs/req\t× baseline\twrites/commit\tRSS MiB\t")
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.0f\t%.3f\t%.2f\t%.2f\t%.2f\t%.1f\t%.2f\t%.0f\t%.2f\t%s\t%.1f\t\n",
			x.Scenario, x.Workers, x.Requests, errorsText(x), x.PerSecond, x.ThroughputRatio,
			x.P50, x.P90, x.P99, x.Max, x.P99Ratio, x.CPUPerRequest, x.CPURatio, perCommit(x), x.RSSMiB)
	}
	tw.Flush()
}

// perCommit is WritesPerCommit, or "-" when nothing was committed.
func perCommit(x result) string {
	if x.WritesPerCommit == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", x.WritesPerCommit)
}

// errorsText is the error count, with the statuses when there are errors.
func errorsText(x result) string {
	if x.Errors == 0 {
		return "0"
	}
	var parts []string
	for k, n := range x.Status {
		parts = append(parts, fmt.Sprintf("%s:%d", k, n))
	}
	slices.Sort(parts)
	return fmt.Sprintf("%d (%s)", x.Errors, strings.Join(parts, " "))
}

// printJSON writes the reports as one JSON document.
func printJSON(w io.Writer, reports []report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Runs []report `json:"runs"`
	}{reports})
}
