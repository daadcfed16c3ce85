package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// TestCheckpointNeverTakesTheUsersFile: --checkpoint naming something that is not a checkpoint
// (the file being uploaded, another data file, a directory, a path in a directory that does not
// exist) is a usage error before any request, and the file is left as it was (the helpers refuse
// it: upload train.jsonl --checkpoint train.jsonl once uploaded the file, then deleted it).
func TestCheckpointNeverTakesTheUsersFile(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	data := sample(300 << 10)
	path := tempFile(t, "train.jsonl", data)
	other := tempFile(t, "other.jsonl", []byte(`{"messages":[{"role":"user","content":"hi"}]}`+"\n"))
	dir := t.TempDir()
	for _, tc := range []struct {
		name, checkpoint, says string
	}{
		{"the file being uploaded", path, "is the file being uploaded"},
		{"the same file by another name", filepath.Join(filepath.Dir(path), ".", "train.jsonl"), "is the file being uploaded"},
		{"a data file", other, "is not a checkpoint"},
		{"a directory", dir, "is not a regular file"},
		{"a missing directory", filepath.Join(dir, "nope", "cp.json"), "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(srv.Uploads())
			otherBefore, _ := os.ReadFile(other)
			r := runCLI(t, "", "upload", path, "--purpose", "fine-tune", "--part-size", "64KiB", "--checkpoint", tc.checkpoint,
				"--api-key", cliKey, "--base-url", srv.URL)
			if r.code != exitUsage || !strings.Contains(r.stderr, "--checkpoint") || !strings.Contains(r.stderr, tc.says) {
				t.Errorf("exit %d, stderr %q; want a usage error naming --checkpoint, saying %q", r.code, r.stderr, tc.says)
			}
			if found := speaksGo(r.stderr); len(found) > 0 {
				t.Errorf("the message speaks Go: %v in %q", found, r.stderr)
			}
			if n := len(srv.Uploads()); n != before {
				t.Errorf("%d Uploads were created", n-before)
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != string(data) {
				t.Errorf("the file being uploaded was changed or removed: %v", err)
			}
			if got, err := os.ReadFile(other); err != nil || string(got) != string(otherBefore) {
				t.Errorf("the other data file was changed or removed: %v", err)
			}
		})
	}

}
