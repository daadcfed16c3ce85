package helpers

import (
	"context"
	"sync"
)

// partJob is a part waiting to be sent, or being sent.
type partJob struct {
	span partSpan
	// buf holds the part's bytes, for a plain reader (UploadReader); nil for an io.ReaderAt.
	buf *[]byte
	// retries counts the part's failed attempts that used up a retry (a 429 does not).
	retries int
}

// partQueue is the parts of one upload still to send. Workers take parts with next and end
// each with done, or give it back with requeue (a 429: the part goes to the front of the queue
// and will be sent again, without using up a retry). Producers (UploadReader's reader, or any
// pass that may find parts to send again, see resend) keep the queue open while they run: next
// reports the end only when no part is queued, none is out with a worker, and no producer runs.
type partQueue struct {
	mu        sync.Mutex
	jobs      []partJob
	out       int // parts taken by workers, not yet done or given back
	producers int
	changed   chan struct{} // closed and replaced on every change
}

func newPartQueue() *partQueue {
	return &partQueue{changed: make(chan struct{})}
}

func (q *partQueue) signalLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// push adds a part at the back.
func (q *partQueue) push(j partJob) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, j)
	q.signalLocked()
}

// requeue gives back a part taken with next, to be sent again before the others.
func (q *partQueue) requeue(j partJob) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.out--
	q.jobs = append([]partJob{j}, q.jobs...)
	q.signalLocked()
}

// resend queues again, at the front, a part that was sent already (its id is then replaced by
// the new one's). Call it only while a producer is registered (producing), so that the queue
// cannot have ended.
func (q *partQueue) resend(j partJob) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append([]partJob{j}, q.jobs...)
	q.signalLocked()
}

// done ends a part taken with next: it was sent, or it failed for good.
func (q *partQueue) done() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.out--
	q.signalLocked()
}

// producing registers a producer; the function it returns ends it.
func (q *partQueue) producing() (end func()) {
	q.mu.Lock()
	q.producers++
	q.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			q.producers--
			q.signalLocked()
		})
	}
}

// next takes the next part. It waits while the queue is empty but a part out with a worker may
// come back or a producer may add one; it returns false when nothing more will come, or when
// ctx ends.
func (q *partQueue) next(ctx context.Context) (partJob, bool) {
	for {
		q.mu.Lock()
		if len(q.jobs) > 0 {
			j := q.jobs[0]
			q.jobs = q.jobs[1:]
			q.out++
			q.mu.Unlock()
			return j, true
		}
		if q.out == 0 && q.producers == 0 {
			q.mu.Unlock()
			return partJob{}, false
		}
		ch := q.changed
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return partJob{}, false
		}
	}
}
