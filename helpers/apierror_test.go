package helpers_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/helpers"
)

// TestClientAPIErrorKeepsAShortBodyWhole: a body that is not the envelope is kept whole up to
// 200 bytes, and cut (marked with an ellipsis) beyond.
func TestClientAPIErrorKeepsAShortBodyWhole(t *testing.T) {
	for _, n := range []int{199, 200, 201, 500} {
		body := strings.Repeat("b", n)
		api := newScripted(t, answer{status: 400, body: body})
		_, err := rawClient(t, api.URL).CreateUpload(context.Background(), createReq)
		var apiErr *helpers.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("%d bytes: err = %v, want an *APIError", n, err)
		}
		want := body
		if n > 200 {
			want = body[:200] + "…"
		}
		if apiErr.Message != want {
			t.Errorf("%d bytes: message of %d bytes %q, want %d bytes", n, len(apiErr.Message), apiErr.Message, len(want))
		}
	}
}

// TestClientAPIErrorNamesTheParam: the error names the param the API named (and TestClientAPIError
// that it says nothing of a param when the API's is null).
func TestClientAPIErrorNamesTheParam(t *testing.T) {
	api := newScripted(t, answer{status: 400, body: errBody("too big", "too_large")})
	_, err := rawClient(t, api.URL).CreateUpload(context.Background(), createReq)
	if err == nil || !strings.Contains(err.Error(), "(invalid_request_error, code too_large, param bytes): too big") {
		t.Errorf("error %q does not name the param the API named", err)
	}
}
