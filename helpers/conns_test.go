package helpers_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// TestDefaultTransportKeepsAFullWindowOfConnections: DefaultTransport keeps enough idle
// connections per host for a full window of MaxConcurrency parts, so the next upload reuses
// every one of them instead of dialling (and, against OpenAI, handshaking TLS) again. The server
// holds each upload's parts until all MaxConcurrency are in flight, so each upload really uses
// that many connections at once.
func TestDefaultTransportKeepsAFullWindowOfConnections(t *testing.T) {
	const n = helpers.MaxConcurrency
	var mu sync.Mutex
	seen := map[string]int{} // client address -> the upload (1 or 2) that first used it
	round, arrived := 1, 0
	release := make(chan struct{})
	srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/parts") {
				mu.Lock()
				if _, ok := seen[r.RemoteAddr]; !ok {
					seen[r.RemoteAddr] = round
				}
				arrived++
				if arrived == n {
					close(release)
				}
				wait := release
				mu.Unlock()
				select { // a guard, so that a broken client fails instead of hanging
				case <-wait:
				case <-time.After(10 * time.Second):
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	t.Cleanup(helpers.DefaultTransport.(*http.Transport).CloseIdleConnections)
	c, err := helpers.NewClient(helpers.ClientOptions{APIKey: testKey, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(n * 1000)
	for r := 1; r <= 2; r++ {
		mu.Lock()
		round, arrived, release = r, 0, make(chan struct{})
		mu.Unlock()
		if _, err := c.UploadReaderAt(hangGuard(t), bytes.NewReader(data), int64(len(data)), helpers.UploadOptions{
			Purpose: "batch", Filename: "a.jsonl", PartSize: 1000, Concurrency: n,
		}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var first, dialled int
	for _, r := range seen {
		if r == 1 {
			first++
		} else {
			dialled++
		}
	}
	if first < n || dialled > 0 {
		t.Errorf("the first upload's parts came over %d connections, the second's dialled %d new ones: want %d, then none", first, dialled, n)
	}
}
