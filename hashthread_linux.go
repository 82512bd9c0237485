package refreshing

import "syscall"

// lowerThreadPriority sets the niceness of the calling OS thread (Linux
// applies setpriority to one thread when given its id). Best effort: where
// it is not allowed, hashes run at normal priority.
func lowerThreadPriority(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
