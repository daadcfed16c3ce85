package helpers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// The retry decisions, as pure functions: how many retries, which answers are retried, and how
// long to wait. The behaviour through a server is in retries_test.go.

// TestRetryPolicyDefaults: MaxRetries 0 means the default, a negative value none, a positive
// value itself; delays of 0 or less mean the defaults, others are kept.
func TestRetryPolicyDefaults(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, 7}, {-1, 0}, {-5, 0}, {1, 1}, {3, 3}} {
		if got := (retryPolicy{maxRetries: tc.in}).withDefaults(7).maxRetries; got != tc.want {
			t.Errorf("maxRetries %d with default 7: %d, want %d", tc.in, got, tc.want)
		}
	}
	p := retryPolicy{}.withDefaults(2)
	if p.initial != DefaultInitialRetryDelay || p.max != DefaultMaxRetryDelay || p.jitter == nil {
		t.Errorf("zero delays: initial %v, max %v; want %v, %v and a jitter", p.initial, p.max, DefaultInitialRetryDelay, DefaultMaxRetryDelay)
	}
	p = retryPolicy{initial: -time.Second, max: -time.Second}.withDefaults(2)
	if p.initial != DefaultInitialRetryDelay || p.max != DefaultMaxRetryDelay {
		t.Errorf("negative delays: initial %v, max %v; want the defaults", p.initial, p.max)
	}
	p = retryPolicy{initial: time.Nanosecond, max: 3 * time.Second}.withDefaults(2)
	if p.initial != time.Nanosecond || p.max != 3*time.Second {
		t.Errorf("delays set: initial %v, max %v; want 1ns and 3s kept", p.initial, p.max)
	}
	for range 1000 {
		if j := p.jitter(); j < 0.75 || j > 1 {
			t.Fatalf("the default jitter gave %v, outside [0.75, 1]", j)
		}
	}
}

// TestDelayHonoursTheServer: a delay the answer asks for replaces the backoff, whatever the
// attempt number.
func TestDelayHonoursTheServer(t *testing.T) {
	p := retryPolicy{jitter: func() float64 { return 1 }}.withDefaults(2)
	h := http.Header{}
	h.Set("Retry-After", "3")
	for _, attempt := range []int{0, 4} {
		if got := p.delay(attempt, &http.Response{Header: h}); got != 3*time.Second {
			t.Errorf("attempt %d with Retry-After: 3: %v, want 3s", attempt, got)
		}
	}
}

// TestRetryableStatus: 408, 409, 429 and every 5xx, and nothing else; at the edges of each.
func TestRetryableStatus(t *testing.T) {
	for status, want := range map[int]bool{
		200: false, 400: false, 401: false, 403: false, 404: false, 407: false,
		408: true, 409: true, 410: false, 428: false, 429: true, 430: false, 499: false,
		500: true, 502: true, 503: true, 504: true, 599: true,
	} {
		if got := retryableStatus(status); got != want {
			t.Errorf("retryableStatus(%d) = %v, want %v", status, got, want)
		}
	}
}

// TestShouldRetry: the transport's decision after an attempt. OpenAI's x-should-retry header
// overrides the status both ways; the caller's cancel or deadline is never retried.
func TestShouldRetry(t *testing.T) {
	resp := func(status int, shouldRetry string) *http.Response {
		h := http.Header{}
		if shouldRetry != "" {
			h.Set("x-should-retry", shouldRetry)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		resp *http.Response
		err  error
		want bool
	}{
		{"500", live, resp(500, ""), nil, true},
		{"503", live, resp(503, ""), nil, true},
		{"400", live, resp(400, ""), nil, false},
		{"404", live, resp(404, ""), nil, false},
		{"429", live, resp(429, ""), nil, true},
		{"500 with x-should-retry false", live, resp(500, "false"), nil, false},
		{"429 with x-should-retry false", live, resp(429, "false"), nil, false},
		{"400 with x-should-retry true", live, resp(400, "true"), nil, true},
		{"500 with another x-should-retry", live, resp(500, "maybe"), nil, true},
		{"400 with another x-should-retry", live, resp(400, "maybe"), nil, false},
		{"a connection error", live, nil, io.ErrUnexpectedEOF, true},
		{"a stall", live, nil, stalledError(time.Second), true},
		{"a timeout", live, nil, timeoutError(time.Second), true},
		{"context.Canceled", live, nil, fmt.Errorf("op: %w", context.Canceled), false},
		{"context.DeadlineExceeded", live, nil, fmt.Errorf("op: %w", context.DeadlineExceeded), false},
		{"the caller cancelled, 500", done, resp(500, ""), nil, false},
		{"the caller cancelled, x-should-retry true", done, resp(400, "true"), nil, false},
		{"the caller cancelled, a connection error", done, nil, io.ErrUnexpectedEOF, false},
	} {
		if got := shouldRetry(tc.ctx, tc.resp, tc.err); got != tc.want {
			t.Errorf("%s: shouldRetry = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRetryableCallError: what the upload engine retries (create, parts, complete): connection
// errors, stalls, timeouts and the API's temporary refusals; never the caller's cancel or
// deadline, a permanent refusal, or a 429 for want of credit.
func TestRetryableCallError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&APIError{StatusCode: 500}, true},
		{fmt.Errorf("part 2: %w", &APIError{StatusCode: 503}), true},
		{&APIError{StatusCode: 408}, true},
		{&APIError{StatusCode: 409}, true},
		{&APIError{StatusCode: 429}, true},
		{&APIError{StatusCode: 429, Code: "insufficient_quota"}, false},
		{&APIError{StatusCode: 400}, false},
		{&APIError{StatusCode: 404}, false},
		{io.ErrUnexpectedEOF, true},
		{stalledError(time.Second), true},
		{timeoutError(time.Second), true},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
	} {
		if got := retryableCallError(tc.err); got != tc.want {
			t.Errorf("retryableCallError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestCallDelay: the wait before a retry of the upload's own requests is the delay the API asked
// for (an APIError's RetryAfter, however deeply wrapped), else the policy's backoff.
func TestCallDelay(t *testing.T) {
	p := retryPolicy{initial: time.Second, max: time.Minute, jitter: func() float64 { return 1 }}.withDefaults(2)
	for _, tc := range []struct {
		name    string
		err     error
		attempt int
		want    time.Duration
	}{
		{"Retry-After on a 500", &APIError{StatusCode: 500, RetryAfter: 7 * time.Second}, 0, 7 * time.Second},
		{"Retry-After, wrapped, late attempt", fmt.Errorf("part 1: %w", &APIError{StatusCode: 503, RetryAfter: 1500 * time.Millisecond}), 3, 1500 * time.Millisecond},
		{"no Retry-After", &APIError{StatusCode: 500}, 2, 4 * time.Second},
		{"a connection error", io.ErrUnexpectedEOF, 0, time.Second},
		{"a connection error, attempt 1", io.ErrUnexpectedEOF, 1, 2 * time.Second},
	} {
		if got := callDelay(p, tc.attempt, tc.err); got != tc.want {
			t.Errorf("%s: callDelay = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAPIErrorTemporary: the API's refusals that may pass; a 429 for want of credit does not.
func TestAPIErrorTemporary(t *testing.T) {
	for _, tc := range []struct {
		e    APIError
		want bool
	}{
		{APIError{StatusCode: 429}, true},
		{APIError{StatusCode: 429, Code: "rate_limit_exceeded"}, true},
		{APIError{StatusCode: 429, Code: "insufficient_quota"}, false},
		{APIError{StatusCode: 500, Code: "insufficient_quota"}, true},
		{APIError{StatusCode: 400}, false},
	} {
		if got := tc.e.Temporary(); got != tc.want {
			t.Errorf("%+v: Temporary() = %v, want %v", tc.e, got, tc.want)
		}
	}
}

// TestRetryAfterZeroIsAnAnswer: "Retry-After: 0" (and retry-after-ms 0) ask for a retry at once:
// they are read as a delay of 0, not ignored in favour of the client's own backoff.
func TestRetryAfterZeroIsAnAnswer(t *testing.T) {
	for _, h := range []string{"Retry-After", "retry-after-ms"} {
		resp := &http.Response{Header: http.Header{}}
		resp.Header.Set(h, "0")
		if d, ok := retryAfter(resp); !ok || d != 0 {
			t.Errorf("%s: 0 read as %v, %v; want a delay of 0", h, d, ok)
		}
	}
}
