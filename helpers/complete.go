package helpers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// complete completes the Upload, retrying up to UploadOptions.MaxRetries times. completeUpload is
// not idempotent, so each case has its plan:
//   - an attempt gets no reply (lost, timed out, a 2xx that is not a completed Upload): it may
//     have completed the Upload; complete is sent again;
//   - the API refuses because the Upload is already completed: an earlier attempt (or, when
//     resuming, an earlier run) completed it; its File is recovered (recoverFile);
//   - the API refuses because the Upload is being completed: wait and ask again, for at most
//     ClientOptions.Timeout;
//   - the last attempt got no reply: the File is looked for; if it is not found the outcome is
//     unknown, and fail leaves the Upload as it is (u.completeUnknown).
//
// Any other refusal means the Upload was not completed.
func (u *upload) complete(ctx context.Context, sum string) (*generated.Upload, error) {
	policy := u.retryPolicy()
	waitUntil := time.Now().Add(u.c.timeout)
	waits := 0
	for attempt := 0; ; {
		rec := &callRecord{}
		u.completeSent = true
		done, err := u.c.CompleteUpload(withCall(ctx, callOptions{noRetry: true, rec: rec}), u.up.ID, u.ids, sum)
		u.completeUnknown = rec.lastLost()
		switch {
		case err == nil:
			return done, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%w (while completing the Upload: %v)", context.Cause(ctx), err)
		case isUploadState(err, "upload_completed"):
			return u.recoverFile(ctx, true)
		case isUploadState(err, "upload_completing") && time.Now().Before(waitUntil):
			u.completeUnknown = true
			if sleep(ctx, policy.delay(waits, nil)) == nil {
				waits++
				continue
			}
			return nil, fmt.Errorf("%w (while the Upload was being completed: %v)", context.Cause(ctx), err)
		case attempt < policy.maxRetries && retryableCallError(err):
			if sleep(ctx, callDelay(policy, attempt, err)) == nil {
				attempt++
				continue
			}
			return nil, fmt.Errorf("%w (while completing the Upload: %v)", context.Cause(ctx), err)
		case u.completeUnknown:
			// No reply to the last attempt: the Upload may be completed. Look for its File.
			if up, rerr := u.recoverFile(ctx, false); rerr == nil {
				return up, nil
			}
		}
		return nil, err
	}
}

// recoverFile finds the File of this Upload after a reply to complete was lost, and returns the
// completed Upload holding it. The File is the newest in the files list with this upload's
// filename, size and purpose, created no earlier than the Upload. known says the Upload is known
// to be completed: the list is then read up to three times (a list may lag behind a
// completion). When it is not found, the outcome stays unknown.
func (u *upload) recoverFile(ctx context.Context, known bool) (*generated.Upload, error) {
	u.completeUnknown = true
	since := u.up.CreatedAt
	if since == 0 {
		since = u.up.ExpiresAt - int64(uploadTTL/time.Second)
	}
	tries := 1
	if known {
		tries = 3
	}
	policy := u.retryPolicy()
	var f *generated.OpenAIFile
	var matches int
	var err error
	for i := range tries {
		if i > 0 && sleep(ctx, policy.delay(i-1, nil)) != nil {
			break
		}
		f, matches, err = u.c.findFile(ctx, u.opts.Filename, u.src.size, string(u.opts.Purpose), since, u.opts.claims)
		if f != nil {
			break
		}
	}
	if f == nil {
		if err == nil {
			err = fmt.Errorf("no File named %q of %d bytes and purpose %s created since the Upload is listed: %w", u.opts.Filename, u.src.size, u.opts.Purpose, errFileNotListed)
		}
		if known {
			return nil, fmt.Errorf("upload %s is completed (by a complete whose reply was lost), but its File was not found: %w", u.up.ID, err)
		}
		return nil, fmt.Errorf("looking for the File: %w", err)
	}
	u.completeUnknown = false
	if u.opts.claims != nil {
		u.opts.claims.claim(f.ID)
	}
	extra := ""
	if matches > 1 {
		extra = fmt.Sprintf(" (the newest of %d Files that match)", matches)
	}
	u.notify("the reply to complete was lost; recovered File %s of upload %s%s", f.ID, u.up.ID, extra)
	done := *u.up
	done.Status = generated.UploadStatusCompleted
	done.File = f
	return &done, nil
}

// errFileNotListed is wrapped by recoverFile's error when the files list was read and holds no
// File of the Upload.
var errFileNotListed = errors.New("no such File is listed")

// findFilePage is how many files each page of the search asks for.
const findFilePage = 100

// findFile looks through the files, newest first, for the newest one with this filename, size
// and purpose created at or after since (unix seconds), and not claimed by another file of an
// UploadFiles (claims may be nil), and counts how many match.
func (c *Client) findFile(ctx context.Context, filename string, size int64, purpose string, since int64, claims *claimedFiles) (*generated.OpenAIFile, int, error) {
	limit, order := int64(findFilePage), generated.ListFilesParamsOrderDesc
	params := &generated.ListFilesParams{Purpose: &purpose, Limit: &limit, Order: &order}
	var found *generated.OpenAIFile
	matches := 0
	for {
		page, err := c.ListFiles(ctx, params)
		if err != nil {
			return found, matches, err
		}
		for i := range page.Data {
			f := page.Data[i]
			if f.CreatedAt < since {
				return found, matches, nil
			}
			if f.Filename == filename && f.Bytes == size && string(f.Purpose) == purpose && (claims == nil || !claims.taken(f.ID)) {
				if found == nil {
					found = &f
				}
				matches++
			}
		}
		if !page.HasMore || page.LastID == nil || len(page.Data) == 0 {
			return found, matches, nil
		}
		params.After = page.LastID
	}
}
