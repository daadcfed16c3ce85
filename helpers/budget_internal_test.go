package helpers

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// The budget's bookkeeping, with a clock of its own (b.now) where time matters. Waiting is
// observed through the budget's state (its waiters), never through sleeps.

// testBudget is a fixed budget of n slots whose clock stands still at a time the test moves.
func testBudget(n int) (*budget, *time.Time) {
	now := time.Unix(1_700_000_000, 0)
	b := newBudget(n)
	b.now = func() time.Time { return now }
	return b, &now
}

// TestBudgetCancelledWaiterLeavesTheQueue: an acquire whose context ends takes itself out of
// the queue, and only itself, wherever it stands in it: the one waiting beside it stays, and
// gets the slot when it frees.
func TestBudgetCancelledWaiterLeavesTheQueue(t *testing.T) {
	for _, cancelFirst := range []bool{true, false} {
		b, _ := testBudget(1)
		held, err := b.acquire(bounded(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		type result struct {
			name string
			err  error
		}
		results := make(chan result, 2)
		start := func(name string, ctx context.Context) *slotWaiter {
			n := waitersOf(b)
			go func() {
				_, err := b.acquire(ctx, nil)
				results <- result{name, err}
			}()
			untilWaiting(t, b, n+1)
			b.mu.Lock()
			defer b.mu.Unlock()
			return b.waiters[n]
		}
		var patient *slotWaiter
		if cancelFirst {
			start("cancelled", ctx)
			patient = start("patient", bounded(t))
		} else {
			patient = start("patient", bounded(t))
			start("cancelled", ctx)
		}
		cancel()
		if r := <-results; r.name != "cancelled" || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("cancelFirst %v: %s returned first with %v, want the cancelled one with context.Canceled", cancelFirst, r.name, r.err)
		}
		b.mu.Lock()
		left := slices.Clone(b.waiters)
		b.mu.Unlock()
		if len(left) != 1 || left[0] != patient {
			t.Fatalf("cancelFirst %v: waiters %v after the cancel, want only the patient one %p", cancelFirst, left, patient)
		}
		b.release(held, ended{outcome: outcomeOK})
		if r := <-results; r.name != "patient" || r.err != nil {
			t.Errorf("cancelFirst %v: %s got %v, want the patient one granted the slot", cancelFirst, r.name, r.err)
		}
	}
}

// TestBudgetThrottleBackoff: 429s without a delay from the server pause the budget for its own
// backoff, asked for with the count of such 429s in a row (0, 1, 2 …); a success starts the
// count again; a 429 with a delay pauses for that delay (at least minThrottlePause) and does
// not count.
func TestBudgetThrottleBackoff(t *testing.T) {
	b, now := testBudget(4)
	defer func() { // the timer of the last pause reads the clock: stopped before the test ends
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.pauseTimer != nil {
			b.pauseTimer.Stop()
		}
	}()
	var asked []int
	backoff := func(n int) time.Duration { asked = append(asked, n); return time.Duration(n+1) * time.Second }
	throttle := func(after time.Duration) {
		t.Helper()
		*now = now.Add(time.Hour) // the pause of the last 429 is over
		tk, err := b.acquire(bounded(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		b.release(tk, ended{outcome: outcomeThrottled, retryAfter: after, backoff: backoff})
	}
	succeed := func() {
		t.Helper()
		*now = now.Add(time.Hour)
		tk, err := b.acquire(bounded(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		b.release(tk, ended{outcome: outcomeOK})
	}
	pause := func() time.Duration {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.pausedUntil.Sub(*now)
	}
	throttle(0)
	if p := pause(); p != time.Second {
		t.Errorf("after the first 429: paused for %v, want the backoff of 1s", p)
	}
	throttle(0)
	throttle(0)
	if p := pause(); p != 3*time.Second {
		t.Errorf("after the third 429 in a row: paused for %v, want 3s", p)
	}
	succeed()
	throttle(0)
	throttle(5 * time.Second) // the server's delay: no backoff asked
	if p := pause(); p != 5*time.Second {
		t.Errorf("after a 429 asking for 5s: paused for %v", p)
	}
	throttle(time.Millisecond)
	if p := pause(); p != minThrottlePause {
		t.Errorf("after a 429 asking for 1ms: paused for %v, want the minimum of %v", p, minThrottlePause)
	}
	if want := []int{0, 1, 2, 0}; len(asked) != len(want) || asked[0] != 0 || asked[1] != 1 || asked[2] != 2 || asked[3] != 0 {
		t.Errorf("backoff asked for %v, want %v", asked, want)
	}
}

// TestBudgetOverloadPause: a 503 that says how long to wait pauses the budget for that long; one
// that does not, or another failure, does not pause it.
func TestBudgetOverloadPause(t *testing.T) {
	for _, tc := range []struct {
		e    ended
		want time.Duration
	}{
		{ended{outcome: outcomeOverloaded, retryAfter: 2 * time.Second}, 2 * time.Second},
		{ended{outcome: outcomeOverloaded}, 0},
		{ended{outcome: outcomeFailed, retryAfter: 2 * time.Second}, 0},
		{ended{outcome: outcomeOK}, 0},
	} {
		b, now := testBudget(2)
		tk, err := b.acquire(bounded(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		b.release(tk, tc.e)
		b.mu.Lock()
		paused := b.pausedUntil.Sub(*now)
		inFlight := b.inFlight
		b.mu.Unlock()
		if tc.want == 0 && paused > 0 || tc.want > 0 && paused != tc.want {
			t.Errorf("%+v: paused for %v, want %v", tc.e, paused, tc.want)
		}
		if inFlight != 0 {
			t.Errorf("%+v: %d in flight after the release", tc.e, inFlight)
		}
	}
}

// TestBudgetStarved: starved reports that the API has answered 429, and nothing succeeded, for
// longer than d, counted from the first 429 since the last success: not before any 429, not
// from a later 429, and never right after a success.
func TestBudgetStarved(t *testing.T) {
	b, now := testBudget(1)
	*now = now.Add(time.Hour)
	if b.starved(0) {
		t.Error("starved before any 429")
	}
	tk := grant(t, b)
	b.release(tk, ended{outcome: outcomeThrottled})
	*now = now.Add(time.Second) // past the pause the 429 set too
	if b.starved(time.Second) {
		t.Error("starved after exactly d")
	}
	if !b.starved(time.Second - 1) {
		t.Error("not starved after more than d since the first 429")
	}
	tk = grant(t, b)
	b.release(tk, ended{outcome: outcomeThrottled}) // a later 429 does not move the start
	*now = now.Add(minThrottlePause)                // past the pause the 429 set
	if !b.starved(time.Second) {
		t.Error("a second 429 restarted the count")
	}
	tk = grant(t, b)
	b.release(tk, ended{outcome: outcomeFailed})
	if !b.starved(time.Second) {
		t.Error("a failure counted as a success")
	}
	tk = grant(t, b)
	b.release(tk, ended{outcome: outcomeOK})
	if b.starved(0) {
		t.Error("starved right after a success")
	}
	*now = now.Add(time.Hour)
	if b.starved(0) {
		t.Error("starved an hour after a success without a 429 since")
	}
}

// adaptiveBudget is an adaptive budget whose clock stands still at a time the test moves.
func adaptiveBudget() (*budget, *time.Time) {
	b, now := testBudget(0)
	b.fixed = 0
	b.ctl = newWindowController(DefaultConcurrency, MaxConcurrency, *now)
	return b, now
}

// TestBudgetCountsBytesForTheController: the bytes handed to the connections are counted, and
// the adaptive controller looks at them once every observeStep bytes (not at every Read); a
// fixed budget, which has no controller, counts nothing.
func TestBudgetCountsBytesForTheController(t *testing.T) {
	b, _ := adaptiveBudget()
	b.add(0)
	b.add(observeStep - 1)
	if s, o := b.sent.Load(), b.lastObserved.Load(); s != observeStep-1 || o != 0 {
		t.Errorf("after %d bytes: counted %d, observed at %d; want %d counted and no observation yet", observeStep-1, s, o, observeStep-1)
	}
	b.add(1)
	if s, o := b.sent.Load(), b.lastObserved.Load(); s != observeStep || o != observeStep {
		t.Errorf("after observeStep bytes: counted %d, observed at %d; want both %d", s, o, observeStep)
	}
	b.add(1)
	if o := b.lastObserved.Load(); o != observeStep {
		t.Errorf("a byte more: observed at %d, want still %d", o, observeStep)
	}
	b.add(observeStep)
	if o := b.lastObserved.Load(); o != 2*observeStep+1 {
		t.Errorf("another observeStep bytes: observed at %d, want %d", o, 2*observeStep+1)
	}

	fixed, _ := testBudget(3)
	fixed.add(observeStep)
	if s := fixed.sent.Load(); s != 0 {
		t.Errorf("a fixed budget counted %d bytes", s)
	}
}

// TestBudgetDrainingRequests: a request that handed over its whole body (bodySent) counts as
// draining until its release says so; while one drains, the controller is told the bytes are
// not streaming (it then trusts only the answers).
func TestBudgetDrainingRequests(t *testing.T) {
	b, now := adaptiveBudget()
	tk, err := b.acquire(bounded(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.bodySent()
	if b.draining != 1 || !b.ctl.bytesSpoilt {
		t.Errorf("after bodySent: draining %d, controller's bytes spoilt %v; want 1 and true", b.draining, b.ctl.bytesSpoilt)
	}
	*now = now.Add(time.Second)
	b.release(tk, ended{outcome: outcomeOK, bytes: 10, drained: true})
	if b.draining != 0 {
		t.Errorf("after the release: draining %d, want 0", b.draining)
	}
}

// TestBudgetBytesGrowTheWindowOnlyWhileAllStream: with the window full and every request still
// handing over its body, the bytes counted by add give the controller a measurement after the
// warm-up, and the window grows; with one request waiting for its answer (bodySent), the same
// bytes prove nothing and the window stays.
func TestBudgetBytesGrowTheWindowOnlyWhileAllStream(t *testing.T) {
	for _, draining := range []bool{false, true} {
		b, now := adaptiveBudget()
		for range DefaultConcurrency {
			if _, err := b.acquire(bounded(t), nil); err != nil {
				t.Fatal(err)
			}
		}
		if draining {
			b.bodySent()
		}
		*now = now.Add(windowWarmup)
		b.add(observeStep) // the window is full: the measurement starts
		*now = now.Add(2 * windowMinEpoch)
		b.add(100 * observeStep)
		want := DefaultConcurrency
		if !draining {
			want = 2 * DefaultConcurrency
		}
		if w := b.window(); w != want {
			t.Errorf("draining %v: window %d after the bytes, want %d", draining, w, want)
		}
	}
}

// TestBudgetTellsTheController: a release tells the adaptive controller how its request ended:
// a success counts in the measurement, a failure does not; a 503 or a 429 cuts the window, a
// success or another failure does not.
func TestBudgetTellsTheController(t *testing.T) {
	for _, tc := range []struct {
		o      outcome
		window int
		counts int
	}{
		{outcomeOK, DefaultConcurrency, 1},
		{outcomeFailed, DefaultConcurrency, 0},
		{outcomeOverloaded, DefaultConcurrency / 2, 0},
		{outcomeThrottled, DefaultConcurrency / 2, 0},
	} {
		b, now := adaptiveBudget()
		tk, err := b.acquire(bounded(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		*now = now.Add(10 * time.Millisecond)
		b.release(tk, ended{outcome: tc.o, bytes: 100})
		if w := b.window(); w != tc.window || b.ctl.n != tc.counts {
			t.Errorf("outcome %d: window %d and %d request(s) measured, want %d and %d", tc.o, w, b.ctl.n, tc.window, tc.counts)
		}
	}
}

// TestBudgetAdmit: admit announces a slot for a file while the window has room for it beside
// the requests in flight, waiting and already announced; beyond that it waits (here its context
// has ended, so it returns at once). A settled admission frees its slot; settling twice does
// not free two.
func TestBudgetAdmit(t *testing.T) {
	b, _ := testBudget(3)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	tk, err := b.acquire(bounded(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	a1, err1 := b.admit(bounded(t))
	a2, err2 := b.admit(bounded(t))
	if err1 != nil || err2 != nil || b.pending != 2 {
		t.Fatalf("two admissions beside one request in a window of 3: %v %v, pending %d", err1, err2, b.pending)
	}
	if _, err := b.admit(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("a third admission in a full window: %v, want it to wait (context.Canceled)", err)
	}
	b.settle(a1)
	b.settle(a1)
	if b.pending != 1 {
		t.Fatalf("pending %d after settling one admission (twice), want 1", b.pending)
	}
	if _, err := b.admit(done); err != nil {
		t.Fatalf("no admission with a slot free: %v", err)
	}
	if _, err := b.admit(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("an admission in a full window again: %v", err)
	}
	// The first acquire of an admitted file settles its admission: it waits as a request now.
	b.release(tk, ended{outcome: outcomeOK})
	if _, err := b.acquire(bounded(t), a2); err != nil || !a2.settled || b.pending != 1 {
		t.Errorf("acquire with an admission: %v, settled %v, pending %d; want settled and 1 pending", err, a2.settled, b.pending)
	}
}

// TestBudgetAdmitCountsWaiters: a request waiting for a slot counts against the room an
// admission needs, as one in flight does.
func TestBudgetAdmitCountsWaiters(t *testing.T) {
	b, _ := testBudget(1)
	tk, err := b.acquire(bounded(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error)
	ctx := bounded(t)
	go func() {
		w, err := b.acquire(ctx, nil)
		if err == nil {
			b.release(w, ended{outcome: outcomeOK})
		}
		got <- err
	}()
	untilWaiting(t, b, 1)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.admit(done); !errors.Is(err, context.Canceled) {
		t.Errorf("an admission with one request in flight and one waiting, in a window of 1: %v", err)
	}
	b.release(tk, ended{outcome: outcomeOK})
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
