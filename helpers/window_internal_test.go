package helpers

import (
	"fmt"
	"testing"
	"time"
)

// The adaptive window's decisions, replayed on a simulated link with a clock of our own: no
// goroutine, no wall clock, no sleep.

const mib = 1 << 20

// linkSim drives a windowController the way budget does: requests start while the window has
// room (if there is demand), each waits latency, then moves size bytes over a link where each
// request moves at most perConn bytes/s and all together at most total (0: no cap), shared
// fairly; each is reported as it ends.
type linkSim struct {
	t       *testing.T
	c       *windowController
	now     time.Time
	flight  []*simReq
	size    float64
	latency time.Duration
	perConn float64
	total   float64
	// demand caps the requests the caller has to send at once (0: no cap).
	demand int
	// limit, when positive, is the server's limit of requests in flight: one more is answered
	// 429 at once.
	limit int
	// peak is the largest window seen; throttled counts 429s; windows records each change.
	peak, throttled, requests int
	windows                   []int
	// timeAt sums the time spent at each window.
	timeAt map[int]time.Duration
	// bytes: the bytes handed over are observed too (a body streams until the request ends,
	// as with parts larger than the sockets' buffers); sent counts them.
	bytes bool
	sent  float64
}

type simReq struct {
	start time.Time
	left  float64 // bytes still to move
}

func newSim(t *testing.T, size, perConn, total float64, latency time.Duration) *linkSim {
	start := time.Unix(1_700_000_000, 0)
	return &linkSim{t: t, c: newWindowController(DefaultConcurrency, MaxConcurrency, start), now: start,
		size: size, perConn: perConn, total: total, latency: latency,
		peak: DefaultConcurrency, windows: []int{DefaultConcurrency}, timeAt: map[int]time.Duration{}}
}

const simTick = 5 * time.Millisecond

// run advances the simulation by d.
func (s *linkSim) run(d time.Duration) {
	for end := s.now.Add(d); s.now.Before(end); {
		s.now = s.now.Add(simTick)
		moving := 0
		for _, r := range s.flight {
			if s.now.Sub(r.start) > s.latency {
				moving++
			}
		}
		each := s.perConn
		if s.total > 0 && moving > 0 {
			each = min(each, s.total/float64(moving))
		}
		kept := s.flight[:0]
		for _, r := range s.flight {
			if s.now.Sub(r.start) > s.latency {
				moved := min(r.left, each*simTick.Seconds())
				r.left -= moved
				s.sent += moved
			}
			if r.left <= 0 {
				s.c.finished(s.now, r.start, int64(s.size), true)
			} else {
				kept = append(kept, r)
			}
		}
		s.flight = kept
		if w := s.c.window(); w > s.c.cap {
			// Filling a window above the cap (it may keep growing) could take the simulation
			// beyond any time or memory: fail at once.
			s.t.Fatalf("the window reached %d, above the cap %d; changes %v", w, s.c.cap, s.windows)
		}
		for len(s.flight) < s.c.window() && (s.demand == 0 || len(s.flight) < s.demand) {
			gen := s.c.started(s.now)
			s.requests++
			if s.limit > 0 && len(s.flight) >= s.limit {
				s.throttled++
				s.c.congested(s.now, gen)
				s.c.finished(s.now, s.now, 0, false)
				s.note()
				break // the client pauses after a 429
			}
			s.flight = append(s.flight, &simReq{start: s.now, left: s.size})
		}
		if s.bytes {
			s.c.observe(s.now, int64(s.sent), true)
		}
		s.note()
		s.timeAt[s.c.window()] += simTick
	}
}

func (s *linkSim) note() {
	w := s.c.window()
	s.peak = max(s.peak, w)
	if w != s.windows[len(s.windows)-1] {
		s.windows = append(s.windows, w)
	}
}

// TestWindowGrowsWhileThroughputGrows: each connection is limited (16 MiB/s) and the link is
// not: the window doubles from 4 while each doubling pays, up to the cap, and never past it.
func TestWindowGrowsWhileThroughputGrows(t *testing.T) {
	for _, bytes := range []bool{false, true} {
		s := newSim(t, 16*mib, 16*mib, 0, 40*time.Millisecond)
		s.bytes = bytes
		s.run(20 * time.Second)
		if got := s.c.window(); got != MaxConcurrency {
			t.Errorf("bytes %v: window %d after 20 s on a link that scales with the streams, want the cap %d; changes %v", bytes, got, MaxConcurrency, s.windows)
		}
		if s.peak > MaxConcurrency {
			t.Errorf("bytes %v: the window reached %d, above the cap %d", bytes, s.peak, MaxConcurrency)
		}
		if want := []int{4, 8, 16, 32}; !equalInts(s.windows, want) {
			t.Errorf("bytes %v: windows %v, want %v (doubling while it pays)", bytes, s.windows, want)
		}
		// Answers take a part's duration (1.04 s) per step; the bytes, a warm-up and an epoch.
		t.Logf("bytes %v: time at each window %v", bytes, s.timeAt)
		if at4 := s.timeAt[4]; bytes && at4 > 600*time.Millisecond || !bytes && at4 < time.Second {
			t.Errorf("bytes %v: %v at the first window", bytes, at4)
		}
	}
}

// TestWindowStopsAtAPlateau: 16 MiB/s per connection and 128 MiB/s in all: 8 streams fill the
// link. The window grows to 8, tries 16, finds no gain and goes back to 8, where it stays;
// probing again later (a quarter more, at most once per windowPlateauHold) finds no gain either.
func TestWindowStopsAtAPlateau(t *testing.T) {
	for _, bytes := range []bool{false, true} {
		t.Run(fmt.Sprintf("bytes=%v", bytes), func(t *testing.T) { testPlateau(t, bytes) })
	}
}

func testPlateau(t *testing.T, bytes bool) {
	const d = 30 * time.Second
	s := newSim(t, 16*mib, 16*mib, 128*mib, 40*time.Millisecond)
	s.bytes = bytes
	s.run(d)
	if at8 := s.timeAt[8]; at8 < d*7/10 {
		t.Errorf("%v of %v at the plateau's window of 8, want most of it; time per window %v, changes %v", at8, d, s.timeAt, s.windows)
	}
	if probes := len(s.windows[3:]) / 2; probes > int(d/windowPlateauHold) {
		t.Errorf("%d probes past the plateau in %v, want at most one per %v; changes %v", probes, d, windowPlateauHold, s.windows)
	}
	if s.peak > 16 {
		t.Errorf("the window reached %d; one doubling past the plateau (16) is the most", s.peak)
	}
	if len(s.windows) < 4 || !equalInts(s.windows[:4], []int{4, 8, 16, 8}) {
		t.Errorf("windows %v, want 4, 8, 16, then back to 8", s.windows)
	}
	for i, w := range s.windows[3:] {
		if w != 8 && w != 10 {
			t.Errorf("after the plateau the window went to %d (change %d of %v); only probes of a quarter more (10) are expected", w, i+3, s.windows)
		}
	}
}

// TestWindowHalvesOnOverload: a 429 or 503 halves the window; the other answers to requests sent
// before that cut do not cut it again; the floor is one request.
func TestWindowHalvesOnOverload(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newWindowController(16, MaxConcurrency, now)
	var gens []int
	for range 16 {
		gens = append(gens, c.started(now))
	}
	if !c.congested(now, gens[0]) || c.window() != 8 {
		t.Fatalf("window %d after a 429 at 16, want 8", c.window())
	}
	for _, g := range gens[1:] {
		if c.congested(now, g) {
			t.Fatalf("a second 429 from a request sent before the cut cut again: window %d", c.window())
		}
	}
	if c.window() != 8 {
		t.Fatalf("window %d, want 8", c.window())
	}
	for range 16 {
		c.finished(now, now, 0, false)
	}
	for _, want := range []int{4, 2, 1, 1, 1} { // one request in flight at each 429
		g := c.started(now)
		c.congested(now, g)
		c.finished(now, now, 0, false)
		if c.window() != want {
			t.Fatalf("window %d, want %d", c.window(), want)
		}
	}
}

// TestWindowCeiling: a 429 came with 7 requests in flight; for windowCeilingHold the window
// grows back to 6 at most, and only then probes 7 again.
func TestWindowCeiling(t *testing.T) {
	s := newSim(t, 16*mib, 16*mib, 0, 40*time.Millisecond)
	s.limit = 6
	s.run(windowCeilingHold - 2*time.Second)
	t.Logf("windows %v, %d of %d requests answered 429", s.windows, s.throttled, s.requests)
	if s.c.window() > 6 {
		t.Errorf("window %d within the ceiling's hold, want at most 6; changes %v", s.c.window(), s.windows)
	}
	if s.c.window() < 5 {
		t.Errorf("window %d: it did not grow back towards the ceiling; changes %v", s.c.window(), s.windows)
	}
	if s.throttled > 3 {
		t.Errorf("%d requests answered 429 in %v; after the first cuts the window should stay below the ceiling", s.throttled, windowCeilingHold)
	}
}

// TestWindowHoldsWithoutDemand: with only 2 parts to send at a time, the window is never busy
// enough to learn anything: it stays at 4.
func TestWindowHoldsWithoutDemand(t *testing.T) {
	s := newSim(t, 16*mib, 16*mib, 0, 40*time.Millisecond)
	s.demand = 2
	s.run(10 * time.Second)
	if len(s.windows) != 1 {
		t.Errorf("windows %v with a demand of 2, want it to stay at 4", s.windows)
	}
}

// TestWindowOfSmallRequests: latency-bound requests (256 KiB in 40 ms): the window grows within
// the first second or two, the epochs being short.
func TestWindowOfSmallRequests(t *testing.T) {
	s := newSim(t, 256<<10, 24*mib, 0, 40*time.Millisecond)
	s.run(2 * time.Second)
	t.Logf("windows %v", s.windows)
	if s.c.window() < 16 {
		t.Errorf("window %d after 2 s of 50 ms requests, want 16 or more; changes %v", s.c.window(), s.windows)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWindowTrustsBytesOnlyWhileStreaming: the bytes handed to the sockets give a baseline and
// confirm a growth early, but only while no request waits for its answer (then the sockets'
// buffers drain unseen), and they never call a plateau: a trial whose bytes show no gain waits
// for the answers.
func TestWindowTrustsBytesOnlyWhileStreaming(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	fill := func(c *windowController, now time.Time) {
		for c.inFlight < c.w {
			c.started(now)
		}
	}
	c := newWindowController(4, MaxConcurrency, t0)
	fill(c, t0)
	c.observe(at(200), 10*mib, true)  // after the warm-up: the measurement starts
	c.observe(at(300), 12*mib, false) // a body handed over whole: the bytes are spoilt
	if c.observe(at(600), 40*mib, true) || c.window() != 4 {
		t.Fatalf("window %d: spoilt bytes were trusted", c.window())
	}
	c = newWindowController(4, MaxConcurrency, t0)
	fill(c, t0)
	c.observe(at(200), 10*mib, true)
	if !c.observe(at(500), 30*mib, true) || c.window() != 8 || c.baseRate == 0 {
		t.Fatalf("window %d after a clean measurement, want the baseline taken and 8 tried", c.window())
	}
	fill(c, at(500))
	c.observe(at(700), 40*mib, true)
	if c.observe(at(1000), 46*mib, true) || c.window() != 8 || !c.trial { // 20 MB/s against 66: no gain
		t.Fatalf("window %d, trial %v: the bytes decided a plateau", c.window(), c.trial)
	}
}

// TestWindowFinishedMeasuresAndReports: a measurement needs half the window of requests (at
// least 2) over at least windowMinEpoch; finished reports whether the window changed: not for a
// request that leaves too few measured, yes for the one that completes a measurement at a busy
// window (which then grows).
func TestWindowFinishedMeasuresAndReports(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	c := newWindowController(4, 32, t0)
	for range 4 {
		c.started(t0)
	}
	end := t0.Add(300 * time.Millisecond)
	if c.finished(end, t0, 1<<20, true) || c.window() != 4 {
		t.Errorf("one request measured: changed, or window %d; want no change from 4", c.window())
	}
	if !c.finished(end, t0, 1<<20, true) || c.window() != 8 {
		t.Errorf("two requests measured at a full window: window %d, change not reported; want 8, reported", c.window())
	}
	// At 8, a measurement needs half the window, 4 requests: 3 change nothing.
	for range 8 {
		c.started(end)
	}
	for i := range 3 {
		if c.finished(end.Add(300*time.Millisecond), end, 1<<20, true) || c.window() != 8 {
			t.Errorf("window 8, %d requests measured: changed (window %d); want no change", i+1, c.window())
		}
	}

	// The shortest measurement, windowMinEpoch, is long enough.
	c = newWindowController(4, 32, t0)
	for range 4 {
		c.started(t0)
	}
	c.finished(t0.Add(windowMinEpoch), t0, 1<<20, true)
	if !c.finished(t0.Add(windowMinEpoch), t0, 1<<20, true) || c.window() != 8 {
		t.Errorf("two requests measured over exactly windowMinEpoch: window %d; want 8", c.window())
	}
}
