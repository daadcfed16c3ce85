package conformance_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// TestValidatorValidatesABodyOfExactlyMaxJSONBodyBytes: MaxJSONBodyBytes is the largest body
// the validator reads, so a JSON body of exactly that size is validated (here its bad status is
// found), not passed on as too large, and the caller still reads it whole.
func TestValidatorValidatesABodyOfExactlyMaxJSONBodyBytes(t *testing.T) {
	bad := strings.Replace(goodUpload, `"pending"`, `"paused"`, 1)
	body := bad + strings.Repeat(" ", conformance.MaxJSONBodyBytes-len(bad))
	req := jsonRequest(t, "POST", "http://127.0.0.1:9/v1/uploads", createBody)
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
	err := validator(t).ValidateResponse(req, resp)
	if err == nil {
		t.Fatal("a body of exactly MaxJSONBodyBytes with a bad status was accepted")
	}
	if msg := err.Error(); !strings.Contains(msg, "/status") || strings.Contains(msg, "not validated") {
		t.Errorf("a body of exactly MaxJSONBodyBytes: %q, want it validated (the bad /status named)", firstLine(msg))
	}
	if got, _ := io.ReadAll(resp.Body); len(got) != len(body) {
		t.Errorf("the caller reads %d bytes of the body, want all %d", len(got), len(body))
	}
}

// firstLine is s up to its first newline, at most 200 bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
