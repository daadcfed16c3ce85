package helpers_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// TestFailedUploadIsCancelledDespiteRefusedCancels: the cancel of a failed Upload is answered
// 500 twice, and the client itself retries nothing (MaxRetries -1): the upload's own loop sends
// the cancel again until it goes through, and the Upload ends cancelled, not left pending.
func TestFailedUploadIsCancelledDespiteRefusedCancels(t *testing.T) {
	var cancels atomic.Int32
	refuse2 := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/cancel") && cancels.Add(1) <= 2 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(500)
				_, _ = io.WriteString(w, `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := startServer(t, conformance.ServerOptions{}, refuse2, refuseParts(0, 400, "refused"))
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.MaxRetries = -1; o.InitialRetryDelay = time.Millisecond })
	_, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", pattern(2*testPartSize)), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize})
	var upErr *helpers.UploadError
	if !errors.As(err, &upErr) || !upErr.Cancelled || upErr.CancelErr != nil {
		t.Fatalf("err = %v, want the Upload cancelled", err)
	}
	if u, _ := srv.Upload(upErr.UploadID); u.Status != generated.UploadStatusCancelled || cancels.Load() != 3 {
		t.Errorf("the Upload is %q after %d cancel requests, want cancelled after 3", u.Status, cancels.Load())
	}
}
