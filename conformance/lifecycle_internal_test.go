package conformance

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/openai-uploads/uploads/generated"
)

// TestCompactRebuildsMapsThatLostMostEntries: compact makes a map anew (its peak then its size)
// once it grew to at least 1024 entries and has since lost three quarters or more of them, for
// the Files as for the Uploads; a map still above a quarter of its peak, or that never grew that
// large, is kept as it is.
func TestCompactRebuildsMapsThatLostMostEntries(t *testing.T) {
	for _, tc := range []struct {
		peak, left int
		rebuilt    bool
	}{
		{1024, 256, true},   // exactly a quarter of the smallest peak that counts
		{4000, 10, true},    // nearly all gone
		{1024, 257, false},  // more than a quarter left
		{1000, 1000, false}, // full
		{1023, 100, false},  // never grew to 1024
	} {
		s := &Server{uploads: map[string]*upload{}, files: map[string]*file{}, uploadsPeak: tc.peak, filesPeak: tc.peak}
		for i := range tc.left {
			s.uploads[fmt.Sprint(i)] = &upload{}
			s.files[fmt.Sprint(i)] = &file{}
		}
		uploads, files := reflect.ValueOf(s.uploads).UnsafePointer(), reflect.ValueOf(s.files).UnsafePointer()
		s.compact()
		for _, m := range []struct {
			name        string
			same        bool
			peak, count int
		}{
			{"uploads", reflect.ValueOf(s.uploads).UnsafePointer() == uploads, s.uploadsPeak, len(s.uploads)},
			{"files", reflect.ValueOf(s.files).UnsafePointer() == files, s.filesPeak, len(s.files)},
		} {
			wantPeak := tc.peak
			if tc.rebuilt {
				wantPeak = tc.left
			}
			if m.same == tc.rebuilt || m.peak != wantPeak || m.count != tc.left {
				t.Errorf("peak %d, %d left: %s map rebuilt %v (peak %d, %d entries), want rebuilt %v (peak %d, %d entries)",
					tc.peak, tc.left, m.name, !m.same, m.peak, m.count, tc.rebuilt, wantPeak, tc.left)
			}
		}
	}
}

// TestExpiryStartsAtExpiresAt: a File expires at its expires_at, to the second, and one without
// expires_at never does; a pending Upload expires at its expires_at unless it is being
// completed, and a finished one does not expire again.
func TestExpiryStartsAtExpiresAt(t *testing.T) {
	at := int64(1_700_003_600)
	for _, tc := range []struct {
		now  int64
		want bool
	}{{at - 1, false}, {at, true}, {at + 1, true}} {
		if got := (&file{OpenAIFile: generated.OpenAIFile{ExpiresAt: &at}}).expired(tc.now); got != tc.want {
			t.Errorf("File expiring at %d: expired at %d is %v, want %v", at, tc.now, got, tc.want)
		}
		pending := &upload{Upload: generated.Upload{Status: generated.UploadStatusPending, ExpiresAt: at}}
		if got := pending.expiredAt(tc.now); got != tc.want {
			t.Errorf("pending Upload expiring at %d: expired at %d is %v, want %v", at, tc.now, got, tc.want)
		}
	}
	if (&file{}).expired(at) {
		t.Error("a File without expires_at expired")
	}
	completing := &upload{Upload: generated.Upload{Status: generated.UploadStatusPending, ExpiresAt: at}, completing: true}
	cancelled := &upload{Upload: generated.Upload{Status: generated.UploadStatusCancelled, ExpiresAt: at}}
	if completing.expiredAt(at) || cancelled.expiredAt(at) {
		t.Error("an Upload being completed, or cancelled, expired")
	}
}

// TestSweepResultChangedByAnyCount: a sweep counts as a change (and is logged) when any one of
// its counts is above zero, alone; a sweep that did nothing does not.
func TestSweepResultChangedByAnyCount(t *testing.T) {
	for _, tc := range []struct {
		res  SweepResult
		want bool
	}{
		{SweepResult{}, false},
		{SweepResult{UploadsExpired: 1}, true},
		{SweepResult{UploadsForgotten: 1}, true},
		{SweepResult{FilesExpired: 1}, true},
		{SweepResult{PartsFreed: 1}, true},
		{SweepResult{UploadsForgotten: 2, FilesExpired: 1}, true},
	} {
		if got := tc.res.changed(); got != tc.want {
			t.Errorf("%+v changed: %v, want %v", tc.res, got, tc.want)
		}
	}
}
