package helpers

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// The md5 pass: beside the parts, one read of the source in file order computes the md5 of the
// whole file (sent on complete, which the server checks) and, with a checkpoint, each part's md5
// (to record, and on resume to check the recorded parts against the file).

// md5Pass is the md5 pass of one attempt, running in its own goroutine.
type md5Pass struct {
	done chan struct{}
	sum  string // the whole file's md5, when asked for
	err  error
}

// errExpectedMD5 is wrapped by the error of an upload whose file does not have UploadOptions.MD5.
var errExpectedMD5 = errors.New("the file's md5 is not the one expected")

// startPass starts the md5 pass when there is anything to compute: the whole file's md5 (unless
// SkipMD5) and each part's (with a checkpoint, also with SkipMD5). A failure, or a file whose md5
// is not UploadOptions.MD5, cancels the attempt through cancel at once, without waiting for the
// parts. It returns nil for a plain reader (its md5 is computed as its parts are read).
//
// Which parts it hashes, with a checkpoint: with SkipMD5, every part (checkSource compares each
// with the md5 of what its request carried, to see a file changed while it was being
// uploaded); with the md5 on, only the parts recorded in a resumed checkpoint, to check them: the
// server's check of the whole file's md5 at complete sees the rest (an md5 pass is twice as
// slow with both: see BenchmarkHashPass).
func (u *upload) startPass(ctx context.Context, cancel context.CancelCauseFunc) *md5Pass {
	whole := !u.opts.SkipMD5
	var parts func(int) bool
	switch {
	case u.read == nil: // no checkpoint
	case u.opts.SkipMD5:
		parts = func(int) bool { return true }
	case u.recorded != nil:
		parts = func(i int) bool { return u.recorded[i] != "" }
	}
	if u.src.at == nil || (!whole && parts == nil) {
		return nil
	}
	p := &md5Pass{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if u.redo != nil {
			defer close(u.redo) // nothing more to requeue
		}
		p.sum, p.err = hashPass(ctx, u.src.at, u.src.size, whole, u.opts.PartSize, parts, u.partRead)
		if p.err == nil && u.opts.MD5 != "" && p.sum != u.opts.MD5 {
			p.err = fmt.Errorf("md5 mismatch: the file's md5 is %s, but UploadOptions.MD5 expects %s: %w", p.sum, u.opts.MD5, errExpectedMD5)
		}
		if p.err != nil {
			cancel(p.err)
		}
	}()
	return p
}

// wait waits for the pass to end and returns the whole file's md5 ("" if not asked for).
func (p *md5Pass) wait() (string, error) {
	if p == nil {
		return "", nil
	}
	<-p.done
	return p.sum, p.err
}

// passHook, when set (by tests), is called after each read of the md5 pass with the offset
// reached.
var passHook func(off int64)

// hashPass reads r's first size bytes in order, 1 MiB at a time (never across the end of a part
// of partSize bytes), and returns the md5 of the whole when whole is set; for each part that
// parts (if set) asks for, it hands the part's md5 to onPart as soon as the part is read.
func hashPass(ctx context.Context, r io.ReaderAt, size int64, whole bool, partSize int64, parts func(int) bool, onPart func(index int, sum string)) (string, error) {
	var wh hash.Hash
	if whole {
		wh = md5.New()
	}
	ph := md5.New()
	buf := make([]byte, 1<<20)
	index, partEnd := 0, min(size, partSize)
	if partSize <= 0 {
		partEnd = size
	}
	hashing := parts != nil && parts(0)
	for off := int64(0); off < size; {
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		want := min(int64(len(buf)), partEnd-off)
		n, err := r.ReadAt(buf[:want], off)
		if wh != nil {
			wh.Write(buf[:n])
		}
		if hashing {
			ph.Write(buf[:n])
		}
		off += int64(n)
		if passHook != nil {
			passHook(off)
		}
		if int64(n) < want {
			if err == nil || err == io.EOF {
				return "", fmt.Errorf("md5: the source ended at byte %d of %d: %w", off, size, ErrSourceChanged)
			}
			return "", fmt.Errorf("md5: reading the source: %w", err)
		}
		if off == partEnd {
			if hashing {
				onPart(index, hex.EncodeToString(ph.Sum(nil)))
				ph.Reset()
			}
			index++
			partEnd = min(size, partEnd+partSize)
			hashing = parts != nil && off < size && parts(index)
		}
	}
	if wh == nil {
		return "", nil
	}
	return hex.EncodeToString(wh.Sum(nil)), nil
}
