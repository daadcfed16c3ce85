package helpers

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// retryPolicy decides how often and how long to wait between attempts.
type retryPolicy struct {
	maxRetries   int
	initial, max time.Duration
	// jitter returns a factor in [0.75, 1]; tests replace it.
	jitter func() float64
}

// withDefaults fills zero fields: maxRetries 0 means def, negative means none.
func (p retryPolicy) withDefaults(def int) retryPolicy {
	switch {
	case p.maxRetries == 0:
		p.maxRetries = def
	case p.maxRetries < 0:
		p.maxRetries = 0
	}
	if p.initial <= 0 {
		p.initial = DefaultInitialRetryDelay
	}
	if p.max <= 0 {
		p.max = DefaultMaxRetryDelay
	}
	if p.jitter == nil {
		p.jitter = func() float64 { return 1 - 0.25*rand.Float64() }
	}
	return p
}

// delay is how long to wait before retry number attempt+1: what the server asked for
// (retry-after-ms, then Retry-After), capped at MaxRetryAfter; otherwise exponential backoff
// from p.initial, capped at p.max, with up to 25% jitter.
func (p retryPolicy) delay(attempt int, resp *http.Response) time.Duration {
	if d, ok := retryAfter(resp); ok {
		return d
	}
	d := p.initial << min(attempt, 30)
	if d > p.max || d <= 0 {
		d = p.max
	}
	return time.Duration(float64(d) * p.jitter())
}

// retryAfter reads the delay a response asks for: retry-after-ms (milliseconds), else
// Retry-After (seconds or an HTTP date), capped at MaxRetryAfter.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	var d time.Duration
	if ms, err := strconv.ParseFloat(strings.TrimSpace(resp.Header.Get("retry-after-ms")), 64); err == nil && ms >= 0 {
		d = time.Duration(ms * float64(time.Millisecond))
	} else if v := strings.TrimSpace(resp.Header.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
			d = time.Duration(secs * float64(time.Second))
		} else if at, err := http.ParseTime(v); err == nil {
			d = max(time.Until(at), 0)
		} else {
			return 0, false
		}
	} else {
		return 0, false
	}
	return min(d, MaxRetryAfter), true
}

// retryableStatus: request timeout, conflict (a lock held by a concurrent request), rate limit
// and server errors.
func retryableStatus(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusConflict ||
		status == http.StatusTooManyRequests || status >= 500
}

// shouldRetry reports whether an attempt that ended with resp or err may be retried. A
// cancelled or expired context is never retried; OpenAI's x-should-retry header overrides the
// status.
func shouldRetry(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	switch resp.Header.Get("x-should-retry") {
	case "true":
		return true
	case "false":
		return false
	}
	return retryableStatus(resp.StatusCode)
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
