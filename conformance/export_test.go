package conformance

import (
	"io"
)

// BreakStorageWrites makes every blob the server writes from now on go to a writer from open
// (for example /dev/full, which fails with ENOSPC), for tests of storage failures.
func BreakStorageWrites(s *Server, open func() (io.WriteCloser, error)) {
	s.blobs.mu.Lock()
	s.blobs.st = brokenStorage{storage: s.blobs.st, openWriter: open}
	s.blobs.mu.Unlock()
}

type brokenStorage struct {
	storage
	openWriter func() (io.WriteCloser, error)
}

func (b brokenStorage) create() (blobWriter, error) {
	w, err := b.openWriter()
	if err != nil {
		return nil, err
	}
	return &brokenWriter{w: w}, nil
}

type brokenWriter struct {
	w    io.WriteCloser
	size int64
}

func (w *brokenWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.size += int64(n)
	return n, err
}

func (w *brokenWriter) commit() (blob, error) {
	if err := w.w.Close(); err != nil {
		return blob{}, err
	}
	return blob{key: newKey(), size: w.size}, nil
}

func (w *brokenWriter) abort() { _ = w.w.Close() }

// BreakJournal makes every change of state fail to be recorded with err.
func BreakJournal(s *Server, err error) {
	s.mu.Lock()
	s.journal = brokenJournal{journal: s.journal, err: err}
	s.mu.Unlock()
}

type brokenJournal struct {
	journal
	err error
}

func (j brokenJournal) update(func(journalTx) error) error { return j.err }
