package helpers_test

import (
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/openai-uploads/uploads/conformance"
)

// exampleBound is how long an example may run before its watchdog ends the test binary. Each
// example takes at most 0.3 s, with the race detector; an upload that hangs (a broken budget, a
// queue that never ends) would otherwise block until go test's -timeout, and the examples run
// even after -failfast has stopped the tests at a first failure. It is never what an example
// asserts: its Output is.
const exampleBound = 30 * time.Second

// exampleRun is the reference server of one example, under a watchdog that Close stops.
type exampleRun struct {
	*conformance.Running
	watchdog *time.Timer
}

// Close stops the watchdog and the server.
func (r *exampleRun) Close() error {
	r.watchdog.Stop()
	return r.Running.Close()
}

// startExample starts a reference server on 127.0.0.1 for the calling example, and a watchdog:
// if the example has not returned (closed the server) within exampleBound, the watchdog names
// it, prints every goroutine's stack and ends the test binary with status 1, as log.Fatal in
// an example does.
func startExample() *exampleRun {
	srv, err := conformance.Start(conformance.ServerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	name := callingExample()
	return &exampleRun{Running: srv, watchdog: time.AfterFunc(exampleBound, func() {
		giveUp(fmt.Sprintf("%s did not return within %s", name, exampleBound))
	})}
}

// giveUp ends the test binary with status 1 (a failure, as log.Fatal in an example or a failed
// test gives) after printing why and every goroutine's stack: what a watchdog does when a call
// that must return has not, and nothing can make it (a test can be failed only from its own
// goroutine, which is the one blocked).
func giveUp(why string) {
	fmt.Fprintf(os.Stderr, "--- FAIL: %s; goroutines:\n", why)
	_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
	os.Exit(1)
}

// callingExample is the name of the Example function on the call stack.
func callingExample() string {
	pc := make([]uintptr, 16)
	frames := runtime.CallersFrames(pc[:runtime.Callers(2, pc)])
	for {
		f, more := frames.Next()
		if i := strings.LastIndex(f.Function, ".Example"); i >= 0 {
			return f.Function[i+1:]
		}
		if !more {
			return "an example"
		}
	}
}
