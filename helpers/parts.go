package helpers

import (
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"sync"
)

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
	if p.h != nil {
		p.h.Write(b[:n])
	}
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

// sum is the md5 of the bytes read ("" without h); call it after finish.
func (p *partReader) sum() string {
	if p.h == nil {
		return ""
	}
	return hex.EncodeToString(p.h.Sum(nil))
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
