package refreshing

import "runtime"

// hashNice is the scheduling niceness of the threads that hash passwords:
// under CPU contention Linux gives such a thread about a tenth of the CPU
// time of a request's thread (nice 0), and all of an idle CPU.
const hashNice = 10

// DefaultHashSlots is how many passwords a Hasher made with concurrency 0
// hashes at once: half of GOMAXPROCS as the program started (at least one).
// A program that serves requests should give the runtime that many more
// processors (GOMAXPROCS), as serve does: each hash then runs on a processor
// of its own, on a low-priority thread (see onHashThread), instead of holding
// one of the processors that requests need, which would make every request
// queued behind it wait up to the runtime's 10 ms time slice, and the
// kernel, not Go's scheduler, shares the CPUs between them.
func DefaultHashSlots() int { return defaultHashSlots }

var defaultHashSlots = max(1, runtime.GOMAXPROCS(0)/2)

// onHashThread runs fn on an OS thread of its own, at niceness hashNice,
// and returns when fn has. The goroutine never unlocks its thread, so the
// runtime ends the thread with it, and the lowered priority with it: no
// other goroutine ever runs at that priority. Starting a thread costs tens
// of microseconds; a hash, tens of milliseconds.
func onHashThread(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		lowerThreadPriority(hashNice)
		fn()
	}()
	<-done
}

// ReserveHashProcs raises GOMAXPROCS by DefaultHashSlots, unless the
// environment (getenv) sets GOMAXPROCS, and returns the value in force.
// Call it once, from main, in a program that serves requests and hashes
// passwords: see DefaultHashSlots.
func ReserveHashProcs(getenv func(string) string) int {
	if getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := runtime.GOMAXPROCS(0) + DefaultHashSlots()
	runtime.GOMAXPROCS(n)
	return n
}
