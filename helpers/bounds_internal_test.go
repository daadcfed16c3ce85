package helpers

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// Bounds of the internal tests: a call that must return soon fails its test after waitBound
// instead of blocking the test binary until go test's -timeout. They are never what a test
// asserts.

// waitersOf is the number of acquires waiting for a slot.
func waitersOf(b *budget) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiters)
}

// waitBound is how long untilWaiting lets acquires take to queue: they queue in microseconds,
// and a broken budget (one that grants them at once, or never queues them) would otherwise spin
// until go test's -timeout.
const waitBound = 10 * time.Second

// bounded is the context of a call that must return soon, as an acquire or admit granted at once
// (or as soon as the test frees a slot or moves the clock), or an md5 pass of a few MiB: a
// broken budget that never grants, or a pass that no longer advances, then fails after
// waitBound instead of blocking until go test's -timeout.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	t.Cleanup(cancel)
	return ctx
}

// grant acquires a slot of b that must be granted within waitBound, and fails the test if not.
func grant(t *testing.T, b *budget) ticket {
	t.Helper()
	tk, err := b.acquire(bounded(t), nil)
	if err != nil {
		t.Fatalf("no slot granted within %s: %v", waitBound, err)
	}
	return tk
}

// untilWaiting yields until n acquires wait on b (they run in goroutines of their own), and
// fails the test if they do not within waitBound.
func untilWaiting(t *testing.T, b *budget, n int) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for waitersOf(b) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d acquires wait for a slot after %s, want %d", waitersOf(b), waitBound, n)
		}
		runtime.Gosched()
	}
}
