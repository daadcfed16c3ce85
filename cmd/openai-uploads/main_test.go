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
	code := a.run(ctx, append([]string{"openai-uploads"}, args...))
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// sleepBriefly yields while a test polls for a condition (not a timing assertion).
func sleepBriefly() { time.Sleep(time.Millisecond) }

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}
