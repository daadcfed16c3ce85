package conformance

import (
	"testing"
	"time"
)

// FailBound bounds a wait that only a failing test reaches: a request whose answer never starts,
// a Close or a read that does not return. A healthy wait takes milliseconds (at most about half
// a second), so 20 s cannot cut a healthy test even on a loaded machine; it turns code that hangs
// (a lock left held after a panic in a handler, a loop that never ends) into a failure naming
// what did not return, instead of go test's own timeout.
const FailBound = 20 * time.Second

// Within runs f and fails the test if f has not returned within FailBound; f then goes on in its
// goroutine (the test binary, failing, exits without waiting for it). It reports whether f
// returned.
func Within(t testing.TB, what string, f func()) bool {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(FailBound)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		t.Errorf("%s did not return within %v", what, FailBound)
		return false
	}
}
