package conformance_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// closeRecorder is a request body that records whether it was closed.
type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTransportClosesTheBodyOfARefusedRequest: a request the Transport refuses to send (by
// default, enforcing) comes back as a *Violation without reaching Base, and its body is closed
// all the same, as http.RoundTripper requires "even on errors"; a refused request without a body
// is refused the same way.
func TestTransportClosesTheBodyOfARefusedRequest(t *testing.T) {
	for _, tc := range []struct {
		name, method, url, contentType string
		body                           bool
		auth                           bool
	}{
		// refused by its route, before the body is looked at
		{"off the spec's paths", "POST", "http://127.0.0.1:9/v1/nowhere", "application/json", true, true},
		// refused by its headers, before the form streams
		{"form without a key", "POST", "http://127.0.0.1:9/v1/uploads/upload_abc/parts", "multipart/form-data; boundary=xyz", true, false},
		{"no body, no key", "GET", "http://127.0.0.1:9/v1/files/file-abc", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			var body *closeRecorder
			if tc.body {
				body = &closeRecorder{Reader: strings.NewReader(`{"a":1}`)}
				req.Body = body
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.auth {
				req.Header.Set("Authorization", "Bearer "+testKey)
			}
			sent := false
			tr := &conformance.Transport{Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
				sent = true
				return nil, io.ErrUnexpectedEOF
			})}
			resp, err := tr.RoundTrip(req)
			if resp != nil {
				t.Errorf("a response to a refused request: %d", resp.StatusCode)
			}
			asViolation(t, err)
			if sent {
				t.Error("the refused request was sent")
			}
			if body != nil && !body.closed {
				t.Error("the refused request's body was not closed")
			}
		})
	}
}
