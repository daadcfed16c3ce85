package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// filesIn lists the Files of a server through the CLI.
func filesIn(t *testing.T, base string) []string {
	t.Helper()
	r := runApp(t, context.Background(), validatingApp(t, ""), "files", "list", "--api-key", cliKey, "--base-url", base)
	if r.code != exitOK {
		t.Fatalf("files list: exit %d: %s", r.code, r.stderr)
	}
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range page.Data {
		ids = append(ids, f.ID)
	}
	return ids
}

// TestUploadStallTimeoutFlag: the first part request freezes; with --stall-timeout the CLI
// abandons it after that long (the --debug line of the abandoned attempt names the flag's
// 300ms: without the flag the default 60 s would cut it, and the upload still complete, only
// later), retries, and completes, printing no failure.
func TestUploadStallTimeoutFlag(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Limit: 1, Kinds: []conformance.FaultKind{conformance.FaultStall}}})
	data := sample(300_000)
	r := runApp(t, context.Background(), validatingApp(t, ""), "--debug", "upload", tempFile(t, "train.jsonl", data), "--purpose", "batch",
		"--part-size", "64KiB", "--stall-timeout", "300ms", "--api-key", cliKey, "--base-url", srv.URL)
	up := decodeUpload(t, r)
	if !strings.Contains(r.stderr, "for 300ms (stall timeout)") {
		t.Errorf("no attempt was abandoned after the --stall-timeout of 300ms; stderr:\n%s", r.stderr)
	}
	if got := content(t, srv, up.File.ID); !bytes.Equal(got, data) {
		t.Error("the File differs from the file")
	}
	if ids := filesIn(t, srv.URL); len(ids) != 1 {
		t.Errorf("Files %v, want exactly one", ids)
	}
	if strings.Contains(r.stderr, "failed") || srv.Stats().Faults[conformance.FaultStall] != 1 {
		t.Errorf("stall injected %d times; stderr:\n%s", srv.Stats().Faults[conformance.FaultStall], r.stderr)
	}
}

// TestTimeoutFlag: --timeout, before or after the command, bounds each attempt of a request
// without a streamed body: a frozen create is cut and retried.
func TestTimeoutFlag(t *testing.T) {
	file := tempFile(t, "a.jsonl", sample(1000))
	for name, args := range map[string][]string{
		"before the command": {"--timeout", "200ms", "upload", file, "--purpose", "batch", "--debug"},
		"after the command":  {"upload", file, "--purpose", "batch", "--timeout", "200ms", "--debug"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := refServer(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Limit: 1,
				Kinds: []conformance.FaultKind{conformance.FaultStall}, Operations: []string{"createUpload"}}})
			r := runApp(t, context.Background(), validatingApp(t, ""), append(args, "--api-key", cliKey, "--base-url", srv.URL)...)
			decodeUpload(t, r)
			// The frozen create is cut once; on a loaded machine the retry may be slower than the
			// 200 ms and cut too: each send but the last must follow a cut --debug shows.
			cuts := 0
			for _, l := range strings.Split(r.stderr, "\n") {
				if strings.Contains(l, "/v1/uploads: ") && strings.Contains(l, "the attempt took longer than 200ms") {
					cuts++
				}
			}
			if n := srv.Stats().Operations["createUpload"]; cuts == 0 || n < 2 || n > int64(cuts)+1 {
				t.Errorf("createUpload sent %d times after %d attempts cut by --timeout, want 2 (no more than one beyond the cuts); stderr:\n%s", n, cuts, r.stderr)
			}
		})
	}
}

// TestNetworkFlagsRefuseBadValues: each new flag's bad value is a usage error naming it, before
// any request.
func TestNetworkFlagsRefuseBadValues(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	file := tempFile(t, "a.jsonl", sample(10))
	for _, tc := range []struct {
		flag string
		args []string
	}{
		{"--stall-timeout", []string{"upload", file, "--purpose", "batch", "--stall-timeout", "0"}},
		{"--stall-timeout", []string{"upload", file, "--purpose", "batch", "--stall-timeout", "-1s"}},
		{"stall-timeout", []string{"upload", file, "--purpose", "batch", "--stall-timeout", "soon"}},
		{"--timeout", []string{"--timeout", "0s", "files", "list"}},
		{"--timeout", []string{"files", "list", "--timeout", "-5s"}},
		{"timeout", []string{"files", "list", "--timeout", "soon"}},
	} {
		r := runApp(t, context.Background(), validatingApp(t, ""), append(tc.args, "--api-key", cliKey, "--base-url", srv.URL)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.flag) {
			t.Errorf("%v: exit %d stderr %q, want %d naming %s", tc.args, r.code, r.stderr, exitUsage, tc.flag)
		}
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("bad flags sent %d requests", n)
	}
	for _, args := range [][]string{
		{"serve", "--fault-ops", "uploadPart"},
		{"serve", "--fault-kinds", "stall,teapot"},
		{"serve", "--fault-limit", "-1"},
		{"serve", "--fault-stall-for", "-1s"},
		{"serve", "--fault-slow-rate", "fast"},
		{"serve", "--fault-slow-rate", "0"},
	} {
		r := runCLIContext(t, canceled(), "", args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, strings.TrimPrefix(args[1], "--")) {
			t.Errorf("%v: exit %d stderr %q, want %d naming %s", args, r.code, r.stderr, exitUsage, args[1])
		}
	}
}

// TestServeFaultFlags runs the built serve with the reply to the first createUpload, or to the
// first completeUpload, lost, and the CLI's upload against it: the upload completes, says what
// it did about the lost reply, prints no failure, and exactly one File exists.
func TestServeFaultFlags(t *testing.T) {
	for op, want := range map[string]string{
		"createUpload":   "reply to create was lost",
		"completeUpload": "recovered File ",
	} {
		t.Run(op, func(t *testing.T) {
			cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--storage", "memory", "--fault-rate", "1", "--fault-limit", "1",
				"--fault-kinds", "lost-response", "--fault-ops", op)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			first, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSpace(first)
			r := runApp(t, context.Background(), validatingApp(t, ""), "upload", tempFile(t, "train.jsonl", sample(200_000)), "--purpose", "batch",
				"--part-size", "64KiB", "--api-key", cliKey, "--base-url", base)
			up := decodeUpload(t, r)
			if !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "failed") {
				t.Errorf("stderr does not say %q, or reports a failure:\n%s", want, r.stderr)
			}
			if ids := filesIn(t, base); len(ids) != 1 || ids[0] != up.File.ID {
				t.Errorf("Files %v, want exactly %s", ids, up.File.ID)
			}
		})
	}
}

// TestFilesContentStallTimeout: a download whose bytes stop fails after --stall-timeout (a global
// flag) instead of hanging, and --output is not left half-written.
func TestFilesContentStallTimeout(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Limit: 1,
		Kinds: []conformance.FaultKind{conformance.FaultStall}, Operations: []string{"downloadFile"}}})
	up := decodeUpload(t, runApp(t, context.Background(), validatingApp(t, ""), "upload", tempFile(t, "a.jsonl", sample(1<<20)),
		"--purpose", "batch", "--api-key", cliKey, "--base-url", srv.URL))
	out := filepath.Join(t.TempDir(), "out.jsonl")
	r := runApp(t, context.Background(), validatingApp(t, ""), "--stall-timeout", "300ms", "files", "content", "--file-id", up.File.ID,
		"--output", out, "--api-key", cliKey, "--base-url", srv.URL)
	if r.code != exitFail || !strings.Contains(r.stderr, "stalled") {
		t.Fatalf("exit %d stderr %q, want 1 and the stall", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("the failed download left %v behind", entries)
	}
}
