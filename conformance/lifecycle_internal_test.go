package conformance

import (
	"fmt"
	"reflect"
	"testing"
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
