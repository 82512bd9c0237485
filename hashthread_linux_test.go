package refreshing

import (
	"runtime"
	"syscall"
	"testing"
)

// threadNice returns the niceness of the calling thread. The raw system
// call that syscall.Getpriority makes answers 20 - nice.
func threadNice(t *testing.T) int {
	t.Helper()
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	return 20 - p
}

func TestOnHashThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadNice(t)
	var inside int
	var tid int
	onHashThread(func() { inside, tid = threadNice(t), syscall.Gettid() })
	if inside != hashNice {
		t.Errorf("niceness while hashing = %d, want %d", inside, hashNice)
	}
	if tid == syscall.Gettid() {
		t.Error("the hash ran on the caller's thread")
	}
	if after := threadNice(t); after != before {
		t.Errorf("the caller's niceness went from %d to %d", before, after)
	}
	// Each hash gets a thread of its own, which ends with it.
	var again int
	onHashThread(func() { again = syscall.Gettid() })
	if again == tid {
		t.Error("a hashing thread was reused")
	}
}
