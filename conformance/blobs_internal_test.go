package conformance

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

// scriptedStorage opens each blob as a reader that answers its script of reads in turn.
type scriptedStorage struct {
	storage
	scripts map[string][]readStep
}

type readStep struct {
	data string
	err  error
}

func (s scriptedStorage) open(b blob) (io.ReadCloser, error) {
	return &scriptedReader{steps: s.scripts[b.key]}, nil
}

func (s scriptedStorage) remove(blob) {}

type scriptedReader struct{ steps []readStep }

func (r *scriptedReader) Read(p []byte) (int, error) {
	if len(r.steps) == 0 {
		return 0, io.EOF
	}
	s := r.steps[0]
	r.steps = r.steps[1:]
	return copy(p, s.data), s.err
}

func (r *scriptedReader) Close() error { return nil }

// TestBlobsReaderSkipsEmptyEnds: a blob that ends with a read of no bytes and io.EOF does not
// surface as a read of (0, nil), which io.Reader discourages: the same Read goes on to the next
// blob.
func TestBlobsReaderSkipsEmptyEnds(t *testing.T) {
	st := scriptedStorage{scripts: map[string][]readStep{
		"a": {{data: "abc"}, {err: io.EOF}},
		"b": {{data: "de", err: io.EOF}},
	}}
	r := newBlobStore(st).reader([]blob{{key: "a"}, {key: "b"}})
	defer r.Close()
	buf := make([]byte, 10)
	var got []string
	for {
		n, err := r.Read(buf)
		if n == 0 && err == nil {
			t.Fatalf("Read returned 0 bytes and no error after %q", got)
		}
		got = append(got, string(buf[:n]))
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != "[abc de ]" {
		t.Errorf("reads %q, want abc, de, then io.EOF", got)
	}
}

// TestBlobsReaderPassesOnAReadError: a storage read that fails is the download's error, at
// once, even when it came with no bytes; the reader does not try the blob again.
func TestBlobsReaderPassesOnAReadError(t *testing.T) {
	broken := errors.New("input/output error")
	st := scriptedStorage{scripts: map[string][]readStep{"a": {{err: broken}, {data: "later"}}}}
	r := newBlobStore(st).reader([]blob{{key: "a"}})
	defer r.Close()
	n, err := r.Read(make([]byte, 10))
	if n != 0 || !errors.Is(err, broken) {
		t.Errorf("Read = %d, %v; want 0 and the storage's error", n, err)
	}
}

// TestBlobStoreRenewsItsReadersMap: once the last reader is done, a map of readers that grew
// past 64 blobs (a download of many parts) is made anew, since Go maps never shrink; a smaller
// one is kept.
func TestBlobStoreRenewsItsReadersMap(t *testing.T) {
	for _, tc := range []struct {
		blobs    int
		wantPeak int
	}{{64, 64}, {65, 0}} {
		b := newBlobStore(scriptedStorage{})
		var blobs []blob
		for i := range tc.blobs {
			blobs = append(blobs, blob{key: fmt.Sprint(i)})
		}
		b.pin(blobs)
		b.unpin(blobs[:1])
		if b.readersPeak != tc.blobs {
			t.Errorf("%d blobs, one unpinned: peak %d, want %d", tc.blobs, b.readersPeak, tc.blobs)
		}
		b.unpin(blobs[1:])
		if len(b.readers) != 0 || b.readersPeak != tc.wantPeak {
			t.Errorf("%d blobs read and done: %d readers, peak %d; want 0 and %d", tc.blobs, len(b.readers), b.readersPeak, tc.wantPeak)
		}
	}
}
