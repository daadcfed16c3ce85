package helpers

import (
	"context"
	"testing"
)

// TestPartQueue: next hands out the parts in order; a part given back with requeue comes out
// next; while a part is out, or a producer runs, next waits instead of reporting the end; a part
// queued again with resend (a part already sent, found to need sending again) comes out first;
// the end comes once nothing is queued, out or being produced; next returns at once when its
// context ends.
func TestPartQueue(t *testing.T) {
	ctx := context.Background()
	q := newPartQueue()
	for i := range 3 {
		q.push(partJob{span: partSpan{index: i}})
	}
	end := q.producing()
	take := func() int {
		t.Helper()
		j, ok := q.next(ctx)
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

	ended := make(chan bool)
	go func() {
		_, ok := q.next(ctx)
		ended <- ok
	}()
	end() // the producer is done: the waiting next reports the end
	if ok := <-ended; ok {
		t.Fatal("next returned a part from an empty queue")
	}

	q2 := newPartQueue()
	q2.push(partJob{})
	if _, ok := q2.next(ctx); !ok {
		t.Fatal("no part")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok := q2.next(cctx); ok { // a part is out: next would wait, but its context ended
		t.Fatal("next returned a part after its context ended")
	}
}
