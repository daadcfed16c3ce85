package helpers

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// stormSim drives an adaptive budget (and so its window) on a simulated link, as linkSim drives
// the controller, with a server that answers 503 to a share of the requests at random,
// whatever the load (a flaky backend, not an overloaded one), once their latency has passed.
type stormSim struct {
	b       *budget
	now     time.Time
	rng     *rand.Rand
	rate    float64
	size    float64
	perConn float64
	latency time.Duration
	flight  []*stormReq
	// requests and failed count the requests and the 503s; timeAt the time at each window.
	requests, failed, peak int
	timeAt                 map[int]time.Duration
}

type stormReq struct {
	t    ticket
	left float64
}

func newStormSim(rate float64) *stormSim {
	s := &stormSim{now: time.Unix(1_700_000_000, 0), rng: rand.New(rand.NewPCG(1, 2)), rate: rate,
		size: 8 * mib, perConn: 16 * mib, latency: 40 * time.Millisecond, timeAt: map[int]time.Duration{}}
	s.b = newBudget(0)
	s.b.now = func() time.Time { return s.now }
	s.b.ctl = newWindowController(DefaultConcurrency, MaxConcurrency, s.now)
	return s
}

func (s *stormSim) run(t *testing.T, d time.Duration) {
	ctx := bounded(t)
	for end := s.now.Add(d); s.now.Before(end); {
		s.now = s.now.Add(simTick)
		kept := s.flight[:0]
		for _, r := range s.flight {
			if s.now.Sub(r.t.start) <= s.latency {
				kept = append(kept, r)
				continue
			}
			if r.left == s.size && s.rng.Float64() < s.rate { // answered 503 before its body
				s.failed++
				s.b.release(r.t, ended{outcome: outcomeOverloaded})
				continue
			}
			r.left -= min(r.left, s.perConn*simTick.Seconds())
			if r.left <= 0 {
				s.b.release(r.t, ended{outcome: outcomeOK, bytes: int64(s.size)})
				continue
			}
			kept = append(kept, r)
		}
		s.flight = kept
		if w := s.b.window(); w > MaxConcurrency {
			// Above the cap: the test fails on the peak. Filling such a window (it may keep
			// growing) could take the simulation beyond any time or memory.
			s.peak = max(s.peak, w)
			return
		}
		for len(s.flight) < s.b.window() {
			tk, err := s.b.acquire(ctx, nil) // a slot is free: granted at once
			if err != nil {
				t.Fatalf("a free slot (%d in flight, window %d) was not granted within %s: %v", len(s.flight), s.b.window(), waitBound, err)
			}
			s.requests++
			s.flight = append(s.flight, &stormReq{t: tk, left: s.size})
		}
		s.peak = max(s.peak, s.b.window())
		s.timeAt[s.b.window()] += simTick
	}
}

// TestWindowUnderA503Storm: 5% of the requests answered 503 at random, whatever the load (8 MiB
// parts, 16 MiB/s per connection, 40 ms per request). The window is halved at each 503 (AIMD)
// and must grow back: not sit at 1 while the server serves 95% of what it gets. It used to: each
// 503 also set a ceiling at the number in flight, the next one a lower one, until the window
// was held at 1 (43 s of 60; mean window 2.3, 296 requests in 60 s where fixed 4 sends about 440).
func TestWindowUnderA503Storm(t *testing.T) {
	const d = 60 * time.Second
	for _, rate := range []float64{0.01, 0.05, 0.2} {
		s := newStormSim(rate)
		s.run(t, d)
		var weighted float64
		for w, at := range s.timeAt {
			weighted += float64(w) * at.Seconds()
		}
		mean := weighted / d.Seconds()
		t.Logf("503 rate %.2f: %d of %d requests answered 503; mean window %.1f over %v, %v of it at 1", rate, s.failed, s.requests, mean, d, s.timeAt[1])
		if s.peak > MaxConcurrency {
			t.Errorf("rate %.2f: the window reached %d, above the cap %d", rate, s.peak, MaxConcurrency)
		}
		if rate == 0.05 && (s.timeAt[1] > d/6 || mean < DefaultConcurrency) {
			t.Errorf("rate %.2f: %v of %v at a window of 1, mean window %.1f: the window collapsed", rate, s.timeAt[1], d, mean)
		}
	}
}

// TestWindowOnAServerThatSlowsDown: a server whose total throughput grows with the requests in
// flight up to 8 (16 MiB/s each), then falls as more arrive (thrashing: 128 MiB/s × sqrt(8/n)).
// The window must find 8 and stay near it: not oscillate between the cap and 1, never exceed
// the cap. Figures logged.
func TestWindowOnAServerThatSlowsDown(t *testing.T) {
	const d = 60 * time.Second
	s := newSim(t, 16*mib, 16*mib, 0, 40*time.Millisecond)
	var sent float64
	for end := s.now.Add(d); s.now.Before(end); {
		s.now = s.now.Add(simTick)
		n := float64(len(s.flight))
		each := 16.0 * mib
		if n > 8 {
			each = 128 * mib * math.Sqrt(8/n) / n
		}
		kept := s.flight[:0]
		for _, r := range s.flight {
			if s.now.Sub(r.start) > s.latency {
				moved := min(r.left, each*simTick.Seconds())
				r.left -= moved
				sent += moved
			}
			if r.left <= 0 {
				s.c.finished(s.now, r.start, int64(s.size), true)
			} else {
				kept = append(kept, r)
			}
		}
		s.flight = kept
		for len(s.flight) < s.c.window() {
			s.c.started(s.now)
			s.flight = append(s.flight, &simReq{start: s.now, left: s.size})
		}
		s.note()
		s.timeAt[s.c.window()] += simTick
	}
	var weighted float64
	for w, at := range s.timeAt {
		weighted += float64(w) * at.Seconds()
	}
	t.Logf("mean window %.1f, peak %d, %d changes, %.0f MiB/s (8 streams: 128); time per window %v", weighted/d.Seconds(), s.peak, len(s.windows)-1, sent/mib/d.Seconds(), s.timeAt)
	if s.peak > MaxConcurrency {
		t.Errorf("the window reached %d", s.peak)
	}
	if at8 := s.timeAt[8]; at8 < d/2 {
		t.Errorf("%v of %v at 8, the best window; changes %v", at8, d, s.windows)
	}
}
