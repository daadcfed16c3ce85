package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// severalFiles writes files of the given names and sizes in one directory and returns the
// directory and the paths.
func severalFiles(t *testing.T, sizes map[string]int) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, name := range sortedNames(sizes) {
		data := sample(sizes[name])
		data[0] = name[0]
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return dir, paths
}

func sortedNames(m map[string]int) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	for i := range names { // a few names: insertion sort
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	return names
}

// stdoutLines decodes stdout's JSON lines into objects holding the keys that tell them apart.
type outLine struct {
	Object string           `json:"object"`
	ID     string           `json:"id"`
	Status string           `json:"status"`
	File   *json.RawMessage `json:"file"`
	Path   string           `json:"path"`
	Error  *struct {
		Message string `json:"message"`
		Status  int    `json:"status"`
	} `json:"error"`
	Filename string `json:"filename"`
}

func stdoutLines(t *testing.T, stdout string) []outLine {
	t.Helper()
	var out []outLine
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var o outLine
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", l, err)
		}
		out = append(out, o)
	}
	return out
}

// TestUploadSeveralFiles: upload a b c: one JSON line per file in the order given (the File of a
// small file, the completed Upload of a large one), each File's content as uploaded; stderr (not
// a terminal) has one final line per file and the total.
func TestUploadSeveralFiles(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	_, paths := severalFiles(t, map[string]int{"a.jsonl": 1000, "b.jsonl": 300 << 10, "c.jsonl": 2000})
	// c before a: the order given, not the order they end.
	args := []string{"upload", paths[2], paths[1], paths[0], "--purpose", "batch", "--part-size", "64KiB", "--small-file-limit", "100KiB",
		"--api-key", cliKey, "--base-url", srv.URL}
	r := runApp(t, context.Background(), validatingApp(t, ""), args...)
	if r.code != exitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	lines := stdoutLines(t, r.stdout)
	if len(lines) != 3 {
		t.Fatalf("%d stdout lines, want 3:\n%s", len(lines), r.stdout)
	}
	for i, want := range []struct{ name, object string }{{"c.jsonl", "file"}, {"b.jsonl", "upload"}, {"a.jsonl", "file"}} {
		l := lines[i]
		if l.Object != want.object || l.Filename != want.name || l.Object == "upload" && (l.Status != "completed" || l.File == nil) {
			t.Errorf("line %d: %+v, want the %s of %s", i, l, want.object, want.name)
		}
	}
	var up generated.Upload
	_ = json.Unmarshal([]byte(strings.Split(r.stdout, "\n")[1]), &up)
	for id, path := range map[string]string{lines[0].ID: paths[2], up.File.ID: paths[1], lines[2].ID: paths[0]} {
		want, _ := os.ReadFile(path)
		if got := content(t, srv, id); !bytes.Equal(got, want) {
			t.Errorf("File %s does not hold %s", id, path)
		}
	}
	for _, p := range paths {
		if !strings.Contains(r.stderr, p+": done") {
			t.Errorf("stderr has no final line for %s:\n%s", p, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "total: 3 of 3 files done") {
		t.Errorf("stderr has no total:\n%s", r.stderr)
	}
	// The Upload (of b, the one large file) is named as soon as it exists, with how to cancel it.
	if want := "openai-uploads: Upload " + up.ID + " for " + paths[1] + "; if this run is killed,"; !strings.Contains(r.stderr, want) ||
		!strings.Contains(r.stderr, "cancel it: openai-uploads uploads cancel "+up.ID) || strings.Count(r.stderr, "openai-uploads: Upload ") != 1 {
		t.Errorf("stderr does not name the Upload once, with how to cancel it:\n%s", r.stderr)
	}
	if st := srv.Stats(); st.Operations["createFile"] != 2 || st.Operations["createUpload"] != 1 {
		t.Errorf("%d POST /files and %d Uploads, want 2 and 1", st.Operations["createFile"], st.Operations["createUpload"])
	}
}

// rejecting is a reference server that answers 400 to the create (POST /files or /uploads) of
// the file named name.
func rejecting(t *testing.T, name string, opts conformance.ServerOptions) string {
	t.Helper()
	s, err := conformance.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && (r.URL.Path == "/v1/files" || r.URL.Path == "/v1/uploads") {
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte(`"`+name+`"`)) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":{"message":"This file is refused.","type":"invalid_request_error","param":"file","code":null}}`))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ts.Close(); _ = s.Close() })
	return ts.URL + "/v1"
}

// TestUploadSeveralFilesOneFails: the API refuses b; a and c are uploaded all the same. Exit 1,
// stdout still one line per file in order (b's an error naming its path), and stderr ends with
// the summary of the failure.
func TestUploadSeveralFilesOneFails(t *testing.T) {
	base := rejecting(t, "b.jsonl", conformance.ServerOptions{})
	_, paths := severalFiles(t, map[string]int{"a.jsonl": 1000, "b.jsonl": 1000, "c.jsonl": 300 << 10})
	r := runApp(t, context.Background(), validatingApp(t, ""), append([]string{"upload"}, append(paths, "--purpose", "batch", "--part-size", "64KiB",
		"--small-file-limit", "100KiB", "--api-key", cliKey, "--base-url", base)...)...)
	if r.code != exitFail {
		t.Fatalf("exit %d, want 1:\n%s", r.code, r.stderr)
	}
	lines := stdoutLines(t, r.stdout)
	if len(lines) != 3 || lines[0].Object != "file" || lines[2].Object != "upload" ||
		lines[1].Path != paths[1] || lines[1].Error == nil || lines[1].Error.Status != 400 || !strings.Contains(lines[1].Error.Message, "refused") {
		t.Fatalf("stdout:\n%s\nwant a's File, b's error, c's Upload", r.stdout)
	}
	errLines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	n := len(errLines)
	if n < 2 || errLines[n-2] != "openai-uploads: 1 of 3 files failed:" || !strings.HasPrefix(errLines[n-1], "  "+paths[1]+": ") ||
		!strings.Contains(errLines[n-1], "400") {
		t.Errorf("stderr does not end with the summary:\n%s", r.stderr)
	}
}

// TestSeveralFilesInAPseudoTerminal: upload one two three in a pseudo-terminal of 80 and of 40
// columns: at every moment the screen holds at most one line naming each file, at most four
// lines in all (a line per file and the total), none wrapped; it ends with each file's done
// line and the total.
func TestSeveralFilesInAPseudoTerminal(t *testing.T) {
	srv := slowServer(t)
	names := []string{"one.jsonl", "two.jsonl", "three.jsonl"}
	dir, _ := severalFiles(t, map[string]int{names[0]: 3 << 20, names[1]: 2 << 20, names[2]: 3 << 20})
	for _, cols := range []int{80, 40} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			r := startInTerminalIn(t, dir, cols, append([]string{"total"}, names...), nil, "upload", names[0], names[1], names[2], "--purpose", "batch",
				"--part-size", "512KiB", "--small-file-limit", "2MiB", "--api-key", cliKey, "--base-url", srv.URL)
			if code := r.wait(t); code != exitOK {
				t.Fatalf("exit %d\n%s", code, r.raw.String())
			}
			// one and three (3 MiB) go through Uploads, named as soon as they exist, above the
			// progress; two (2 MiB) through POST /files.
			// (Announcements are wrapped at the terminal's width: read them with the rows joined.)
			if all := strings.Join(strings.Fields(strings.Join(r.vt.screen(), " ")), " "); strings.Count(all, "openai-uploads: Upload upload_") != 2 ||
				!strings.Contains(all, " for one.jsonl; if this run is killed,") || !strings.Contains(all, " for three.jsonl; if this run is killed,") {
				t.Errorf("the two Uploads are not named once each above the progress:\n%s", strings.Join(r.vt.screen(), "\n"))
			}
			screen := r.vt.progressScreen()
			if r.worst != 1 || r.mostRows > 4 || r.vt.wraps != 0 {
				t.Errorf("up to %d lines named one file, up to %d rows at once, %d lines wrapped; screen:\n%s", r.worst, r.mostRows, r.vt.wraps, strings.Join(screen, "\n"))
			}
			if len(screen) != 4 || !strings.HasPrefix(screen[3], "total: 3 of 3 files done") {
				t.Errorf("final screen:\n%s\nwant three done lines and the total", strings.Join(screen, "\n"))
			}
			for _, n := range names {
				found := false
				for _, l := range screen[:min(3, len(screen))] {
					found = found || strings.HasPrefix(l, n+" done") && len(l) < cols
				}
				if !found {
					t.Errorf("no done line for %s within %d columns:\n%s", n, cols, strings.Join(screen, "\n"))
				}
			}
			if redraws := strings.Count(r.raw.String(), "\x1b[J"); redraws < 3 {
				t.Errorf("%d redraws: the upload was too quick to show progress", redraws)
			}
			if !strings.Contains(r.raw.String(), "total [") || !strings.Contains(r.raw.String(), " streams") && !strings.Contains(r.raw.String(), " ×") {
				t.Errorf("no live total line with its bar and the streams was drawn")
			}
			if lines := stdoutLines(t, r.stdout.String()); len(lines) != 3 {
				t.Errorf("stdout:\n%s", r.stdout.String())
			}
		})
	}
}

// TestSeveralFilesInterrupted: SIGINT while several files upload: exit 130 once every Upload
// under way is cancelled (none is left pending), stdout still has one line per file, and stderr
// says it was interrupted and sums up the files.
func TestSeveralFilesInterrupted(t *testing.T) {
	srv := slowServer(t)
	_, paths := severalFiles(t, map[string]int{"a.jsonl": 6 << 20, "b.jsonl": 6 << 20, "c.jsonl": 6 << 20, "d.jsonl": 6 << 20})
	cmd := exec.Command(binary, append(append([]string{"upload"}, paths...), "--purpose", "batch", "--part-size", "1MiB",
		"--small-file-limit", "0", "--api-key", cliKey, "--base-url", srv.URL)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // a no-op once it has exited
	for len(srv.Uploads()) == 0 || srv.Stats().PartsStored == 0 {
		sleepBriefly()
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("still running a minute after SIGINT")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("%v, want exit 130; stderr:\n%s", err, stderr.String())
	}
	if ids := srv.Uploads(); len(ids) == 0 {
		t.Fatal("no Upload was created")
	}
	for _, id := range srv.Uploads() {
		if up, _ := srv.Upload(id); up.Status != generated.UploadStatusCancelled {
			t.Errorf("Upload %s is %s after SIGINT, want cancelled", id, up.Status)
		}
	}
	if !strings.Contains(stderr.String(), "files failed") || !strings.Contains(stderr.String(), "interrupted by SIGINT") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if lines := stdoutLines(t, stdout.String()); len(lines) != 4 {
		t.Errorf("stdout has %d lines, want one per file:\n%s", len(lines), stdout.String())
	}
}

// TestUploadThroughTheInFlightLimit: serve --max-parts-in-flight 2 and upload with a fixed 8
// streams and no retries: the 429s put the parts back in the queue, and the upload completes.
func TestUploadThroughTheInFlightLimit(t *testing.T) {
	p := startServe(t, "--storage", "memory", "--max-parts-in-flight", "2", "--parts-retry-after", "10ms", "--latency", "5ms", "--quiet")
	r := runApp(t, context.Background(), validatingApp(t, ""), "upload", tempFile(t, "train.jsonl", sample(2<<20)), "--purpose", "batch",
		"--part-size", "64KiB", "--concurrency", "8", "--max-retries", "0", "--api-key", cliKey, "--base-url", p.base)
	decodeUpload(t, r)
	if !strings.Contains(r.stderr, "rate-limited") {
		t.Errorf("stderr does not say parts were rate-limited:\n%s", r.stderr)
	}
}

// TestSeveralFilesFlags: --small-file-limit takes 512MiB, POST /files' limit; the flags that
// describe one file are refused with several PATHs, each saying why.
func TestSeveralFilesFlags(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	_, paths := severalFiles(t, map[string]int{"a.jsonl": 100, "b.jsonl": 200})
	base := []string{"upload", paths[0], paths[1], "--purpose", "batch", "-q", "--api-key", cliKey, "--base-url", srv.URL}
	if r := runApp(t, context.Background(), validatingApp(t, ""), append(base, "--small-file-limit", "512MiB")...); r.code != exitOK || len(stdoutLines(t, r.stdout)) != 2 {
		t.Errorf("--small-file-limit 512MiB: exit %d\n%s", r.code, r.stderr)
	}
	for _, c := range []struct{ flag, value, why string }{
		{"--filename", "x.jsonl", "--filename cannot be used with several PATHs (got 2): it describes one file"},
		{"--checkpoint", filepath.Join(t.TempDir(), "cp"), "--checkpoint cannot be used with several PATHs (got 2): a checkpoint resumes one file's Upload"},
	} {
		if r := runApp(t, context.Background(), validatingApp(t, ""), append(base, c.flag, c.value)...); r.code != exitUsage || !strings.Contains(r.stderr, c.why) {
			t.Errorf("%s: exit %d, stderr %q; want %q", c.flag, r.code, r.stderr, c.why)
		}
	}
}
