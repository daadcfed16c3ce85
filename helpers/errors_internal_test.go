package helpers

import (
	"strings"
	"testing"
)

// TestIsUploadStateByCodeOrMessage: an Upload's state is read from a 4xx's code; failing a code
// (a server that sends none), from its message; a code that names another state decides, whatever
// the message says; and a 5xx says nothing of the Upload.
func TestIsUploadStateByCodeOrMessage(t *testing.T) {
	for _, tc := range []struct {
		status        int
		code, message string
		state         string
		want          bool
	}{
		{400, "upload_completed", "", "upload_completed", true},
		{400, "", "The Upload is already completed.", "upload_completed", true},
		{400, "", "Cannot complete: the Upload is being completed.", "upload_completing", true},
		{400, "", "The Upload is already cancelled.", "upload_cancelled", true},
		{400, "", "The Upload is already completed.", "upload_cancelled", false},
		{400, "invalid_part", "The Upload is already completed.", "upload_completed", false},
		{500, "upload_completed", "The Upload is already completed.", "upload_completed", false},
	} {
		err := &APIError{Operation: "completeUpload", StatusCode: tc.status, Code: tc.code, Message: tc.message}
		if got := isUploadState(err, tc.state); got != tc.want {
			t.Errorf("%d code %q message %q: isUploadState(%s) = %v, want %v", tc.status, tc.code, tc.message, tc.state, got, tc.want)
		}
	}
}

// TestScrubFromExactlyTheMinimumLength: a key of exactly MinScrubbedKeyLength characters is
// scrubbed, in messages and (ignoring case) in header names; one character shorter is left.
func TestScrubFromExactlyTheMinimumLength(t *testing.T) {
	key := strings.Repeat("k", MinScrubbedKeyLength-1) + "Z"
	if got := scrub("echo "+key+" back", key); got != "echo [redacted] back" {
		t.Errorf("scrub of a %d-character key: %q", len(key), got)
	}
	if got := scrubFold("X-"+strings.ToUpper(key), key); strings.Contains(strings.ToLower(got), strings.ToLower(key)) {
		t.Errorf("scrubFold of a %d-character key: %q", len(key), got)
	}
	short := key[1:]
	if got := scrub("echo "+short, short); got != "echo "+short {
		t.Errorf("a %d-character key was scrubbed: %q", len(short), got)
	}
}
