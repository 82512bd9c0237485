// Package benchcpu helps benchmarks speak of CPUs: it reports, beside a
// benchmark's ns/op (wall time, which other processes on a shared machine
// inflate), the CPU time the process spent per operation, the cost of an
// operation on the machine, which neighbours inflate much less; and it sizes
// RunParallel for a number of concurrent clients whatever the number of CPUs.
package benchcpu

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// process returns the CPU time this process has used, user and system.
func process(b testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Report starts counting and returns the function that reports cpu-ns/op
// for b's operations since; call it when they are done:
//
//	defer benchcpu.Report(b)()
func Report(b *testing.B) func() {
	start := process(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(process(b)-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// Clients returns the b.SetParallelism value that makes b.RunParallel run
// at least clients goroutines (it runs that value times GOMAXPROCS), and how
// many it then runs: a benchmark gives each of them state of its own.
func Clients(clients int) (parallelism, goroutines int) {
	procs := runtime.GOMAXPROCS(0)
	parallelism = (clients + procs - 1) / procs
	return parallelism, parallelism * procs
}
