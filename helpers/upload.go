package helpers

import (
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
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// The chunked upload, in phases: the entry points and run (this file), create.go (the Upload is
// created or resumed, resume.go), parts.go (the parts, beside the md5 pass), complete.go (the
// Upload is completed, and its File recovered after a lost reply), and fail below.

// uploadTTL is how long an Upload stays pending: it expires an hour after its creation.
const uploadTTL = time.Hour

// UploadError is the error of a chunked upload that failed after its Upload was created. It says
// what became of the Upload and wraps the cause: errors.Is(err, context.Canceled) holds when the
// caller's context was cancelled, errors.As finds an *APIError when the API refused a request.
// Exactly one of Cancelled, Resumable (with or without OutcomeUnknown), OutcomeUnknown alone, or
// CancelErr describes the Upload.
type UploadError struct {
	// UploadID is the Upload's id.
	UploadID string
	// Cancelled: the Upload was cancelled after the failure. The API cancels only a pending
	// Upload, so a cancelled Upload was not completed.
	Cancelled bool
	// Resumable: the Upload was left pending; call again with the same Checkpoint to send the
	// parts that are missing (or, with OutcomeUnknown, to finish: complete is sent again and the
	// File recovered if the Upload was completed).
	Resumable bool
	// Checkpoint is the checkpoint file, when Resumable.
	Checkpoint string
	// OutcomeUnknown: complete was sent but no reply came (lost, timed out, unreadable), and
	// the SDK could not tell whether the Upload was completed: no File matching it was found,
	// and the cancel that would have settled it (the API cancels only a pending Upload) failed
	// too, or found the Upload being completed. The Upload was left as it is: if it
	// was completed its File exists (list the files to find it); otherwise it expires within
	// the hour of its creation. CancelErr says why the cancel failed, if it did.
	OutcomeUnknown bool
	// CancelErr says why cancelling the Upload failed, if it did.
	CancelErr error
	// Err is the cause.
	Err error
}

func (e *UploadError) Error() string {
	switch {
	case e.OutcomeUnknown && e.Resumable:
		return fmt.Sprintf("upload %s: complete was sent but no reply came, so whether the Upload was completed is unknown; it was left as it is, not cancelled; run again with checkpoint %s to finish (its File is recovered if it was completed): %v", e.UploadID, e.Checkpoint, e.Err)
	case e.OutcomeUnknown:
		return fmt.Sprintf("upload %s: complete was sent but no reply came, and no File matching it was found, so whether the Upload was completed is unknown; it was left as it is, not cancelled: if it was completed its File exists (see files list), otherwise it expires within the hour: %v%s", e.UploadID, e.Err, cancelFailure(e.CancelErr))
	case e.Resumable:
		return fmt.Sprintf("upload %s failed and was left pending; it can be resumed by running again with checkpoint %s: %v", e.UploadID, e.Checkpoint, e.Err)
	case e.Cancelled:
		return fmt.Sprintf("upload %s failed and was cancelled: %v", e.UploadID, e.Err)
	default:
		return fmt.Sprintf("upload %s failed, and cancelling it failed too (%v): %v", e.UploadID, e.CancelErr, e.Err)
	}
}

func (e *UploadError) Unwrap() error { return e.Err }

func cancelFailure(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf(" (cancelling it, which would have settled it, failed: %v)", err)
}

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
//
// The network's failures are handled on purpose. A part whose bytes stop moving, or that gets
// no answer, for opts.StallTimeout is abandoned and retried; create and complete have a
// deadline per attempt (ClientOptions.Timeout). createUpload and completeUpload are not
// idempotent: a create whose reply was lost is retried and the upload goes on with the new
// Upload (Notify names it; the first attempt may have left one pending, which expires within
// the hour); a complete whose reply was lost is retried, and when the API answers that the
// Upload is already completed, its File is recovered from the files list and the completed
// Upload returned (Notify says so). On failure the Upload is cancelled only when it is known
// not to be completed; where that cannot be told, the *UploadError says so (OutcomeUnknown).
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
// ends before size bytes or has more, the upload fails with ErrSourceChanged; after size bytes
// the upload waits for r to end (io.EOF) before completing. When ctx ends, a Read of r that
// blocks is interrupted through SetReadDeadline if r has one (an *os.File of a pipe, a
// net.Conn; the deadline is cleared again afterwards); otherwise the call returns at once and
// leaves that one Read to finish in a goroutine, which then ends, dropping what it read.
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
	// ids holds each part's id once it is done (by index).
	ids  []string
	ckpt *checkpointFile
	up   *generated.Upload
	prog *progressTracker
	// budget grants the slots of part requests (scheduler.go, budget.go); queue holds the parts to send.
	budget *budget
	queue  *partQueue
	// completeSent: complete was sent at least once. completeUnknown: the last complete attempt
	// got no reply, so the Upload may be completed.
	completeSent, completeUnknown bool
}

func (c *Client) upload(ctx context.Context, src *uploadSource, opts UploadOptions) (*generated.Upload, error) {
	opts, err := opts.normalize(src.size)
	if err != nil {
		return nil, err
	}
	if opts.StallTimeout == 0 {
		opts.StallTimeout = c.stall
	}
	u := &upload{c: c, opts: opts, src: src, parts: planParts(src.size, opts.PartSize)}
	u.ids = make([]string, len(u.parts))
	u.budget, u.queue = u.opts.scheduling(src)
	u.prog = newProgressTracker(opts.Progress, src.size, len(u.parts), u.budget.window, u.opts.progressMu)
	return u.run(ctx)
}

func (u *upload) notify(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	u.c.tr.logf("openai-uploads: %s\n", msg)
	if u.opts.Notify != nil {
		u.opts.Notify(msg)
	}
}

// retryPolicy is how the upload's own requests (create, each part, complete) are retried.
func (u *upload) retryPolicy() retryPolicy {
	return retryPolicy{maxRetries: u.opts.MaxRetries, initial: u.c.retry.initial, max: u.c.retry.max, jitter: u.c.retry.jitter}
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
	if up, err := u.start(wctx); up != nil || err != nil {
		return up, err
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
		return u.fail(ctx, err)
	}
	if h != nil {
		sum = hex.EncodeToString(h.Sum(nil))
	}
	if u.opts.MD5 != "" && sum != u.opts.MD5 {
		return u.fail(ctx, fmt.Errorf("md5 mismatch: the file's md5 is %s, but UploadOptions.MD5 expects %s", sum, u.opts.MD5))
	}
	if time.Now().Unix() >= u.up.ExpiresAt {
		return u.fail(ctx, fmt.Errorf("%w (it expired at %s)", ErrUploadExpired, time.Unix(u.up.ExpiresAt, 0).UTC().Format(time.RFC3339)))
	}

	u.prog.setPhase(PhaseCompleting)
	done, err := u.complete(ctx, sum)
	if err != nil {
		return u.fail(ctx, u.explain(err))
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

// fail ends a failed upload. An Upload is cancelled only when it is known not to have been
// completed. With a checkpoint the Upload stays pending, to be resumed. Otherwise cancel is
// sent, on a fresh context (the caller's may be cancelled already): the API cancels only a
// pending Upload, so cancel is also the probe that settles a complete whose reply was lost. If
// it is cancelled, it was not completed; if the API answers that it is completed, its File is
// recovered and the upload succeeds; if it is being completed, or the cancel fails too, the
// outcome stays unknown and the *UploadError says so (OutcomeUnknown).
func (u *upload) fail(ctx context.Context, cause error) (*generated.Upload, error) {
	if u.up == nil {
		return nil, cause
	}
	if u.ckpt != nil {
		u.notify("upload %s failed; it stays pending and can be resumed with checkpoint %s", u.up.ID, u.ckpt.path)
		return nil, &UploadError{UploadID: u.up.ID, Resumable: true, OutcomeUnknown: u.completeUnknown, Checkpoint: u.ckpt.path, Err: cause}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CancelTimeout)
	defer cancel()
	err := u.cancelUpload(cctx)
	switch {
	case err == nil || isUploadState(err, "upload_cancelled"):
		if u.completeUnknown {
			u.notify("upload %s: complete got no reply, but the Upload was still pending (not completed); it was cancelled", u.up.ID)
		} else {
			u.notify("upload %s failed and was cancelled", u.up.ID)
		}
		return nil, &UploadError{UploadID: u.up.ID, Cancelled: true, Err: cause}
	case isUploadState(err, "upload_completed") && u.completeSent:
		// A complete whose reply was lost did complete it.
		up, rerr := u.recoverFile(cctx, true)
		if rerr == nil {
			return up, nil
		}
		return nil, &UploadError{UploadID: u.up.ID, OutcomeUnknown: true, Err: fmt.Errorf("%w; the Upload turned out to be completed, but %w", cause, rerr)}
	case isUploadState(err, "upload_completing"):
		return nil, &UploadError{UploadID: u.up.ID, OutcomeUnknown: true, Err: fmt.Errorf("%w; the Upload is being completed by a request whose reply was lost", cause)}
	case u.completeUnknown:
		u.notify("upload %s: complete got no reply, its File was not found, and cancelling it failed (%v); the Upload was left as it is", u.up.ID, err)
		return nil, &UploadError{UploadID: u.up.ID, OutcomeUnknown: true, CancelErr: err, Err: cause}
	}
	return nil, &UploadError{UploadID: u.up.ID, CancelErr: err, Err: cause}
}

// cancelUpload cancels the Upload, retrying (cancel is idempotent) until the API answers for
// good or ctx, bounded by CancelTimeout, ends: an Upload is not left pending for want of one
// more try.
func (u *upload) cancelUpload(ctx context.Context) error {
	policy := u.c.retry
	for attempt := 0; ; attempt++ {
		_, err := u.c.CancelUpload(ctx, u.up.ID)
		if err == nil || !retryableCallError(err) || ctx.Err() != nil {
			return err
		}
		if sleep(ctx, callDelay(policy, attempt, err)) != nil {
			return err
		}
	}
}
