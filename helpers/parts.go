package helpers

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
)

// partReader is one attempt's part body: it counts the bytes handed to the connection and
// notices a source that ends early. The transport may read it from another goroutine, even
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
	// onBytes, when set, is told of the bytes read; onAll, once, that the whole part was read
	// (allRead is then set).
	onBytes func(int64)
	onAll   func()
	allRead bool
}

func (p *partReader) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.over {
		return 0, errAttemptOver
	}
	n, err := p.r.Read(b)
	p.sent += int64(n)
	p.prog.add(int64(n))
	if p.onBytes != nil {
		p.onBytes(int64(n))
	}
	if p.sent == p.want && !p.allRead {
		p.allRead = true
		if p.onAll != nil {
			p.onAll()
		}
	}
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

// budgeted has r report to budget b: the bytes it reads, and when it has read them all.
func (p *partReader) budgeted(b *budget) *partReader {
	p.onBytes, p.onAll = b.add, b.bodySent
	return p
}

// drained reports whether the whole part was read (so the budget counted it as waiting).
func (p *partReader) drained() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.allRead
}

// hashReaderAt computes the md5 of r's first size bytes, reading in order, 1 MiB at a time.
func hashReaderAt(ctx context.Context, r io.ReaderAt, size int64) (string, error) {
	h := md5.New()
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		want := min(int64(len(buf)), size-off)
		n, err := r.ReadAt(buf[:want], off)
		h.Write(buf[:n])
		off += int64(n)
		if int64(n) < want {
			if err == nil || err == io.EOF {
				return "", fmt.Errorf("md5: the source ended at byte %d of %d: %w", off, size, ErrSourceChanged)
			}
			return "", fmt.Errorf("md5: reading the source: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
