package helpers

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// budget is the number of requests carrying file bytes (parts, and the POST /files of
// UploadFiles' small files) allowed in flight: fixed, or adaptive (windowController). One upload
// has its own; UploadFiles shares one among all its files. Slots are granted in the order they
// are asked for. After a 429 no slot is granted until the delay the server asked for has passed
// (a pause for every request of the budget, not only the one refused).
type budget struct {
	now func() time.Time

	mu       sync.Mutex
	fixed    int               // > 0: a fixed window
	ctl      *windowController // adaptive, when fixed == 0
	inFlight int
	// pending counts slots announced by UploadFiles for files admitted but not yet asking.
	pending     int
	waiters     []*slotWaiter
	pausedUntil time.Time
	pauseTimer  *time.Timer
	// refusedSince is when the first 429 came since a request of the budget last succeeded
	// (zero: none since): a 429 gives up only when the API has refused, and nothing has
	// succeeded, for the client's Timeout. (Counted from the last success instead, parts slower
	// than Timeout, as 64 MiB over a slow uplink are, made the first 429 fail the upload.)
	refusedSince time.Time
	// throttled counts consecutive 429s without a delay from the server (their backoff).
	throttled int
	// changed is closed and replaced whenever a slot may have become free (admission waits on it).
	changed chan struct{}
	// draining counts requests in flight that have handed over their whole body and wait for
	// the answer (the adaptive controller then trusts no count of bytes).
	draining int

	sent         atomic.Int64 // bytes handed to the connections by the budget's requests
	lastObserved atomic.Int64
}

// observeStep is how many bytes go out between two observations of the adaptive controller.
const observeStep = 64 << 10

// ended says how a request that held a slot ended, for release.
type ended struct {
	outcome outcome
	// bytes the request carried (counted for the throughput when it succeeded).
	bytes int64
	// drained: the request had handed over its whole body (bodySent was called).
	drained bool
	// retryAfter is the delay a 429 asked for (0: none given); backoff, the budget's own delay
	// after the n-th 429 in a row without one.
	retryAfter time.Duration
	backoff    func(n int) time.Duration
}

// slotWaiter is an acquire waiting for a slot; granted is set, under the budget's lock, when it
// gets one.
type slotWaiter struct {
	ch      chan struct{}
	granted bool
}

// ticket is a granted slot: when its request started and the controller's generation then.
type ticket struct {
	start time.Time
	gen   int
}

// outcome is how a request that held a slot ended, for the controller.
type outcome int

const (
	// outcomeOK: the request succeeded.
	outcomeOK outcome = iota
	// outcomeFailed: it failed for another reason (a connection error, a 500, a cancel).
	outcomeFailed
	// outcomeOverloaded: 503, the server says it is overloaded: the window is cut.
	outcomeOverloaded
	// outcomeThrottled: 429, the server's rate limit: the window is cut and the budget pauses.
	outcomeThrottled
)

// newBudget makes a budget of concurrency slots, or an adaptive one when concurrency is 0.
func newBudget(concurrency int) *budget {
	b := &budget{now: time.Now, changed: make(chan struct{})}
	if concurrency > 0 {
		b.fixed = concurrency
	} else {
		b.ctl = newWindowController(DefaultConcurrency, MaxConcurrency, b.now())
	}
	return b
}

// window is the number of requests allowed in flight now.
func (b *budget) window() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.windowLocked()
}

func (b *budget) windowLocked() int {
	if b.ctl != nil {
		return b.ctl.window()
	}
	return b.fixed
}

// admission is a slot announced by admit for a file of UploadFiles; its first acquire (or
// settle) hands it back.
type admission struct{ settled bool }

// acquire waits for a slot, or for ctx to end. claim, when set, is the admission of the file
// asking: it is settled as the request starts waiting, so that the file's demand is counted
// once, as announced or as waiting.
func (b *budget) acquire(ctx context.Context, claim *admission) (ticket, error) {
	if err := ctx.Err(); err != nil {
		return ticket{}, err
	}
	b.mu.Lock()
	b.settleLocked(claim)
	w := &slotWaiter{ch: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.dispatchLocked()
	b.mu.Unlock()
	select {
	case <-w.ch:
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		if w.granted { // granted as ctx ended: give the slot back
			b.releaseLocked(ticket{}, outcomeFailed, 0) // the controller never saw it start
		} else {
			b.removeWaiterLocked(w)
		}
		return ticket{}, ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := ticket{start: b.now()}
	if b.ctl != nil {
		t.gen = b.ctl.started(t.start)
	}
	return t, nil
}

func (b *budget) removeWaiterLocked(w *slotWaiter) {
	for i, x := range b.waiters {
		if x == w {
			b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
			break
		}
	}
	b.signalLocked()
}

// dispatchLocked grants slots to the waiters, first come first served, while the window has
// room and no pause holds.
func (b *budget) dispatchLocked() {
	now := b.now()
	if now.Before(b.pausedUntil) {
		if b.pauseTimer == nil {
			b.pauseTimer = time.AfterFunc(b.pausedUntil.Sub(now), func() {
				b.mu.Lock()
				defer b.mu.Unlock()
				b.pauseTimer = nil
				b.dispatchLocked()
				b.signalLocked()
			})
		}
		return
	}
	for len(b.waiters) > 0 && b.inFlight < b.windowLocked() {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		w.granted = true
		b.inFlight++
		close(w.ch)
	}
}

// release gives a slot back with how its request ended. After a 429 the budget pauses for the
// delay the server asked for, or for a backoff of its own; after a 503, for the delay it asked
// for, if any.
func (b *budget) release(t ticket, e ended) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.drained {
		b.draining--
	}
	switch {
	case e.outcome == outcomeThrottled:
		d := e.retryAfter
		if d <= 0 && e.backoff != nil {
			d = e.backoff(b.throttled)
			b.throttled++
		}
		b.pauseLocked(max(d, minThrottlePause))
	case e.outcome == outcomeOverloaded && e.retryAfter > 0:
		b.pauseLocked(e.retryAfter) // a 503 that says how long to wait: nobody starts before
	}
	b.releaseLocked(t, e.outcome, e.bytes)
}

// add counts n bytes handed to a connection; every observeStep bytes the adaptive controller
// measures (and may open the window).
func (b *budget) add(n int64) {
	if n <= 0 || b.ctl == nil {
		return
	}
	total := b.sent.Add(n)
	if total-b.lastObserved.Load() < observeStep || !b.mu.TryLock() {
		return
	}
	defer b.mu.Unlock()
	b.lastObserved.Store(total)
	if b.ctl.observe(b.now(), total, b.draining == 0) {
		b.dispatchLocked()
		b.signalLocked()
	}
}

// bodySent says a request has handed over its whole body and now waits for its answer; its
// release must then say drained.
func (b *budget) bodySent() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draining++
	if b.ctl != nil {
		b.ctl.observe(b.now(), b.sent.Load(), false)
	}
}

// minThrottlePause is the shortest pause after a 429, so that a server asking for no delay
// (retry-after-ms: 0) is not hammered.
const minThrottlePause = 20 * time.Millisecond

func (b *budget) pauseLocked(d time.Duration) {
	if until := b.now().Add(d); until.After(b.pausedUntil) {
		b.pausedUntil = until
		if b.pauseTimer != nil && b.pauseTimer.Stop() {
			b.pauseTimer = nil
		}
	}
}

func (b *budget) releaseLocked(t ticket, o outcome, bytes int64) {
	now := b.now()
	b.inFlight--
	switch {
	case o == outcomeOK:
		b.refusedSince = time.Time{}
		b.throttled = 0
	case o == outcomeThrottled && b.refusedSince.IsZero():
		b.refusedSince = now
	}
	if b.ctl != nil && !t.start.IsZero() {
		switch o {
		case outcomeThrottled:
			b.ctl.congested(now, t.gen)
		case outcomeOverloaded:
			b.ctl.overloaded(now, t.gen)
		}
		b.ctl.finished(now, t.start, bytes, o == outcomeOK)
	}
	b.dispatchLocked()
	b.signalLocked()
}

// signalLocked wakes whoever waits for a change (UploadFiles' admission).
func (b *budget) signalLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// starved reports whether the API has answered 429, and no request of the budget has
// succeeded, for d.
func (b *budget) starved(d time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.refusedSince.IsZero() && b.now().Sub(b.refusedSince) > d
}

// admit waits until the budget could start one more request at once: a slot free that no
// request waits for, and none announced (pending) for it. It then announces one; the admission
// is settled by the file's first acquire, or by settle if it needs none.
func (b *budget) admit(ctx context.Context) (*admission, error) {
	for {
		b.mu.Lock()
		if !b.now().Before(b.pausedUntil) && b.inFlight+len(b.waiters)+b.pending < b.windowLocked() {
			b.pending++
			b.mu.Unlock()
			return &admission{}, nil
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// settle hands back a slot announced by admit, if its file's first acquire did not.
func (b *budget) settle(claim *admission) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settleLocked(claim)
}

func (b *budget) settleLocked(claim *admission) {
	if claim == nil || claim.settled {
		return
	}
	claim.settled = true
	b.pending--
	b.signalLocked()
}
