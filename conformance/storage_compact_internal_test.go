package conformance

import (
	"fmt"
	"reflect"
	"testing"
)

// TestMemStorageRebuildsItsMapAfterMostBlobsAreGone: removing a blob makes memory storage's map
// anew (its peak then its size) once the map grew to at least 1024 blobs and has since lost three
// quarters or more of them (Go maps never shrink); a map still above a quarter of its peak, or
// that never grew that large, is kept as it is. The blobs left are the same either way.
func TestMemStorageRebuildsItsMapAfterMostBlobsAreGone(t *testing.T) {
	for _, tc := range []struct {
		peak, left int
		rebuilt    bool
	}{
		{1024, 256, true},   // exactly a quarter of the smallest peak that counts
		{4000, 10, true},    // nearly all gone
		{1024, 257, false},  // more than a quarter left
		{1000, 999, false},  // nearly full
		{1023, 100, false},  // never grew to 1024
		{5000, 4999, false}, // a big map, nearly full
	} {
		m := newMemStorage(1 << 40)
		for i := range tc.left {
			m.blobs[fmt.Sprint(i)] = nil
		}
		m.blobs["gone"] = nil
		m.peak = tc.peak
		before := reflect.ValueOf(m.blobs).UnsafePointer()
		m.remove(blob{key: "gone"})
		same := reflect.ValueOf(m.blobs).UnsafePointer() == before
		wantPeak := tc.peak
		if tc.rebuilt {
			wantPeak = tc.left
		}
		_, goneLeft := m.blobs["gone"]
		if same == tc.rebuilt || m.peak != wantPeak || len(m.blobs) != tc.left || goneLeft {
			t.Errorf("peak %d, %d left after a remove: map rebuilt %v (peak %d, %d blobs), want rebuilt %v (peak %d, %d blobs, the removed one gone)",
				tc.peak, tc.left, !same, m.peak, len(m.blobs), tc.rebuilt, wantPeak, tc.left)
		}
		if _, ok := m.blobs["0"]; tc.left > 0 && !ok {
			t.Errorf("peak %d, %d left: a blob that was not removed is gone", tc.peak, tc.left)
		}
	}
}
