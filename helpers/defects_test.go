package helpers_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// TestPartAnsweredBeforeItsBodyIsRead: half the part requests are answered 503 before the
// server reads their body, as a proxy shedding load does, while the transport is still writing
// it. Under -race this is the race between the attempt and the transport's writer; it must also
// never count a byte twice or reuse a buffer still being read (UploadReader's pool).
func TestPartAnsweredBeforeItsBodyIsRead(t *testing.T) {
	for _, ep := range entryPoints {
		t.Run(ep.name, func(t *testing.T) {
			srv := startServer(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 0.5, Seed: 9, Kinds: []conformance.FaultKind{conformance.Fault503Early}}})
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
			data := pattern(12 * (1 << 20))
			g := &progressGuard{t: t}
			up, err := ep.upload(hangGuard(t), t, c, data, helpers.UploadOptions{
				Purpose: "batch", PartSize: 1 << 20, MaxRetries: 20, Progress: g.update,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkUploaded(t, c, srv, up, data)
			if g.last.BytesSent != int64(len(data)) {
				t.Errorf("BytesSent %d at the end, want %d", g.last.BytesSent, len(data))
			}
			if srv.Stats().Faults[conformance.Fault503Early] == 0 {
				t.Error("no early answer was injected")
			}
		})
	}
}

// answerParts answers the first len(bodies) part requests 200 with the given bodies (after
// reading the part), then lets them through.
func answer2xx(suffix string, bodies ...string) func(http.Handler) http.Handler {
	var i atomic.Int32
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := int(i.Load())
			if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, suffix) || k >= len(bodies) || !i.CompareAndSwap(int32(k), int32(k+1)) {
				next.ServeHTTP(w, r)
				return
			}
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, bodies[k])
		})
	}
}

// TestA2xxThatIsNotTheResult: a 200 whose body is not a part (no id, another object, not JSON)
// is an error, retried, never a part id "" sent to complete; likewise for create.
func TestA2xxThatIsNotTheResult(t *testing.T) {
	t.Run("parts", func(t *testing.T) {
		var completeBody atomic.Value
		srv := startServer(t, conformance.ServerOptions{},
			answer2xx("/parts", `{"object":"upload.part"}`, `{}`, `<html>ok</html>`, `{"id":"part_x","object":"upload"}`),
			func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasSuffix(r.URL.Path, "/complete") {
						b, _ := io.ReadAll(r.Body)
						completeBody.Store(string(b))
						r.Body = io.NopCloser(bytes.NewReader(b))
					}
					next.ServeHTTP(w, r)
				})
			})
		c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
		data := pattern(3 * testPartSize)
		g := &progressGuard{t: t}
		up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Concurrency: 1, Progress: g.update})
		if err != nil {
			t.Fatal(err)
		}
		checkUploaded(t, c, srv, up, data)
		if g.last.Retries != 4 {
			t.Errorf("%d retries, want the 4 answers that are not parts retried", g.last.Retries)
		}
		if body, _ := completeBody.Load().(string); strings.Contains(body, `""`) || strings.Contains(body, `"part_x"`) {
			t.Errorf("complete was sent %s", body)
		}
	})
	t.Run("create", func(t *testing.T) {
		srv := startServer(t, conformance.ServerOptions{}, answer2xx("/uploads", `{"object":"upload","id":""}`))
		c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
		data := pattern(100)
		up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), helpers.UploadOptions{Purpose: "batch"})
		if err != nil {
			t.Fatal(err)
		}
		checkUploaded(t, c, srv, up, data)
	})
	t.Run("a part answered 2xx before it was sent", func(t *testing.T) {
		var answered atomic.Bool
		srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasSuffix(r.URL.Path, "/parts") || !answered.CompareAndSwap(false, true) {
					next.ServeHTTP(w, r)
					return
				}
				_, _ = io.CopyN(io.Discard, r.Body, 1<<10) // 1 KiB of 16 MiB, then a 2xx
				w.Header().Set("Connection", "close")
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"id":"part_early","object":"upload.part","created_at":1,"upload_id":"x"}`)
			})
		})
		c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
		data := pattern(16 << 20)
		g := &progressGuard{t: t}
		up, err := c.UploadReaderAt(hangGuard(t), bytes.NewReader(data), int64(len(data)), helpers.UploadOptions{Purpose: "batch", Filename: "train.jsonl", PartSize: int64(len(data)), Progress: g.update})
		if err != nil {
			t.Fatal(err)
		}
		checkUploaded(t, c, srv, up, data)
		if g.last.Retries != 1 || g.last.BytesSent != int64(len(data)) {
			t.Errorf("progress %+v, want one retry and every byte counted once", g.last)
		}
	})
	t.Run("the public method", func(t *testing.T) {
		api := newScripted(t, answer{status: 200, body: `{"object":"upload.part","id":""}`})
		_, err := rawClient(t, api.URL).AddUploadPart(context.Background(), "upload_1", strings.NewReader("abc"), 3)
		if err == nil || !strings.Contains(err.Error(), "not the operation's result") {
			t.Errorf("err = %v, want the 2xx refused as not a part", err)
		}
	})
}

// TestUploadReaderStopsReadingWhenCancelled: the reader gave all its bytes but its writer keeps
// it open, so the check that it ends blocks; a cancel ends the call at once and no goroutine is
// left reading. A pipe with SetReadDeadline is interrupted (and its deadline cleared again); an
// io.Pipe, which has none, is left to the goroutine, which ends when the pipe does.
func TestUploadReaderStopsReadingWhenCancelled(t *testing.T) {
	data := pattern(3 * testPartSize)
	// run uploads from r in a subtest of its own, so that the server and the client's
	// connections are gone when it returns, and returns the error and how long the call took
	// after the cancel.
	run := func(t *testing.T, r io.Reader) (d time.Duration, err error) {
		t.Run("upload", func(t *testing.T) {
			srv := startServer(t, conformance.ServerOptions{})
			c := newClient(t, srv.URL)
			ctx, cancel := context.WithCancel(hangGuard(t))
			defer cancel()
			var cancelled time.Time
			_, err = c.UploadReader(ctx, r, int64(len(data)), helpers.UploadOptions{
				Purpose: "batch", Filename: "a.jsonl", PartSize: testPartSize,
				Progress: func(p helpers.Progress) {
					if p.PartsDone == p.TotalParts && cancelled.IsZero() {
						cancelled = time.Now()
						cancel() // every part is sent: the call waits for the reader to end
					}
				},
			})
			d = time.Since(cancelled)
		})
		return d, err
	}
	t.Run("os.Pipe", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		go func() { _, _ = pw.Write(data) }()
		before := goleak.IgnoreCurrent()
		d, err := run(t, pr)
		if !errors.Is(err, context.Canceled) || d > cancelBound {
			t.Fatalf("err = %v after %v, want context.Canceled within %v", err, d, cancelBound)
		}
		goleak.VerifyNone(t, before) // nothing is left reading the pipe
		// The deadline set to interrupt the Read is cleared: the pipe reads normally.
		if _, err := pw.Write([]byte("z")); err != nil {
			t.Fatal(err)
		}
		// Bounded: a goroutine of the upload left reading the pipe would take the byte, and
		// this Read would wait for ever.
		type read struct {
			b   byte
			err error
		}
		r := returnsWithin(t, callBound, "a Read of the pipe after the upload", func() read {
			var one [1]byte
			_, err := pr.Read(one[:])
			return read{one[0], err}
		})
		if r.err != nil || r.b != 'z' {
			t.Errorf("reading the pipe after the upload: %q %v", r.b, r.err)
		}
	})
	t.Run("io.Pipe", func(t *testing.T) {
		pr, pw := io.Pipe()
		before := goleak.IgnoreCurrent()
		go func() { _, _ = pw.Write(data) }()
		d, err := run(t, pr)
		if !errors.Is(err, context.Canceled) || d > cancelBound {
			t.Fatalf("err = %v after %v, want context.Canceled within %v", err, d, cancelBound)
		}
		_ = pw.Close() // the abandoned Read returns, and its goroutine ends
		goleak.VerifyNone(t, before)
	})
	t.Run("the reader ends", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		go func() { _, _ = pw.Write(data); _ = pw.Close() }()
		srv := startServer(t, conformance.ServerOptions{})
		c := newClient(t, srv.URL)
		up, err := c.UploadReader(hangGuard(t), pr, int64(len(data)), helpers.UploadOptions{Purpose: "batch", Filename: "train.jsonl", PartSize: testPartSize})
		if err != nil {
			t.Fatal(err)
		}
		checkUploaded(t, c, srv, up, data)
	})
}

// TestUploadReaderCancelledMidPart: the reader stops in the middle of a part; a cancel ends the
// call at once, and the Upload is cancelled.
func TestUploadReaderCancelledMidPart(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	go func() { _, _ = pw.Write(pattern(testPartSize + 10)) }() // then nothing
	ctx, cancel := context.WithCancel(hangGuard(t))
	var cancelled time.Time
	_, err = c.UploadReader(ctx, pr, 3*testPartSize, helpers.UploadOptions{
		Purpose: "batch", Filename: "a.jsonl", PartSize: testPartSize, Concurrency: 1,
		Progress: func(p helpers.Progress) {
			if p.PartsDone == 1 && cancelled.IsZero() {
				cancelled = time.Now()
				cancel()
			}
		},
	})
	var upErr *helpers.UploadError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &upErr) || !upErr.Cancelled {
		t.Fatalf("err = %v, want context.Canceled and the Upload cancelled", err)
	}
	if d := time.Since(cancelled); d > cancelBound {
		t.Errorf("returned %v after the cancel", d)
	}
	if u, _ := srv.Upload(upErr.UploadID); u.Status != generated.UploadStatusCancelled {
		t.Errorf("the Upload is %q", u.Status)
	}
}
