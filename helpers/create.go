package helpers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// start creates the Upload, or resumes the checkpointed one (u.up). With ctx cancelled while
// the Upload was being created, it returns ctx's cause with u.up set: fail then cancels it.
func (u *upload) start(ctx context.Context) error {
	u.redo = nil
	if u.ckpt != nil {
		u.sent, u.read = make([]string, len(u.parts)), make([]string, len(u.parts))
		if u.resume(ctx) {
			if len(u.ckpt.cp.Parts) > 0 {
				u.redo = make(chan partSpan, len(u.parts)) // each part is requeued at most once
			}
			u.prog.setUpload(u.up.ID)
			return nil
		}
	}
	up, err := u.create(ctx)
	if err != nil {
		return err
	}
	u.up = up
	u.prog.setUpload(up.ID) // reported at once: the caller learns the id even if what follows fails
	if u.ckpt != nil {
		if err := u.ckpt.reset(u.newCheckpoint(up)); err != nil {
			return fmt.Errorf("writing checkpoint %s: %w", u.ckpt.path, err)
		}
		u.ckptCurrent = true
	}
	if ctx.Err() != nil { // cancelled while the Upload was being created
		return context.Cause(ctx)
	}
	return nil
}

// create creates the Upload, retrying up to UploadOptions.MaxRetries times. createUpload is not
// idempotent: an attempt whose reply was lost may have created an Upload that this call never
// learns of. The upload goes on with the Upload a retry creates, and Notify says that an
// earlier attempt may have left one pending (it expires within the hour; OpenAI's API cannot
// list Uploads to find it). Once ctx ends no new attempt starts; the attempt in flight gets
// CreateGrace to finish, so that an Upload created as the caller gave up is cancelled rather
// than left pending unseen.
func (u *upload) create(ctx context.Context) (*generated.Upload, error) {
	if ctx.Err() != nil { // nothing sent yet: the grace below is for an attempt under way
		return nil, fmt.Errorf("%w (before the Upload was created)", context.Cause(ctx))
	}
	policy := u.retryPolicy()
	lost := 0
	for attempt := 0; ; attempt++ {
		up, n, err := u.createOnce(ctx)
		lost += n
		switch {
		case err == nil:
			if lost > 0 {
				u.notify("the reply to create was lost %s; upload %s was created by a retry, and the earlier attempt may have left a pending Upload behind, which expires within the hour", times(lost), up.ID)
			}
			return up, nil
		case ctx.Err() != nil:
			err = fmt.Errorf("%w (while creating the Upload: %v)", context.Cause(ctx), err)
		case attempt < policy.maxRetries && retryableCallError(err):
			if serr := sleep(ctx, callDelay(policy, attempt, err)); serr == nil {
				continue
			}
			err = fmt.Errorf("%w (while creating the Upload: %v)", context.Cause(ctx), err)
		}
		if lost > 0 {
			err = fmt.Errorf("%w; %s got no reply, so up to %d pending Upload(s) may have been created (they expire within the hour)", err, attemptsText(lost), lost)
		}
		return nil, err
	}
}

// createOnce sends createUpload once, and says how many attempts (0 or 1) were lost. The
// request does not end the moment ctx is cancelled: it gets CreateGrace to finish.
func (u *upload) createOnce(ctx context.Context) (*generated.Upload, int, error) {
	createCtx, end := withGrace(ctx, CreateGrace)
	defer end()
	rec := &callRecord{}
	up, err := u.c.CreateUpload(withCall(createCtx, callOptions{noRetry: true, rec: rec}), generated.CreateUploadRequest{
		Bytes: u.src.size, Filename: u.opts.Filename, MimeType: u.opts.MIMEType,
		Purpose: u.opts.Purpose, ExpiresAfter: u.opts.ExpiresAfter,
	})
	return up, rec.lostCount(), err
}

// withGrace returns a context that ends grace after ctx does, for a request that is not
// idempotent: one whose answer is on its way when the caller gives up gets it, so that what
// it made (an Upload, a File) is known rather than left unseen. end releases it.
func withGrace(ctx context.Context, grace time.Duration) (context.Context, func()) {
	gctx, abort := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			abort()
		case <-gctx.Done():
		}
	})
	return gctx, func() {
		stop()
		abort()
	}
}

// retryableCallError: connection errors, stalls, timeouts, unreadable 2xx answers, 408, 409,
// 429 and 5xx; never the caller's own cancel or deadline.
func retryableCallError(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Temporary()
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// callDelay is the wait before retry number attempt+1: what the server asked for, or backoff.
func callDelay(policy retryPolicy, attempt int, err error) time.Duration {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
		return apiErr.RetryAfter
	}
	return policy.delay(attempt, nil)
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func attemptsText(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}
