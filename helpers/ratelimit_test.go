package helpers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// TestRateLimitDoesNotUseUpRetries: against a server that answers 429 beyond 6 part requests in
// flight, uploads with no retries at all (MaxRetries < 0) complete byte-exact, adaptive and with
// a fixed 8: a 429 puts the part back in the queue instead of using up a retry. The server saw
// its limit exceeded (for fixed 8 it must have been) and never served more than 6 parts at once;
// Progress.Throttled counts exactly the 429s the server sent.
func TestRateLimitDoesNotUseUpRetries(t *testing.T) {
	for _, conc := range []int{0, 8} {
		t.Run(map[int]string{0: "adaptive", 8: "fixed 8"}[conc], func(t *testing.T) {
			var wrap []func(http.Handler) http.Handler
			if conc == 8 {
				// The 8 streams' first parts reach the server together, as they leave the client:
				// left to chance, on a loaded machine, no more than 6 were ever in flight at once.
				wrap = append(wrap, holdParts(t, 8))
			}
			srv := startServer(t, conformance.ServerOptions{MaxPartsInFlight: 6, PartsRetryAfter: 5 * time.Millisecond, Latency: 5 * time.Millisecond}, wrap...)
			c := newClient(t, srv.URL)
			data := pattern(48*testPartSize + 7)
			var last helpers.Progress
			up, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", data), helpers.UploadOptions{
				Purpose: "batch", PartSize: testPartSize, Concurrency: conc, MaxRetries: -1,
				Progress: func(p helpers.Progress) { last = p },
			})
			if err != nil {
				t.Fatalf("upload failed against the in-flight limit: %v", err)
			}
			checkUploaded(t, c, srv, up, data)
			st := srv.Stats()
			if st.PeakPartsInFlight > 6 {
				t.Errorf("the server served %d parts at once, above its limit of 6", st.PeakPartsInFlight)
			}
			if conc == 8 && st.RateLimited == 0 {
				t.Errorf("8 fixed streams against a limit of 6 drew no 429: the test proves nothing")
			}
			if int64(last.Throttled) != st.RateLimited || last.Retries != 0 {
				t.Errorf("Progress says %d throttled and %d retries; the server sent %d 429s", last.Throttled, last.Retries, st.RateLimited)
			}
			if got := st.Operations["addUploadPart"] - st.RateLimited; got != 49 {
				t.Errorf("%d parts stored, want 49", got)
			}
		})
	}
}

// holdParts holds the first part requests until n of them are held, then lets them all on at
// once. A bound for a failing test (fewer than n parts ever in flight) ends the hold.
func holdParts(t *testing.T, n int32) func(http.Handler) http.Handler {
	var held atomic.Int32
	all := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(all) }) }
	bound := time.AfterFunc(5*time.Second, release)
	t.Cleanup(func() { bound.Stop() })
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/parts") {
				if held.Add(1) >= n {
					release()
				}
				<-all
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestRateLimitWithoutEnd: a server that answers 429 to every part, forever, fails the upload
// once no request has succeeded for ClientOptions.Timeout (300 ms here), naming the rate limit;
// the Upload is cancelled.
func TestRateLimitWithoutEnd(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Kinds: []conformance.FaultKind{conformance.Fault429}, RetryAfter: 10 * time.Millisecond}})
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.Timeout = 300 * time.Millisecond })
	_, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", pattern(4*testPartSize)), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize})
	var upErr *helpers.UploadError
	var apiErr *helpers.APIError
	if !errors.As(err, &upErr) || !upErr.Cancelled || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests ||
		!strings.Contains(err.Error(), "answered 429") {
		t.Fatalf("error %v, want the Upload cancelled after the 429s went on for the timeout", err)
	}
	if n := srv.Stats().Faults[conformance.Fault429]; n < 4 {
		t.Errorf("%d 429s: the parts were not put back in the queue", n)
	}
	// The error names the part that gave up and its bytes (whichever of the four it was).
	m := regexp.MustCompile(`part (\d) \(bytes (\d+)-(\d+)\): every request was answered 429`).FindStringSubmatch(err.Error())
	if m == nil || m[2] != fmt.Sprint(int(m[1][0]-'0')*testPartSize) || m[3] != fmt.Sprint((int(m[1][0]-'0')+1)*testPartSize-1) {
		t.Errorf("error %v does not name a part and its bytes", err)
	}
}

// TestInsufficientQuotaIsNotRetried: OpenAI's 429 insufficient_quota (out of credit) is not a
// rate limit to wait out: the upload fails at once, each part tried once.
func TestInsufficientQuotaIsNotRetried(t *testing.T) {
	var parts atomic.Int64
	srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/parts") {
				parts.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"error":{"message":"You exceeded your current quota.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	c := newClient(t, srv.URL)
	_, err := c.UploadFile(context.Background(), writeFile(t, "train.jsonl", pattern(2*testPartSize)), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Concurrency: 1})
	var apiErr *helpers.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "insufficient_quota" || apiErr.Temporary() {
		t.Fatalf("error %v, want the insufficient_quota 429, not temporary", err)
	}
	if n := parts.Load(); n != 1 {
		t.Errorf("%d part requests, want 1: insufficient_quota was retried", n)
	}
}

// TestProgressStreams: Progress.Streams is the fixed value when Concurrency is set, and with the
// adaptive default it starts at DefaultConcurrency and stays within 1..MaxConcurrency; a plain
// reader, whose parts are buffered, keeps a fixed DefaultConcurrency.
func TestProgressStreams(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	for _, ep := range entryPoints {
		for _, conc := range []int{0, 3} {
			var first, lo, hi int
			_, err := ep.upload(context.Background(), t, c, pattern(40*testPartSize), helpers.UploadOptions{
				Purpose: "batch", PartSize: testPartSize, Concurrency: conc,
				Progress: func(p helpers.Progress) {
					if first == 0 {
						first, lo = p.Streams, p.Streams
					}
					lo, hi = min(lo, p.Streams), max(hi, p.Streams)
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case conc != 0 && (lo != conc || hi != conc):
				t.Errorf("%s, Concurrency %d: Streams from %d to %d", ep.name, conc, lo, hi)
			case conc == 0 && ep.name == "UploadReader" && (lo != helpers.DefaultConcurrency || hi != helpers.DefaultConcurrency):
				t.Errorf("UploadReader, adaptive: Streams from %d to %d, want a fixed %d", lo, hi, helpers.DefaultConcurrency)
			case conc == 0 && (first != helpers.DefaultConcurrency || lo < 1 || hi > helpers.MaxConcurrency):
				t.Errorf("%s, adaptive: Streams started at %d and ranged %d..%d", ep.name, first, lo, hi)
			}
		}
	}
}
