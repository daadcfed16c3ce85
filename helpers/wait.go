package helpers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// Defaults of [WaitOptions]. OpenAI's Node SDK (files.waitForProcessing) polls every 5 s for at
// most 30 minutes; this SDK starts sooner and backs off to a longer interval, so that a File
// processed in a second is seen in a second and a slow one costs few requests.
const (
	// DefaultWaitPollInterval is the first wait between two polls.
	DefaultWaitPollInterval = time.Second
	// DefaultWaitMaxPollInterval caps the wait between two polls, which doubles after each poll.
	DefaultWaitMaxPollInterval = 10 * time.Second
	// DefaultWaitTimeout is how long WaitForProcessing waits in all (as OpenAI's Node SDK does).
	DefaultWaitTimeout = 30 * time.Minute
)

// WaitOptions configures [Client.WaitForProcessing]. Every field is optional.
type WaitOptions struct {
	// PollInterval is the first wait between two polls: 0 means DefaultWaitPollInterval. Each
	// wait doubles the previous one, up to MaxPollInterval.
	PollInterval time.Duration
	// MaxPollInterval caps the wait between two polls: 0 means DefaultWaitMaxPollInterval.
	MaxPollInterval time.Duration
	// Timeout bounds the whole wait: 0 means DefaultWaitTimeout, a negative value no bound but
	// the context's.
	Timeout time.Duration
	// OnPoll, when set, is told of the File after each poll (for example to show its status).
	OnPoll func(file *generated.OpenAIFile)
}

// ProcessingError is the error of a File whose processing failed: its status is "error".
type ProcessingError struct {
	// File is the File as last retrieved; StatusDetails, when the API sets it, says why.
	File *generated.OpenAIFile
}

func (e *ProcessingError) Error() string {
	msg := fmt.Sprintf("file %s failed processing (status %s)", e.File.ID, e.File.Status)
	if d := e.File.StatusDetails; d != nil && strings.TrimSpace(*d) != "" {
		msg += ": " + strings.TrimSpace(*d)
	}
	return msg
}

// WaitTimeoutError is the error of a wait that ran out of time (WaitOptions.Timeout) before the
// File was processed. errors.Is(err, context.DeadlineExceeded) holds.
type WaitTimeoutError struct {
	// FileID is the File waited for.
	FileID string
	// Timeout is the bound that was reached.
	Timeout time.Duration
	// Status is the File's status at the last poll (empty if no poll succeeded).
	Status string
}

func (e *WaitTimeoutError) Error() string {
	status := e.Status
	if status == "" {
		status = "unknown"
	}
	return fmt.Sprintf("file %s was not processed within %s (last status: %s)", e.FileID, e.Timeout, status)
}

// Unwrap makes errors.Is(err, context.DeadlineExceeded) hold.
func (e *WaitTimeoutError) Unwrap() error { return context.DeadlineExceeded }

// errWaitTimedOut is the cause of the wait's own deadline, told apart from the caller's.
var errWaitTimedOut = errors.New("wait timed out")

// WaitForProcessing polls the File (GET /files/{file_id}) until it is processed and returns it.
// It is the Go counterpart of files.waitForProcessing in OpenAI's Node SDK, with a backoff: the
// first poll is immediate, then the waits start at PollInterval and double up to MaxPollInterval.
//
// It returns a *[ProcessingError] when the File's status becomes "error", a *[WaitTimeoutError]
// when opts.Timeout passes first, the context's error when ctx ends first, and an *[APIError]
// when a poll is refused (a 404 once the File is deleted). Statuses other than "processed" and
// "error" ("uploaded", or one this SDK does not know) mean the File is still being processed.
// (OpenAI's document marks the File's status deprecated, yet it is what waitForProcessing in
// OpenAI's own SDKs polls, and the only sign of processing the API gives.)
func (c *Client) WaitForProcessing(ctx context.Context, fileID string, opts WaitOptions) (*generated.OpenAIFile, error) {
	if strings.TrimSpace(fileID) == "" {
		return nil, inputErrorf("fileID", "must not be empty")
	}
	opts = opts.withDefaults()
	wctx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeoutCause(ctx, opts.Timeout, errWaitTimedOut)
		defer cancel()
	}
	var last string
	delay := time.Duration(0)
	for {
		if err := sleep(wctx, delay); err != nil {
			return nil, waitEnded(ctx, wctx, fileID, opts.Timeout, last)
		}
		file, err := c.RetrieveFile(wctx, fileID)
		if err != nil {
			if wctx.Err() != nil {
				return nil, waitEnded(ctx, wctx, fileID, opts.Timeout, last)
			}
			return nil, fmt.Errorf("waiting for file %s: %w", fileID, err)
		}
		last = string(file.Status)
		if opts.OnPoll != nil {
			opts.OnPoll(file)
		}
		switch file.Status {
		case generated.OpenAIFileStatusProcessed:
			return file, nil
		case generated.OpenAIFileStatusError:
			return nil, &ProcessingError{File: file}
		}
		delay = nextPollDelay(delay, opts.PollInterval, opts.MaxPollInterval)
	}
}

func (o WaitOptions) withDefaults() WaitOptions {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultWaitPollInterval
	}
	if o.MaxPollInterval <= 0 {
		o.MaxPollInterval = DefaultWaitMaxPollInterval
	}
	if o.MaxPollInterval < o.PollInterval {
		o.MaxPollInterval = o.PollInterval
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultWaitTimeout
	}
	return o
}

// nextPollDelay is the wait before the next poll: first, then doubling, at most max.
func nextPollDelay(prev, first, max time.Duration) time.Duration {
	if prev <= 0 {
		return first
	}
	if prev >= max/2 {
		return max
	}
	return 2 * prev
}

// waitEnded says why a wait stopped early: its own timeout, or the caller's context.
func waitEnded(ctx, wctx context.Context, fileID string, timeout time.Duration, last string) error {
	if ctx.Err() == nil && errors.Is(context.Cause(wctx), errWaitTimedOut) {
		return &WaitTimeoutError{FileID: fileID, Timeout: timeout, Status: last}
	}
	return fmt.Errorf("waiting for file %s: %w", fileID, context.Cause(ctx))
}
