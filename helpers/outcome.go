package helpers

import (
	"context"
	"errors"
	"fmt"

	"github.com/openai-uploads/uploads/generated"
)

// The outcome of a failed upload: what becomes of the Upload and of the checkpoint, so that no
// failure repeats on every call.
//
//	cause                                           Upload                checkpoint
//	network, stall, timeout, lost reply,            left pending          kept: resumable
//	408/409/429/5xx, the caller's cancel,
//	401/403, the file changed (same size),
//	reading the file, writing the checkpoint
//	any other API refusal (400, 404 …), the file's  cancelled             removed
//	size changed, UploadOptions.MD5 differs,
//	expired, a panic in Progress
//	the Upload expired, was cancelled or completed  left (nothing to do)  removed
//	elsewhere, or is unknown (404): Gone
//	complete's outcome unknown                      left as it is         kept: the next call
//	                                                                      finishes or settles it
//
// A resumed Upload that turns out not to be pending (404, cancelled, expired, or completed but
// not with the file as it is now) is replaced by a new one at once (restartable).

// restartable reports whether a resumed Upload failed because it is no longer pending, and why:
// the upload then starts a new Upload rather than failing.
func (u *upload) restartable(ctx context.Context, cause error) (string, bool) {
	if !u.resumed || ctx.Err() != nil {
		return "", false
	}
	if errors.Is(cause, errFileNotListed) {
		return "is completed, but no File of it is in the files list", true
	}
	return goneReason(cause)
}

// goneReason says why a request failed because the Upload is no longer pending: the API does
// not know it (404), or it is cancelled, expired or (for a part) completed.
func goneReason(err error) (string, bool) {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return "", false
	}
	switch {
	case apiErr.StatusCode == 404 && (apiErr.Operation == "addUploadPart" || apiErr.Operation == "completeUpload" || apiErr.Operation == "cancelUpload"):
		return "is unknown to the API (404)", true
	case isUploadState(err, "upload_cancelled"):
		return "was cancelled", true
	case isUploadState(err, "upload_expired"):
		return "has expired", true
	case isUploadState(err, "upload_completed") && apiErr.Operation == "addUploadPart":
		return "is already completed, but not with the file as it is now", true
	}
	return "", false
}

// resumable reports whether cause may pass, so that the Upload is worth keeping for the next
// call with the checkpoint.
func (u *upload) resumable(ctx context.Context, cause error) bool {
	var apiErr *APIError
	switch {
	case ctx.Err() != nil: // the caller's cancel or deadline
		return true
	case errors.Is(cause, errExpectedMD5), errors.Is(cause, errProgressPanic), errors.Is(cause, ErrUploadExpired):
		return false
	case errors.Is(cause, ErrSourceChanged):
		// Resumable when the plan still holds: the next call sends the parts whose bytes changed.
		if u.src.file == nil {
			return false
		}
		info, err := u.src.file.Stat()
		return err == nil && info.Size() == u.src.size
	case errors.As(cause, &apiErr):
		if _, gone := goneReason(cause); gone {
			return false
		}
		// A key the API refuses leaves the Upload as it was: resume with the right key.
		return apiErr.Temporary() || apiErr.StatusCode == 401 || apiErr.StatusCode == 403
	}
	return true // the network, the file's reads, the checkpoint's writes
}

// fail ends a failed upload (see the table above). A resumable failure with a checkpoint that
// describes the Upload leaves it pending. Otherwise the Upload is settled (settle) and the
// checkpoint removed, unless complete's outcome stays unknown: the next call then finishes it.
func (u *upload) fail(ctx context.Context, cause error) (*generated.Upload, error) {
	if u.up == nil {
		return nil, cause
	}
	if u.ckpt != nil && u.ckptCurrent && u.resumable(ctx, cause) {
		u.notify("upload %s failed; it stays pending and can be resumed with checkpoint %s", u.up.ID, u.ckpt.path)
		return nil, &UploadError{UploadID: u.up.ID, Resumable: true, OutcomeUnknown: u.completeUnknown, Checkpoint: u.ckpt.path, ExpiresAt: u.up.ExpiresAt, Err: cause}
	}
	up, err := u.settle(ctx, cause)
	if u.ckpt != nil {
		var upErr *UploadError
		if errors.As(err, &upErr) && upErr.OutcomeUnknown && u.ckptCurrent {
			upErr.Resumable, upErr.Checkpoint, upErr.ExpiresAt = true, u.ckpt.path, u.up.ExpiresAt
		} else if rerr := u.ckpt.remove(); rerr != nil {
			u.notify("removing checkpoint %s failed: %v", u.ckpt.path, rerr)
		}
	}
	return up, err
}

// settle ends a failed Upload that is not kept for resume. An Upload is cancelled only when it
// is known not to have been completed, on a fresh context (the caller's may be cancelled
// already): the API cancels only a pending Upload, so cancel is also the probe that settles a
// complete whose reply was lost. If it is cancelled, it was not completed; if the API answers
// that it is completed, its File is recovered and the upload succeeds; if it is being
// completed, or the cancel fails too, the outcome stays unknown and the *UploadError says so
// (OutcomeUnknown). An Upload no longer pending (Gone) is left alone.
func (u *upload) settle(ctx context.Context, cause error) (*generated.Upload, error) {
	if why, gone := goneReason(cause); gone {
		u.notify("upload %s failed: it %s", u.up.ID, why)
		return nil, &UploadError{UploadID: u.up.ID, Gone: true, Err: cause}
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
	if why, gone := goneReason(err); gone || isUploadState(err, "upload_completed") {
		if !gone {
			why = "was completed elsewhere"
		}
		return nil, &UploadError{UploadID: u.up.ID, Gone: true, Err: fmt.Errorf("%w; the Upload %s", cause, why)}
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
