package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeStopsOnSignals runs the built binary: serve prints its base URL on the first line of
// stdout, answers the API there, and exits 0 on SIGINT and on SIGTERM.
func TestServeStopsOnSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--require-key", "sk-serve-test")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill() //nolint:errcheck // a no-op once it has exited
			first, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("no first line: %v (stderr %s)", err, stderr.String())
			}
			base := strings.TrimSpace(first)
			if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/v1") {
				t.Fatalf("first line %q is not the base URL", base)
			}

			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			for key, want := range map[string]int{"sk-serve-test": 200, "sk-other": 401} {
				req, _ := http.NewRequest(http.MethodGet, base+"/files", nil)
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := (&http.Client{Transport: tr}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("key %s: status %d, want %d", key, resp.StatusCode, want)
				}
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after %v: %v (stderr %s)", sig, err, stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("still running 30s after %v", sig)
			}
			if !strings.Contains(stderr.String(), "reference server stopped") {
				t.Errorf("stderr %q does not say it stopped", stderr.String())
			}
		})
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--fault-rate", "1.5"},
		{"serve", "--fault-kinds", "500,teapot"},
		{"serve", "--storage", "tape"},
		{"serve", "--bandwidth", "fast"},
		{"serve", "--latency", "soon"},
		{"serve", "--memory-limit", "0"},
	} {
		r := runCLIContext(t, canceled(), "", args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, r.code, exitUsage, r.stderr)
		}
		flag := strings.TrimPrefix(args[1], "--")
		if !strings.Contains(r.stderr, flag) {
			t.Errorf("%v: stderr %q does not name --%s", args, r.stderr, flag)
		}
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestUnknownCommandIsAUsageError(t *testing.T) {
	r := runCLI(t, "", "uplaod", "x.jsonl")
	if r.code != exitUsage || !strings.Contains(r.stderr, `unknown command "uplaod"`) {
		t.Errorf("exit %d stderr %q, want %d naming the command", r.code, r.stderr, exitUsage)
	}
}
