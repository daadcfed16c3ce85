package conformance_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// TestViolationErrorNamesTheResponseStatus: a response's violation reads
// "<operation> response <status>: …", a request's "<operation> request: …", and one that matches
// no operation names the method and path instead.
func TestViolationErrorNamesTheResponseStatus(t *testing.T) {
	for _, tc := range []struct {
		v    conformance.Violation
		want string
	}{
		{conformance.Violation{Operation: "createUpload", Method: "POST", Path: "/v1/uploads", Direction: conformance.DirectionResponse, Status: 502, Messages: []string{"a", "b"}},
			"createUpload response 502: a; b"},
		{conformance.Violation{Operation: "createUpload", Method: "POST", Path: "/v1/uploads", Direction: conformance.DirectionRequest, Messages: []string{"/bytes: bad"}},
			"createUpload request: /bytes: bad"},
		{conformance.Violation{Method: "GET", Path: "/v1/nowhere", Direction: conformance.DirectionResponse, Status: 404, Messages: []string{"no operation"}},
			"GET /v1/nowhere response 404: no operation"},
	} {
		if got := tc.v.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// TestResponseBodyViolationsNameOnlyTheField: a response body that breaks the schema is reported
// by the field and what is wrong with it, without kin-openapi's generic "response body doesn't
// match schema" in front.
func TestResponseBodyViolationsNameOnlyTheField(t *testing.T) {
	req := jsonRequest(t, "POST", "http://127.0.0.1:9/v1/uploads", createBody)
	body := strings.Replace(goodUpload, `"pending"`, `"paused"`, 1)
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
	viol := asViolation(t, validator(t).ValidateResponse(req, resp))
	if len(viol.Messages) != 1 || !strings.HasPrefix(viol.Messages[0], "/status: value is not one of the allowed values") {
		t.Errorf("messages %q, want one, starting %q", viol.Messages, "/status: value is not one of the allowed values")
	}
}
