package helpers_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// createScript answers createUpload requests from a script, in order: "swallow" never passes the
// request on and never answers (the client gives the attempt up), "drop" never passes it on and
// drops the connection, "400" refuses it. Past the script, requests pass.
func createScript(steps ...string) func(http.Handler) http.Handler {
	var i atomic.Int32
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/uploads") {
				next.ServeHTTP(w, r)
				return
			}
			step := "pass"
			if k := int(i.Add(1)) - 1; k < len(steps) {
				step = steps[k]
			}
			_, _ = io.Copy(io.Discard, r.Body)
			switch step {
			case "swallow":
				<-r.Context().Done()
			case "drop":
				panic(http.ErrAbortHandler)
			case "400":
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"error":{"message":"Refused.","type":"invalid_request_error","param":null,"code":"refused"}}`)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// TestCreateErrorCountsTheAttemptsWithoutReply: when the Upload could not be created, the error
// says how many attempts got no reply, each of which may have left a pending Upload; when every
// attempt was answered, it says nothing of the kind.
func TestCreateErrorCountsTheAttemptsWithoutReply(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []string
		want  string // "" : the error must not speak of attempts without a reply
	}{
		{"refused at once", []string{"400"}, ""},
		{"one unanswered, then refused", []string{"drop", "400"}, "; 1 attempt got no reply, so up to 1 pending Upload(s) may have been created"},
		{"two unanswered", []string{"swallow", "swallow"}, "; 2 attempts got no reply, so up to 2 pending Upload(s) may have been created"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, conformance.ServerOptions{}, createScript(tc.steps...))
			// An attempt answered at once (400) must not be cut as unanswered on a loaded machine:
			// the Timeout, which each swallowed attempt waits out, is short only where no answer
			// is due (the unanswered attempt before a 400 is dropped: it costs no timeout).
			timeout := 100 * time.Millisecond
			if slices.Contains(tc.steps, "400") {
				timeout = 5 * time.Second
			}
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
				o.Timeout = timeout
				o.InitialRetryDelay = time.Millisecond
			})
			_, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", pattern(100)), helpers.UploadOptions{Purpose: "batch", MaxRetries: 1})
			if err == nil {
				t.Fatal("the upload succeeded without an Upload")
			}
			if tc.want == "" && strings.Contains(err.Error(), "got no reply") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestCancelledWhileCreatingSendsNothingMore: the caller cancels while create is in flight, and
// its answer still comes (within CreateGrace). The upload stops there: the Upload is cancelled,
// no part is sent, and the progress never reports the sending phase.
func TestCancelledWhileCreatingSendsNothingMore(t *testing.T) {
	arrived, cancelled := make(chan struct{}), make(chan struct{})
	srv := startServer(t, conformance.ServerOptions{}, stageGate("/uploads", arrived, cancelled))
	c := newClient(t, srv.URL)
	ctx, cancel := context.WithCancel(hangGuard(t))
	defer cancel()
	var mu sync.Mutex
	var phases []helpers.Phase
	done := make(chan error, 1)
	go func() {
		_, err := c.UploadFile(ctx, writeFile(t, "train.jsonl", pattern(4*testPartSize)), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize,
			Progress: func(p helpers.Progress) { mu.Lock(); phases = append(phases, p.Phase); mu.Unlock() }})
		done <- err
	}()
	<-arrived
	cancel()
	close(cancelled) // the answer comes after the cancel, within CreateGrace
	if err := <-done; err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("err = %v, want the Upload cancelled", err)
	}
	if n := srv.Stats().Operations["addUploadPart"]; n != 0 {
		t.Errorf("%d parts sent after the cancel", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ph := range phases {
		if ph == helpers.PhaseSending {
			t.Errorf("phases %v: the progress reported sending after the cancel", phases)
			break
		}
	}
}
