//go:build !linux

package refreshing

// lowerThreadPriority does nothing where threads have no priority of their
// own that Go can set.
func lowerThreadPriority(int) {}
