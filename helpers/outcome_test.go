package helpers_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// killedDuringComplete uploads path with a checkpoint and is "killed" (its context cancelled)
// while complete is under way, after the server completed the Upload: the reply never comes. The
// Upload is completed and the checkpoint is left, as after a kill at that moment.
func killedDuringComplete(t *testing.T, srv *refServer, c *helpers.Client, path, checkpoint string, hold *completeHold) string {
	t.Helper()
	ctx, cancel := context.WithCancel(hangGuard(t))
	defer cancel()
	go func() {
		<-hold.arrived
		cancel()
	}()
	_, err := c.UploadFile(ctx, path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Checkpoint: checkpoint})
	var upErr *helpers.UploadError
	if !errors.As(err, &upErr) || !upErr.Resumable {
		t.Fatalf("err = %v, want a resumable UploadError", err)
	}
	if u, _ := srv.Upload(upErr.UploadID); u.Status != generated.UploadStatusCompleted {
		t.Fatalf("the Upload is %q, want completed", u.Status)
	}
	return upErr.UploadID
}

// completeHold passes the first complete to the server, drops its answer and holds the
// connection until the client leaves; arrived is closed then. off lets later requests through.
type completeHold struct {
	arrived chan struct{}
	done    chan struct{}
}

func newCompleteHold() *completeHold {
	return &completeHold{arrived: make(chan struct{}), done: make(chan struct{})}
}

func (h *completeHold) off() { close(h.done) }

func (h *completeHold) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-h.done:
		default:
			if strings.HasSuffix(r.URL.Path, "/complete") {
				next.ServeHTTP(discard{http.Header{}}, r)
				close(h.arrived)
				<-r.Context().Done()
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestResumeOutcomes: the checkpointed Upload is found, on resume, unknown to the API (404),
// cancelled, expired, or completed. Each time the call succeeds and says why: an Upload that is
// not pending is replaced by a new one; a completed one gives its File back when the file is
// unchanged, and is replaced when the file changed or its File is gone. No checkpoint or lock
// file is left.
func TestResumeOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name string
		// then changes the server or the file after the first run; it returns the client of the
		// second.
		then       func(t *testing.T, srv *refServer, c *helpers.Client, clock *fakeClock, id, path string) (*refServer, *helpers.Client)
		complete   bool // the first run is killed during complete (else after 2 of 5 parts)
		says       string
		sameUpload bool  // the second run finishes the first Upload
		parts      int64 // part requests of the second run: to the first Upload, then to a new one
		files      int   // Files on the second run's server
	}{
		{name: "unknown", says: "is unknown to the API (404)", parts: 1 + 5, files: 1,
			then: func(t *testing.T, _ *refServer, _ *helpers.Client, _ *fakeClock, _, _ string) (*refServer, *helpers.Client) {
				other := startServer(t, conformance.ServerOptions{}) // it never heard of the Upload
				return other, newClient(t, other.URL)
			}},
		{name: "cancelled", says: "was cancelled", parts: 1 + 5, files: 1,
			then: func(t *testing.T, srv *refServer, c *helpers.Client, _ *fakeClock, id, _ string) (*refServer, *helpers.Client) {
				if _, err := c.CancelUpload(context.Background(), id); err != nil {
					t.Fatal(err)
				}
				return srv, c
			}},
		{name: "expired", says: "has expired", parts: 1 + 5, files: 1,
			then: func(t *testing.T, srv *refServer, c *helpers.Client, clock *fakeClock, _, _ string) (*refServer, *helpers.Client) {
				clock.set(nowUnix() + 2*3600) // past its hour at the server; not yet by the checkpoint's clock
				return srv, c
			}},
		{name: "completed", complete: true, says: "recovered File", sameUpload: true, parts: 0, files: 1,
			then: func(_ *testing.T, srv *refServer, c *helpers.Client, _ *fakeClock, _, _ string) (*refServer, *helpers.Client) {
				return srv, c
			}},
		{name: "completed, then the file changed", complete: true, says: "already completed, but not with the file as it is now", parts: 1 + 5, files: 2,
			then: func(t *testing.T, srv *refServer, c *helpers.Client, _ *fakeClock, _, path string) (*refServer, *helpers.Client) {
				flipByteKeepingTime(t, path, 2*testPartSize+5)
				return srv, c
			}},
		{name: "completed, its File deleted", complete: true, says: "no File of it is in the files list", parts: 5, files: 1,
			then: func(t *testing.T, srv *refServer, c *helpers.Client, _ *fakeClock, _, _ string) (*refServer, *helpers.Client) {
				page, err := c.ListFiles(context.Background(), nil)
				if err != nil || len(page.Data) != 1 {
					t.Fatalf("files: %v", err)
				}
				if _, err := c.DeleteFile(context.Background(), page.Data[0].ID); err != nil {
					t.Fatal(err)
				}
				return srv, c
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{}
			clock.set(nowUnix())
			hold := newCompleteHold()
			srv := startServer(t, conformance.ServerOptions{Now: clock.Now}, hold.wrap)
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
			path := writeFile(t, "train.jsonl", pattern(5*testPartSize-3))
			dir := t.TempDir()
			checkpoint := filepath.Join(dir, "cp.json")
			var id string
			if tc.complete {
				id = killedDuringComplete(t, srv, c, path, checkpoint, hold)
			} else {
				var n []string
				id = crashAfterWith(t, c, path, checkpoint, 2, &n, func(o *helpers.UploadOptions) { o.Purpose = "batch" }).UploadID
			}
			hold.off()
			srv2, c2 := tc.then(t, srv, c, clock, id, path)
			before := srv2.Stats().Operations["addUploadPart"]
			n := &notes{}
			// One part at a time: the first part request alone finds the Upload gone.
			up, err := c2.UploadFile(hangGuard(t), path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Concurrency: 1, Checkpoint: checkpoint, Notify: n.add})
			if err != nil {
				t.Fatalf("%v\nNotify: %s", err, n.all())
			}
			data, _ := os.ReadFile(path)
			checkUploaded(t, c2, srv2, up, data)
			if !strings.Contains(n.all(), tc.says) {
				t.Errorf("Notify %q does not say %q", n.all(), tc.says)
			}
			if (up.ID == id) != tc.sameUpload {
				t.Errorf("the second run ended with Upload %s (the first was %s); want the same: %v", up.ID, id, tc.sameUpload)
			}
			if got := srv2.Stats().Operations["addUploadPart"] - before; got != tc.parts {
				t.Errorf("the second run sent %d parts, want %d", got, tc.parts)
			}
			if got := fileCount(t, c2); got != tc.files {
				t.Errorf("%d Files, want %d", got, tc.files)
			}
			if names := dirNames(t, dir); len(names) != 0 {
				t.Errorf("left in the checkpoint's directory: %v", names)
			}
		})
	}
}

// flipByteKeepingTime changes the byte at off and gives the file back its modification time
// (as cp -p, rsync -t or touch -d would): its size and time say nothing changed.
func flipByteKeepingTime(t *testing.T, path string, off int64) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(path); after.Size() != info.Size() || !after.ModTime().Equal(info.ModTime()) {
		t.Fatal("size or modification time not kept")
	}
}

// refuseParts answers part requests from the (after+1)-th on with status and code.
func refuseParts(after int32, status int, code string) func(http.Handler) http.Handler {
	g := newGate("/parts", after)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/parts") && g.seen.Add(1) > g.from {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = io.WriteString(w, `{"error":{"message":"refused","type":"invalid_request_error","param":null,"code":"`+code+`"}}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// resetParts drops the connection of part requests from the (after+1)-th on, unanswered.
func resetParts(after int32) func(http.Handler) http.Handler {
	g := newGate("/parts", after)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/parts") && g.seen.Add(1) > g.from {
				panic(http.ErrAbortHandler) // the connection is closed without an answer
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestFailureOutcomes: what a failure with a checkpoint does to the Upload and the checkpoint,
// and what the next call then does: a cause that may pass leaves the Upload pending and the
// checkpoint, and the next call sends only the missing parts; any other cancels the Upload (or
// finds it gone) and removes the checkpoint, so the next call starts afresh instead of failing
// the same way.
func TestFailureOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		wrap      func(http.Handler) http.Handler
		resumable bool
		status    generated.UploadStatus
		check     func(*testing.T, *helpers.UploadError)
	}{
		{"503 after retries", refuseParts(2, 503, "overloaded"), true, generated.UploadStatusPending, nil},
		{"429 after retries", refuseParts(2, 429, "rate_limit_exceeded"), true, generated.UploadStatusPending, nil},
		{"401", refuseParts(2, 401, "invalid_api_key"), true, generated.UploadStatusPending, nil},
		{"connection reset after retries", resetParts(2), true, generated.UploadStatusPending, nil},
		{"400", refuseParts(2, 400, "refused"), false, generated.UploadStatusCancelled, func(t *testing.T, e *helpers.UploadError) {
			if !e.Cancelled {
				t.Errorf("not Cancelled: %+v", e)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var on atomic.Bool
			srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
				faulty := tc.wrap(next)
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if on.Load() {
						faulty.ServeHTTP(w, r)
					} else {
						next.ServeHTTP(w, r)
					}
				})
			})
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
				o.InitialRetryDelay = time.Millisecond
				// A 429 uses up no retry: a part fails on 429s once nothing succeeded for Timeout.
				o.Timeout = 500 * time.Millisecond
			})
			data := pattern(6 * testPartSize)
			path := writeFile(t, "train.jsonl", data)
			dir := t.TempDir()
			checkpoint := filepath.Join(dir, "cp.json")
			n := &notes{}
			opts := helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Concurrency: 1, MaxRetries: 1, Checkpoint: checkpoint, Notify: n.add}
			on.Store(true)
			_, err := c.UploadFile(hangGuard(t), path, opts)
			on.Store(false)
			var upErr *helpers.UploadError
			if !errors.As(err, &upErr) || upErr.Resumable != tc.resumable {
				t.Fatalf("err = %v, want an UploadError with Resumable %v", err, tc.resumable)
			}
			if tc.check != nil {
				tc.check(t, upErr)
			}
			if tc.resumable && !strings.Contains(err.Error(), "before it expires at ") {
				t.Errorf("%q does not say by when it can be resumed", err)
			}
			if u, _ := srv.Upload(upErr.UploadID); u.Status != tc.status {
				t.Errorf("the Upload is %q, want %q", u.Status, tc.status)
			}
			_, statErr := os.Stat(checkpoint)
			if kept := statErr == nil; kept != tc.resumable || (tc.resumable && upErr.Checkpoint != checkpoint) {
				t.Errorf("checkpoint kept: %v (UploadError.Checkpoint %q), want %v", kept, upErr.Checkpoint, tc.resumable)
			}
			if names := dirNames(t, dir); len(names) > 1 || (len(names) == 1 && names[0] != "cp.json") {
				t.Errorf("left in the checkpoint's directory: %v", names)
			}
			if msg := n.all(); strings.Contains(msg, "removing checkpoint") {
				t.Errorf("Notify says removing the checkpoint failed: %q", msg)
			}

			before := srv.Stats().Operations["addUploadPart"]
			up, err := c.UploadFile(hangGuard(t), path, opts)
			if err != nil {
				t.Fatalf("the next call: %v", err)
			}
			checkUploaded(t, c, srv, up, data)
			want := int64(6)
			if tc.resumable {
				want = 4 // the two parts sent before the failure are not sent again
			}
			if got := srv.Stats().Operations["addUploadPart"] - before; got != want || (up.ID == upErr.UploadID) != tc.resumable {
				t.Errorf("the next call sent %d parts for Upload %s (the failed one: %s); want %d, and the same Upload: %v", got, up.ID, upErr.UploadID, want, tc.resumable)
			}
		})
	}
}

// TestUploadGoneDuringTheRun: the Upload is cancelled by someone else while its parts are sent.
// The upload fails saying the Upload is no longer pending (Gone), sends no cancel of its own,
// and removes the checkpoint: the next call starts afresh.
func TestUploadGoneDuringTheRun(t *testing.T) {
	g := newGate("/parts", 2)
	srv := startServer(t, conformance.ServerOptions{}, g.wrap)
	defer g.open() // a failed test too: the server's Close waits for the held part's handler
	c := newClient(t, srv.URL)
	path := writeFile(t, "train.jsonl", pattern(5*testPartSize))
	checkpoint := filepath.Join(t.TempDir(), "cp.json")
	var id atomic.Value
	done := make(chan error, 1)
	go func() {
		_, err := c.UploadFile(hangGuard(t), path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Concurrency: 1, Checkpoint: checkpoint,
			Progress: func(p helpers.Progress) { id.Store(p.UploadID) }})
		done <- err
	}()
	<-g.arrived
	if _, err := c.CancelUpload(context.Background(), id.Load().(string)); err != nil {
		t.Fatal(err)
	}
	g.open()
	err := <-done
	var upErr *helpers.UploadError
	if !errors.As(err, &upErr) || !upErr.Gone || upErr.Resumable || upErr.Cancelled || upErr.CancelErr != nil {
		t.Fatalf("err = %v, want an UploadError saying the Upload is gone", err)
	}
	if !strings.Contains(err.Error(), "no longer pending") || !strings.Contains(err.Error(), "start a new upload") {
		t.Errorf("%q does not say the Upload is no longer pending and what to do", err)
	}
	if n := srv.Stats().Operations["cancelUpload"]; n != 1 {
		t.Errorf("%d cancel requests, want only the test's own", n)
	}
	if _, err := os.Stat(checkpoint); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the checkpoint is still there: %v", err)
	}
}

// TestExpectedMD5FailsEarly: with UploadOptions.MD5 wrong, the md5 pass fails the upload as soon
// as it has read the file, without waiting for the parts (held here), and the failure is not
// resumable: the Upload is cancelled and the checkpoint removed.
func TestExpectedMD5FailsEarly(t *testing.T) {
	g := newGate("/parts", 0)
	srv := startServer(t, conformance.ServerOptions{}, g.wrap)
	defer g.open()
	c := newClient(t, srv.URL)
	path := writeFile(t, "train.jsonl", pattern(4*testPartSize))
	checkpoint := filepath.Join(t.TempDir(), "cp.json")
	_, err := c.UploadFile(hangGuard(t), path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Checkpoint: checkpoint,
		MD5: "00000000000000000000000000000000"})
	var upErr *helpers.UploadError
	if !errors.As(err, &upErr) || !upErr.Cancelled || upErr.Resumable || !strings.Contains(err.Error(), "md5 mismatch") {
		t.Fatalf("err = %v, want the md5 mismatch, the Upload cancelled, not resumable", err)
	}
	if n := srv.Stats().PartsStored; n != 0 {
		t.Errorf("%d parts stored: the upload waited for the parts", n)
	}
	if _, err := os.Stat(checkpoint); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the checkpoint is still there: %v", err)
	}
}

// TestDiscardedCheckpointIsRemoved: a checkpoint that cannot be resumed (here the file grew) is
// removed as its Upload is cancelled, before the new Upload is made: when that create fails, the
// next call does not find the dead Upload again.
func TestDiscardedCheckpointIsRemoved(t *testing.T) {
	var refuse atomic.Bool
	srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v1/uploads") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"error":{"message":"no","type":"invalid_request_error","param":null,"code":"refused"}}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	c := newClient(t, srv.URL)
	path := writeFile(t, "train.jsonl", pattern(4*testPartSize))
	checkpoint := filepath.Join(t.TempDir(), "cp.json")
	var n []string
	old := crashAfter(t, c, path, checkpoint, 2, &n)
	appendTo(t, path, []byte("more\n"))
	refuse.Store(true)
	_, err := c.UploadFile(hangGuard(t), path, helpers.UploadOptions{Purpose: "fine-tune", PartSize: testPartSize, Checkpoint: checkpoint})
	var apiErr *helpers.APIError
	if !errors.As(err, &apiErr) || apiErr.Operation != "createUpload" {
		t.Fatalf("err = %v, want the refused create", err)
	}
	if u, _ := srv.Upload(old.UploadID); u.Status != generated.UploadStatusCancelled {
		t.Errorf("the old Upload is %q, want cancelled", u.Status)
	}
	if _, err := os.Stat(checkpoint); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the discarded checkpoint is still there: %v", err)
	}
}
