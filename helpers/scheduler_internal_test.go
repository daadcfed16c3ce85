package helpers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestClassify: what each answer tells the budget.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err   error
		want  outcome
		after time.Duration
	}{
		{&APIError{StatusCode: 429, RetryAfter: time.Second}, outcomeThrottled, time.Second},
		{fmt.Errorf("part 3: %w", &APIError{StatusCode: 429}), outcomeThrottled, 0},
		{&APIError{StatusCode: 429, Code: "insufficient_quota"}, outcomeFailed, 0},
		{&APIError{StatusCode: 503, RetryAfter: 2 * time.Second}, outcomeOverloaded, 2 * time.Second},
		{&APIError{StatusCode: 500}, outcomeFailed, 0},
		{errors.New("connection reset"), outcomeFailed, 0},
		{context.Canceled, outcomeFailed, 0},
	} {
		if got, after := classify(tc.err); got != tc.want || after != tc.after {
			t.Errorf("classify(%v) = %v, %v; want %v, %v", tc.err, got, after, tc.want, tc.after)
		}
	}
}

// TestBudgetPausesAfterA429: after a 429 no slot is granted before the delay the server asked
// for (the clock is the budget's own, moved by hand), and an adaptive window is halved; a
// waiter held by the pause is woken by the pause's timer, with nothing else happening.
func TestBudgetPausesAfterA429(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b := newBudget(0)
	b.now = func() time.Time { return now }
	b.ctl = newWindowController(DefaultConcurrency, MaxConcurrency, now)
	tk, err := b.acquire(bounded(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.release(tk, ended{outcome: outcomeThrottled, retryAfter: time.Hour})
	if w := b.window(); w != DefaultConcurrency/2 {
		t.Errorf("window %d after a 429, want %d", w, DefaultConcurrency/2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.acquire(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a slot was granted within the hour the server asked for: %v", err)
	}
	now = now.Add(time.Hour + time.Second) // the pause is over
	b.mu.Lock()
	b.dispatchLocked()
	b.mu.Unlock()
	if _, err := b.acquire(bounded(t), nil); err != nil {
		t.Fatalf("no slot once the pause was over: %v", err)
	}

	// The timer: a waiter queued during a pause gets its slot when the pause ends, though no
	// request ends and nobody dispatches. The pause is 20 ms of the timer's (real) clock; the
	// budget's clock is moved past it by hand, so that the timer's dispatch finds it over.
	var clock atomic.Int64
	clock.Store(time.Unix(1_700_000_000, 0).UnixNano())
	b = newBudget(1)
	b.now = func() time.Time { return time.Unix(0, clock.Load()) }
	tk, err = b.acquire(bounded(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.release(tk, ended{outcome: outcomeThrottled, retryAfter: 20 * time.Millisecond})
	granted := make(chan error, 1)
	go func() {
		_, err := b.acquire(context.Background(), nil) // bounded by the select below
		granted <- err
	}()
	untilWaiting(t, b, 1)
	clock.Add(int64(time.Hour)) // the pause is over by the budget's clock; only the timer can tell the waiter
	select {
	case err := <-granted:
		if err != nil {
			t.Fatalf("the waiter got %v, want its slot", err)
		}
	case <-time.After(10 * time.Second): // a bound for a failing test, far above the 20 ms
		t.Fatal("the waiter held by the pause was never woken: nothing ends a pause but another request")
	}
}

// TestSchedulingOfAPlainReaderIsFixed: with Concurrency 0, a plain reader (whose parts are held
// in buffers, one per part in flight) gets a fixed budget of DefaultConcurrency, while an
// io.ReaderAt gets the adaptive window; a Concurrency given is kept for both.
func TestSchedulingOfAPlainReaderIsFixed(t *testing.T) {
	for _, tc := range []struct {
		name        string
		src         *uploadSource
		concurrency int
		fixed       int // 0: adaptive
	}{
		{"plain reader, 0", &uploadSource{stream: strings.NewReader("x"), size: 1}, 0, DefaultConcurrency},
		{"plain reader, 2", &uploadSource{stream: strings.NewReader("x"), size: 1}, 2, 2},
		{"reader-at, 0", &uploadSource{at: strings.NewReader("x"), size: 1}, 0, 0},
		{"reader-at, 2", &uploadSource{at: strings.NewReader("x"), size: 1}, 2, 2},
	} {
		o := UploadOptions{Concurrency: tc.concurrency}
		b, q := o.scheduling(tc.src)
		if q == nil || b.fixed != tc.fixed || (b.ctl == nil) != (tc.fixed != 0) || o.Concurrency != tc.fixed {
			t.Errorf("%s: fixed %d, adaptive %v, Concurrency %d; want fixed %d (0: adaptive)", tc.name, b.fixed, b.ctl != nil, o.Concurrency, tc.fixed)
		}
	}
}
