package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// unwritableDir is a directory that exists and in which no file can be created: a directory
// without write permission, or, for root (whom permissions do not stop), /sys.
func unwritableDir(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		dir := filepath.Join(t.TempDir(), "read-only")
		if err := os.Mkdir(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		return dir
	}
	if f, err := os.CreateTemp("/sys", "probe"); err == nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		t.Skip("running as root, and /sys can be written: no directory here that cannot be")
	}
	return "/sys"
}

// holdAt holds the requests of one operation (create, parts or complete), from the from-th on
// (1-based), while armed: it reads the body, passes the request to the server first if
// passFirst (the work is done, the reply never comes), and answers nothing until the client
// goes away. arrived is closed when the first is held.
type holdAt struct {
	op        string
	from      int32
	passFirst bool
	armed     atomic.Bool
	count     atomic.Int32
	arrived   chan struct{}
	once      sync.Once
}

func newHold(op string, from int32, passFirst bool) *holdAt {
	h := &holdAt{op: op, from: from, passFirst: passFirst, arrived: make(chan struct{})}
	h.armed.Store(true)
	return h
}

func operationOf(r *http.Request) string {
	switch p := r.URL.Path; {
	case r.Method != http.MethodPost:
	case strings.HasSuffix(p, "/v1/uploads"):
		return "create"
	case strings.HasSuffix(p, "/parts"):
		return "parts"
	case strings.HasSuffix(p, "/complete"):
		return "complete"
	}
	return ""
}

func (h *holdAt) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.armed.Load() || operationOf(r) != h.op || h.count.Add(1) < h.from {
			next.ServeHTTP(w, r)
			return
		}
		if h.passFirst {
			next.ServeHTTP(httptest.NewRecorder(), r)
		} else {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		h.once.Do(func() { close(h.arrived) })
		<-r.Context().Done()
	})
}

// stagedServer is a reference server behind hold, on loopback.
func stagedServer(t *testing.T, hold *holdAt) (*conformance.Server, string) {
	t.Helper()
	s, err := conformance.NewServer(conformance.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(hold.wrap(s))
	t.Cleanup(func() {
		ts.Close()
		_ = s.Close()
	})
	return s, ts.URL + "/v1"
}

// startCLI starts the built command.
func startCLI(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, &stdout, &stderr
}

// waitHeld waits until hold holds a request of cmd; cmd ending first fails the test.
func waitHeld(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer, hold *holdAt) {
	t.Helper()
	exited := make(chan struct{})
	go func() {
		select {
		case <-hold.arrived:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			close(exited)
		}
	}()
	select {
	case <-hold.arrived:
	case <-exited:
		t.Fatalf("no %s request was held within a minute; stderr:\n%s", hold.op, stderr.String())
	}
}

// recordedParts is how many parts the checkpoint records (0 if there is none).
func recordedParts(t *testing.T, path string) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var cp struct {
		Parts []json.RawMessage `json:"parts"`
	}
	if err := json.Unmarshal(raw, &cp); err != nil {
		t.Fatalf("checkpoint %s: %v", raw, err)
	}
	return len(cp.Parts)
}

// fileContent downloads a File through the command.
func fileContent(t *testing.T, base, id string) []byte {
	t.Helper()
	r := runApp(t, context.Background(), validatingApp(t, ""), "files", "content", "--file-id", id, "--api-key", cliKey, "--base-url", base)
	if r.code != exitOK {
		t.Fatalf("files content: exit %d: %s", r.code, r.stderr)
	}
	return []byte(r.stdout)
}

// TestKilledAtEachStage kills the command with SIGKILL at each stage of a checkpointed upload,
// held there by the server: while the Upload is created (the server created it, the reply never
// came), after a few parts (one stream, and four), at the last part, and during complete (before
// and after the server completed it); and once after a few parts with a byte of a part already
// sent changed, size and modification time kept (md5 on and off).
// (Held requests are answered never; the kill closes their connections.) The same command run again
// ends with exactly one File, byte-exact, having sent only the parts that were missing or
// changed (counted at the server), and leaves no checkpoint or lock file.
func TestKilledAtEachStage(t *testing.T) {
	const partSize, parts = 256 << 10, 9
	for _, tc := range []struct {
		name      string
		hold      *holdAt
		extra     []string
		change    bool // flip a byte of part 1 after the kill, keeping size and time
		wantParts func(recorded int) int
	}{
		{"create", newHold("create", 1, true), nil, false, func(int) int { return parts }},
		{"after 3 parts", newHold("parts", 4, false), nil, false, func(int) int { return parts - 3 }},
		// With 4 streams a 7th request is sent only once 3 parts are done, and recorded.
		{"after 6 part requests, 4 streams", newHold("parts", 7, false), []string{"--concurrency", "4"}, false, func(r int) int {
			if r < 3 {
				return -1
			}
			return parts - r
		}},
		{"at the last part", newHold("parts", parts, false), nil, false, func(int) int { return 1 }},
		{"complete, not done", newHold("complete", 1, false), nil, false, func(int) int { return 0 }},
		{"complete, done", newHold("complete", 1, true), nil, false, func(int) int { return 0 }},
		{"after 3 parts, one changed", newHold("parts", 4, false), nil, true, func(int) int { return parts - 3 + 1 }},
		{"after 3 parts, one changed, --no-md5", newHold("parts", 4, false), []string{"--no-md5"}, true, func(int) int { return parts - 3 + 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := stagedServer(t, tc.hold)
			path := tempFile(t, "train.jsonl", sample(parts*partSize-1000))
			dir := t.TempDir()
			checkpoint := filepath.Join(dir, "cp.json")
			args := append([]string{"upload", path, "--purpose", "batch", "--part-size", "256KiB", "--concurrency", "1",
				"--checkpoint", checkpoint, "--api-key", cliKey, "--base-url", base}, tc.extra...)

			cmd, _, stderr := startCLI(t, args...)
			waitHeld(t, cmd, stderr, tc.hold)
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: nothing runs after it
				t.Fatal(err)
			}
			_ = cmd.Wait()
			tc.hold.armed.Store(false)
			if tc.name != "create" && !strings.Contains(stderr.String(), "openai-uploads: Upload upload_") {
				t.Errorf("the killed run did not name its Upload; stderr:\n%s", stderr.String())
			}
			recorded := recordedParts(t, checkpoint)
			if tc.change {
				flipByteKeepingTime(t, path, partSize+7)
			}
			data, _ := os.ReadFile(path)

			before := srv.Stats().Operations["addUploadPart"]
			rerun, stdout, stderr2 := startCLI(t, args...)
			if err := rerun.Wait(); err != nil {
				t.Fatalf("the rerun: %v; stderr:\n%s", err, stderr2.String())
			}
			var up generated.Upload
			if err := json.Unmarshal(stdout.Bytes(), &up); err != nil || up.File == nil {
				t.Fatalf("stdout %q is not a completed Upload", stdout.String())
			}
			if got := fileContent(t, base, up.File.ID); !bytes.Equal(got, data) {
				t.Errorf("the File (%d bytes) is not the file (%d bytes)", len(got), len(data))
			}
			if n := srv.Stats().Files; n != 1 {
				t.Errorf("%d Files, want 1", n)
			}
			sent := int(srv.Stats().Operations["addUploadPart"] - before)
			if want := tc.wantParts(recorded); sent != want {
				t.Errorf("the rerun sent %d parts (%d recorded), want %d", sent, recorded, want)
			}
			t.Logf("killed at %s: %d parts recorded; the rerun sent %d of %d parts", tc.name, recorded, sent, parts)
			if names := dirNames(dir); len(names) != 0 {
				t.Errorf("left beside the checkpoint: %v", names)
			}
		})
	}
}

// TestKilledWithoutCheckpoint: killed mid-upload with --quiet and no checkpoint, the command had
// already named its Upload on stderr, with the command that cancels it; that command works.
func TestKilledWithoutCheckpoint(t *testing.T) {
	hold := newHold("parts", 3, false)
	srv, base := stagedServer(t, hold)
	path := tempFile(t, "train.jsonl", sample(6<<18))
	cmd, _, stderr := startCLI(t, "upload", path, "--purpose", "batch", "--part-size", "256KiB", "--concurrency", "1", "--quiet",
		"--api-key", cliKey, "--base-url", base)
	waitHeld(t, cmd, stderr, hold)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	hold.armed.Store(false)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "  cancel it: openai-uploads uploads cancel upload_") {
		t.Fatalf("stderr of the killed run:\n%s\nwant the two lines naming the Upload and how to cancel it", stderr.String())
	}
	cancel := strings.Fields(strings.TrimPrefix(lines[1], "  cancel it: openai-uploads "))
	r := runApp(t, context.Background(), validatingApp(t, ""), append(cancel, "--api-key", cliKey, "--base-url", base)...)
	id := cancel[len(cancel)-1]
	if u, _ := srv.Upload(id); r.code != exitOK || u.Status != generated.UploadStatusCancelled {
		t.Errorf("%v: exit %d, the Upload is %q; stderr %s", cancel, r.code, u.Status, r.stderr)
	}
}

// TestCheckpointInUseByAnotherProcess: while one process uploads with a checkpoint (held at a
// part), a second with the same checkpoint exits 1 at once, saying the checkpoint is in use, and
// sends nothing. The first is then killed: its lock goes with it (its lock file stays), and a
// third run resumes and completes.
func TestCheckpointInUseByAnotherProcess(t *testing.T) {
	hold := newHold("parts", 2, false)
	srv, base := stagedServer(t, hold)
	path := tempFile(t, "train.jsonl", sample(4<<18))
	checkpoint := filepath.Join(t.TempDir(), "cp.json")
	args := []string{"upload", path, "--purpose", "batch", "--part-size", "256KiB", "--concurrency", "1",
		"--checkpoint", checkpoint, "--api-key", cliKey, "--base-url", base}
	first, _, stderr := startCLI(t, args...)
	waitHeld(t, first, stderr, hold)

	requests := srv.Stats().Requests
	second, _, stderr2 := startCLI(t, args...)
	err := second.Wait() // while the first is held: it did not wait for it
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitFail {
		t.Fatalf("the second: %v, want exit %d; stderr:\n%s", err, exitFail, stderr2.String())
	}
	msg := stderr2.String()
	if !strings.Contains(msg, "checkpoint "+checkpoint+" is in use") || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
		t.Errorf("stderr of the second:\n%s\nwant one line saying the checkpoint is in use", msg)
	}
	if n := srv.Stats().Requests - requests; n != 0 {
		t.Errorf("the second sent %d requests", n)
	}
	hold.armed.Store(false)
	_ = first.Process.Kill()
	_ = first.Wait()
	if _, err := os.Stat(checkpoint + ".lock"); err != nil {
		t.Errorf("the killed run's lock file: %v", err)
	}
	third, _, stderr3 := startCLI(t, args...)
	if err := third.Wait(); err != nil || !strings.Contains(stderr3.String(), "resuming upload") {
		t.Fatalf("a run after the first was killed: %v\n%s", err, stderr3.String())
	}
	if n := srv.Stats().Files; n != 1 {
		t.Errorf("%d Files, want 1", n)
	}
}

// flipByteKeepingTime changes the byte at off and gives the file back its modification time.
func flipByteKeepingTime(t *testing.T, path string, off int64) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
}

func dirNames(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
