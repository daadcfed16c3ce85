package helpers_test

import (
	"testing"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// Bounds of the calls that honour no context (a Read of a pipe) or that a regression could
// leave blocked where no context reaches (a step of the upload engine waiting on a channel).
// Each is far above what the call takes on a healthy run (microseconds for a Read of bytes
// already written; at most 0.6 s for the uploads of the tests at idle, hence 100 times that),
// so that a loaded machine never reaches it: it only turns a hang into a failure that names
// the call.
const (
	callBound   = 20 * time.Second
	uploadBound = 60 * time.Second
)

// returnsWithin runs f and returns what it returns. If f has not returned within d, the test
// fails at once, naming op; f goes on in its goroutine, so it must not use t.
func returnsWithin[T any](t *testing.T, d time.Duration, op string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-done:
		return v
	case <-timer.C:
		t.Fatalf("%s did not return within %v", op, d)
		var zero T
		return zero
	}
}

// uploadWithin runs an upload call under the bound d (see returnsWithin).
func uploadWithin(t *testing.T, d time.Duration, op string, f func() (*generated.Upload, error)) (*generated.Upload, error) {
	t.Helper()
	type result struct {
		up  *generated.Upload
		err error
	}
	r := returnsWithin(t, d, op, func() result {
		up, err := f()
		return result{up, err}
	})
	return r.up, r.err
}
