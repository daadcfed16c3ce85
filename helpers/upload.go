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
// Exactly one of Cancelled, Resumable (with or without OutcomeUnknown), OutcomeUnknown alone,
// Gone, or CancelErr describes the Upload. Its message ends with what to do next.
type UploadError struct {
	// UploadID is the Upload's id.
	UploadID string
	// Cancelled: the Upload was cancelled after the failure. The API cancels only a pending
	// Upload, so a cancelled Upload was not completed.
	Cancelled bool
	// Resumable: the Upload was left pending and Checkpoint kept, because the cause may pass (a
	// network failure, 408, 409, 429 or 5xx, a stall, a timeout, the caller's cancel, a key the
	// API refused, a file being written); call again with the same Checkpoint to send the parts
	// that are missing or changed (or, with OutcomeUnknown, to finish: complete is sent again and
	// the File recovered if the Upload was completed).
	Resumable bool
	// Checkpoint is the checkpoint file, when Resumable. A failure that is not resumable removes
	// the checkpoint, so that the next call starts afresh instead of failing the same way.
	Checkpoint string
	// ExpiresAt is when the Upload expires (unix seconds): a resumable Upload must be finished
	// before then.
	ExpiresAt int64
	// OutcomeUnknown: complete was sent but no reply came (lost, timed out, unreadable), and
	// the SDK could not tell whether the Upload was completed: no File matching it was found,
	// and the cancel that would have settled it (the API cancels only a pending Upload) failed
	// too, or found the Upload being completed. The Upload was left as it is: if it
	// was completed its File exists (list the files to find it); otherwise it expires within
	// the hour of its creation. CancelErr says why the cancel failed, if it did.
	OutcomeUnknown bool
	// Gone: the Upload is no longer pending, through no doing of this call: it expired, was
	// cancelled or completed elsewhere, or the API does not know it (404). Nothing was cancelled
	// and nothing is left to cancel.
	Gone bool
	// CancelErr says why cancelling the Upload failed, if it did.
	CancelErr error
	// Err is the cause.
	Err error
}

func (e *UploadError) Error() string {
	switch {
	case e.OutcomeUnknown && e.Resumable:
		return fmt.Sprintf("upload %s: complete was sent but no reply came, so whether the Upload was completed is unknown; it was left as it is, not cancelled: %v; call again with checkpoint %s to finish (its File is recovered if it was completed)", e.UploadID, e.Err, e.Checkpoint)
	case e.OutcomeUnknown:
		return fmt.Sprintf("upload %s: complete was sent but no reply came, and no File matching it was found, so whether the Upload was completed is unknown; it was left as it is, not cancelled: %v%s; to settle it, cancel it: the API refuses if it was completed, and its File is then in the files list (otherwise it expires within the hour)", e.UploadID, e.Err, cancelFailure(e.CancelErr))
	case e.Resumable:
		return fmt.Sprintf("upload %s failed and was left pending: %v; it can be resumed: call again with checkpoint %s%s", e.UploadID, e.Err, e.Checkpoint, before(e.ExpiresAt))
	case e.Gone:
		return fmt.Sprintf("upload %s failed and is no longer pending, so nothing was cancelled: %v; start a new upload", e.UploadID, e.Err)
	case e.Cancelled:
		return fmt.Sprintf("upload %s failed and was cancelled: %v", e.UploadID, e.Err)
	default:
		return fmt.Sprintf("upload %s failed, and cancelling it failed too (%v): %v; cancel it (or it expires within the hour of its creation)", e.UploadID, e.CancelErr, e.Err)
	}
}

func (e *UploadError) Unwrap() error { return e.Err }

func cancelFailure(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf(" (cancelling it, which would have settled it, failed: %v)", err)
}

func before(expiresAt int64) string {
	if expiresAt == 0 {
		return ""
	}
	return " before it expires at " + time.Unix(expiresAt, 0).UTC().Format("15:04 MST")
}

// ErrSourceChanged is wrapped by the errors of an upload whose source did not hold the bytes its
// size promised (it ended early, or a plain reader went on past it), or changed while it was
// being uploaded: for a file, its size, modification time or bytes changed after it was opened
// (the message says the file changed while it was being uploaded, and what changed).
var ErrSourceChanged = errors.New("the source does not match its size")

// ErrUploadExpired is wrapped by the error of an upload whose hour ran out before complete.
var ErrUploadExpired = errors.New("the Upload expired before it was completed (it must be completed by its expires_at: on OpenAI, an hour after its creation)")

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
//
// With opts.Checkpoint the upload can be resumed: see [UploadOptions.Checkpoint] for what is
// refused before any request, the lock, and what each outcome does to the Upload and the
// checkpoint. The file is checked again before complete (its size and modification time, and,
// with a checkpoint, each part's md5): a file that changed while it was being uploaded fails
// with ErrSourceChanged.
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
	return c.upload(ctx, &uploadSource{at: f, size: info.Size(), info: info, file: f, name: path}, opts)
}

// UploadReaderAt uploads size bytes from r, in parts that are io.SectionReaders of r streamed to
// the connection, never copied whole (see [Client.UploadFile] for the memory bound). r must
// allow concurrent ReadAt calls (an *os.File or *bytes.Reader does). opts.Filename is required.
// If r can tell its size (a Size or Stat method) and it differs from size, nothing is sent.
func (c *Client) UploadReaderAt(ctx context.Context, r io.ReaderAt, size int64, opts UploadOptions) (*generated.Upload, error) {
	if opts.Checkpoint != "" {
		return nil, inputErrorf(checkpointField, "resume needs a file; use UploadFile")
	}
	if n, ok := sizeOf(r); ok && n != size {
		return nil, inputErrorf("size", "%d, but the source holds %d bytes", size, n)
	}
	return c.upload(ctx, &uploadSource{at: r, size: size, name: "the source"}, opts)
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
		return nil, inputErrorf(checkpointField, "resume needs a file; use UploadFile")
	}
	return c.upload(ctx, &uploadSource{stream: r, size: size, name: "the reader"}, opts)
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

// uploadSource is where the bytes come from: an io.ReaderAt (a file when file is set, with its
// info as opened) or a plain reader. name says it in messages (a file's path).
type uploadSource struct {
	at     io.ReaderAt
	stream io.Reader
	size   int64
	info   fs.FileInfo
	file   *os.File
	name   string
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
	ids []string
	up  *generated.Upload
	// resumed: up comes from the checkpoint (its state is learnt from its first request).
	resumed bool
	prog    *progressTracker
	// budget grants the slots of part requests (scheduler.go, budget.go); queue holds the parts to send.
	budget *budget
	queue  *partQueue
	// completeSent: complete was sent at least once. completeUnknown: the last complete attempt
	// got no reply, so the Upload may be completed.
	completeSent, completeUnknown bool

	// With a checkpoint: the file, its lock, what was found there (until resume reads it), and
	// whether the file on disk describes up (ckptCurrent).
	ckpt        *checkpointFile
	lock        *checkpointLock
	found       *existingCheckpoint
	ckptCurrent bool
	// With a checkpoint, each part's md5 (hex, by index): recorded, as the checkpoint had it when
	// resumed (fixed during an attempt); sent, of the bytes its accepted request carried; read,
	// as the md5 pass read it. redo carries parts to send again (see requeue).
	recorded, sent, read []string
	redo                 chan partSpan
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
	if opts.Checkpoint != "" {
		if err := u.openCheckpoint(); err != nil {
			return nil, err
		}
		defer u.closeCheckpoint()
	}
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

// run runs the upload and settles its outcome: on success the checkpoint is removed; a resumed
// Upload that turns out not to be pending any more is replaced once by a new one
// (restartable); any other failure goes to fail.
func (u *upload) run(ctx context.Context) (up *generated.Upload, err error) {
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
	for restarted := false; ; restarted = true {
		done, cause := u.attempt(ctx)
		if cause == nil {
			if u.ckpt != nil {
				if err := u.ckpt.remove(); err != nil {
					u.notify("upload %s completed, but removing checkpoint %s failed: %v", done.ID, u.ckpt.path, err)
				}
			}
			return done, nil
		}
		if why, ok := u.restartable(ctx, cause); ok && !restarted {
			u.notify("upload %s from checkpoint %s %s; starting a new upload", u.up.ID, u.ckpt.path, why)
			u.restart()
			continue
		}
		return u.fail(ctx, cause)
	}
}

// attempt creates the Upload (or resumes the checkpointed one), sends the parts beside the md5
// pass, checks the source, and completes. It returns the completed Upload, or the cause of the
// failure (u.up says whether an Upload exists).
func (u *upload) attempt(ctx context.Context) (*generated.Upload, error) {
	// wctx ends the work early: the first failure of a part, of the md5 pass or of the
	// Progress callback cancels it, with that failure as its cause.
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	u.prog.onPanic = func(err error) { cancel(err) }
	if perr := u.prog.panicErr.Load(); perr != nil { // in a report made before this attempt
		return nil, *perr
	}
	if err := u.start(wctx); err != nil {
		return nil, err
	}

	// Parts, and the md5 pass beside them.
	u.prog.setPhase(PhaseSending)
	pass := u.startPass(wctx, cancel)
	var h hash.Hash
	if u.src.stream != nil && !u.opts.SkipMD5 {
		h = md5.New()
	}
	partsErr := u.sendParts(wctx, cancel, h)
	sum, passErr := pass.wait()
	if err := firstError(context.Cause(wctx), partsErr, passErr); err != nil {
		return nil, u.phraseChanged(err)
	}
	if h != nil {
		sum = hex.EncodeToString(h.Sum(nil))
		if u.opts.MD5 != "" && sum != u.opts.MD5 {
			return nil, fmt.Errorf("md5 mismatch: the reader's md5 is %s, but UploadOptions.MD5 expects %s: %w", sum, u.opts.MD5, errExpectedMD5)
		}
	}
	if err := u.checkSource(); err != nil {
		return nil, err
	}
	if u.c.apiNow().Unix() >= u.up.ExpiresAt {
		return nil, fmt.Errorf("%w (it expired at %s)", ErrUploadExpired, time.Unix(u.up.ExpiresAt, 0).UTC().Format(time.RFC3339))
	}

	u.prog.setPhase(PhaseCompleting)
	done, err := u.complete(ctx, sum)
	if err != nil {
		return nil, u.phraseChanged(u.explain(err))
	}
	return done, nil
}

// restart forgets the resumed Upload, and its checkpoint, to start a new one.
func (u *upload) restart() {
	_ = u.ckpt.remove()
	u.up, u.resumed, u.ckptCurrent = nil, false, false
	u.completeSent, u.completeUnknown = false, false
	clear(u.ids)
	u.recorded = nil
	u.prog.reset()
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
