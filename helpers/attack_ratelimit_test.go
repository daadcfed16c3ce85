package helpers_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// TestOne429AfterSlowPartsIsWaitedOut: parts take longer than ClientOptions.Timeout (a slow
// uplink: 64 MiB parts at a few hundred KB/s take over 10 minutes), and the first answer of all
// is a 429. A 429 gives up only when the API has refused for the whole Timeout; here it refused
// once, and the part must go back to the queue. It used to fail the upload at once ("every
// request was answered 429 (rate limited) for 10m0s"), taking the slow parts' time for a rate
// limit's, and cancel the Upload.
func TestOne429AfterSlowPartsIsWaitedOut(t *testing.T) {
	const slow = 400 * time.Millisecond
	var parts atomic.Int32
	srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/parts") {
				next.ServeHTTP(w, r)
				return
			}
			time.Sleep(slow) // a slow part
			if parts.Add(1) == 1 {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("retry-after-ms", "10")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = io.WriteString(w, `{"error":{"message":"Rate limit reached for requests.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.Timeout = slow / 2 })
	data := pattern(3 * testPartSize)
	var last helpers.Progress
	up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), helpers.UploadOptions{
		Purpose: "batch", PartSize: testPartSize, Concurrency: 2, Progress: func(p helpers.Progress) { last = p },
	})
	if err != nil {
		t.Fatalf("one 429 after parts slower than the timeout failed the upload: %v", err)
	}
	checkUploaded(t, c, srv, up, data)
	if last.Throttled != 1 {
		t.Errorf("Progress.Throttled %d, want 1", last.Throttled)
	}
}
