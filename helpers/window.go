package helpers

import "time"

// Adaptive concurrency: the window of part requests in flight, grown while the measured
// throughput grows and cut when the server says it is overloaded (429, 503), as TCP's congestion
// control does (AIMD). windowController decides; budget.go applies its decisions. The controller
// keeps no clock and starts no goroutine: every method takes the time, so its decisions can be
// replayed step by step (window_internal_test.go).
//
// The decisions, in order of precedence:
//   - 429 or 503 for a request started after the last cut: the window is halved (at least 1),
//     growth stops doubling for good, and the number in flight when the signal came (the
//     "ceiling") is not reached again for windowCeilingHold. Signals from requests started
//     before that cut are its echo: they do not cut again, but lower the ceiling to the number
//     in flight when they came.
//   - every measurement (an epoch, below) of a window that was kept busy: if the window had just
//     grown, the growth is kept when the throughput grew by at least windowGain of the
//     proportional gain (doubling 4 to 8 must bring +50%), and the window grows again; otherwise
//     the window goes back to what it was (a plateau: more streams no longer help) and stays
//     there for windowPlateauHold before it probes again.
//   - growth doubles the window while no plateau or cut was met ("slow start"), then adds a
//     quarter (at least 1); never above the cap, nor at or above an active ceiling.
//
// An epoch: after the window changes, windowWarmup passes unmeasured (new streams first fill
// their sockets' buffers, which would pass for throughput; after a cut, the requests above the
// new window must also have ended), then the bytes handed to the connections are counted for
// max(windowMinEpoch, the mean duration of a request), at most windowMaxEpoch: long enough
// that parts ending and starting, each with a burst into the socket buffers, average out, and
// that new connections are past TCP's slow start. Growth may be confirmed early, from
// windowMinEpoch on, when the gain is already clear; a plateau is called only on a full epoch.
// A measurement counts only if the window was kept busy (on average windowSaturated of its
// slots in flight): at the end of an upload, or when the caller has too little to send, more
// streams would prove nothing.

const (
	// windowWarmup is the time after a change of the window that is not measured.
	windowWarmup = 150 * time.Millisecond
	// windowMinEpoch and windowMaxEpoch bound the length of a measurement.
	windowMinEpoch = 250 * time.Millisecond
	windowMaxEpoch = 2 * time.Second
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

	// The epoch under way: it began at epochStart; measuring once the warm-up has passed, from
	// measureStart, when measureBytes had been sent.
	epochStart   time.Time
	measuring    bool
	measureStart time.Time
	measureBytes int64
	// busy integrates the requests in flight over time (slot-seconds) since measureStart.
	busy      float64
	inFlight  int
	lastEvent time.Time

	// meanDur is the moving average of successful requests' durations; 0 until the first.
	meanDur time.Duration

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
	if c.measuring {
		from := c.lastEvent
		if from.Before(c.measureStart) {
			from = c.measureStart
		}
		if d := now.Sub(from); d > 0 {
			c.busy += float64(c.inFlight) * d.Seconds()
		}
	}
	if now.After(c.lastEvent) {
		c.lastEvent = now
	}
}

// started records a request starting; it returns the generation to hand back to congested.
func (c *windowController) started(now time.Time) int {
	c.account(now)
	c.inFlight++
	return c.gen
}

// finished records a request ending after d; ok: it succeeded, and its duration counts towards
// the length of an epoch.
func (c *windowController) finished(now time.Time, d time.Duration, ok bool) {
	c.account(now)
	c.inFlight = max(0, c.inFlight-1)
	if ok && d > 0 {
		if c.meanDur == 0 {
			c.meanDur = d
		} else {
			c.meanDur = (3*c.meanDur + d) / 4
		}
	}
}

// congested records a 429 or 503 for a request started in generation gen (call it before
// finished, so that the request still counts as in flight). It reports whether the window was
// cut.
func (c *windowController) congested(now time.Time, gen int) bool {
	c.account(now)
	if gen != c.gen {
		// Started before the last cut, which already answered this overload; but the server
		// refused it with fewer in flight: the ceiling is lower.
		if c.ceiling > 0 {
			c.ceiling = min(c.ceiling, max(1, c.inFlight))
		}
		return false
	}
	c.ceiling = max(1, c.inFlight)
	c.ceilingUntil = now.Add(windowCeilingHold)
	next := max(1, int(float64(c.w)*windowCut))
	c.slowStart, c.trial, c.baseW, c.baseRate = false, false, 0, 0
	c.gen++
	c.set(now, next, 0)
	return true
}

// observe is called as bytes go out, with the running total sent: it ends the epoch when it is
// due and decides. It reports whether the window changed.
func (c *windowController) observe(now time.Time, bytes int64) bool {
	c.account(now)
	if !c.measuring {
		// After a cut, the requests above the new window drain first: measured, they would
		// credit the smaller window with the larger one's throughput.
		if now.Sub(c.epochStart) < windowWarmup || c.inFlight > c.w {
			return false
		}
		c.startMeasure(now, bytes)
		return false
	}
	span := now.Sub(c.measureStart)
	if span < windowMinEpoch {
		return false
	}
	// A full epoch lasts a request's mean duration (unknown until one has ended). A shorter one
	// may confirm growth, never call a plateau: that waits for the full epoch.
	early := c.meanDur == 0 || span < min(c.meanDur, windowMaxEpoch)
	rate := float64(bytes-c.measureBytes) / span.Seconds()
	util := c.busy / (span.Seconds() * float64(c.w))
	before := c.w
	c.decide(now, rate, util, bytes, early)
	return c.w != before
}

func (c *windowController) startMeasure(now time.Time, bytes int64) {
	c.measuring, c.measureStart, c.measureBytes, c.busy = true, now, bytes, 0
	c.lastEvent = now
}

// decide ends an epoch that measured rate bytes per second with util of the window busy, or,
// early, lets it go on when what it measured so far would not be decisive.
func (c *windowController) decide(now time.Time, rate, util float64, bytes int64, early bool) {
	gained := c.trial && rate >= c.baseRate*(1+windowGain*float64(c.w-c.baseW)/float64(c.baseW))
	switch {
	case early && (util < windowSaturated || c.trial && !gained):
		return
	case util < windowSaturated:
		// Too little demand to fill the window: nothing to learn about more streams.
		c.trial, c.baseW, c.baseRate = false, 0, 0
		c.set(now, c.w, bytes)
	case c.trial:
		c.trial = false
		if gained {
			c.baseW, c.baseRate = c.w, rate
			c.set(now, c.grow(now), bytes)
			return
		}
		// A plateau: the streams added did not pay. Back to the window that did as well.
		c.slowStart = false
		c.holdUntil = now.Add(windowPlateauHold)
		c.set(now, c.baseW, bytes)
	default:
		c.baseW, c.baseRate = c.w, rate
		c.set(now, c.grow(now), bytes)
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

// set moves to window w: a new epoch, with a warm-up when the window changed.
func (c *windowController) set(now time.Time, w int, bytes int64) {
	if w != c.w {
		c.w = w
		c.epochStart, c.measuring = now, false
		return
	}
	c.startMeasure(now, bytes)
}
