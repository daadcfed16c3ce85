package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// binary is the command built once for the tests that need a real process (signals).
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "openai-uploads-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "openai-uploads")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// result is one in-process run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command in-process with the given stdin and arguments.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runCLIContext(t, context.Background(), stdin, args...)
}

func runCLIContext(t *testing.T, ctx context.Context, stdin string, args ...string) result {
	t.Helper()
	return runApp(t, ctx, &app{stdin: strings.NewReader(stdin)}, args...)
}

// runApp runs a (with its stdin and test settings) and captures stdout and stderr.
func runApp(t *testing.T, ctx context.Context, a *app, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a.stdout, a.stderr = &stdout, &stderr
	if a.stdin == nil {
		a.stdin = strings.NewReader("")
	}
	code := runWatched(t, ctx, a, append([]string{"openai-uploads"}, args...))
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// runWatched runs a with argv (argv[0] is the program's name) under a watchdog: if the run has
// not returned within runBound, the test binary ends with a failure naming the test and the
// command (giveUp).
func runWatched(t *testing.T, ctx context.Context, a *app, argv []string) int {
	t.Helper()
	watchdog := time.AfterFunc(runBound, func() { giveUp(t, argv[1:]) })
	defer watchdog.Stop()
	return a.run(ctx, argv)
}

// runBound is how long one run of the CLI in a test may take before its watchdog ends the test
// binary. The slowest test of the package takes under 6 s, each run far less; a run that does
// not return (a loop that never ends, a wait for something that never comes) would otherwise hold
// the whole suite until go test's -timeout, and a loop that ignores contexts cannot be cancelled.
const runBound = 60 * time.Second

// giveUp names the test and the command that did not return, prints every goroutine's stack and
// ends the test binary with status 1 (a failure).
func giveUp(t *testing.T, args []string) {
	fmt.Fprintf(os.Stderr, "--- FAIL: %s: openai-uploads %s did not return within %v; goroutines:\n",
		t.Name(), strings.Join(args, " "), runBound)
	_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
	os.Exit(1)
}

// sleepBriefly yields while a test polls for a condition (not a timing assertion).
func sleepBriefly() { time.Sleep(time.Millisecond) }

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}
