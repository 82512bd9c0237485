// Package benchcpu reports, beside a benchmark's ns/op (wall time, which
// other processes on a shared machine inflate), the CPU time the process
// spent per operation: the cost of an operation on the machine, which
// neighbours inflate much less.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// Process returns the CPU time this process has used, user and system.
func Process(b testing.TB) time.Duration {
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
	start := Process(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(Process(b)-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
