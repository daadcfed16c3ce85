package main

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// TestCLINeverPrintsTheKey runs the CLI through failure paths (401, 500, connection refused, a
// usage error, --help, --debug) with a recognisable key, from the flag and from the environment,
// and checks stdout and stderr.
func TestCLINeverPrintsTheKey(t *testing.T) {
	const secret = "sk-SECRET-cli-do-not-print-0123456789"
	keyed := refServer(t, conformance.ServerOptions{APIKey: "sk-another-key"})
	failing := refServer(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Kinds: []conformance.FaultKind{conformance.Fault500}}})
	ok := refServer(t, conformance.ServerOptions{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String() + "/v1"
	ln.Close()
	file := tempFile(t, "a.jsonl", sample(100_000))

	runs := [][]string{
		{"upload", file, "--purpose", "batch", "--base-url", keyed.URL},                                                 // 401
		{"upload", file, "--purpose", "batch", "--part-size", "32KiB", "--max-retries", "1", "--base-url", failing.URL}, // 500s, cancelled
		{"files", "list", "--base-url", refused},                                                                        // connection refused
		{"upload", file, "--purpose", "nonsense", "--base-url", ok.URL},                                                 // usage error
		{"upload", "--help"},
		{"--debug", "files", "list", "--base-url", ok.URL},
		{"--debug", "upload", file, "--purpose", "batch", "--base-url", keyed.URL},
	}
	for _, viaEnv := range []bool{false, true} {
		for _, args := range runs {
			if viaEnv {
				t.Setenv("OPENAI_API_KEY", secret)
			} else {
				t.Setenv("OPENAI_API_KEY", "")
				args = append(args, "--api-key", secret)
			}
			r := runApp(t, context.Background(), &app{}, args...)
			if strings.Contains(r.stdout+r.stderr, secret) || strings.Contains(r.stdout+r.stderr, secret[3:]) {
				t.Errorf("%v printed the key:\nstdout %s\nstderr %s", args, r.stdout, r.stderr)
			}
			if args[0] == "--debug" && !strings.Contains(r.stderr, "Authorization: [redacted]") {
				t.Errorf("%v: --debug shows no redacted Authorization:\n%s", args, r.stderr)
			}
		}
	}
}
