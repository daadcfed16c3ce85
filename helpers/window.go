package helpers

import "time"

// Adaptive concurrency: the window of part requests in flight, grown while the measured
// throughput grows and cut when the server says it is overloaded (429, 503), as TCP's congestion
// control does (AIMD). windowController decides; budget.go applies its decisions. The controller
// keeps no clock and starts no goroutine: every method takes the time, so its decisions can be
// replayed step by step (window_internal_test.go).
//
// The throughput is measured from the requests that end: a socket takes megabytes at once into
// its buffers, so a part of a few MB looks sent in an instant and the link's pace shows only
// when its answer comes. By Little's law, with n requests in flight, each carrying S bytes and
// taking R from the slot granted to the answer, the throughput is n·ΣS/ΣR. An epoch begins when
// the window changes; it measures the requests that started in it (they lived under the new
// window), once at least windowMinEpoch has passed and half a window of them (at least 2) have
// succeeded. A measurement counts only if the window was kept busy (on average windowSaturated
// of its slots in flight): at the end of an upload, or when the caller has too little to send,
// more streams would prove nothing.
//
// Waiting for answers costs a request's duration per step: a second or more with big parts. So
// the bytes handed to the sockets are measured too, but trusted only while every request in
// flight is still handing over its body (none has given its last byte and waits for the answer,
// when the buffers drain unseen), after a warm-up of windowWarmup (new streams first fill their
// buffers), for at least windowMinEpoch: that happens with parts larger than what the sockets
// buffer, and then the bytes may confirm a growth early, or give the baseline. They never call a
// plateau: that is for the answers.
//
// The decisions, in order of precedence:
//   - 429 or 503 for a request started after the last cut: the window is halved (at least 1),
//     growth stops doubling for good, and, for a 429, the number in flight when the signal came
//     (the "ceiling") is not reached again for windowCeilingHold (a 503 sets none: see
//     overloaded). Signals from requests started before that cut are its echo: they do not cut
//     again, but a 429 lowers the ceiling to the number in flight when it came.
//   - every measurement: if the window had just grown, the growth is kept when the throughput
//     grew by at least windowGain of the proportional gain (doubling 4 to 8 must bring +50%),
//     and the window grows again; otherwise the window goes back to what it was (a plateau:
//     more streams no longer help) and stays there for windowPlateauHold before it probes
//     again. A first measurement at a window is its baseline, and the window grows.
//   - growth doubles the window while no plateau or cut was met ("slow start"), then adds a
//     quarter (at least 1); never above the cap, nor at or above an active ceiling.

const (
	// windowMinEpoch is the shortest measurement.
	windowMinEpoch = 250 * time.Millisecond
	// windowWarmup is the time after a change of the window whose bytes are not measured.
	windowWarmup = 150 * time.Millisecond
	// windowGain: a larger window is kept when the throughput grew by at least this share of
	// the proportional gain.
	windowGain = 0.5
	// windowCut is the factor of the multiplicative decrease.
	windowCut = 0.5
	// windowSaturated is the share of the window's slots that must have been in flight, on
	// average, for a measurement to count.
	windowSaturated = 0.85
	// windowPlateauHold is how long the window stays where a plateau was found before it probes
	// again.
	windowPlateauHold = 5 * time.Second
	// windowCeilingHold is how long a ceiling (the number in flight when the server answered
	// 429 or 503) is kept below.
	windowCeilingHold = 30 * time.Second
)

// windowController is the adaptive window. It is not safe for concurrent use: budget holds its
// lock around every call.
type windowController struct {
	cap int
	w   int
	// slowStart: the window doubles when it grows; it ends at the first plateau or cut.
	slowStart bool

	// The epoch under way began at epochStart; busy integrates the requests in flight over time
	// (slot-seconds) since then; the requests that started in it and succeeded carried sumBytes
	// in sumDur (their durations added up), n of them.
	epochStart time.Time
	busy       float64
	inFlight   int
	lastEvent  time.Time
	sumBytes   int64
	sumDur     time.Duration
	n          int
	// The bytes handed to the sockets, counted from bytesStart (when bytesFrom had been sent);
	// spoilt once a request in flight waited for its answer during the epoch.
	bytesStart  time.Time
	bytesFrom   int64
	bytesSpoilt bool

	// baseRate is the throughput measured at baseW (0: none yet). trial: the window grew from
	// baseW to w, and the next measurement keeps or reverts that.
	baseW    int
	baseRate float64
	trial    bool

	holdUntil    time.Time // no growth before this
	ceiling      int       // a 429 or 503 came with this many in flight (0: none)
	ceilingUntil time.Time
	// gen counts the cuts; a request records it when it starts.
	gen int
}

func newWindowController(start, cap int, now time.Time) *windowController {
	start = max(1, min(start, cap))
	return &windowController{cap: cap, w: start, slowStart: true, epochStart: now, lastEvent: now}
}

// window is the number of requests allowed in flight.
func (c *windowController) window() int { return c.w }

// account adds the time since the last event to the busy integral.
func (c *windowController) account(now time.Time) {
	if d := now.Sub(c.lastEvent); d > 0 {
		c.busy += float64(c.inFlight) * d.Seconds()
		c.lastEvent = now
	}
}

// started records a request starting; it returns the generation to hand back to congested.
func (c *windowController) started(now time.Time) int {
	c.account(now)
	c.inFlight++
	return c.gen
}

// finished records a request that started at start ending now, having carried bytes; ok: it
// succeeded. It reports whether the window changed.
func (c *windowController) finished(now, start time.Time, bytes int64, ok bool) bool {
	c.account(now)
	c.inFlight = max(0, c.inFlight-1)
	if ok && !start.Before(c.epochStart) && now.After(start) {
		c.n++
		c.sumBytes += bytes
		c.sumDur += now.Sub(start)
	}
	before := c.w
	c.measure(now)
	return c.w != before
}

// congested records a 429 for a request started in generation gen (call it before finished,
// so that the request still counts as in flight). It reports whether the window was cut.
func (c *windowController) congested(now time.Time, gen int) bool {
	return c.cut(now, gen, true)
}

// overloaded records a 503 as congested records a 429, but sets no ceiling: a server that sheds
// load says nothing of a number of requests in flight it refuses, and 503s that come at random,
// whatever the load, would each set a lower ceiling until the window stayed at 1 (with 5% of
// the requests answered 503, 43 s of 60 at 1; TestWindowUnderA503Storm). The window is halved,
// and grows back as the throughput allows.
func (c *windowController) overloaded(now time.Time, gen int) bool {
	return c.cut(now, gen, false)
}

// cut halves the window for a request of generation gen refused (429 or 503), unless an
// earlier cut answered it already; with ceiling, the number in flight becomes a ceiling.
func (c *windowController) cut(now time.Time, gen int, ceiling bool) bool {
	c.account(now)
	if gen != c.gen {
		// Started before the last cut, which already answered this overload; but the server
		// refused it with fewer in flight: the ceiling is lower.
		if c.ceiling > 0 && ceiling {
			c.ceiling = min(c.ceiling, max(1, c.inFlight))
		}
		return false
	}
	if ceiling {
		c.ceiling = max(1, c.inFlight)
		c.ceilingUntil = now.Add(windowCeilingHold)
	}
	next := max(1, int(float64(c.w)*windowCut))
	c.slowStart, c.trial, c.baseW, c.baseRate = false, false, 0, 0
	c.gen++
	c.set(now, next)
	return true
}

// observe is called as bytes go out, with the running total handed to the sockets; streaming
// says no request in flight has handed over its whole body (none waits for its answer). It
// reports whether the window changed.
func (c *windowController) observe(now time.Time, bytes int64, streaming bool) bool {
	c.account(now)
	switch {
	case c.bytesSpoilt:
		return false
	case !streaming:
		c.bytesSpoilt = true
		return false
	case now.Sub(c.epochStart) < windowWarmup:
		return false
	case c.bytesStart.IsZero() || c.inFlight > c.w:
		if c.inFlight > c.w {
			c.bytesStart = time.Time{}
			return false
		}
		if c.inFlight == c.w { // from when the window is full, and not over it (after a cut)
			c.bytesStart, c.bytesFrom = now, bytes
		}
		return false
	}
	span := now.Sub(c.bytesStart).Seconds()
	if span < windowMinEpoch.Seconds() || c.busy/now.Sub(c.epochStart).Seconds() < windowSaturated*float64(c.w) {
		return false
	}
	rate := float64(bytes-c.bytesFrom) / span
	before := c.w
	switch {
	case !c.trial && c.baseW == 0:
		c.baseW, c.baseRate = c.w, rate
		c.set(now, c.grow(now))
	case c.trial && rate >= c.threshold():
		c.trial = false
		c.baseW, c.baseRate = c.w, rate
		c.set(now, c.grow(now))
	}
	return c.w != before
}

// threshold is the throughput a trial window must reach to be kept.
func (c *windowController) threshold() float64 {
	return c.baseRate * (1 + windowGain*float64(c.w-c.baseW)/float64(c.baseW))
}

// measure ends the epoch when it has measured enough, and decides.
func (c *windowController) measure(now time.Time) {
	span := now.Sub(c.epochStart).Seconds()
	if span < windowMinEpoch.Seconds() || c.n < max(2, (c.w+1)/2) || c.sumDur <= 0 {
		return
	}
	avg := c.busy / span // requests in flight, on average
	util := avg / float64(c.w)
	rate := min(avg, float64(c.w)) * float64(c.sumBytes) / c.sumDur.Seconds()
	switch {
	case util < windowSaturated:
		// Too little demand to fill the window: nothing to learn about more streams.
		c.trial, c.baseW, c.baseRate = false, 0, 0
		c.set(now, c.w)
	case c.trial:
		c.trial = false
		if rate >= c.threshold() {
			c.baseW, c.baseRate = c.w, rate
			c.set(now, c.grow(now))
			return
		}
		// A plateau: the streams added did not pay. Back to the window that did as well.
		c.slowStart = false
		c.holdUntil = now.Add(windowPlateauHold)
		c.set(now, c.baseW)
	default:
		c.baseW, c.baseRate = c.w, rate
		c.set(now, c.grow(now))
	}
}

// grow is the next window to try, or the window itself when growth is held.
func (c *windowController) grow(now time.Time) int {
	limit := c.cap
	if c.ceiling > 0 && now.Before(c.ceilingUntil) {
		limit = min(limit, c.ceiling-1)
	}
	if now.Before(c.holdUntil) || c.w >= limit {
		return c.w
	}
	next := c.w + max(1, c.w/4)
	if c.slowStart {
		next = 2 * c.w
	}
	next = min(next, limit)
	c.trial = next > c.w
	return next
}

// set moves to window w and begins a new epoch.
func (c *windowController) set(now time.Time, w int) {
	c.w = w
	c.epochStart, c.busy, c.lastEvent = now, 0, now
	c.sumBytes, c.sumDur, c.n = 0, 0, 0
	c.bytesStart, c.bytesSpoilt = time.Time{}, false
}
