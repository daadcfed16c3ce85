package helpers

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"sync"
)

// sendParts is the scheduler: it uploads every part not yet done with at most Concurrency
// requests in flight. The first error cancels ctx (through cancel) and is returned. For a plain
// reader, the parts are read here in file order (h receives the bytes as they are read) into
// a pool of Concurrency+1 buffers, and, after the last, the reader must end.
func (u *upload) sendParts(ctx context.Context, cancel context.CancelCauseFunc, h hash.Hash) error {
	type job struct {
		span partSpan
		buf  *[]byte // the part's bytes, for a plain reader
	}
	jobs := make(chan job)
	var pool chan *[]byte
	var stream *streamReader
	if u.src.stream != nil {
		stream = newStreamReader(u.src.stream)
		// Concurrency+1 buffers: one being filled while Concurrency parts are in flight.
		pool = make(chan *[]byte, u.opts.Concurrency+1)
		for range u.opts.Concurrency + 1 {
			pool <- nil // allocated on first use, at the size the parts need
		}
	}

	var wg sync.WaitGroup
	for range u.opts.Concurrency {
		wg.Go(func() {
			for j := range jobs {
				err := u.sendPart(ctx, j.span, j.buf)
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
	for _, span := range u.parts {
		if u.ids[span.index] != "" { // done before, per the checkpoint (files only)
			continue
		}
		var buf *[]byte
		if stream != nil {
			select {
			case buf = <-pool:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
			if buf == nil {
				b := make([]byte, min(u.opts.PartSize, u.src.size))
				buf = &b
			}
			if err := stream.readPart(ctx, (*buf)[:span.length], h); err != nil {
				if ctx.Err() == nil {
					feedErr = fmt.Errorf("reading part %d (bytes %d-%d): %w", span.index, span.offset, span.offset+span.length-1, err)
				}
				// buf is dropped: a Read abandoned on cancel may still be filling it.
				break
			}
		}
		select {
		case jobs <- job{span: span, buf: buf}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	if feedErr == nil && stream != nil && ctx.Err() == nil {
		feedErr = stream.checkEnd(ctx, u.src.size)
	}
	// Parts to send again, found by the md5 pass while this runs (the requeue hook, resume.go).
	for span := range u.requeued(ctx) {
		select {
		case jobs <- job{span: span}:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if feedErr != nil {
		cancel(feedErr)
	}
	return context.Cause(ctx)
}

// sendPart sends one part, retrying what can be retried; each attempt reads the part afresh
// from its source. An attempt during which no byte of the part is taken by the connection and
// no answer comes for StallTimeout is abandoned (the transport's watchdog) and retried like a
// connection error.
func (u *upload) sendPart(ctx context.Context, span partSpan, buf *[]byte) error {
	policy := u.retryPolicy()
	for attempt := 0; ; attempt++ {
		var data io.Reader
		if buf != nil {
			data = bytes.NewReader((*buf)[:span.length])
		} else {
			data = io.NewSectionReader(u.src.at, span.offset, span.length)
		}
		body := &partReader{r: data, want: span.length, prog: u.prog, h: u.partHash()}
		part, err := u.c.AddUploadPart(withCall(ctx, callOptions{stall: u.opts.StallTimeout}), u.up.ID, body, span.length)
		sent, srcErr := body.finish() // from here on, nothing reads the part or counts its bytes
		if err == nil && sent != span.length {
			// A 2xx before the whole part was taken: the server cannot have stored this part.
			err = fmt.Errorf("addUploadPart: %w: the answer came after %d of the part's %d bytes", errNoResult, sent, span.length)
		}
		if err == nil {
			return u.partSent(span, part.ID, body.sum())
		}
		u.prog.rewind(sent)
		switch {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case srcErr != nil:
			return fmt.Errorf("part %d (bytes %d-%d): %w", span.index, span.offset, span.offset+span.length-1, srcErr)
		case attempt >= policy.maxRetries || !retryableCallError(err):
			return fmt.Errorf("part %d (bytes %d-%d), attempt %d: %w", span.index, span.offset, span.offset+span.length-1, attempt+1, u.explain(err))
		}
		u.prog.retried()
		if err := sleep(ctx, callDelay(policy, attempt, err)); err != nil {
			return context.Cause(ctx)
		}
	}
}

// partReader is one attempt's part body: it counts the bytes handed to the connection, notices
// a source that ends early and, with h, hashes the bytes (with a checkpoint, to record the md5 of
// what the request carried). The transport may read it from another goroutine, even
// after the attempt returned (a server that answers before reading the body); finish ends the
// attempt: it waits for a Read under way, and later Reads fail without counting.
type partReader struct {
	mu     sync.Mutex
	r      io.Reader
	want   int64
	sent   int64
	prog   *progressTracker
	srcErr error
	over   bool
	h      hash.Hash
}

func (p *partReader) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.over {
		return 0, errAttemptOver
	}
	n, err := p.r.Read(b)
	if p.h != nil {
		p.h.Write(b[:n])
	}
	p.sent += int64(n)
	p.prog.add(int64(n))
	if err == io.EOF && p.sent < p.want {
		p.srcErr = fmt.Errorf("the source ended %d bytes early: %w", p.want-p.sent, ErrSourceChanged)
		return n, p.srcErr
	}
	if err != nil && err != io.EOF {
		p.srcErr = fmt.Errorf("reading the source: %w", err)
	}
	return n, err
}

// finish ends the attempt and returns the bytes it counted and the source's error, if any.
func (p *partReader) finish() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.over = true
	return p.sent, p.srcErr
}

// sum is the md5 of the bytes read ("" without h); call it after finish.
func (p *partReader) sum() string {
	if p.h == nil {
		return ""
	}
	return hex.EncodeToString(p.h.Sum(nil))
}
