package conformance_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// TestStallGuardOff: with StallTimeout < 0 the stall and rate guards are off, and a whole
// Upload goes through unharmed: a part's body is read, complete and the download answered, and
// the request log records no transfer as cut.
func TestStallGuardOff(t *testing.T) {
	var mu sync.Mutex
	var logged []conformance.RequestRecord
	srv := start(t, conformance.ServerOptions{StallTimeout: -1, RequestLog: func(r conformance.RequestRecord) {
		mu.Lock()
		logged = append(logged, r)
		mu.Unlock()
	}})
	c := validatingClient(t, srv.URL)
	data := pattern(1 << 20)
	up := createUpload(t, c, int64(len(data)))
	part := addPart(t, c, up.ID, data)
	if part.JSON200 == nil {
		t.Fatalf("part: %d %s", part.StatusCode(), part.Body)
	}
	ctx := context.Background()
	done, err := c.CompleteUploadWithResponse(ctx, up.ID, generated.CompleteUploadRequest{PartIDs: []string{part.JSON200.ID}})
	if err != nil || done.JSON200 == nil || done.JSON200.File == nil {
		t.Fatalf("complete: %v %v", err, done)
	}
	got, err := c.DownloadFileWithResponse(ctx, done.JSON200.File.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.StatusCode() != 200 || !bytes.Equal(got.Body, data) {
		t.Fatalf("download: %d, %d bytes, want the %d bytes sent", got.StatusCode(), len(got.Body), len(data))
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range logged {
		if r.Cut != "" || r.Status != 200 {
			t.Errorf("request log %+v, want every request answered 200 and none cut", r)
		}
	}
}
