package conformance

import (
	"fmt"
	"reflect"
	"testing"
)

// TestMemStorageRebuildsItsMapOnceMostBlobsAreGone: memory storage's map of blobs (Go maps never
// shrink) is rebuilt when a removal leaves at most a quarter of the entries it peaked at, once
// the peak reached 1024; not while more than a quarter is left, nor after a smaller peak.
func TestMemStorageRebuildsItsMapOnceMostBlobsAreGone(t *testing.T) {
	for _, tc := range []struct {
		peak, left int
		rebuilt    bool
	}{
		{1024, 256, true},   // exactly a quarter of the smallest peak that counts
		{4000, 10, true},    // nearly all gone
		{1024, 257, false},  // more than a quarter left
		{1024, 1023, false}, // nearly full
		{1023, 100, false},  // never grew to 1024
	} {
		m := newMemStorage(1 << 30)
		for i := range tc.left {
			m.blobs[fmt.Sprint(i)] = nil
		}
		m.blobs["removed"] = nil
		m.peak = tc.peak
		before := reflect.ValueOf(m.blobs).UnsafePointer()
		m.remove(blob{key: "removed"})
		rebuilt := reflect.ValueOf(m.blobs).UnsafePointer() != before
		wantPeak := tc.peak
		if tc.rebuilt {
			wantPeak = tc.left
		}
		if rebuilt != tc.rebuilt || m.peak != wantPeak || len(m.blobs) != tc.left {
			t.Errorf("peak %d, %d left: rebuilt %v (peak %d, %d blobs), want rebuilt %v (peak %d, %d blobs)",
				tc.peak, tc.left, rebuilt, m.peak, len(m.blobs), tc.rebuilt, wantPeak, tc.left)
		}
	}
}
