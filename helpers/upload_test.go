package helpers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

const testPartSize = 64 << 10

// entryPoints are the three ways in, each uploading data under the given options. Each call
// is bounded by uploadBound: a regression that leaves the engine blocked where no context
// reaches (a channel) fails the test, naming the call, instead of hanging the package.
var entryPoints = []struct {
	name   string
	upload func(ctx context.Context, t *testing.T, c *helpers.Client, data []byte, opts helpers.UploadOptions) (*generated.Upload, error)
}{
	{"UploadFile", func(ctx context.Context, t *testing.T, c *helpers.Client, data []byte, opts helpers.UploadOptions) (*generated.Upload, error) {
		path := writeFile(t, "train.jsonl", data)
		return uploadWithin(t, uploadBound, "UploadFile", func() (*generated.Upload, error) { return c.UploadFile(ctx, path, opts) })
	}},
	{"UploadReaderAt", func(ctx context.Context, t *testing.T, c *helpers.Client, data []byte, opts helpers.UploadOptions) (*generated.Upload, error) {
		opts.Filename = "train.jsonl"
		return uploadWithin(t, uploadBound, "UploadReaderAt", func() (*generated.Upload, error) {
			return c.UploadReaderAt(ctx, bytes.NewReader(data), int64(len(data)), opts)
		})
	}},
	{"UploadReader", func(ctx context.Context, t *testing.T, c *helpers.Client, data []byte, opts helpers.UploadOptions) (*generated.Upload, error) {
		opts.Filename = "train.jsonl"
		return uploadWithin(t, uploadBound, "UploadReader", func() (*generated.Upload, error) {
			return c.UploadReader(ctx, io.MultiReader(bytes.NewReader(data)), int64(len(data)), opts)
		})
	}},
}

// checkUploaded asserts a completed Upload of data: the server accepted its md5 at complete, and
// the File's content, downloaded back, is byte-exact.
func checkUploaded(t *testing.T, c *helpers.Client, srv *refServer, up *generated.Upload, data []byte) {
	t.Helper()
	if up.Status != generated.UploadStatusCompleted || up.File == nil {
		t.Fatalf("upload %+v is not completed with a File", up)
	}
	if up.File.Bytes != int64(len(data)) || up.File.Filename != "train.jsonl" {
		t.Errorf("File %+v, want %d bytes named train.jsonl", up.File, len(data))
	}
	if got := download(t, c, up.File.ID); !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes, md5 %s; uploaded %d bytes, md5 %s", len(got), md5hex(got), len(data), md5hex(data))
	}
}

// TestUploadByteExact uploads sizes around the part size through each entry point and checks
// the assembly: the server verifies the md5 at complete, and the content is downloaded back.
func TestUploadByteExact(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	for _, ep := range entryPoints {
		for _, size := range []int{1, testPartSize - 1, testPartSize, testPartSize + 1, 37*testPartSize + 123} {
			t.Run(fmt.Sprintf("%s/%d", ep.name, size), func(t *testing.T) {
				data := pattern(size)
				var last helpers.Progress
				calls := 0
				up, err := ep.upload(context.Background(), t, c, data, helpers.UploadOptions{
					Purpose: "fine-tune", PartSize: testPartSize, Concurrency: 4,
					MD5:      md5hex(data),
					Progress: func(p helpers.Progress) { last = p; calls++ },
				})
				if err != nil {
					t.Fatal(err)
				}
				checkUploaded(t, c, srv, up, data)
				wantParts := (size + testPartSize - 1) / testPartSize
				if last.BytesSent != int64(size) || last.TotalBytes != int64(size) || last.PartsDone != wantParts || last.TotalParts != wantParts || last.UploadID != up.ID {
					t.Errorf("last progress %+v, want all %d bytes and %d parts of %s", last, size, wantParts, up.ID)
				}
				if calls < wantParts {
					t.Errorf("progress called %d times for %d parts", calls, wantParts)
				}
			})
		}
	}
}

// TestUploadListsPartsInFileOrder holds the first three parts until the fourth has arrived, so
// parts finish out of order; complete must still list them in file order (the server's md5 and
// the download check it).
func TestUploadListsPartsInFileOrder(t *testing.T) {
	release := make(chan struct{})
	var arrived atomic.Int32
	var mu sync.Mutex
	var finished []string
	srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/parts") {
				next.ServeHTTP(w, r)
				return
			}
			if arrived.Add(1) < 4 {
				<-release
			} else {
				close(release)
			}
			rec := &recorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			mu.Lock()
			finished = append(finished, rec.partID())
			mu.Unlock()
		})
	})
	c := newClient(t, srv.URL)
	data := pattern(4 * testPartSize)
	up, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", data), helpers.UploadOptions{
		Purpose: "batch", PartSize: testPartSize, Concurrency: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkUploaded(t, c, srv, up, data)
	if len(finished) != 4 {
		t.Fatalf("%d parts finished, want 4", len(finished))
	}
}

// recorder keeps a copy of a part response's body to read the part id.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

func (r *recorder) partID() string {
	_, rest, _ := strings.Cut(r.body.String(), `"id":"`)
	id, _, _ := strings.Cut(rest, `"`)
	return id
}

// TestUploadConcurrencyBound: never more than Concurrency part requests in flight.
func TestUploadConcurrencyBound(t *testing.T) {
	for _, conc := range []int{1, 3} {
		var inFlight, peak atomic.Int32
		srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/parts") {
					n := inFlight.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					defer inFlight.Add(-1)
				}
				next.ServeHTTP(w, r)
			})
		})
		c := newClient(t, srv.URL)
		data := pattern(20 * testPartSize)
		if _, err := c.UploadReaderAt(context.Background(), bytes.NewReader(data), int64(len(data)), helpers.UploadOptions{
			Purpose: "batch", Filename: "a.jsonl", PartSize: testPartSize, Concurrency: conc,
		}); err != nil {
			t.Fatal(err)
		}
		if p := peak.Load(); p > int32(conc) || p < 1 {
			t.Errorf("concurrency %d: peak of %d part requests in flight", conc, p)
		}
	}
}

// TestUploadRecoversFromEveryFault: with each kind of fault injected into 40% of part
// requests, every upload completes byte-exact. Stalled parts are cut by a short StallTimeout;
// slow ones go through.
func TestUploadRecoversFromEveryFault(t *testing.T) {
	for _, kind := range conformance.AllFaultKinds {
		t.Run(string(kind), func(t *testing.T) {
			srv := startServer(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 0.4, Kinds: []conformance.FaultKind{kind}, Seed: 3, SlowRate: 4 << 20, RetryAfter: 10 * time.Millisecond}})
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = 1 }) // no backoff wait
			// A slow part, which keeps moving, must never be cut; every stall costs the timeout.
			// Slow parts here last ~16 ms, so the generous timeout only leaves room for a loaded
			// machine (-race beside other jobs); TestSlowPartIsNotCut covers parts that
			// last longer than the timeout.
			stall := 2 * time.Second
			if kind == conformance.FaultStall {
				stall = 100 * time.Millisecond
			}
			for _, ep := range entryPoints {
				data := pattern(24*testPartSize + 5)
				var retries int
				// 40% of attempts fail, whichever part they carry, in an order the scheduling
				// decides: 12 retries per part left 75 parts a 0.4^13 chance each of failing
				// for good (about 5e-4 a fault kind); 24 leave none worth counting.
				up, err := ep.upload(context.Background(), t, c, data, helpers.UploadOptions{
					Purpose: "batch", PartSize: testPartSize, MaxRetries: 24, StallTimeout: stall,
					// A 429 is put back in the queue (Throttled), not retried (Retries).
					Progress: func(p helpers.Progress) { retries = p.Retries + p.Throttled },
				})
				if err != nil {
					t.Fatalf("%s: %v", ep.name, err)
				}
				checkUploaded(t, c, srv, up, data)
				slow := kind == conformance.FaultSlowRequest || kind == conformance.FaultSlowResponse
				if retries == 0 && !slow {
					t.Errorf("%s: no retries reported, with 40%% of parts failing", ep.name)
				}
				if retries != 0 && slow {
					t.Errorf("%s: %d retries: a slow part that keeps moving was cut", ep.name, retries)
				}
			}
			if srv.Stats().Faults[kind] == 0 {
				t.Errorf("no %s fault was injected", kind)
			}
		})
	}
}

// failPartsAfter answers the part requests after the first n with a permanent 400. It counts
// every part request it sees in *seen (if not nil), those it refuses included: the refused ones
// never reach the server, so the server's stats do not count them.
func failPartsAfter(n int32, seen *atomic.Int32) func(http.Handler) http.Handler {
	if seen == nil {
		seen = new(atomic.Int32)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/parts") && seen.Add(1) > n {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("x-request-id", "req_permanent")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":{"message":"This part is refused.","type":"invalid_request_error","param":"data","code":"refused"}}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestUploadPermanentFailureCancels: a 400 on a part is not retried; the Upload is cancelled and
// the error says so and wraps the API's error.
func TestUploadPermanentFailureCancels(t *testing.T) {
	var parts atomic.Int32
	srv := startServer(t, conformance.ServerOptions{}, failPartsAfter(3, &parts))
	c := newClient(t, srv.URL)
	var notes []string
	_, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", pattern(10*testPartSize)), helpers.UploadOptions{
		Purpose: "batch", PartSize: testPartSize, Concurrency: 2,
		Notify: func(m string) { notes = append(notes, m) },
	})
	var upErr *helpers.UploadError
	if !errors.As(err, &upErr) || !upErr.Cancelled || upErr.Resumable {
		t.Fatalf("err = %v, want an UploadError saying the Upload was cancelled", err)
	}
	var apiErr *helpers.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "refused" || apiErr.RequestID != "req_permanent" || apiErr.Operation != "addUploadPart" {
		t.Fatalf("err = %v, want the part's 400 as an *APIError", err)
	}
	if !strings.Contains(err.Error(), upErr.UploadID) || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("%q does not name the upload and say it was cancelled", err)
	}
	if u, ok := srv.Upload(upErr.UploadID); !ok || u.Status != generated.UploadStatusCancelled {
		t.Errorf("the Upload is %q on the server, want cancelled", u.Status)
	}
	// 3 parts accepted, then the first 400 ends the upload; the other part in flight (2 at a
	// time) may be refused too. A 400 retried, or parts going on after it, would make more.
	if n := parts.Load(); n < 4 || n > 3+2 {
		t.Errorf("%d part requests, want 4 or 5: the 400 was retried or the other parts went on", n)
	}
	if len(notes) == 0 || !strings.Contains(notes[len(notes)-1], "cancelled") {
		t.Errorf("notes %q do not say the upload was cancelled", notes)
	}
}

// TestUploadContextCancel: cancelling mid-upload stops the parts, cancels the Upload, returns an
// error wrapping context.Canceled, and leaves no goroutine behind.
func TestUploadContextCancel(t *testing.T) {
	for _, ep := range entryPoints {
		t.Run(ep.name, func(t *testing.T) {
			srv := startServer(t, conformance.ServerOptions{})
			tr := http.DefaultTransport.(*http.Transport).Clone()
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.HTTPClient = &http.Client{Transport: tr} })
			before := goleak.IgnoreCurrent() // the server's goroutines, and the test's
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := ep.upload(ctx, t, c, pattern(40*testPartSize), helpers.UploadOptions{
				Purpose: "batch", PartSize: testPartSize,
				Progress: func(p helpers.Progress) {
					if p.PartsDone >= 3 {
						cancel()
					}
				},
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			var upErr *helpers.UploadError
			if !errors.As(err, &upErr) || !upErr.Cancelled {
				t.Fatalf("err = %v, want the Upload cancelled", err)
			}
			if u, _ := srv.Upload(upErr.UploadID); u.Status != generated.UploadStatusCancelled {
				t.Errorf("the Upload is %q, want cancelled", u.Status)
			}
			if n := srv.Stats().Operations["addUploadPart"]; n >= 40 {
				t.Errorf("%d part requests: the parts went on after the cancel", n)
			}
			// Idle keep-alive connections are the transport's, not the upload's: closed, every
			// goroutine the upload started must be gone (goleak retries while they wind down).
			tr.CloseIdleConnections()
			goleak.VerifyNone(t, before)
		})
	}
}

// TestUploadProgressPanicFailsTheUpload: a panic in the callback becomes the upload's error; the
// Upload is cancelled and nothing crashes.
func TestUploadProgressPanicFailsTheUpload(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	_, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", pattern(8*testPartSize)), helpers.UploadOptions{
		Purpose: "batch", PartSize: testPartSize,
		Progress: func(p helpers.Progress) {
			if p.PartsDone == 2 {
				panic("boom")
			}
		},
	})
	var upErr *helpers.UploadError
	if !errors.As(err, &upErr) || !upErr.Cancelled || !strings.Contains(err.Error(), "Progress callback panicked: boom") {
		t.Fatalf("err = %v, want the panic as the cause of a cancelled upload", err)
	}
}

// TestUploadExpectedMD5Mismatch: a caller-supplied md5 that differs fails before complete.
func TestUploadExpectedMD5Mismatch(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	data := pattern(3 * testPartSize)
	wrong := md5hex([]byte("something else"))
	_, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", data), helpers.UploadOptions{
		Purpose: "batch", PartSize: testPartSize, MD5: wrong,
	})
	if err == nil || !strings.Contains(err.Error(), "md5 mismatch") || !strings.Contains(err.Error(), md5hex(data)) {
		t.Fatalf("err = %v, want an md5 mismatch naming both sums", err)
	}
	if n := srv.Stats().Operations["completeUpload"]; n != 0 {
		t.Errorf("complete was called %d times", n)
	}
}

// TestUploadSkipMD5 sends no md5.
func TestUploadSkipMD5(t *testing.T) {
	var sawMD5 atomic.Bool
	srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/complete") {
				body, _ := io.ReadAll(r.Body)
				sawMD5.Store(strings.Contains(string(body), "md5"))
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			next.ServeHTTP(w, r)
		})
	})
	c := newClient(t, srv.URL)
	data := pattern(2*testPartSize + 1)
	up, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", data), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, SkipMD5: true})
	if err != nil {
		t.Fatal(err)
	}
	checkUploaded(t, c, srv, up, data)
	if sawMD5.Load() {
		t.Error("complete carried an md5 with SkipMD5 set")
	}
}

// TestUploadSourceShorterThanSize: a reader that ends early fails the upload (cancelled) with
// ErrSourceChanged instead of sending a short file.
func TestUploadSourceShorterThanSize(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	data := pattern(5 * testPartSize)
	for name, call := range map[string]func() error{
		"reader ends early": func() error {
			_, err := c.UploadReader(context.Background(), bytes.NewReader(data[:len(data)-10]), int64(len(data)), helpers.UploadOptions{Purpose: "batch", Filename: "a.jsonl", PartSize: testPartSize})
			return err
		},
		"reader goes on": func() error {
			_, err := c.UploadReader(context.Background(), bytes.NewReader(data), int64(len(data)-10), helpers.UploadOptions{Purpose: "batch", Filename: "a.jsonl", PartSize: testPartSize})
			return err
		},
		"reader-at ends early": func() error {
			// No Size method: the shortfall shows only while reading.
			_, err := c.UploadReaderAt(context.Background(), onlyReaderAt{bytes.NewReader(data[:len(data)-10])}, int64(len(data)), helpers.UploadOptions{Purpose: "batch", Filename: "a.jsonl", PartSize: testPartSize})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := call()
			var upErr *helpers.UploadError
			if !errors.Is(err, helpers.ErrSourceChanged) || !errors.As(err, &upErr) || !upErr.Cancelled {
				t.Fatalf("err = %v, want ErrSourceChanged and a cancelled Upload", err)
			}
		})
	}
}

// TestUploadExpiredBeforeComplete: an Upload whose hour passed fails with ErrUploadExpired.
func TestUploadExpiredBeforeComplete(t *testing.T) {
	clk := &fakeClock{}
	clk.set(nowUnix())
	srv := startServer(t, conformance.ServerOptions{Now: clk.Now})
	c := newClient(t, srv.URL)
	_, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", pattern(4*testPartSize)), helpers.UploadOptions{
		Purpose: "batch", PartSize: testPartSize, Concurrency: 1,
		Progress: func(p helpers.Progress) {
			if p.PartsDone == 2 {
				clk.set(nowUnix() + 2*3600) // the server's hour runs out mid-upload
			}
		},
	})
	if !errors.Is(err, helpers.ErrUploadExpired) {
		t.Fatalf("err = %v, want ErrUploadExpired", err)
	}
	if !strings.Contains(err.Error(), "expires_at: on OpenAI, an hour after its creation") {
		t.Errorf("%q does not explain the hour", err)
	}
}

// onlyReaderAt hides every method but ReadAt.
type onlyReaderAt struct{ r io.ReaderAt }

func (o onlyReaderAt) ReadAt(p []byte, off int64) (int, error) { return o.r.ReadAt(p, off) }

// TestUploadProgressPhases: Progress reports the phases in order, creating, sending, completing
// and done for a success; a failed part ends in failed and a cancelled context in cancelled.
func TestUploadProgressPhases(t *testing.T) {
	phasesOf := func(t *testing.T, srv *refServer, ctx context.Context) ([]helpers.Phase, error) {
		c := newClient(t, srv.URL)
		var phases []helpers.Phase
		_, err := c.UploadFile(ctx, writeFile(t, "train.jsonl", pattern(4*testPartSize)), helpers.UploadOptions{
			Purpose: "batch", PartSize: testPartSize, Concurrency: 1,
			Progress: func(p helpers.Progress) {
				if p.Streams != 1 {
					t.Errorf("Streams = %d, want 1", p.Streams)
				}
				if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
					phases = append(phases, p.Phase)
				}
			},
		})
		return phases, err
	}
	t.Run("done", func(t *testing.T) {
		got, err := phasesOf(t, startServer(t, conformance.ServerOptions{}), context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := []helpers.Phase{helpers.PhaseCreating, helpers.PhaseSending, helpers.PhaseCompleting, helpers.PhaseDone}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("phases %v, want %v", got, want)
		}
	})
	t.Run("failed", func(t *testing.T) {
		got, err := phasesOf(t, startServer(t, conformance.ServerOptions{}, failPartsAfter(1, nil)), context.Background())
		if err == nil {
			t.Fatal("the upload succeeded; want the refused part to fail it")
		}
		want := []helpers.Phase{helpers.PhaseCreating, helpers.PhaseSending, helpers.PhaseFailed}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("phases %v, want %v", got, want)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		got, err := phasesOf(t, startServer(t, conformance.ServerOptions{}), ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if len(got) == 0 || got[len(got)-1] != helpers.PhaseCancelled {
			t.Errorf("phases %v, want the last to be cancelled", got)
		}
	})
}
