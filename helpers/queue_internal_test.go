package helpers

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// queueBound bounds every wait of TestPartQueue. The test runs in a synctest bubble, whose clock
// moves only when every goroutine of the test is blocked: the bound is reached only by a next
// that would wait for ever (a queue that never ends), at once, and never by a slow machine.
const queueBound = 10 * time.Second

// TestPartQueue: next hands out the parts in order; a part given back with requeue comes out
// next; while a part is out, or a producer runs, next waits instead of reporting the end; a part
// queued again with resend (a part already sent, found to need sending again) comes out first;
// the end comes once nothing is queued, out or being produced; next returns at once when its
// context ends.
func TestPartQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), queueBound)
		defer cancel()
		q := newPartQueue()
		for i := range 3 {
			q.push(partJob{span: partSpan{index: i}})
		}
		end := q.producing()
		take := func() int {
			t.Helper()
			j, ok := q.next(ctx)
			if ctx.Err() != nil {
				t.Fatalf("next did not hand out a part within %v", queueBound)
			}
			if !ok {
				t.Fatal("the queue ended early")
			}
			return j.span.index
		}
		if a, b := take(), take(); a != 0 || b != 1 {
			t.Fatalf("took %d, %d; want 0, 1", a, b)
		}
		q.requeue(partJob{span: partSpan{index: 1}, retries: 0}) // a 429: back to the front
		if got := take(); got != 1 {
			t.Fatalf("took %d after requeue, want 1", got)
		}
		q.resend(partJob{span: partSpan{index: 7}}) // the producer found part 7 must go again
		if got := take(); got != 7 {
			t.Fatalf("took %d after resend, want 7", got)
		}
		if got := take(); got != 2 {
			t.Fatalf("took %d, want 2", got)
		}
		q.done()
		q.done()
		q.done()
		q.done() // parts 0, 1, 7 and 2 sent: only the producer keeps the queue open

		ended := make(chan bool, 1)
		go func() {
			_, ok := q.next(ctx)
			ended <- ok
		}()
		synctest.Wait() // the goroutine is blocked in next, or has returned
		select {
		case <-ended:
			t.Fatal("next reported the end (or returned) while a producer was still running")
		default:
		}
		end() // the producer is done: the waiting next reports the end
		if ok := <-ended; ok {
			t.Fatal("next returned a part from an empty queue")
		}
		if ctx.Err() != nil {
			t.Fatalf("next did not report the end within %v of the last producer's end", queueBound)
		}

		q2 := newPartQueue()
		q2.push(partJob{})
		if _, ok := q2.next(ctx); !ok {
			t.Fatal("no part")
		}
		cctx, cancel2 := context.WithCancel(ctx)
		cancel2()
		if _, ok := q2.next(cctx); ok { // a part is out: next would wait, but its context ended
			t.Fatal("next returned a part after its context ended")
		}
	})
}
