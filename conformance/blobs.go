package conformance

import (
	"io"
	"sync"
)

// blobStore is the server's view of its storage. It counts the bytes held, and it keeps a blob
// that a download or an md5 pass is reading until the last reader is done: deleting a File, or
// the expiry of its bytes, never cuts short a download already under way.
type blobStore struct {
	st storage

	mu      sync.Mutex
	bytes   int64 // committed and not yet removed
	count   int64
	readers map[string]int  // blob key → readers
	doomed  map[string]blob // freed while read: removed when the last reader is done
	// readersPeak is len(readers) at most since the map was made: a download of 10,000 parts
	// grows it, and Go maps never shrink, so it is made anew once empty.
	readersPeak int
}

func newBlobStore(st storage) *blobStore {
	return &blobStore{st: st, readers: map[string]int{}, doomed: map[string]blob{}}
}

// create starts a new blob; its bytes count once it is committed.
func (b *blobStore) create() (blobWriter, error) {
	w, err := b.st.create()
	if err != nil {
		return nil, err
	}
	return &countedWriter{blobWriter: w, b: b}, nil
}

type countedWriter struct {
	blobWriter
	b *blobStore
}

func (w *countedWriter) commit() (blob, error) {
	bl, err := w.blobWriter.commit()
	if err == nil {
		w.b.adopt(bl)
	}
	return bl, err
}

// adopt counts a blob that is already stored (restored from a storage directory).
func (b *blobStore) adopt(bl blob) {
	b.mu.Lock()
	b.bytes += bl.size
	b.count++
	b.mu.Unlock()
}

// held returns the bytes and the number of blobs held.
func (b *blobStore) held() (int64, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bytes, b.count
}

// free removes blobs, or, for one being read, marks it to be removed when its last reader is
// done. It returns the bytes freed. Callers have already deleted every record of the blobs.
func (b *blobStore) free(blobs ...blob) int64 {
	var freed int64
	var now []blob
	b.mu.Lock()
	for _, bl := range blobs {
		freed += bl.size
		if b.readers[bl.key] > 0 {
			b.doomed[bl.key] = bl
			continue
		}
		b.bytes -= bl.size
		b.count--
		now = append(now, bl)
	}
	b.mu.Unlock()
	for _, bl := range now {
		b.st.remove(bl)
	}
	return freed
}

// pin keeps blobs from being removed until unpin. Callers hold the lock under which the blobs'
// records are looked up, so that no free can come between the lookup and the pin.
func (b *blobStore) pin(blobs []blob) {
	b.mu.Lock()
	for _, bl := range blobs {
		b.readers[bl.key]++
	}
	b.readersPeak = max(b.readersPeak, len(b.readers))
	b.mu.Unlock()
}

func (b *blobStore) unpin(blobs []blob) {
	var now []blob
	b.mu.Lock()
	for _, bl := range blobs {
		if b.readers[bl.key]--; b.readers[bl.key] > 0 {
			continue
		}
		delete(b.readers, bl.key)
		if d, ok := b.doomed[bl.key]; ok {
			delete(b.doomed, bl.key)
			b.bytes -= d.size
			b.count--
			now = append(now, d)
		}
	}
	if len(b.readers) == 0 && b.readersPeak > 64 {
		b.readers, b.readersPeak = map[string]int{}, 0
	}
	b.mu.Unlock()
	for _, bl := range now {
		b.st.remove(bl)
	}
}

// reader reads pinned blobs one after the other, opening each only when the one before it is
// done: a File of 10,000 parts holds one file descriptor at a time, not 10,000. Close unpins
// the blobs.
func (b *blobStore) reader(blobs []blob) *blobsReader {
	return &blobsReader{b: b, blobs: blobs}
}

type blobsReader struct {
	b      *blobStore
	blobs  []blob
	next   int
	cur    io.ReadCloser
	closed bool
}

// open opens the next blob if none is open; at the end it does nothing. Called before a
// response's header is sent, it turns a storage that cannot read into a 500 rather than a
// download cut short.
func (r *blobsReader) open() error {
	if r.cur != nil || r.next == len(r.blobs) {
		return nil
	}
	rc, err := r.b.st.open(r.blobs[r.next])
	if err != nil {
		return err
	}
	r.cur = rc
	r.next++
	return nil
}

func (r *blobsReader) Read(p []byte) (int, error) {
	for {
		if r.closed {
			return 0, io.ErrClosedPipe
		}
		if r.cur == nil {
			if r.next == len(r.blobs) {
				return 0, io.EOF
			}
			if err := r.open(); err != nil {
				return 0, err
			}
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			_ = r.cur.Close()
			r.cur = nil
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (r *blobsReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var err error
	if r.cur != nil {
		err = r.cur.Close()
		r.cur = nil
	}
	r.b.unpin(r.blobs)
	return err
}

func (b *blobStore) close() error { return b.st.close() }
