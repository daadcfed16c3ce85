package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// terminalRun is the built command running in a pseudo-terminal (its stdin and stderr; stdout is
// a pipe), with the terminal's output fed to a vt of the same width as it arrives.
type terminalRun struct {
	cmd    *exec.Cmd
	ptmx   *os.File
	stdout bytes.Buffer

	mu       sync.Mutex
	vt       *vt
	raw      bytes.Buffer
	labels   []string
	worst    int                // most rows naming one of the labels at once
	mostRows int                // most progress rows on the screen at once (announcements aside)
	onChunk  func(*terminalRun) // called after each chunk, under mu
	read     chan struct{}
}

func startInTerminal(t *testing.T, cols int, label string, args ...string) *terminalRun {
	t.Helper()
	return startInTerminalEnv(t, cols, label, nil, args...)
}

// startInTerminalEnv is startInTerminal with more environment variables.
func startInTerminalEnv(t *testing.T, cols int, label string, env []string, args ...string) *terminalRun {
	t.Helper()
	return startInTerminalIn(t, "", cols, []string{label}, env, args...)
}

// startInTerminalIn runs the command in dir (if set), with env added to the environment, and
// watches each of labels.
func startInTerminalIn(t *testing.T, dir string, cols int, labels []string, env []string, args ...string) *terminalRun {
	t.Helper()
	r := &terminalRun{cmd: exec.Command(binary, args...), vt: newVT(cols), labels: labels, read: make(chan struct{})}
	r.cmd.Dir = dir
	r.cmd.Stdout = &r.stdout
	r.cmd.Env = append(append(os.Environ(), "TERM=xterm-256color"), env...)
	ptmx, err := pty.StartWithSize(r.cmd, &pty.Winsize{Cols: uint16(cols), Rows: 24})
	if err != nil {
		t.Fatal(err)
	}
	r.ptmx = ptmx
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		_ = ptmx.Close()
	})
	go func() {
		defer close(r.read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				r.mu.Lock()
				r.raw.Write(buf[:n])
				r.vt.write(buf[:n])
				for _, l := range r.labels {
					r.worst = max(r.worst, r.vt.count(l))
				}
				r.mostRows = max(r.mostRows, len(r.vt.progressScreen()))
				if r.onChunk != nil {
					r.onChunk(r)
				}
				r.mu.Unlock()
			}
			if err != nil { // EIO once the command has exited and the terminal is drained
				return
			}
		}
	}()
	return r
}

// wait waits for the command and for the terminal's last output; it returns the exit code.
func (r *terminalRun) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the command is still running after 2 minutes")
	}
	select {
	case <-r.read:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal's output did not end")
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func (r *terminalRun) sawInRaw(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Contains(r.raw.String(), s)
}

// slowServer answers slowly enough (latency per request, a bandwidth cap per connection) that an
// upload takes a moment and the progress line is redrawn many times.
func slowServer(t *testing.T) *conformance.Running {
	return refServer(t, conformance.ServerOptions{Latency: 40 * time.Millisecond, Bandwidth: 3 << 20})
}

// TestProgressInAPseudoTerminal runs the CLI in a pseudo-terminal of 80 and of 40 columns while
// an upload runs: the screen never holds more than one line naming the file, no line runs past
// the last column, the line is redrawn in place, and one line saying done is left.
func TestProgressInAPseudoTerminal(t *testing.T) {
	srv := slowServer(t)
	path := tempFile(t, "train.jsonl", sample(6<<20))
	for _, cols := range []int{80, 40} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			r := startInTerminal(t, cols, "train.jsonl", "upload", path, "--purpose", "batch", "--part-size", "1MiB",
				"--concurrency", "2", "--api-key", cliKey, "--base-url", srv.URL)
			if code := r.wait(t); code != exitOK {
				t.Fatalf("exit %d\n%s", code, r.raw.String())
			}
			screen := r.vt.screen()
			if r.worst != 1 || r.vt.wraps != 0 {
				t.Errorf("up to %d lines named the file at once, %d lines wrapped; screen:\n%s", r.worst, r.vt.wraps, strings.Join(screen, "\n"))
			}
			if !uploadIDThenDone(screen, r.vt.lines(), cols-1) {
				t.Errorf("final screen:\n%s\nwant the Upload's id, then the one line saying done", strings.Join(screen, "\n"))
			}
			if redraws := strings.Count(r.raw.String(), "\x1b[1A"); redraws < 3 {
				t.Errorf("%d redraws in place; the upload was too quick to show progress", redraws)
			}
			if !strings.Contains(r.raw.String(), "%") || !strings.Contains(r.raw.String(), "[") {
				t.Errorf("no sending line with a bar and a percentage was drawn")
			}
			var up generated.Upload
			if err := json.Unmarshal(r.stdout.Bytes(), &up); err != nil || up.Status != generated.UploadStatusCompleted {
				t.Errorf("stdout %q is not the completed Upload", r.stdout.String())
			}
		})
	}
}

// TestProgressAfterTheTerminalNarrows: the terminal goes from 80 to 40 columns mid-upload and
// reflows the line drawn at 80; the next redraws leave no stale line behind.
func TestProgressAfterTheTerminalNarrows(t *testing.T) {
	srv := slowServer(t)
	path := tempFile(t, "train.jsonl", sample(6<<20))
	r := startInTerminal(t, 80, "train.jsonl", "upload", path, "--purpose", "batch", "--part-size", "1MiB",
		"--concurrency", "2", "--api-key", cliKey, "--base-url", srv.URL)
	resized, wrapsBefore := false, 0
	r.mu.Lock()
	r.onChunk = func(r *terminalRun) {
		// Once a wide sending line is on screen, narrow the terminal under it, as a person does.
		if !resized && strings.Contains(r.raw.String(), "sending") {
			if err := pty.Setsize(r.ptmx, &pty.Winsize{Cols: 40, Rows: 24}); err != nil {
				t.Error(err)
			}
			r.vt.resize(40)
			resized, wrapsBefore = true, r.vt.wraps
		}
	}
	r.mu.Unlock()
	if code := r.wait(t); code != exitOK {
		t.Fatalf("exit %d\n%s", code, r.raw.String())
	}
	screen := r.vt.screen()
	if !resized {
		t.Fatalf("no sending line was drawn before the upload ended")
	}
	if r.worst != 1 {
		t.Errorf("up to %d lines named the file at once; screen:\n%s", r.worst, strings.Join(screen, "\n"))
	}
	// A line laid out for 80 columns may be on its way when the terminal narrows: it wraps once.
	if extra := r.vt.wraps - wrapsBefore; extra > 1 || wrapsBefore != 0 {
		t.Errorf("%d lines wrapped before the resize and %d after", wrapsBefore, extra)
	}
	// Lines drawn at 80 columns are reflowed by the terminal into whole rows of 40.
	if !uploadIDThenDone(screen, r.vt.lines(), 40) {
		t.Errorf("final screen:\n%s\nwant the Upload's id, then the one line saying done, within 40 columns", strings.Join(screen, "\n"))
	}
}

// uploadIDThenDone reports whether a terminal's rows (and lines, rows joined where a line
// wrapped) are the lines naming the Upload, with how to cancel it, then the one line saying
// done, each row at most widest columns.
func uploadIDThenDone(screen, lines []string, widest int) bool {
	n := len(screen)
	text := strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
	if n < 2 || !strings.HasPrefix(text, "openai-uploads: Upload upload_") || !strings.HasPrefix(screen[n-1], "train.jsonl done") {
		return false
	}
	for _, row := range screen {
		if len(row) > widest {
			return false
		}
	}
	return strings.Contains(text, "uploads cancel upload_")
}

// TestCtrlCInATerminal: Ctrl-C typed in the terminal mid-upload: exit 130, the Upload cancelled,
// and the screen ends with one line saying the upload was cancelled and the error, once (the
// terminal's ^C echo erased, nothing garbled).
func TestCtrlCInATerminal(t *testing.T) {
	srv := slowServer(t)
	path := tempFile(t, "train.jsonl", sample(6<<20))
	r := startInTerminal(t, 80, "train.jsonl", "upload", path, "--purpose", "batch", "--part-size", "1MiB",
		"--concurrency", "2", "--api-key", cliKey, "--base-url", srv.URL)
	for !r.sawInRaw("sending") {
		select {
		case <-r.read:
			t.Fatalf("the command ended before sending:\n%s", r.raw.String())
		default:
			sleepBriefly()
		}
	}
	if _, err := r.ptmx.Write([]byte{3}); err != nil { // Ctrl-C: the terminal sends SIGINT
		t.Fatal(err)
	}
	if code := r.wait(t); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, r.raw.String())
	}
	screen := r.vt.lines()
	n := len(screen)
	if n < 3 || !strings.HasPrefix(screen[0], "openai-uploads: Upload upload_") || !strings.HasPrefix(screen[n-2], "train.jsonl cancelled at") ||
		!strings.HasPrefix(screen[n-1], "openai-uploads: interrupted by SIGINT (Ctrl-C): upload upload_") || !strings.Contains(screen[n-1], "was cancelled") {
		t.Errorf("final screen:\n%s\nwant the Upload's id, the cancelled line, then the error", strings.Join(screen, "\n"))
	}
	// Only the error line may be wider than the terminal.
	if errRows := (len(screen[n-1]) + 79) / 80; r.worst != 1 || r.vt.wraps > errRows-1 {
		t.Errorf("up to %d lines named the file, %d wraps (the error takes %d rows)", r.worst, r.vt.wraps, errRows)
	}
	if r.stdout.Len() != 0 {
		t.Errorf("stdout %q after Ctrl-C", r.stdout.String())
	}
	var last generated.Upload
	for _, id := range srv.Uploads() {
		last, _ = srv.Upload(id)
	}
	if last.Status != generated.UploadStatusCancelled {
		t.Errorf("the Upload is %s, want cancelled", last.Status)
	}
}

// TestSignalsExitCodes: SIGINT exits 130 and SIGTERM 143 once the Upload is cancelled, or with
// --checkpoint left pending; stderr (not a terminal) tells the outcome once.
func TestSignalsExitCodes(t *testing.T) {
	srv := slowServer(t)
	path := tempFile(t, "train.jsonl", sample(6<<20))
	for _, tc := range []struct {
		sig    syscall.Signal
		code   int
		extra  []string
		status generated.UploadStatus
		says   string
		final  string // how the one final progress line begins
	}{
		{syscall.SIGINT, 130, nil, generated.UploadStatusCancelled, "interrupted by SIGINT", "train.jsonl: cancelled at"},
		{syscall.SIGTERM, 143, nil, generated.UploadStatusCancelled, "interrupted by SIGTERM", "train.jsonl: cancelled at"},
		{syscall.SIGINT, 130, []string{"--checkpoint", tempFile(t, "cp.json", nil) + ".new"}, generated.UploadStatusPending, "can be resumed", "train.jsonl: interrupted at"},
	} {
		t.Run(fmt.Sprint(tc.sig, tc.extra), func(t *testing.T) {
			// The server is shared by the subtests: count from here, or after the first subtest
			// the parts it stored let the signal go while this run's Upload is still being created.
			before, partsBefore := len(srv.Uploads()), srv.Stats().PartsStored
			cmd := exec.Command(binary, append([]string{"upload", path, "--purpose", "batch", "--part-size", "1MiB",
				"--concurrency", "2", "--api-key", cliKey, "--base-url", srv.URL}, tc.extra...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill() //nolint:errcheck // a no-op once it has exited
			for len(srv.Uploads()) == before || srv.Stats().PartsStored == partsBefore {
				sleepBriefly()
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tc.code {
				t.Fatalf("%v: %v, want exit %d; stderr:\n%s", tc.sig, err, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.says) || strings.Count(stderr.String(), "openai-uploads: interrupted by ") != 1 {
				t.Errorf("stderr:\n%s\nwant one error saying %q", stderr.String(), tc.says)
			}
			if !strings.Contains(stderr.String(), "openai-uploads: Upload upload_") {
				t.Errorf("stderr:\n%s\ndoes not name the Upload", stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if n := len(lines); n < 2 || !strings.Contains(lines[n-2], tc.final) {
				t.Errorf("the line before the error is not the one final line:\n%s", stderr.String())
			}
			var newest generated.Upload
			for _, id := range srv.Uploads() {
				if u, _ := srv.Upload(id); strings.Contains(stderr.String(), id) {
					newest = u
				}
			}
			if newest.Status != tc.status {
				t.Errorf("the Upload is %q, want %q", newest.Status, tc.status)
			}
		})
	}
}

// TestSecondCtrlCExitsAtOnce: a second SIGINT while the Upload is being cancelled (the cancel
// request held by the server) ends the command at once, exit 130, saying the Upload stays pending.
func TestSecondCtrlCExitsAtOnce(t *testing.T) {
	api, err := conformance.NewServer(conformance.ServerOptions{Latency: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	cancelArrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/cancel") {
			once.Do(func() { close(cancelArrived) })
			<-release // held: the first Ctrl-C is waiting for it
		}
		api.ServeHTTP(w, r)
	}))
	defer ts.Close()
	defer close(release)

	path := tempFile(t, "train.jsonl", sample(8<<20))
	cmd := exec.Command(binary, "upload", path, "--purpose", "batch", "--part-size", "256KiB", "--concurrency", "1",
		"--api-key", cliKey, "--base-url", ts.URL+"/v1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // a no-op once it has exited
	for api.Stats().PartsStored == 0 {
		sleepBriefly()
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelArrived:
	case <-time.After(30 * time.Second):
		t.Fatal("no cancel request after the first SIGINT")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("%v, want exit 130; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "SIGINT (Ctrl-C) again: exiting without waiting") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}
