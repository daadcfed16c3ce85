package helpers

import (
	"testing"
	"time"
)

// TestWindowStale429LowersTheCeiling: 8 requests in flight, one answered 429: the window is cut
// to 4 and 8 becomes the ceiling. Three of the others end; then one of them, started before the
// cut, is answered 429 too, with 4 in flight: no second cut, but the ceiling comes down to 4, so
// the window, at 4, may not grow while the ceiling holds. Without that stale 429 the same
// measurement grows the window to 5 (the ceiling of 8 allows it).
func TestWindowStale429LowersTheCeiling(t *testing.T) {
	for _, stale := range []bool{false, true} {
		now := time.Unix(1_700_000_000, 0)
		c := newWindowController(8, MaxConcurrency, now)
		var gens []int
		for range 8 {
			gens = append(gens, c.started(now))
		}
		if !c.congested(now, gens[0]) || c.window() != 4 {
			t.Fatalf("window %d after a 429 at 8, want 4", c.window())
		}
		c.finished(now, now, 0, false)
		for range 3 {
			c.finished(now, now, 0, true)
		}
		if stale {
			if c.congested(now, gens[1]) {
				t.Fatal("a 429 of a request sent before the cut cut again")
			}
		}
		for range 4 { // the rest of the requests sent before the cut
			c.finished(now, now, 0, true)
		}
		// A measurement at 4: four requests sent after the cut, each 300 ms, the window full.
		for range 4 {
			c.started(now)
		}
		start := now
		now = now.Add(300 * time.Millisecond)
		for range 4 {
			c.finished(now, start, 4*mib, true)
		}
		want := 5
		if stale {
			want = 4
		}
		if c.window() != want {
			t.Errorf("stale 429 %v: window %d after a measurement at 4, want %d", stale, c.window(), want)
		}
	}
}
