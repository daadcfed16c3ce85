package conformance_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// TestReportModeRecordsAnInvalidFormAndSendsItWhole: in Report mode a part form that breaks the
// spec (a field the schema does not declare) reaches the server whole, closing delimiter
// included, and its violation is recorded once the body has streamed.
func TestReportModeRecordsAnInvalidFormAndSendsItWhole(t *testing.T) {
	var mu sync.Mutex
	var received []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		received = body
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"part_x","object":"upload.part","created_at":1,"upload_id":"upload_abc"}`)
	}))
	t.Cleanup(srv.Close)

	report := &conformance.Report{}
	c := clientWith(t, srv.URL+"/v1", &conformance.Transport{Base: newBase(t), Report: report})
	ct, body := formBody(func(mw *multipart.Writer) error {
		w, _ := mw.CreateFormFile("data", "blob")
		_, _ = w.Write(pattern(10 << 10))
		return mw.WriteField("index", "1")
	})
	boundary := strings.TrimPrefix(ct, "multipart/form-data; boundary=")
	resp, err := c.AddUploadPartWithBodyWithResponse(context.Background(), "upload_abc", ct, body)
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("report mode failed the round trip: %v", err)
	}
	mu.Lock()
	whole := bytes.Contains(received, []byte("--"+boundary+"--"))
	mu.Unlock()
	if !whole {
		t.Error("the server did not receive the form's closing delimiter")
	}
	viols := report.Violations()
	if len(viols) != 1 || viols[0].Direction != conformance.DirectionRequest || !strings.Contains(viols[0].Error(), "index") {
		t.Fatalf("recorded %v, want one request violation naming the field index", viols)
	}
}
