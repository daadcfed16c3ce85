package helpers_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
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

// exampleBound bounds an example that starts its server with exampleServer. The examples take
// under 0.1 s each at idle, 0.31 s at most with -race; go test runs them even after a test
// failed under -failfast, so an example blocked where no context reaches (an upload engine that
// a regression left waiting on a channel) would otherwise hold the whole run until go test's
// -timeout.
const exampleBound = 30 * time.Second

// guardedServer is exampleServer's server: closing it (each example defers it) ends the
// example's guard.
type guardedServer struct {
	*conformance.Running
	guard *time.Timer
}

func (s guardedServer) Close() error {
	err := s.Running.Close()
	s.guard.Stop()
	return err
}

// guardExample arms a guard for the example that called exampleServer: if that example has not
// closed its server within exampleBound, every goroutine's stack is written to stderr and the
// test binary exits with status 1 (a failure, named), rather than hanging.
func guardExample(srv *conformance.Running) guardedServer {
	name := "an example"
	if pc, _, _, ok := runtime.Caller(2); ok {
		if f := runtime.FuncForPC(pc); f != nil {
			name = f.Name()
		}
	}
	return guardedServer{Running: srv, guard: time.AfterFunc(exampleBound, func() {
		fmt.Fprintf(os.Stderr, "FAIL: %s did not return within %v\n\n", name, exampleBound)
		buf := make([]byte, 1<<20)
		_, _ = os.Stderr.Write(buf[:runtime.Stack(buf, true)])
		os.Exit(1)
	})}
}
