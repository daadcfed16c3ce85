package helpers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// A small file of UploadFiles goes in one POST /files request, holding a slot of the shared
// budget like a part. See UploadFiles for what happens after a lost reply.

const (
	// dateMargin is taken off the server's clock as learnt from Date headers (whole seconds)
	// when searching for a File a lost POST /files may have created.
	dateMargin = 2 * time.Second
	// clockMargin is taken off this machine's clock instead when no Date was seen yet: clocks
	// may differ by that much.
	clockMargin = 5 * time.Minute
	// lostSearches is how often the files list is read after a lost reply (a list may lag).
	lostSearches = 2
)

// uploadSmall sends the file at path with POST /files, retrying like a part.
func (c *Client) uploadSmall(ctx context.Context, path string, o UploadOptions, claims *claimedFiles) (*generated.OpenAIFile, error) {
	o.Filename = filepath.Base(path)
	o, err := o.normalize(1)
	if err != nil {
		return nil, err
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = c.stall
	}
	b := o.shared
	if b == nil {
		b = newBudget(o.Concurrency)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size, name := info.Size(), filepath.Base(path)
	prog := newProgressTracker(o.Progress, size, 1, b.window, o.progressMu)
	prog.setPhase(PhaseSending)
	file, err := c.sendSmall(ctx, b, f, size, name, o, prog, claims)
	if err == nil {
		// As before an Upload's complete: a file changed while it was sent (an append dropped,
		// bytes rewritten) does not leave a File that does not hold what the file holds.
		if cerr := statChanged(path, f, info); cerr != nil {
			err = c.dropChanged(ctx, file, cerr, notifier(c, o))
			file = nil
		}
	}
	switch {
	case err == nil:
		prog.partDone(0)
		prog.setPhase(PhaseDone)
	case ctx.Err() != nil:
		prog.setPhase(PhaseCancelled)
	default:
		prog.setPhase(PhaseFailed)
	}
	return file, err
}

func (c *Client) sendSmall(ctx context.Context, b *budget, f io.ReaderAt, size int64, name string, o UploadOptions, prog *progressTracker, claims *claimedFiles) (*generated.OpenAIFile, error) {
	policy := retryPolicy{maxRetries: o.MaxRetries, initial: c.retry.initial, max: c.retry.max, jitter: c.retry.jitter}
	purpose := generated.CreateFileRequestPurpose(o.Purpose)
	notify := notifier(c, o)
	retries := 0
	for {
		t, err := b.acquire(ctx, o.admission)
		if err != nil {
			return nil, context.Cause(ctx)
		}
		since := c.searchSince()
		body := (&partReader{r: io.NewSectionReader(f, 0, size), want: size, prog: prog}).budgeted(b)
		// Cancelled while the request is under way, it still gets CreateGrace to be answered:
		// a File the server made as the caller gave up is then returned, not left unseen.
		rctx, end := withGrace(ctx, CreateGrace)
		file, err := c.CreateFile(withCall(rctx, callOptions{stall: o.StallTimeout}), body, size, name, purpose, o.ExpiresAfter)
		end()
		sent, srcErr := body.finish()
		if err == nil && sent != size {
			err = fmt.Errorf("createFile: %w: the answer came after %d of the file's %d bytes", errNoResult, sent, size)
		}
		if err == nil {
			b.release(t, ended{outcome: outcomeOK, bytes: size, drained: body.drained()})
			claims.claim(file.ID)
			return file, nil
		}
		prog.rewind(sent)
		kind, retryAfter := classify(err)
		b.release(t, ended{outcome: kind, drained: body.drained(), retryAfter: retryAfter,
			backoff: func(n int) time.Duration { return policy.delay(n, nil) }})
		switch {
		case ctx.Err() != nil && errors.Is(err, ErrReplyLost):
			return nil, fmt.Errorf("%w; the request was sent whole but its answer did not come within %v: %w", context.Cause(ctx), CreateGrace, err)
		case ctx.Err() != nil:
			return nil, context.Cause(ctx)
		case srcErr != nil:
			return nil, srcErr
		case errors.Is(err, ErrReplyLost):
			found, rerr := c.findLostFile(ctx, policy, name, size, string(purpose), since, claims)
			if found != nil {
				notify("the reply to POST /files was lost; File %s (same name, size and purpose, created since the request was sent) is taken as its File", found.ID)
				return found, nil
			}
			if rerr != nil {
				return nil, fmt.Errorf("%w; %w", err, rerr)
			}
			notify("the reply to POST /files was lost, and no File of that name, size and purpose appeared since: sending it again")
		case kind == outcomeThrottled && !b.starved(c.timeout):
			prog.throttle()
			continue
		case kind == outcomeThrottled:
			return nil, fmt.Errorf("every request was answered 429 (rate limited) for %v: %w", c.timeout, err)
		}
		if retries >= policy.maxRetries || !retryableCallError(err) && !errors.Is(err, ErrReplyLost) {
			return nil, fmt.Errorf("attempt %d: %w", retries+1, err)
		}
		retries++
		prog.retried()
		if serr := sleep(ctx, callDelay(policy, retries-1, err)); serr != nil {
			return nil, context.Cause(ctx)
		}
	}
}

// notifier returns the Notify of a small file: to the debug output and o.Notify.
func notifier(c *Client, o UploadOptions) func(format string, args ...any) {
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		c.tr.logf("openai-uploads: %s\n", msg)
		if o.Notify != nil {
			o.Notify(msg)
		}
	}
}

// dropChanged deletes the File made from a file that changed while it was being sent (on a
// fresh context: the caller's may be cancelled), and returns the error saying so.
func (c *Client) dropChanged(ctx context.Context, file *generated.OpenAIFile, cause error, notify func(string, ...any)) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CancelTimeout)
	defer cancel()
	if _, err := c.DeleteFile(dctx, file.ID); err != nil {
		return fmt.Errorf("%w; the File %s made from it holds bytes the file no longer has, and deleting it failed: %v", cause, file.ID, err)
	}
	notify("File %s was deleted: %v", file.ID, cause)
	return fmt.Errorf("%w; the File %s made from it was deleted", cause, file.ID)
}

// searchSince is the earliest created_at (server time, Unix seconds) a File made by a request
// sent now could carry, with a margin.
func (c *Client) searchSince() int64 {
	if now, ok := c.tr.serverNow(); ok {
		return now.Add(-dateMargin).Unix()
	}
	return time.Now().Add(-clockMargin).Unix()
}

// findLostFile looks for the File a POST /files whose reply was lost may have created: one of
// this name, size and purpose created at or after since that no other file of the call took.
// It returns the File (claimed), or nil and nil when there is none, or an error when the
// outcome cannot be told (several candidates, or the list could not be read).
func (c *Client) findLostFile(ctx context.Context, policy retryPolicy, name string, size int64, purpose string, since int64, claims *claimedFiles) (*generated.OpenAIFile, error) {
	var lastErr error
	for i := range lostSearches {
		if i > 0 && sleep(ctx, policy.delay(i-1, nil)) != nil {
			return nil, context.Cause(ctx)
		}
		cands, err := c.listCandidates(ctx, name, size, purpose, since)
		if err != nil {
			lastErr = err
			continue
		}
		claims.mu.Lock()
		var free []generated.OpenAIFile
		for _, f := range cands {
			if !claims.ids[f.ID] {
				free = append(free, f)
			}
		}
		switch len(free) {
		case 0:
			claims.mu.Unlock()
			lastErr = nil
			continue
		case 1:
			claims.ids[free[0].ID] = true
			claims.mu.Unlock()
			return &free[0], nil
		}
		claims.mu.Unlock()
		ids := make([]string, len(free))
		for i, f := range free {
			ids[i] = f.ID
		}
		return nil, fmt.Errorf("whether it created a File is unknown: %d Files of that name, size and purpose were created since (%s); nothing was sent again", len(free), strings.Join(ids, ", "))
	}
	if lastErr != nil {
		return nil, fmt.Errorf("whether it created a File is unknown: listing the files failed: %w; nothing was sent again", lastErr)
	}
	return nil, nil
}

// listCandidates lists the Files of this name, size and purpose created at or after since,
// newest first.
func (c *Client) listCandidates(ctx context.Context, name string, size int64, purpose string, since int64) ([]generated.OpenAIFile, error) {
	limit, order := int64(findFilePage), generated.ListFilesParamsOrderDesc
	params := &generated.ListFilesParams{Purpose: &purpose, Limit: &limit, Order: &order}
	var out []generated.OpenAIFile
	for {
		page, err := c.ListFiles(ctx, params)
		if err != nil {
			return nil, err
		}
		for _, f := range page.Data {
			if f.CreatedAt < since {
				return out, nil
			}
			if f.Filename == name && f.Bytes == size && string(f.Purpose) == purpose {
				out = append(out, f)
			}
		}
		if !page.HasMore || page.LastID == nil || len(page.Data) == 0 {
			return out, nil
		}
		params.After = page.LastID
	}
}
