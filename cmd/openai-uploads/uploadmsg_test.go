package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/openai-uploads/uploads/helpers"
)

// TestUploadFailureSaysWhatToDoNext: every outcome of a failed upload ends with what to do next
// in the CLI's words (the same command with --checkpoint, openai-uploads uploads cancel ID, or
// run it again), names the Upload, keeps the cause, and speaks no Go.
func TestUploadFailureSaysWhatToDoNext(t *testing.T) {
	cause := errors.New("the part got 503 Service Unavailable")
	expires := time.Now().Add(40 * time.Minute).Unix()
	for _, tc := range []struct {
		name string
		err  *helpers.UploadError
		end  string
	}{
		{"resumable", &helpers.UploadError{UploadID: "upload_a", Resumable: true, Checkpoint: "big.ckpt", ExpiresAt: expires, Err: cause}, "minutes"},
		{"unknown, resumable", &helpers.UploadError{UploadID: "upload_a", Resumable: true, OutcomeUnknown: true, Checkpoint: "big.ckpt", Err: cause}, "its File is recovered if it was completed"},
		{"unknown", &helpers.UploadError{UploadID: "upload_a", OutcomeUnknown: true, CancelErr: errors.New("cancel: 500"), Err: cause}, "its File is then in openai-uploads files list)"},
		{"gone", &helpers.UploadError{UploadID: "upload_a", Gone: true, Err: cause}, "run the command again to start a new upload"},
		{"cancelled", &helpers.UploadError{UploadID: "upload_a", Cancelled: true, Err: cause}, "run the command again to start over"},
		{"cancel failed", &helpers.UploadError{UploadID: "upload_a", CancelErr: errors.New("cancel: connection refused"), Err: cause}, "(or it expires within the hour of its creation)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := uploadFailure(tc.err)
			msg := speakCLI(err.Error())
			if !strings.HasSuffix(msg, tc.end) || !strings.Contains(msg, "upload_a") || !strings.Contains(msg, cause.Error()) {
				t.Errorf("%q does not name the Upload, keep the cause and end with %q", msg, tc.end)
			}
			if tc.err.Resumable && !strings.Contains(msg, "run the same command again (with --checkpoint big.ckpt)") {
				t.Errorf("%q does not say to run again with --checkpoint", msg)
			}
			if tc.err.CancelErr != nil && !tc.err.Resumable && !strings.Contains(msg, "openai-uploads uploads cancel upload_a") {
				t.Errorf("%q does not give the command that cancels the Upload", msg)
			}
			if g := speaksGo(msg); g != nil {
				t.Errorf("%q speaks Go: %v", msg, g)
			}
			var upErr *helpers.UploadError
			if !errors.As(err, &upErr) || upErr != tc.err {
				t.Errorf("the UploadError is not kept")
			}
		})
	}
	if err := uploadFailure(context.Canceled); err != context.Canceled {
		t.Errorf("another error is changed: %v", err)
	}
}

// TestWrapWords: lines at most the width, the words in order, the lines after the first
// indented, from a width of 10 up; a word too long is cut; no terminal leaves the line whole.
func TestWrapWords(t *testing.T) {
	s := "openai-uploads: Upload upload_w2pG8OiPO0syiDv9nrE5YABh; if this run is killed,"
	for _, width := range []int{79, 39, 20, 12, 10} { // 10: the narrowest that wraps
		lines := wrapWords(s, width)
		var words []string
		for i, l := range lines {
			if runewidth.StringWidth(l) > width || (i > 0 && !strings.HasPrefix(l, "  ")) {
				t.Errorf("width %d: line %q", width, l)
			}
			words = append(words, strings.Fields(l)...)
		}
		if got := strings.Join(words, ""); got != strings.Join(strings.Fields(s), "") {
			t.Errorf("width %d: %q lost or reordered words", width, lines)
		}
	}
	if got := wrapWords("  cancel it: x", 79); len(got) != 1 || got[0] != "  cancel it: x" {
		t.Errorf("a short line: %q", got)
	}
	if got := wrapWords("two  spaces, 20 wide", 20); len(got) != 1 || got[0] != "two  spaces, 20 wide" {
		t.Errorf("a line exactly as wide is not left as it is: %q", got)
	}
	// a word exactly as wide as the line is not cut: the next line is indented by two spaces,
	// not three after an empty cut
	if got := wrapWords("abcdefghij klm", 10); !slices.Equal(got, []string{"abcdefghij", "  klm"}) {
		t.Errorf("a word exactly as wide as the line: %q", got)
	}
	if got := wrapWords(s, -1); len(got) != 1 || got[0] != s {
		t.Errorf("no terminal: %q", got)
	}
}

// TestUnknownOutcomeSaysWhetherCancellingFailed: when complete's outcome is unknown, the message
// says that cancelling (which would have settled it) failed, and why, only when it did.
func TestUnknownOutcomeSaysWhetherCancellingFailed(t *testing.T) {
	cause := errors.New("no reply")
	failed := uploadFailure(&helpers.UploadError{UploadID: "upload_a", OutcomeUnknown: true, CancelErr: errors.New("cancel: 500"), Err: cause}).Error()
	if !strings.Contains(failed, "no reply (cancelling it, which would have settled it, failed: cancel: 500); to settle it") {
		t.Errorf("cancel failed: %q", failed)
	}
	if msg := uploadFailure(&helpers.UploadError{UploadID: "upload_a", OutcomeUnknown: true, Err: cause}).Error(); strings.Contains(msg, "cancelling it") {
		t.Errorf("no cancel error: %q", msg)
	}
}
