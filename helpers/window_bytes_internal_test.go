package helpers

import (
	"testing"
	"time"
)

// The thresholds of the bytes measurement (observe), replayed with a clock of our own. The spans
// and averages compared (0.25 s, 0.5 s, 17 slots) are exact in float64 seconds, so that a
// threshold is met exactly rather than approximately.

// windowAt is a controller whose window is w, made at t0, with n requests started at t0.
func windowAt(w, n int, t0 time.Time) *windowController {
	c := newWindowController(w, MaxConcurrency, t0)
	for range n {
		c.started(t0)
	}
	return c
}

// TestWindowBytesMeasuredFromExactlyWindowMinEpoch: bytes streamed by a full window over exactly
// windowMinEpoch are a measurement: the baseline is taken and the window grows.
func TestWindowBytesMeasuredFromExactlyWindowMinEpoch(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	c := windowAt(4, 4, t0)
	from := t0.Add(windowWarmup)
	c.observe(from, 10*mib, true) // the window is full after the warm-up: the measurement starts
	if c.observe(from.Add(windowMinEpoch-time.Nanosecond), 20*mib, true) {
		t.Fatalf("the window changed to %d on bytes measured over less than windowMinEpoch", c.window())
	}
	if !c.observe(from.Add(windowMinEpoch), 30*mib, true) || c.window() != 8 || c.baseRate == 0 {
		t.Fatalf("window %d, baseline %v after a full window streamed for exactly windowMinEpoch; want the baseline taken and 8 tried",
			c.window(), c.baseRate)
	}
}

// TestWindowBytesCountAtExactlyTheSaturatedShare: a window kept busy on average at exactly
// windowSaturated of its slots is busy enough for its bytes to count.
func TestWindowBytesCountAtExactlyTheSaturatedShare(t *testing.T) {
	const w = 20
	if slots := float64(w); windowSaturated*slots != 17 { // as observe computes it
		t.Fatalf("windowSaturated is %v: this test's figures (17 of 20 slots busy on average) need 0.85", windowSaturated)
	}
	t0 := time.Unix(1_700_000_000, 0)
	half := 500 * time.Millisecond
	c := windowAt(w, 14, t0) // 14 in flight for 0.5 s
	for range w - 14 {
		c.started(t0.Add(half)) // then all 20 for 0.5 s: 17 on average
	}
	c.observe(t0.Add(half), 10*mib, true) // the window is full: the measurement starts
	if !c.observe(t0.Add(2*half), 30*mib, true) || c.window() <= w || c.baseRate == 0 {
		t.Fatalf("window %d, baseline %v after 17 of %d slots busy on average (exactly windowSaturated); want the baseline taken and a larger window tried",
			c.window(), c.baseRate, w)
	}
}

// TestWindowHalfIdleDoesNotGrowOnBytes: a window that streams bytes with only half its slots
// busy for most of the epoch (too little demand) proves nothing about more streams: it does
// not grow on its bytes.
func TestWindowHalfIdleDoesNotGrowOnBytes(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	c := windowAt(4, 4, t0)
	from := t0.Add(windowWarmup)
	c.observe(from, 10*mib, true) // the window is full after the warm-up: the measurement starts
	c.finished(from, t0, 8*mib, true)
	c.finished(from, t0, 8*mib, true) // then 2 of 4 slots busy
	if c.observe(t0.Add(time.Second), 60*mib, true) || c.window() != 4 {
		t.Fatalf("window %d after a second with 2 of its 4 slots busy most of the time; want it to stay at 4", c.window())
	}
}
