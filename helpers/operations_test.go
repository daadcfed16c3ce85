package helpers_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openai-uploads/uploads/helpers"
)

// TestClientErrorSaysReplyLostOnlyAfterALostReply: a create refused with every reply received
// did not create anything: its error does not wrap ErrReplyLost (which tells the caller that an
// Upload may exist).
func TestClientErrorSaysReplyLostOnlyAfterALostReply(t *testing.T) {
	api := newScripted(t, answer{status: 400, body: errBody("no", "nope")})
	_, err := rawClient(t, api.URL).CreateUpload(context.Background(), createReq)
	if err == nil || errors.Is(err, helpers.ErrReplyLost) || strings.Contains(err.Error(), "may have been created") {
		t.Errorf("err = %v, want a refusal that does not say the reply was lost", err)
	}
}

// TestClientAPIErrorOfJSONThatIsNotTheEnvelope: a non-2xx whose body is JSON but not OpenAI's
// error envelope (a proxy's or a framework's) keeps the body as the message.
func TestClientAPIErrorOfJSONThatIsNotTheEnvelope(t *testing.T) {
	api := newScripted(t, answer{status: 404, body: `{"detail":"no route /v1/uploads here"}`})
	_, err := rawClient(t, api.URL).CreateUpload(context.Background(), createReq)
	var apiErr *helpers.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !strings.Contains(apiErr.Message, "no route /v1/uploads here") {
		t.Errorf("err = %v, want a 404 whose message is the body", err)
	}
}

// TestAddUploadPartTakesAPartOfTheLimit: a part of exactly MaxPartSize (64 MiB, the API's
// limit) is sent; one byte more is refused before any request.
func TestAddUploadPartTakesAPartOfTheLimit(t *testing.T) {
	var requests atomic.Int32
	var received atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		n, _ := io.Copy(io.Discard, r.Body)
		received.Store(n)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"part_1","object":"upload.part","created_at":1,"upload_id":"upload_1"}`)
	}))
	defer ts.Close()
	c := rawClient(t, ts.URL)
	part, err := c.AddUploadPart(context.Background(), "upload_1", io.NewSectionReader(zeros{}, 0, helpers.MaxPartSize), helpers.MaxPartSize)
	if err != nil || part.ID != "part_1" || received.Load() <= helpers.MaxPartSize {
		t.Errorf("a part of %d bytes: %v (%d bytes received), want it sent whole", helpers.MaxPartSize, err, received.Load())
	}
	_, err = c.AddUploadPart(context.Background(), "upload_1", io.NewSectionReader(zeros{}, 0, helpers.MaxPartSize+1), helpers.MaxPartSize+1)
	if err == nil || !strings.Contains(err.Error(), "above the part limit") || requests.Load() != 1 {
		t.Errorf("a part of %d bytes: %v after %d request(s), want it refused before any request", helpers.MaxPartSize+1, err, requests.Load())
	}
}

// TestAddUploadPartOfKnownSizeIsNotChunked: a part of known size, even 0 bytes, is sent with its
// Content-Length, not chunked (as AddUploadPart's documentation says: chunked only when the size
// is unknown).
func TestAddUploadPartOfKnownSizeIsNotChunked(t *testing.T) {
	for _, size := range []int64{0, 5} {
		api := newScripted(t, answer{status: 200, body: `{"id":"part_1","object":"upload.part","created_at":1,"upload_id":"upload_1"}`})
		if _, err := rawClient(t, api.URL).AddUploadPart(context.Background(), "upload_1", strings.NewReader(strings.Repeat("x", int(size))), size); err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		r := api.requests[0]
		if r.ContentLength != int64(len(api.bodies[0])) || len(r.TransferEncoding) != 0 {
			t.Errorf("a part of %d bytes: Content-Length %d, Transfer-Encoding %v; want the body's length, %d, and not chunked", size, r.ContentLength, r.TransferEncoding, len(api.bodies[0]))
		}
	}
}
