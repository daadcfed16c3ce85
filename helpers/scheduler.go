package helpers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sync"
	"time"
)

// The scheduler of an upload's parts: a queue of parts (queue.go), workers that take them, and
// a budget of requests in flight (budget.go) that is fixed (UploadOptions.Concurrency) or
// adaptive (window.go), and shared by every file of an UploadFiles.

// scheduling returns the budget an upload of src uses (UploadFiles' shared one, or its own) and
// a new queue. A plain reader's parts are held in buffers, one per part in flight, so an
// adaptive window would make memory grow with it: a plain reader gets a fixed budget
// (DefaultConcurrency when Concurrency is 0).
func (o *UploadOptions) scheduling(src *uploadSource) (*budget, *partQueue) {
	if src.stream != nil && o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	b := o.shared
	if b == nil {
		b = newBudget(o.Concurrency)
	}
	return b, newPartQueue()
}

// sendParts is the scheduler: it sends every part not yet done through the upload's queue
// (queue.go), each attempt holding a slot of the budget (budget.go: fixed Concurrency, or the
// adaptive window, shared by all the files of an UploadFiles). A part answered 429 goes back to
// the queue (requeue) without using up a retry. The first error cancels ctx (through cancel) and
// is returned. For a plain reader, the parts are read here in file order (h receives the bytes
// as they are read) into a pool of Concurrency+1 buffers, and, after the last, the reader must
// end.
func (u *upload) sendParts(ctx context.Context, cancel context.CancelCauseFunc, h hash.Hash) error {
	q := u.queue
	var pool chan *[]byte
	var stream *streamReader
	endFeed := func() {}
	if u.src.stream != nil {
		stream = newStreamReader(u.src.stream)
		// Concurrency+1 buffers: one being filled while Concurrency parts are in flight.
		pool = make(chan *[]byte, u.opts.Concurrency+1)
		for range u.opts.Concurrency + 1 {
			pool <- nil // allocated on first use, at the size the parts need
		}
		endFeed = q.producing()
	} else {
		for _, span := range u.parts {
			if u.ids[span.index] == "" { // not done before, per the checkpoint (files only)
				q.push(partJob{span: span})
			}
		}
	}

	// Parts to send again, found by the md5 pass while this runs (the requeue hook, resume.go):
	// the queue stays open until the pass has ended.
	endRedo := q.producing()
	redoDone := make(chan struct{})
	go func() {
		defer close(redoDone)
		defer endRedo()
		for span := range u.requeued(ctx) {
			q.resend(partJob{span: span})
		}
	}()

	var wg sync.WaitGroup
	for range u.workers() {
		wg.Go(func() {
			for {
				j, ok := q.next(ctx)
				if !ok {
					return
				}
				err := u.sendPart(ctx, &j)
				if errors.Is(err, errRequeued) {
					q.requeue(j)
					continue
				}
				q.done()
				if pool != nil {
					pool <- j.buf // sendPart returns once nothing reads the buffer any more
				}
				if err != nil {
					cancel(err)
				}
			}
		})
	}

	var feedErr error
	if stream != nil {
		feedErr = u.feed(ctx, q, stream, pool, h)
		endFeed()
	}
	wg.Wait()
	<-redoDone
	if feedErr != nil {
		cancel(feedErr)
	}
	return context.Cause(ctx)
}

// workers is how many goroutines take parts from the queue: enough for the largest window the
// budget can grant, and no more than there are parts.
func (u *upload) workers() int {
	n := u.opts.Concurrency
	if n == 0 {
		n = MaxConcurrency
	}
	if u.src.stream == nil {
		n = min(n, max(1, len(u.parts)))
	}
	return n
}

// feed reads a plain reader's parts in order into buffers from the pool and queues them; after
// the last part, the reader must end.
func (u *upload) feed(ctx context.Context, q *partQueue, stream *streamReader, pool chan *[]byte, h hash.Hash) error {
	for _, span := range u.parts {
		var buf *[]byte
		select {
		case buf = <-pool:
		case <-ctx.Done():
			return nil
		}
		if buf == nil {
			b := make([]byte, min(u.opts.PartSize, u.src.size))
			buf = &b
		}
		if err := stream.readPart(ctx, (*buf)[:span.length], h); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// buf is dropped: a Read abandoned on cancel may still be filling it.
			return fmt.Errorf("reading part %d (bytes %d-%d): %w", span.index, span.offset, span.offset+span.length-1, err)
		}
		q.push(partJob{span: span, buf: buf})
	}
	if ctx.Err() != nil {
		return nil
	}
	return stream.checkEnd(ctx, u.src.size)
}

// errRequeued is sendPart's answer when the API answered 429: the part goes back to the queue.
var errRequeued = errors.New("rate limited: the part goes back to the queue")

// sendPart sends one part, retrying what can be retried; each attempt holds a slot of the budget
// and reads the part afresh from its source. An attempt during which no byte of the part is
// taken by the connection and no answer comes for StallTimeout is abandoned (the transport's
// watchdog) and retried like a connection error. A 429 (the API's rate limit) returns
// errRequeued after the budget noted it (the window cut, a pause for the delay the API asked
// for): it does not count against the part's retries, unless no request of the budget has
// succeeded for the client's Timeout, when the part fails with it.
func (u *upload) sendPart(ctx context.Context, j *partJob) error {
	span := j.span
	policy := u.retryPolicy()
	for {
		t, err := u.budget.acquire(ctx, u.opts.admission)
		if err != nil {
			return context.Cause(ctx)
		}
		var data io.Reader
		if j.buf != nil {
			data = bytes.NewReader((*j.buf)[:span.length])
		} else {
			data = io.NewSectionReader(u.src.at, span.offset, span.length)
		}
		body := (&partReader{r: data, want: span.length, prog: u.prog, h: u.partHash()}).budgeted(u.budget)
		part, err := u.c.AddUploadPart(withCall(ctx, callOptions{stall: u.opts.StallTimeout}), u.up.ID, body, span.length)
		sent, srcErr := body.finish() // from here on, nothing reads the part or counts its bytes
		if err == nil && sent != span.length {
			// A 2xx before the whole part was taken: the server cannot have stored this part.
			err = fmt.Errorf("addUploadPart: %w: the answer came after %d of the part's %d bytes", errNoResult, sent, span.length)
		}
		if err == nil {
			u.budget.release(t, ended{outcome: outcomeOK, bytes: span.length, drained: body.drained()})
			return u.partSent(span, part.ID, body.sum())
		}
		u.prog.rewind(sent)
		kind, retryAfter := classify(err)
		u.budget.release(t, ended{outcome: kind, drained: body.drained(), retryAfter: retryAfter,
			backoff: func(n int) time.Duration { return policy.delay(n, nil) }})
		switch {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case srcErr != nil:
			return fmt.Errorf("part %d (bytes %d-%d): %w", span.index, span.offset, span.offset+span.length-1, srcErr)
		case kind == outcomeThrottled && !u.budget.starved(u.c.timeout):
			u.prog.throttle()
			return errRequeued
		case kind == outcomeThrottled:
			return fmt.Errorf("part %d (bytes %d-%d): every request was answered 429 (rate limited) for %v: %w", span.index, span.offset, span.offset+span.length-1, u.c.timeout, u.explain(err))
		case j.retries >= policy.maxRetries || !retryableCallError(err):
			return fmt.Errorf("part %d (bytes %d-%d), attempt %d: %w", span.index, span.offset, span.offset+span.length-1, j.retries+1, u.explain(err))
		}
		u.prog.retried()
		j.retries++
		if err := sleep(ctx, callDelay(policy, j.retries-1, err)); err != nil {
			return context.Cause(ctx)
		}
	}
}

// classify says what an attempt's error tells the budget: 429 (a rate limit that may be waited
// out, with the delay asked for), 503 (the server is overloaded; with the delay it asked for, if
// any), or another failure.
func classify(err error) (outcome, time.Duration) {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return outcomeFailed, 0
	}
	switch {
	case apiErr.StatusCode == http.StatusTooManyRequests && apiErr.Temporary():
		return outcomeThrottled, apiErr.RetryAfter
	case apiErr.StatusCode == http.StatusServiceUnavailable:
		return outcomeOverloaded, apiErr.RetryAfter
	}
	return outcomeFailed, 0
}
