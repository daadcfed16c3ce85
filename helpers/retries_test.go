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

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// How the upload's own requests are retried, seen from the server: how many requests arrive,
// what they carry, and what Progress says meanwhile. The decisions themselves are tested as
// functions in retrypolicy_internal_test.go.

// opCounter counts the requests of each operation that reach it, refused or not, and can answer
// some of them itself (before the reference server sees them).
type opCounter struct {
	mu     sync.Mutex
	counts map[string]int
	// refuse, when set, is asked for each request (its operation and its number among that
	// operation's requests, from 1): a non-zero status is answered with that status and an
	// error body, after the request's body was read whole; header is added to the answer.
	refuse func(op string, n int) (status int, header http.Header)
	// check, when set, sees each request with its body.
	check func(op string, r *http.Request, body []byte)
}

func opOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/uploads"):
		return "createUpload"
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/parts"):
		return "addUploadPart"
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/complete"):
		return "completeUpload"
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/cancel"):
		return "cancelUpload"
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/files"):
		return "createFile"
	case r.Method == http.MethodGet && strings.HasSuffix(p, "/files"):
		return "listFiles"
	}
	return r.Method + " " + p
}

func (c *opCounter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := opOf(r)
		c.mu.Lock()
		if c.counts == nil {
			c.counts = map[string]int{}
		}
		c.counts[op]++
		n := c.counts[op]
		c.mu.Unlock()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		if c.check != nil {
			c.check(op, r, body)
		}
		if c.refuse != nil {
			if status, h := c.refuse(op, n); status != 0 {
				for k, v := range h {
					w.Header()[k] = v
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = fmt.Fprintf(w, `{"error":{"message":"refused by the test (%s #%d)","type":"server_error","param":null,"code":null}}`, op, n)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func (c *opCounter) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[op]
}

// TestRetriedPartIsSentWhole: every part's first attempt is answered 500 after its body was
// read. Each part is sent again, re-read from the source: the File is byte-exact; every part
// request declares its length (never chunked); Retries counts one per part; and BytesSent,
// rewound after each failed attempt, never exceeds TotalBytes and ends equal to it.
func TestRetriedPartIsSentWhole(t *testing.T) {
	for _, ep := range entryPoints {
		t.Run(ep.name, func(t *testing.T) {
			data := pattern(5*testPartSize + 11)
			const parts = 6
			var chunked atomic.Int32
			oc := &opCounter{
				refuse: func(op string, n int) (int, http.Header) {
					if op == "addUploadPart" && n%2 == 1 { // one part in flight: each part's first attempt
						return 500, nil
					}
					return 0, nil
				},
				check: func(op string, r *http.Request, body []byte) {
					if op == "addUploadPart" && (r.ContentLength != int64(len(body)) || len(r.TransferEncoding) > 0) {
						chunked.Add(1)
					}
				},
			}
			srv := startServer(t, conformance.ServerOptions{}, oc.wrap)
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = 1 })
			var reports []helpers.Progress
			up, err := ep.upload(context.Background(), t, c, data, helpers.UploadOptions{
				Purpose: "batch", PartSize: testPartSize, Concurrency: 1,
				Progress: func(p helpers.Progress) { reports = append(reports, p) },
			})
			if err != nil {
				t.Fatal(err)
			}
			checkUploaded(t, c, srv, up, data)
			if n := oc.count("addUploadPart"); n != 2*parts {
				t.Errorf("%d part requests, want %d: each of the %d parts twice", n, 2*parts, parts)
			}
			if n := chunked.Load(); n != 0 {
				t.Errorf("%d part requests without their exact Content-Length (sent chunked)", n)
			}
			for _, p := range reports {
				if p.BytesSent > p.TotalBytes {
					t.Fatalf("BytesSent %d above TotalBytes %d (%+v): a failed attempt's bytes were not taken back", p.BytesSent, p.TotalBytes, p)
				}
			}
			last := reports[len(reports)-1]
			if last.BytesSent != int64(len(data)) || last.Retries != parts || last.PartsDone != parts {
				t.Errorf("last progress %+v, want %d bytes, %d parts done and %d retries", last, len(data), parts, parts)
			}
		})
	}
}

// TestUploadMaxRetries: each of the upload's requests (create, a part, complete) answered 500
// every time is sent 1+MaxRetries times: 0 means DefaultPartRetries, a negative value no retry
// at all. The upload then fails.
func TestUploadMaxRetries(t *testing.T) {
	for _, op := range []string{"createUpload", "addUploadPart", "completeUpload"} {
		for _, tc := range []struct{ maxRetries, want int }{{-1, 1}, {0, 1 + helpers.DefaultPartRetries}, {2, 3}} {
			t.Run(fmt.Sprintf("%s/MaxRetries %d", op, tc.maxRetries), func(t *testing.T) {
				oc := &opCounter{refuse: func(o string, _ int) (int, http.Header) {
					if o == op {
						return 500, nil
					}
					return 0, nil
				}}
				srv := startServer(t, conformance.ServerOptions{}, oc.wrap)
				c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = 1 })
				_, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", pattern(100)), helpers.UploadOptions{
					Purpose: "batch", MaxRetries: tc.maxRetries,
				})
				var apiErr *helpers.APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.Operation != op {
					t.Fatalf("err = %v, want the 500 of %s", err, op)
				}
				if n := oc.count(op); n != tc.want {
					t.Errorf("%s sent %d times, want %d", op, n, tc.want)
				}
			})
		}
	}
}

// TestPartRefusedFor4xxIsNotRetried: a part answered 400 is not sent again, whatever MaxRetries
// (the 400 comes from a middleware, so its requests are counted there, not at the server).
func TestPartRefusedFor4xxIsNotRetried(t *testing.T) {
	for _, status := range []int{400, 404, 413, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			oc := &opCounter{refuse: func(op string, _ int) (int, http.Header) {
				if op == "addUploadPart" {
					return status, nil
				}
				return 0, nil
			}}
			srv := startServer(t, conformance.ServerOptions{}, oc.wrap)
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = 1 })
			_, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", pattern(100)), helpers.UploadOptions{
				Purpose: "batch", MaxRetries: 3,
			})
			var apiErr *helpers.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != status || !strings.Contains(err.Error(), "part 0 (bytes 0-99), attempt 1:") {
				t.Fatalf("err = %v, want the part's %d, naming the part, its bytes and the attempt", err, status)
			}
			if n := oc.count("addUploadPart"); n != 1 {
				t.Errorf("the refused part was sent %d times, want once", n)
			}
		})
	}
}

// TestUploadSendsTheMIMETypeGiven: an explicit MIMEType goes to createUpload as it is, even when
// the file's extension says otherwise; without one, the extension's type is sent.
func TestUploadSendsTheMIMETypeGiven(t *testing.T) {
	for _, tc := range []struct{ given, want string }{{"text/plain", "text/plain"}, {"", "application/jsonl"}} {
		var got atomic.Value
		oc := &opCounter{check: func(op string, _ *http.Request, body []byte) {
			if op == "createUpload" {
				got.Store(string(body))
			}
		}}
		srv := startServer(t, conformance.ServerOptions{}, oc.wrap)
		c := newClient(t, srv.URL)
		data := pattern(100)
		up, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", data), helpers.UploadOptions{Purpose: "batch", MIMEType: tc.given})
		if err != nil {
			t.Fatal(err)
		}
		checkUploaded(t, c, srv, up, data)
		if body, _ := got.Load().(string); !strings.Contains(body, `"mime_type":"`+tc.want+`"`) {
			t.Errorf("MIMEType %q: createUpload carried %s, want mime_type %s", tc.given, body, tc.want)
		}
	}
}

// TestUploadSendsExpiresAfter: ExpiresAfter reaches createUpload, and the File expires then.
func TestUploadSendsExpiresAfter(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	data := pattern(100)
	up, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", data), helpers.UploadOptions{
		Purpose: "batch", ExpiresAfter: &generated.FileExpirationAfter{Anchor: "created_at", Seconds: helpers.MinExpiresAfterSeconds},
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.File == nil || up.File.ExpiresAt == nil || *up.File.ExpiresAt != up.File.CreatedAt+helpers.MinExpiresAfterSeconds {
		t.Errorf("File %+v, want it to expire an hour after its creation", up.File)
	}
}
