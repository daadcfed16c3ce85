package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
)

// holdingServer is a reference server that holds the first request whose path ends with hold
// until the client goes away, and says when that request arrived.
func holdingServer(t *testing.T, hold string) (url string, arrived <-chan struct{}) {
	t.Helper()
	srv, err := conformance.NewServer(conformance.ServerOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	var once sync.Once
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, hold) {
			held := false
			once.Do(func() { held = true })
			if held {
				// Read the body first: only then does net/http notice the client leaving.
				_, _ = io.Copy(io.Discard, r.Body)
				close(ch)
				<-r.Context().Done()
				return
			}
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	return ts.URL + "/v1", ch
}

// clientSpeak matches what Go's HTTP client writes in its errors: a quoted method and URL, the
// context's error (speaksGo finds the rest, such as an operation's camelCase name).
var clientSpeak = regexp.MustCompile(`(Post|Get|Delete) "|http://|context canceled`)

// TestInterruptedUploadSaysWhatBecameOfIt: Ctrl-C while the Upload is created, while parts are
// sent and while it is completed exits 130 with one line that says so in the CLI's words (no
// `completeUpload: Post "http://…": …`), and what became of the Upload: cancelled; left pending
// and resumable (with --checkpoint), which the final progress line says too instead of
// "cancelled"; or, when it was being created, that it may stay pending until it expires.
func TestInterruptedUploadSaysWhatBecameOfIt(t *testing.T) {
	path := tempFile(t, "train.jsonl", sample(1<<20))
	for _, tc := range []struct {
		name, hold  string
		checkpoint  bool
		says, final []string
	}{
		{"creating", "/uploads", false, []string{"while the Upload was being created", "stays pending", "until it expires"}, []string{"train.jsonl: interrupted at 0%"}},
		{"sending", "/parts", false, []string{"upload upload_", "was cancelled"}, []string{"train.jsonl: cancelled at"}},
		{"completing", "/complete", false, []string{"upload upload_", "was cancelled"}, []string{"train.jsonl: cancelled at 100%"}},
		{"sending, checkpoint", "/parts", true, []string{"upload upload_", "was left pending", "can be resumed", "same command"}, []string{"train.jsonl: interrupted at", "resumable"}},
		{"completing, checkpoint", "/complete", true, []string{"upload upload_", "was left pending", "can be resumed"}, []string{"train.jsonl: interrupted at 100%", "resumable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, arrived := holdingServer(t, tc.hold)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			go func() {
				select {
				case <-arrived:
					cancel(interrupted{os.Interrupt})
				case <-ctx.Done():
				}
			}()
			args := []string{"upload", path, "--purpose", "batch", "--part-size", "256KiB", "--api-key", cliKey, "--base-url", url}
			if tc.checkpoint {
				args = append(args, "--checkpoint", tempFile(t, "cp.json", nil)+".new")
			}
			var stdout, stderr bytes.Buffer
			a := &app{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
			code := runWatched(t, ctx, a, append([]string{"openai-uploads"}, args...))
			if code != 130 {
				t.Fatalf("exit %d, want 130:\n%s", code, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "openai-uploads: interrupted by SIGINT (Ctrl-C)") || clientSpeak.MatchString(last) || len(speaksGo(last)) > 0 {
				t.Errorf("the last line %q does not say it in the CLI's words", last)
			}
			for _, s := range tc.says {
				if !strings.Contains(last, s) {
					t.Errorf("the last line %q does not say %q", last, s)
				}
			}
			final := lines[len(lines)-2]
			for _, s := range tc.final {
				if !strings.Contains(final, s) {
					t.Errorf("the final progress line %q does not say %q", final, s)
				}
			}
			if tc.checkpoint && strings.Contains(final, "cancelled") {
				t.Errorf("the final progress line %q says cancelled, but the Upload was left pending", final)
			}
		})
	}
}

// TestInterruptedWaitAndDownloadSayWhatTheyWereDoing: Ctrl-C while files wait polls, or while
// files content downloads, ends with one line saying what was under way and what was left, in
// the CLI's words; the file given to --output is left as it was.
func TestInterruptedWaitAndDownloadSayWhatTheyWereDoing(t *testing.T) {
	started := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		if strings.HasSuffix(r.URL.Path, "/content") {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", "1000000")
			_, _ = w.Write(make([]byte, 1000))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"file-slow","object":"file","bytes":1,"created_at":1,"filename":"a.jsonl","purpose":"batch","status":"uploaded","status_details":null}`)
	}))
	t.Cleanup(srv.Close)
	out := tempFile(t, "mine.jsonl", []byte("what I had"))
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"files", "wait", "file-slow"}, "while waiting for file-slow to be processed"},
		{[]string{"files", "content", "file-slow", "--output", out}, "while downloading: --output " + out + " was left as it was"},
		{[]string{"files", "content", "file-slow"}, "while downloading: what reached stdout is not the whole File"},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		go func() {
			<-started
			cancel(interrupted{os.Interrupt})
		}()
		a := &app{pollInterval: 5 * time.Millisecond}
		r := runApp(t, ctx, a, append(tc.args, "--api-key", cliKey, "--base-url", srv.URL+"/v1")...)
		cancel(nil)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		last := lines[len(lines)-1]
		if r.code != 130 || last != "openai-uploads: interrupted by SIGINT (Ctrl-C) "+tc.says {
			t.Errorf("%v: exit %d, last line %q; want 130 and %q", tc.args, r.code, last, tc.says)
		}
		for len(started) > 0 {
			<-started
		}
	}
	if got, _ := os.ReadFile(out); string(got) != "what I had" {
		t.Errorf("--output now holds %q", got)
	}
}

// TestCtrlCWhileTheDemoWritesItsSample: Ctrl-C while the demo writes its sample file stops it
// there (it went on writing the whole file, started the server and created an Upload first), and
// the terminal's ^C echo does not garble the last line.
func TestCtrlCWhileTheDemoWritesItsSample(t *testing.T) {
	tmp := t.TempDir()
	r := startInTerminalEnv(t, 80, "sample", []string{"TMPDIR=" + tmp}, "demo", "--size", "1GiB")
	for !r.sawInRaw("writing a") {
		select {
		case <-r.read:
			t.Fatalf("the demo ended before writing:\n%s", r.raw.String())
		default:
			sleepBriefly()
		}
	}
	if _, err := r.ptmx.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t); code != 130 {
		t.Fatalf("exit %d, want 130\n%q", code, r.raw.String())
	}
	if r.sawInRaw("reference server at") {
		t.Errorf("the demo went on after Ctrl-C:\n%s", r.raw.String())
	}
	screen := r.vt.lines()
	last := screen[len(screen)-1]
	if last != "openai-uploads: interrupted by SIGINT (Ctrl-C) while writing the sample file; nothing was uploaded" {
		t.Errorf("last line %q", last)
	}
	for _, l := range screen {
		if strings.Contains(l, "^C") {
			t.Errorf("the ^C echo is left on the screen: %q", screen)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the demo left %d entries in its temporary directory", len(left))
	}
}
