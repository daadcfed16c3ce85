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
	"time"

	"github.com/openai-uploads/uploads/conformance"
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

// roundTripFunc is an http.RoundTripper of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRetriedRequestCarriesItsBodyThroughAnyTransport: through an HTTPClient whose transport is
// not net/http's (a user's wrapper, which reads the body itself and never rewinds it), a create
// answered 500 twice is sent a third time, each attempt with the whole body.
func TestRetriedRequestCarriesItsBodyThroughAnyTransport(t *testing.T) {
	var bodies []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		_ = r.Body.Close()
		bodies = append(bodies, string(b))
		status, body := 500, `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`
		if len(bodies) == 3 {
			status, body = 200, uploadBody
		}
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})
	c, err := helpers.NewClient(helpers.ClientOptions{APIKey: testKey, BaseURL: "http://127.0.0.1:1/v1", HTTPClient: &http.Client{Transport: rt},
		InitialRetryDelay: time.Millisecond, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUpload(context.Background(), createReq); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 3 || bodies[0] == "" || bodies[1] != bodies[0] || bodies[2] != bodies[0] {
		t.Errorf("bodies of the %d attempts: %q; want the same whole body each time", len(bodies), bodies)
	}
}

// TestCreateUploadRetriedAfterALostReplySaysSo: the client's own retry of a create whose reply
// was lost is told in the debug output: which attempt got no reply, what a retry may leave
// behind, and, once created, how many attempts got no reply.
func TestCreateUploadRetriedAfterALostReplySaysSo(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{Faults: faults(conformance.FaultLostResponse, 1, "createUpload")})
	var debug syncBuffer
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond; o.Debug = &debug })
	up, err := c.CreateUpload(context.Background(), createReq)
	if err != nil {
		t.Fatal(err)
	}
	out := debug.String()
	for _, want := range []string{
		"createUpload: no reply to attempt 1 (",
		"retrying, which may leave the earlier attempt's Upload pending",
		"created " + up.ID + " after 1 attempt(s) got no reply",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the debug output does not say %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "no reply to attempt"); n != 1 {
		t.Errorf("%d lines about an attempt without reply, want 1 (the second attempt was answered):\n%s", n, out)
	}
}
