package helpers

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// UploadError is the error of a chunked upload that failed after its Upload was created. It says
// what became of the Upload and wraps the cause: errors.Is(err, context.Canceled) holds when the
// caller's context was cancelled, errors.As finds an *APIError when the API refused a request.
type UploadError struct {
	// UploadID is the Upload's id.
	UploadID string
	// Cancelled: the Upload was cancelled after the failure.
	Cancelled bool
	// Resumable: the Upload was left pending; call again with the same Checkpoint to send the
	// parts that are missing.
	Resumable bool
	// Checkpoint is the checkpoint file, when Resumable.
	Checkpoint string
	// CancelErr says why cancelling the Upload failed, if it did.
	CancelErr error
	// Err is the cause.
	Err error
}

func (e *UploadError) Error() string {
	switch {
	case e.Resumable:
		return fmt.Sprintf("upload %s failed and was left pending; it can be resumed by running again with checkpoint %s: %v", e.UploadID, e.Checkpoint, e.Err)
	case e.Cancelled:
		return fmt.Sprintf("upload %s failed and was cancelled: %v", e.UploadID, e.Err)
	default:
		return fmt.Sprintf("upload %s failed, and cancelling it failed too (%v): %v", e.UploadID, e.CancelErr, e.Err)
	}
}

func (e *UploadError) Unwrap() error { return e.Err }

// ErrSourceChanged is wrapped by the errors of an upload whose source did not hold the bytes
// its size promised (it ended early, or a plain reader went on past it).
var ErrSourceChanged = errors.New("the source does not match its size")

// ErrUploadExpired is wrapped by the error of an upload whose hour ran out before complete.
var ErrUploadExpired = errors.New("the Upload expired: an Upload must be completed within an hour of its creation")

// UploadFile uploads the file at path in parts: the equivalent of openai-python's
// upload_file_chunked, but with parts in parallel, each streamed from the file, the md5 computed
// on the way, retries, cancel on failure, progress and, with opts.Checkpoint, resume.
// opts.Filename defaults to the path's base name and opts.MIMEType to the type of its extension.
// It returns the completed Upload, whose File field is the new File.
//
// Memory: parts are io.SectionReaders of the file, streamed to the connection, so memory does
// not grow with the part size: per part in flight a few KiB of framing and buffers, plus 1 MiB
// for the md5.
func (c *Client) UploadFile(ctx context.Context, path string, opts UploadOptions) (*generated.Upload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, inputErrorf("path", "%s is not a regular file", path)
	}
	if opts.Filename == "" {
		opts.Filename = filepath.Base(path)
	}
	return c.upload(ctx, &uploadSource{at: f, size: info.Size(), info: info}, opts)
}

// UploadReaderAt uploads size bytes from r, in parts that are io.SectionReaders of r streamed to
// the connection, never copied whole (see [Client.UploadFile] for the memory bound). r must
// allow concurrent ReadAt calls (an *os.File or *bytes.Reader does). opts.Filename is required.
// If r can tell its size (a Size or Stat method) and it differs from size, nothing is sent.
func (c *Client) UploadReaderAt(ctx context.Context, r io.ReaderAt, size int64, opts UploadOptions) (*generated.Upload, error) {
	if opts.Checkpoint != "" {
		return nil, inputErrorf("UploadOptions.Checkpoint", "resume needs a file; use UploadFile")
	}
	if n, ok := sizeOf(r); ok && n != size {
		return nil, inputErrorf("size", "%d, but the source holds %d bytes", size, n)
	}
	return c.upload(ctx, &uploadSource{at: r, size: size}, opts)
}

// UploadReader uploads exactly size bytes read from r, a plain reader such as stdin or a pipe.
// Parts are read in order into buffers from a pool of at most opts.Concurrency+1 buffers of
// opts.PartSize bytes (5 × 64 MiB with the defaults): that is this entry point's memory bound.
// A retried part is sent again from its buffer. The md5 is computed as the parts are read. If r
// ends before size bytes or has more, the upload fails with ErrSourceChanged.
func (c *Client) UploadReader(ctx context.Context, r io.Reader, size int64, opts UploadOptions) (*generated.Upload, error) {
	if opts.Checkpoint != "" {
		return nil, inputErrorf("UploadOptions.Checkpoint", "resume needs a file; use UploadFile")
	}
	return c.upload(ctx, &uploadSource{stream: r, size: size}, opts)
}

func sizeOf(r any) (int64, bool) {
	switch v := r.(type) {
	case interface{ Size() int64 }:
		return v.Size(), true
	case interface{ Stat() (fs.FileInfo, error) }:
		if info, err := v.Stat(); err == nil && info.Mode().IsRegular() {
			return info.Size(), true
		}
	}
	return 0, false
}

// uploadSource is where the bytes come from: an io.ReaderAt (a file when info is set) or a
// plain reader.
type uploadSource struct {
	at     io.ReaderAt
	stream io.Reader
	size   int64
	info   fs.FileInfo
}

// partSpan is one part of the plan.
type partSpan struct {
	index          int
	offset, length int64
}

func partCount(size, partSize int64) int64 {
	return (size + partSize - 1) / partSize
}

// planParts cuts size bytes into parts of partSize bytes (the last may be shorter), in order:
// together they cover [0, size) exactly once.
func planParts(size, partSize int64) []partSpan {
	if size <= 0 || partSize <= 0 {
		return nil
	}
	n := partCount(size, partSize)
	parts := make([]partSpan, n)
	for i := range parts {
		off := int64(i) * partSize
		parts[i] = partSpan{index: i, offset: off, length: min(partSize, size-off)}
	}
	return parts
}

// upload is one chunked upload in progress.
type upload struct {
	c     *Client
	opts  UploadOptions
	src   *uploadSource
	parts []partSpan
	// ids holds each part's id once it is done (by index); done counts them.
	ids  []string
	ckpt *checkpointFile
	up   *generated.Upload
	prog *progressTracker
}

func (c *Client) upload(ctx context.Context, src *uploadSource, opts UploadOptions) (*generated.Upload, error) {
	opts, err := opts.normalize(src.size)
	if err != nil {
		return nil, err
	}
	u := &upload{c: c, opts: opts, src: src, parts: planParts(src.size, opts.PartSize)}
	u.ids = make([]string, len(u.parts))
	u.prog = &progressTracker{cb: opts.Progress, total: src.size, totalParts: len(u.parts), streams: opts.Concurrency}
	return u.run(ctx)
}

func (u *upload) notify(format string, args ...any) {
	if u.opts.Notify != nil {
		u.opts.Notify(fmt.Sprintf(format, args...))
	}
}

func (u *upload) run(ctx context.Context) (up *generated.Upload, err error) {
	// wctx ends the work early: the first failure of a part, of the md5 pass or of the
	// Progress callback cancels it, with that failure as its cause.
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	u.prog.onPanic = func(err error) { cancel(err) }
	defer func() {
		switch {
		case err == nil:
			u.prog.setPhase(PhaseDone)
		case ctx.Err() != nil:
			u.prog.setPhase(PhaseCancelled)
		default:
			u.prog.setPhase(PhaseFailed)
		}
	}()
	u.prog.setPhase(PhaseCreating)
	if err := u.start(wctx); err != nil {
		return nil, err
	}
	u.prog.uploadID = u.up.ID

	// Parts, and the md5 beside them.
	u.prog.setPhase(PhaseSending)

	var sum string
	var hashErr error
	var hashDone chan struct{}
	if u.src.at != nil && !u.opts.SkipMD5 {
		hashDone = make(chan struct{})
		go func() {
			defer close(hashDone)
			sum, hashErr = hashReaderAt(wctx, u.src.at, u.src.size)
			if hashErr != nil {
				cancel(hashErr)
			}
		}()
	}
	var h hash.Hash
	if u.src.stream != nil && !u.opts.SkipMD5 {
		h = md5.New()
	}
	partsErr := u.sendParts(wctx, cancel, h)
	if hashDone != nil {
		<-hashDone
	}
	if err := firstError(context.Cause(wctx), partsErr, hashErr); err != nil {
		return nil, u.fail(ctx, err)
	}
	if h != nil {
		sum = hex.EncodeToString(h.Sum(nil))
	}
	if u.opts.MD5 != "" && sum != u.opts.MD5 {
		return nil, u.fail(ctx, fmt.Errorf("md5 mismatch: the file's md5 is %s, but UploadOptions.MD5 expects %s", sum, u.opts.MD5))
	}
	if time.Now().Unix() >= u.up.ExpiresAt {
		return nil, u.fail(ctx, fmt.Errorf("%w (it expired at %s)", ErrUploadExpired, time.Unix(u.up.ExpiresAt, 0).UTC().Format(time.RFC3339)))
	}
	u.prog.setPhase(PhaseCompleting)
	done, err := u.c.CompleteUpload(ctx, u.up.ID, u.ids, sum)
	if err != nil {
		return nil, u.fail(ctx, u.explain(err))
	}
	if u.ckpt != nil {
		if err := u.ckpt.remove(); err != nil {
			u.notify("upload %s completed, but removing checkpoint %s failed: %v", done.ID, u.ckpt.path, err)
		}
	}
	return done, nil
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// explain adds what an API refusal means for the upload, where that is clear.
func (u *upload) explain(err error) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == 400 && apiErr.Code == "upload_expired" {
		return fmt.Errorf("%w: %w", ErrUploadExpired, err)
	}
	return err
}

// start creates the Upload, or resumes the checkpointed one.
func (u *upload) start(ctx context.Context) error {
	if u.opts.Checkpoint != "" {
		resumed, err := u.resume(ctx)
		if err != nil || resumed {
			return err
		}
	}
	up, err := u.create(ctx)
	if err != nil {
		return err
	}
	u.up = up
	if u.opts.Checkpoint != "" {
		ckpt := &checkpointFile{path: u.opts.Checkpoint, cp: u.newCheckpoint(up.ID, up.ExpiresAt)}
		if err := ckpt.save(); err != nil {
			return u.fail(ctx, fmt.Errorf("writing checkpoint %s: %w", u.opts.Checkpoint, err))
		}
		u.ckpt = ckpt
	}
	if ctx.Err() != nil { // cancelled while the Upload was being created
		return u.fail(ctx, context.Cause(ctx))
	}
	return nil
}

// create creates the Upload. The request does not end the moment ctx is cancelled: it gets
// CreateGrace to finish, so that an Upload created as the caller gave up is cancelled rather
// than left pending unseen.
func (u *upload) create(ctx context.Context) (*generated.Upload, error) {
	createCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(CreateGrace)
		defer t.Stop()
		select {
		case <-t.C:
			abort()
		case <-createCtx.Done():
		}
	})
	defer stop()
	up, err := u.c.CreateUpload(createCtx, generated.CreateUploadRequest{
		Bytes: u.src.size, Filename: u.opts.Filename, MimeType: u.opts.MIMEType,
		Purpose: u.opts.Purpose, ExpiresAfter: u.opts.ExpiresAfter,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (while creating the Upload: %v)", context.Cause(ctx), err)
		}
		return nil, err
	}
	return up, nil
}

// newCheckpoint is the checkpoint of this upload as the Upload id and expiry given.
func (u *upload) newCheckpoint(uploadID string, expiresAt int64) checkpoint {
	cp := checkpoint{
		Version: checkpointVersion, UploadID: uploadID, ExpiresAt: expiresAt,
		Size: u.src.size, PartSize: u.opts.PartSize, Purpose: string(u.opts.Purpose),
		Filename: u.opts.Filename, MIMEType: u.opts.MIMEType, Parts: []checkpointPart{},
	}
	if u.src.info != nil {
		cp.ModTimeNs = u.src.info.ModTime().UnixNano()
	}
	return cp
}

// resume continues the checkpointed Upload when the checkpoint is of this file, unchanged, with
// the same settings, and its Upload has not expired. Otherwise it says why and returns false.
func (u *upload) resume(ctx context.Context) (bool, error) {
	cp, err := loadCheckpoint(u.opts.Checkpoint)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		u.notify("checkpoint %s is unreadable (%v); starting a new upload", u.opts.Checkpoint, err)
		return false, nil
	}
	want := u.newCheckpoint(cp.UploadID, cp.ExpiresAt)
	switch {
	case cp.Size != want.Size || cp.ModTimeNs != want.ModTimeNs:
		u.notify("the file changed since checkpoint %s (size or modification time); cancelling upload %s and starting a new one", u.opts.Checkpoint, cp.UploadID)
		u.cancelQuietly(ctx, cp.UploadID)
		return false, nil
	case cp.PartSize != want.PartSize || cp.Purpose != want.Purpose || cp.Filename != want.Filename || cp.MIMEType != want.MIMEType:
		u.notify("checkpoint %s was made with other settings (part size, purpose, filename or MIME type); cancelling upload %s and starting a new one", u.opts.Checkpoint, cp.UploadID)
		u.cancelQuietly(ctx, cp.UploadID)
		return false, nil
	case time.Until(time.Unix(cp.ExpiresAt, 0)) < ResumeMargin:
		u.notify("upload %s from checkpoint %s has expired (or expires within %s); starting a new upload", cp.UploadID, u.opts.Checkpoint, ResumeMargin)
		return false, nil
	}
	u.up = &generated.Upload{
		ID: cp.UploadID, ExpiresAt: cp.ExpiresAt, Bytes: cp.Size, Filename: cp.Filename,
		Purpose: cp.Purpose, Status: generated.UploadStatusPending, Object: generated.UploadObjectUpload,
	}
	u.ckpt = &checkpointFile{path: u.opts.Checkpoint, cp: *cp}
	for _, p := range cp.Parts {
		u.ids[p.Index] = p.ID
		u.prog.partDone(u.parts[p.Index].length)
	}
	u.notify("resuming upload %s from checkpoint %s: %d of %d parts already sent", cp.UploadID, u.opts.Checkpoint, len(cp.Parts), len(u.parts))
	return true, nil
}

func (u *upload) cancelQuietly(ctx context.Context, id string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CancelTimeout)
	defer cancel()
	_, _ = u.c.CancelUpload(cctx, id)
}

// fail ends a failed upload: with a checkpoint the Upload stays pending, to be resumed;
// otherwise it is cancelled on a fresh context (the caller's may be cancelled already).
func (u *upload) fail(ctx context.Context, cause error) error {
	if u.up == nil {
		return cause
	}
	if u.ckpt != nil {
		u.notify("upload %s failed; it stays pending and can be resumed with checkpoint %s", u.up.ID, u.ckpt.path)
		return &UploadError{UploadID: u.up.ID, Resumable: true, Checkpoint: u.ckpt.path, Err: cause}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CancelTimeout)
	defer cancel()
	_, err := u.c.CancelUpload(cctx, u.up.ID)
	if err == nil {
		u.notify("upload %s failed and was cancelled", u.up.ID)
	}
	return &UploadError{UploadID: u.up.ID, Cancelled: err == nil, CancelErr: err, Err: cause}
}

// sendParts uploads every part not yet done with at most Concurrency requests in flight. The
// first error cancels ctx (through cancel) and is returned. For a plain reader, h receives the
// bytes in file order as they are read.
func (u *upload) sendParts(ctx context.Context, cancel context.CancelCauseFunc, h hash.Hash) error {
	type job struct {
		span partSpan
		buf  *[]byte // the part's bytes, for a plain reader
	}
	jobs := make(chan job)
	var pool chan *[]byte
	if u.src.stream != nil {
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
					pool <- j.buf
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
		if u.src.stream != nil {
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
			if err := readPart(u.src.stream, (*buf)[:span.length], h); err != nil {
				feedErr = fmt.Errorf("reading part %d (bytes %d-%d): %w", span.index, span.offset, span.offset+span.length-1, err)
				pool <- buf
				break
			}
		}
		select {
		case jobs <- job{span: span, buf: buf}:
		case <-ctx.Done():
			if buf != nil {
				pool <- buf
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	if feedErr == nil && u.src.stream != nil && ctx.Err() == nil {
		if n, _ := u.src.stream.Read(make([]byte, 1)); n > 0 {
			feedErr = fmt.Errorf("the reader holds more than the %d bytes of size: %w", u.src.size, ErrSourceChanged)
		}
	}
	close(jobs)
	wg.Wait()
	if feedErr != nil {
		cancel(feedErr)
	}
	return context.Cause(ctx)
}

// readPart fills p from r, hashing what it reads.
func readPart(r io.Reader, p []byte, h hash.Hash) error {
	n, err := io.ReadFull(r, p)
	if h != nil {
		h.Write(p[:n])
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("the reader ended early: %w", ErrSourceChanged)
	}
	return err
}

// sendPart sends one part, retrying what can be retried; each attempt reads the part afresh
// from its source.
func (u *upload) sendPart(ctx context.Context, span partSpan, buf *[]byte) error {
	policy := retryPolicy{maxRetries: u.opts.MaxRetries, initial: u.c.retry.initial, max: u.c.retry.max, jitter: u.c.retry.jitter}
	for attempt := 0; ; attempt++ {
		var data io.Reader
		if buf != nil {
			data = bytes.NewReader((*buf)[:span.length])
		} else {
			data = io.NewSectionReader(u.src.at, span.offset, span.length)
		}
		body := &partReader{r: data, want: span.length, prog: u.prog}
		part, err := u.c.AddUploadPart(ctx, u.up.ID, body, span.length)
		if err == nil {
			u.ids[span.index] = part.ID
			u.prog.partDone(0)
			if u.ckpt != nil {
				if err := u.ckpt.record(span.index, part.ID); err != nil {
					return fmt.Errorf("writing checkpoint %s: %w", u.ckpt.path, err)
				}
			}
			u.prog.report(true)
			return nil
		}
		u.prog.rewind(body.sent)
		switch {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case body.srcErr != nil:
			return fmt.Errorf("part %d (bytes %d-%d): %w", span.index, span.offset, span.offset+span.length-1, body.srcErr)
		case attempt >= policy.maxRetries || !retryablePartError(err):
			return fmt.Errorf("part %d (bytes %d-%d), attempt %d: %w", span.index, span.offset, span.offset+span.length-1, attempt+1, u.explain(err))
		}
		u.prog.retried()
		var apiErr *APIError
		delay := policy.delay(attempt, nil)
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			delay = apiErr.RetryAfter
		}
		if err := sleep(ctx, delay); err != nil {
			return context.Cause(ctx)
		}
	}
}

// retryablePartError: connection errors, 408, 409, 429 and 5xx.
func retryablePartError(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Temporary()
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// partReader is one attempt's part body: it counts the bytes handed to the connection and
// notices a source that ends early.
type partReader struct {
	r      io.Reader
	want   int64
	sent   int64
	prog   *progressTracker
	srcErr error
}

func (p *partReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
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

// progressTracker counts progress and calls the callback, never concurrently. Byte counts
// come from the part readers; a report is made at least every progressStep bytes and at each
// part's end.
type progressTracker struct {
	cb                func(Progress)
	total             int64
	totalParts        int
	streams           int
	uploadID          string
	phase             Phase // written before parts start and after they end, under mu
	sent, lastReport  atomic.Int64
	partsDone, nRetry atomic.Int64
	mu                sync.Mutex // held while cb runs
	onPanic           func(error)
	panicErr          atomic.Pointer[error]
}

const progressStep = 256 << 10

func (p *progressTracker) add(n int64) {
	if n == 0 {
		return
	}
	sent := p.sent.Add(n)
	if sent-p.lastReport.Load() >= progressStep {
		p.report(false)
	}
}

func (p *progressTracker) rewind(n int64) { p.sent.Add(-n) }
func (p *progressTracker) retried()       { p.nRetry.Add(1) }

// partDone counts a finished part; reused (checkpointed) parts also count their bytes.
func (p *progressTracker) partDone(reusedBytes int64) {
	p.sent.Add(reusedBytes)
	p.partsDone.Add(1)
}

// setPhase records the upload's phase and reports it.
func (p *progressTracker) setPhase(ph Phase) {
	p.mu.Lock()
	p.phase = ph
	p.mu.Unlock()
	p.report(true)
}

// report calls the callback: always when force is set, otherwise only if no call is under way.
func (p *progressTracker) report(force bool) {
	if p.cb == nil || p.panicErr.Load() != nil {
		return
	}
	if force {
		p.mu.Lock()
	} else if !p.mu.TryLock() {
		return
	}
	defer p.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("the Progress callback panicked: %v", r)
			if p.panicErr.CompareAndSwap(nil, &err) && p.onPanic != nil {
				p.onPanic(err)
			}
		}
	}()
	sent := p.sent.Load()
	p.lastReport.Store(sent)
	p.cb(Progress{
		Phase: p.phase, Streams: p.streams, UploadID: p.uploadID, BytesSent: sent, TotalBytes: p.total,
		PartsDone: int(p.partsDone.Load()), TotalParts: p.totalParts, Retries: int(p.nRetry.Load()),
	})
}
