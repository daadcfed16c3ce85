package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

const cliKey = "sk-cli-test-KEY-77aa"

// refServer starts a reference server for one test.
func refServer(t *testing.T, opts conformance.ServerOptions) *conformance.Running {
	t.Helper()
	srv, err := conformance.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// validatingApp is the CLI with its API traffic checked against the spec.
func validatingApp(t *testing.T, stdin string) *app {
	t.Helper()
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	return &app{stdin: strings.NewReader(stdin), httpClient: &http.Client{Transport: &conformance.Transport{Base: base}}}
}

func tempFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func sample(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13 + i>>10)
	}
	return b
}

// decodeUpload reads the completed Upload the command printed.
func decodeUpload(t *testing.T, r result) generated.Upload {
	t.Helper()
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var up generated.Upload
	if err := json.Unmarshal([]byte(r.stdout), &up); err != nil {
		t.Fatalf("stdout is not an Upload: %v\n%s", err, r.stdout)
	}
	if up.Status != generated.UploadStatusCompleted || up.File == nil {
		t.Fatalf("upload not completed: %s", r.stdout)
	}
	return up
}

// content downloads a File through the CLI itself.
func content(t *testing.T, srv *conformance.Running, fileID string) []byte {
	t.Helper()
	r := runApp(t, context.Background(), validatingApp(t, ""), "files", "content", "--file-id", fileID, "--api-key", cliKey, "--base-url", srv.URL)
	if r.code != exitOK {
		t.Fatalf("files content: exit %d: %s", r.code, r.stderr)
	}
	return []byte(r.stdout)
}

func TestUploadCommand(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	data := sample(3<<20 + 17)
	path := tempFile(t, "train.jsonl", data)

	// Flags after the path, global flags after the command, as in OpenAI's CLI examples.
	r := runApp(t, context.Background(), validatingApp(t, ""), "upload", path, "--purpose", "fine-tune",
		"--part-size", "1MiB", "--concurrency", "3", "--api-key", cliKey, "--base-url", srv.URL)
	up := decodeUpload(t, r)
	if up.File.Bytes != int64(len(data)) || up.File.Filename != "train.jsonl" || up.File.Purpose != "fine-tune" {
		t.Errorf("File %+v", up.File)
	}
	if got := content(t, srv, up.File.ID); !bytes.Equal(got, data) {
		t.Errorf("the File's content differs from the file (%d vs %d bytes)", len(got), len(data))
	}
	if !strings.Contains(r.stderr, "parts 4/4") {
		t.Errorf("stderr has no plain progress line ending at parts 4/4:\n%s", r.stderr)
	}
	if strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
		t.Errorf("--format json prints one line, got:\n%s", r.stdout)
	}

	// Flags first, pretty output, no progress.
	r = runApp(t, context.Background(), validatingApp(t, ""), "--api-key", cliKey, "--base-url", srv.URL, "--format", "pretty",
		"upload", "--purpose", "batch", "--filename", "renamed.jsonl", "--no-md5", "--quiet", path)
	up = decodeUpload(t, r)
	if up.File.Filename != "renamed.jsonl" || !strings.Contains(r.stdout, "\n  \"bytes\"") {
		t.Errorf("pretty output with the new name expected:\n%s", r.stdout)
	}
	// --quiet silences the progress, not the lines that name the Upload.
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 2 ||
		lines[0] != "openai-uploads: Upload "+up.ID+"; if this run is killed," || lines[1] != "  cancel it: openai-uploads uploads cancel "+up.ID {
		t.Errorf("--quiet wrote to stderr:\n%s\nwant only the two lines naming the Upload", r.stderr)
	}
}

func TestUploadCommandFromStdin(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	data := sample(2<<20 + 5)
	t.Setenv("OPENAI_API_KEY", cliKey)
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	r := runApp(t, context.Background(), validatingApp(t, string(data)), "upload", "-", "--size", "2097157",
		"--filename", "stdin.jsonl", "--purpose", "batch", "--part-size", "512KiB", "-q")
	up := decodeUpload(t, r)
	if got := content(t, srv, up.File.ID); !bytes.Equal(got, data) {
		t.Errorf("the File's content differs from stdin")
	}
}

func TestUploadCommandErrors(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{APIKey: cliKey})
	good := tempFile(t, "train.jsonl", sample(1000))
	weird := tempFile(t, "model.weights", sample(10))
	empty := tempFile(t, "empty.jsonl", nil)
	base := []string{"--api-key", cliKey, "--base-url", srv.URL}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"missing purpose", []string{"upload", good}, exitUsage, []string{"--purpose is required"}},
		{"no path", []string{"upload", "--purpose", "batch"}, exitUsage, []string{"PATH"}},
		{"stdin among several", []string{"upload", good, "-", "--purpose", "batch"}, exitUsage, []string{"PATH -", "several PATHs"}},
		{"checkpoint with several", []string{"upload", good, good, "--purpose", "batch", "--checkpoint", "cp.json"}, exitUsage, []string{"--checkpoint", "several PATHs"}},
		{"a missing file among several", []string{"upload", good, "/nonexistent/y.jsonl", "--purpose", "batch"}, exitUsage, []string{"PATH", "/nonexistent/y.jsonl"}},
		{"an empty file among several", []string{"upload", good, empty, "--purpose", "batch"}, exitUsage, []string{"PATH", "empty.jsonl", "empty"}},
		{"nonexistent file", []string{"upload", "/nonexistent/x.jsonl", "--purpose", "batch"}, exitUsage, []string{"/nonexistent/x.jsonl"}},
		{"unknown purpose", []string{"upload", good, "--purpose", "training"}, exitUsage, []string{"--purpose", "training"}},
		{"part size above 64 MiB", []string{"upload", good, "--purpose", "batch", "--part-size", "65MiB"}, exitUsage, []string{"--part-size", "64MiB"}},
		{"part size zero", []string{"upload", good, "--purpose", "batch", "--part-size", "0"}, exitUsage, []string{"--part-size"}},
		{"part size not a size", []string{"upload", good, "--purpose", "batch", "--part-size", "big"}, exitUsage, []string{"--part-size"}},
		{"concurrency zero", []string{"upload", good, "--purpose", "batch", "--concurrency", "0"}, exitUsage, []string{"--concurrency", "between 1 and 32"}},
		{"unknown MIME type", []string{"upload", weird, "--purpose", "batch"}, exitUsage, []string{"--mime-type", "model.weights"}},
		{"bad expires-after", []string{"upload", good, "--purpose", "batch", "--expires-after", "seconds=5"}, exitUsage, []string{"--expires-after", "3600..2592000"}},
		{"stdin without size", []string{"upload", "-", "--purpose", "batch", "--filename", "a.jsonl"}, exitUsage, []string{"--size is required"}},
		{"bad md5", []string{"upload", good, "--purpose", "batch", "--md5", "xyz"}, exitUsage, []string{"--md5", "32 hexadecimal digits"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t, context.Background(), validatingApp(t, ""), append(tc.args, base...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not say %q", r.stderr, w)
				}
			}
		})
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("bad input sent %d requests", n)
	}

	t.Run("no API key", func(t *testing.T) {
		t.Setenv("OPENAI_API_KEY", "")
		r := runApp(t, context.Background(), validatingApp(t, ""), "upload", good, "--purpose", "batch", "--base-url", srv.URL)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--api-key") || !strings.Contains(r.stderr, "OPENAI_API_KEY") {
			t.Errorf("exit %d stderr %q", r.code, r.stderr)
		}
	})
	t.Run("API error", func(t *testing.T) {
		r := runApp(t, context.Background(), validatingApp(t, ""), "upload", good, "--purpose", "batch",
			"--api-key", "sk-wrong-key-123456", "--base-url", srv.URL)
		if r.code != exitFail {
			t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
		}
		for _, w := range []string{"creating the Upload", "401", "invalid_request_error", "invalid_api_key", "Incorrect API key provided"} {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("stderr %q does not carry %q", r.stderr, w)
			}
		}
		if strings.Contains(r.stderr+r.stdout, "sk-wrong-key-123456") {
			t.Errorf("the key was printed: %s", r.stderr)
		}
	})
}

// TestUploadCommandInterrupted: Ctrl-C (the context ending) cancels the Upload, or with
// --checkpoint leaves it resumable, and says which.
func TestUploadCommandInterrupted(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{Latency: 20e6}) // 20 ms per request: parts take a while
	path := tempFile(t, "train.jsonl", sample(4<<20))
	for _, tc := range []struct {
		name   string
		extra  []string
		says   string
		status generated.UploadStatus
	}{
		{"cancelled", nil, "was cancelled", generated.UploadStatusCancelled},
		{"resumable", []string{"--checkpoint", filepath.Join(t.TempDir(), "cp.json")}, "can be resumed", generated.UploadStatusPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The server is shared by the subtests: count from here, or after the first subtest
			// the parts it stored let the cancel come while this run's Upload is still being created.
			before, partsBefore := len(srv.Uploads()), srv.Stats().PartsStored
			go func() {
				for len(srv.Uploads()) == before || srv.Stats().PartsStored == partsBefore {
					if ctx.Err() != nil {
						return
					}
					sleepBriefly()
				}
				cancel() // Ctrl-C
			}()
			args := append([]string{"upload", path, "--purpose", "batch", "--part-size", "256KiB", "--concurrency", "1",
				"--api-key", cliKey, "--base-url", srv.URL}, tc.extra...)
			r := runApp(t, ctx, validatingApp(t, ""), args...)
			if r.code != exitFail || !strings.Contains(r.stderr, tc.says) || !strings.Contains(r.stderr, "context canceled") {
				t.Fatalf("exit %d, stderr %q: want 1 and %q", r.code, r.stderr, tc.says)
			}
			ids := srv.Uploads()
			var newest generated.Upload
			for _, id := range ids {
				if u, _ := srv.Upload(id); u.CreatedAt >= newest.CreatedAt && strings.Contains(r.stderr, id) {
					newest = u
				}
			}
			if newest.Status != tc.status {
				t.Errorf("the Upload is %q, want %q", newest.Status, tc.status)
			}
		})
	}
}

// TestExpiresAfterAsJSON: --expires-after also takes the API's JSON object, alone: unknown keys,
// a second value after it and a seconds that is not a number are refused.
func TestExpiresAfterAsJSON(t *testing.T) {
	ea, err := parseExpiresAfter(`{"anchor":"created_at","seconds":3600}`)
	if err != nil || ea.Seconds != 3600 || ea.Anchor != "created_at" {
		t.Errorf("the API's object: %+v, %v", ea, err)
	}
	for _, s := range []string{`{"seconds":3600} {"seconds":7200}`, `{"seconds":3600}x`, `{"seconds":3600,"after":1}`, `{"seconds":"soon"}`} {
		if ea, err := parseExpiresAfter(s); err == nil {
			t.Errorf("%s: accepted as %+v", s, ea)
		}
	}
}

// TestUploadAtTheSmallestAndLargestSettings: --part-size 1, the smallest part, is taken (a
// 5-byte file goes up in 5 parts), with one part at a time (--concurrency 1) and with the most
// parts in flight (--concurrency 32).
func TestUploadAtTheSmallestAndLargestSettings(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	data := []byte("12345")
	path := tempFile(t, "five.txt", data)
	for _, concurrency := range []string{"1", fmt.Sprint(helpers.MaxConcurrency)} {
		r := runApp(t, context.Background(), validatingApp(t, ""), "upload", path, "--purpose", "batch",
			"--part-size", "1", "--concurrency", concurrency, "--api-key", cliKey, "--base-url", srv.URL)
		up := decodeUpload(t, r)
		if up.File.Bytes != 5 || !strings.Contains(r.stderr, "parts 5/5") {
			t.Errorf("--concurrency %s: File %+v, stderr:\n%s\nwant 5 bytes in parts 5/5", concurrency, up.File, r.stderr)
		}
		if got := content(t, srv, up.File.ID); !bytes.Equal(got, data) {
			t.Errorf("--concurrency %s: content %q", concurrency, got)
		}
	}
}

// TestMaxRetriesFlag: --max-retries 0 means no retry (a part answered 500 fails the upload), and
// --max-retries 1 means one (the same 500 is retried and the upload completes).
func TestMaxRetriesFlag(t *testing.T) {
	path := tempFile(t, "a.jsonl", sample(1000))
	for _, c := range []struct {
		retries string
		code    int
	}{{"0", exitFail}, {"1", exitOK}} {
		srv := refServer(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Limit: 1, Kinds: []conformance.FaultKind{conformance.Fault500}}})
		r := runApp(t, context.Background(), validatingApp(t, ""), "upload", path, "--purpose", "batch", "-q",
			"--max-retries", c.retries, "--api-key", cliKey, "--base-url", srv.URL)
		if r.code != c.code {
			t.Errorf("--max-retries %s after one 500: exit %d, want %d\n%s", c.retries, r.code, c.code, r.stderr)
		}
	}
}

// TestExpiresAfterBounds: seconds from 3600 (1 hour) to 2592000 (30 days), both included.
func TestExpiresAfterBounds(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{{"seconds=3599", false}, {"seconds=3600", true}, {"seconds=2592000", true}, {"seconds=2592001", false}, {`{"seconds":2592000}`, true}} {
		if _, err := parseExpiresAfter(c.s); (err == nil) != c.ok {
			t.Errorf("%s: error %v, want accepted %v", c.s, err, c.ok)
		}
	}
}
