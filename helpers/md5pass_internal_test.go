package helpers

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestHashPass: the whole file's md5, and each asked-for part's md5, for sizes around the part
// size and buffer size; a source shorter than its size is ErrSourceChanged.
func TestHashPass(t *testing.T) {
	sum := func(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
	for _, tc := range []struct{ size, partSize int }{{1, 1}, {10, 3}, {9, 3}, {3 << 20, 1 << 20}, {3<<20 + 5, 1<<20 + 1}, {5 << 20, 2<<20 + 3}, {100, 1000}} {
		data := make([]byte, tc.size)
		for i := range data {
			data[i] = byte(i*7 + i>>11)
		}
		for _, odd := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/%d/odd=%v", tc.size, tc.partSize, odd), func(t *testing.T) {
				got := map[int]string{}
				whole, err := hashPass(bounded(t), bytes.NewReader(data), int64(tc.size), true, int64(tc.partSize),
					func(i int) bool { return !odd || i%2 == 1 },
					func(i int, s string) { got[i] = s })
				if err != nil || whole != sum(data) {
					t.Fatalf("whole %s, %v; want %s", whole, err, sum(data))
				}
				for i, span := range planParts(int64(tc.size), int64(tc.partSize)) {
					want, ok := sum(data[span.offset:span.offset+span.length]), !odd || i%2 == 1
					if s, asked := got[i]; asked != ok || (ok && s != want) {
						t.Errorf("part %d: %q (reported %v), want %q (reported %v)", i, s, asked, want, ok)
					}
					delete(got, i)
				}
				if len(got) != 0 {
					t.Errorf("parts past the plan reported: %v", got)
				}
			})
		}
	}
	// No part size: the whole source is one part. (A second part reported ends the pass, and the
	// timeout is a guard against a loop that would not advance.)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	data, reported, first := []byte("0123456789"), 0, ""
	whole, err := hashPass(ctx, bytes.NewReader(data), 10, true, 0, func(int) bool { return true }, func(i int, s string) {
		if reported++; reported == 1 {
			first = fmt.Sprintf("%d:%s", i, s)
		} else {
			cancel()
		}
	})
	if err != nil || whole != sum(data) || reported != 1 || first != "0:"+sum(data) {
		t.Errorf("part size 0: whole %s, %d part(s) reported, the first %s, %v; want %s, as the one part 0", whole, reported, first, err, sum(data))
	}
	if _, err := hashPass(bounded(t), bytes.NewReader(make([]byte, 10)), 20, false, 4, func(int) bool { return true }, func(int, string) {}); !errors.Is(err, ErrSourceChanged) {
		t.Errorf("a short source: %v, want ErrSourceChanged", err)
	}
}

// TestHashPassSourceEndedEarly: a source that ends before its size (a file truncated meanwhile)
// fails the md5 pass with ErrSourceChanged, whether the short read says io.EOF or nothing; a
// read that fails for another reason is that error, not a change of the source.
func TestHashPassSourceEndedEarly(t *testing.T) {
	short := bytes.NewReader(make([]byte, 10)) // ReadAt: 10 bytes and io.EOF
	if _, err := hashPass(bounded(t), short, 20, true, 0, nil, nil); !errors.Is(err, ErrSourceChanged) {
		t.Errorf("a source 10 bytes short: %v, want ErrSourceChanged", err)
	}
	broken := errors.New("disk on fire")
	if _, err := hashPass(bounded(t), failingReaderAt{broken}, 20, true, 0, nil, nil); !errors.Is(err, broken) || errors.Is(err, ErrSourceChanged) {
		t.Errorf("a failing source: %v, want its error and not ErrSourceChanged", err)
	}
}

type failingReaderAt struct{ err error }

func (f failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, f.err }
