package helpers

import "testing"

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
