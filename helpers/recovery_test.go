package helpers_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// More of complete's plan (complete.go), beside lostreply_test.go: waiting while the Upload is
// being completed, and recovering the File from a files list that lags behind the completion.

// TestCompleteWaitsWhileBeingCompleted: the API answers twice that the Upload is being
// completed, then completes it. The SDK waits and asks again: the upload succeeds with the File
// the last complete made, and nothing is cancelled or recovered.
func TestCompleteWaitsWhileBeingCompleted(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{}, completeScript("completing", "completing", "pass"))
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
	n := &notes{}
	data := pattern(2 * testPartSize)
	up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, MaxRetries: 2, Notify: n.add})
	if err != nil {
		t.Fatalf("err = %v, want the upload completed once the Upload was no longer being completed", err)
	}
	uploadedOnce(t, c, srv, up, data, n)
	if k := srv.Stats().Operations["completeUpload"]; k != 1 {
		t.Errorf("%d complete requests reached the server, want 1 (the two before were answered by the script)", k)
	}
	if strings.Contains(n.all(), "recovered") {
		t.Errorf("Notify %q says a File was recovered; the last complete answered with it", n.all())
	}
}

// lagFilesList answers the first n requests for the files list with an empty list, as a list
// that lags behind a completion does.
func lagFilesList(n int32) func(http.Handler) http.Handler {
	var seen atomic.Int32
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/files") || seen.Add(1) > n {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(generated.ListFilesResponse{Object: generated.ListFilesResponseObjectList, Data: []generated.OpenAIFile{}})
		})
	}
}

// TestRecoveryRereadsALaggingFilesList: complete's reply is lost, and the retry learns that the
// Upload is completed; the files list shows its File only on the third read. The SDK reads the
// list up to three times: the upload succeeds with the File, and nothing is cancelled.
func TestRecoveryRereadsALaggingFilesList(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{}, completeScript("lost"), lagFilesList(2))
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
	n := &notes{}
	data := pattern(2 * testPartSize)
	up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, MaxRetries: 2, Notify: n.add})
	if err != nil {
		t.Fatalf("err = %v, want the File recovered on the third read of the list", err)
	}
	uploadedOnce(t, c, srv, up, data, n)
	if !strings.Contains(n.all(), "recovered File "+up.File.ID) {
		t.Errorf("Notify %q does not say the File was recovered", n.all())
	}
}

// TestRecoveryWhateverTheUploadLifetime: on a server whose Uploads live two hours (not OpenAI's
// one), complete's reply is lost: the File is looked for from the Upload's created_at, and found.
func TestRecoveryWhateverTheUploadLifetime(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{UploadTTL: 2 * time.Hour}, completeScript("lost"))
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
	n := &notes{}
	data := pattern(2 * testPartSize)
	up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, MaxRetries: 2, Notify: n.add})
	if err != nil {
		t.Fatalf("err = %v, want the File recovered", err)
	}
	uploadedOnce(t, c, srv, up, data, n)
	if msg := n.all(); !strings.Contains(msg, "recovered File "+up.File.ID) || strings.Contains(msg, "newest of") {
		t.Errorf("Notify %q does not say the one File was recovered (one File matches: no count)", msg)
	}
}

// TestNoCompleteAtTheExpirySecond: the API's clock (a server clock that stands still) reaches
// the Upload's expires_at as its last part is answered. The Upload has expired: the upload
// fails with ErrUploadExpired before any complete is sent.
func TestNoCompleteAtTheExpirySecond(t *testing.T) {
	clock := &fakeClock{}
	start := nowUnix()
	clock.set(start)
	ticking := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/parts") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r) // the part is stored before the Upload expires ...
			clock.set(start + 1)   // ... and its answer comes at expires_at (created at start, it lives 1 s)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Date", clock.Now().UTC().Format(http.TimeFormat))
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		})
	}
	srv := startServer(t, conformance.ServerOptions{Now: clock.Now, UploadTTL: time.Second}, ticking)
	c := newClient(t, srv.URL)
	_, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", pattern(100)), helpers.UploadOptions{Purpose: "batch"})
	if !errors.Is(err, helpers.ErrUploadExpired) {
		t.Fatalf("err = %v, want ErrUploadExpired", err)
	}
	if n := srv.Stats().Operations["completeUpload"]; n != 0 {
		t.Errorf("%d complete requests for an expired Upload, want none", n)
	}
}
