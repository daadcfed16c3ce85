package helpers

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// streamReader reads UploadReader's plain source so that a cancelled upload never waits on it:
// a Read blocked when ctx ends is interrupted through SetReadDeadline when the source has one
// (an *os.File of a pipe or socket, a net.Conn), and the deadline is cleared afterwards, leaving
// the source as it was. A source without one is read in a goroutine that the call stops
// waiting for when ctx ends; that goroutine ends when its Read returns, and what it read is
// dropped.
type streamReader struct {
	r        io.Reader
	deadline interface{ SetReadDeadline(time.Time) error }
}

func newStreamReader(r io.Reader) *streamReader {
	s := &streamReader{r: r}
	if d, ok := r.(interface{ SetReadDeadline(time.Time) error }); ok && d.SetReadDeadline(time.Time{}) == nil {
		s.deadline = d // os.File answers os.ErrNoDeadline when it cannot
	}
	return s
}

// readFull fills p from the source, or fails with ctx's cause once ctx ends.
func (s *streamReader) readFull(ctx context.Context, p []byte) (int, error) {
	if ctx.Err() != nil {
		return 0, context.Cause(ctx)
	}
	if s.deadline != nil {
		interrupted := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(interrupted)
			_ = s.deadline.SetReadDeadline(time.Unix(1, 0)) // in the past: a blocked Read returns
		})
		n, err := io.ReadFull(s.r, p)
		if !stop() {
			<-interrupted
			_ = s.deadline.SetReadDeadline(time.Time{})
			return n, context.Cause(ctx)
		}
		return n, err
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := io.ReadFull(s.r, p)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		return r.n, r.err
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}

// readPart fills p with the next part, hashing it.
func (s *streamReader) readPart(ctx context.Context, p []byte, h hash.Hash) error {
	n, err := s.readFull(ctx, p)
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if h != nil {
		h.Write(p[:n])
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("the reader ended early: %w", ErrSourceChanged)
	}
	return err
}

// checkEnd makes sure the source ends after size bytes. It waits for the source to end (a pipe
// whose writer keeps it open keeps the upload waiting), but never past ctx.
func (s *streamReader) checkEnd(ctx context.Context, size int64) error {
	var one [1]byte
	n, err := s.readFull(ctx, one[:])
	switch {
	case ctx.Err() != nil:
		return nil // the upload is ending anyway, for ctx's cause
	case n > 0:
		return fmt.Errorf("the reader holds more than the %d bytes of size: %w", size, ErrSourceChanged)
	case err != nil && err != io.EOF:
		return fmt.Errorf("reading past the last part: %w", err)
	}
	return nil
}
