package helpers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// ErrStalled is wrapped by the error of a request attempt, or of a download's Read, during
// which no byte moved for the stall timeout (UploadOptions.StallTimeout for an upload's parts,
// ClientOptions.StallTimeout otherwise). An upload retries such a part like a connection error.
var ErrStalled = errors.New("stalled: no byte moved")

// ErrTimeout is wrapped by the error of a request attempt that took longer than
// ClientOptions.Timeout. The caller's own context deadline is reported as
// context.DeadlineExceeded instead.
var ErrTimeout = errors.New("timed out")

// ErrReplyLost is wrapped by the error of a request that is not idempotent (createUpload,
// addUploadPart, completeUpload, createFile) when an attempt was sent in full but its reply
// never came or could not be read: the request may have taken effect. The error says what may
// have happened.
var ErrReplyLost = errors.New("the reply was lost")

// errNoResult reports a 2xx answer the client could not read as the operation's result.
var errNoResult = errors.New("the answer is not the operation's result")

// errAttemptOver fails a Read of a request body after its attempt ended (the transport may go
// on reading in another goroutine after a response arrived early).
var errAttemptOver = errors.New("the request attempt is over")

// APIError is a non-2xx answer from the API: its status, OpenAI's error fields and the request
// id. Get it from any error this package returns with errors.As.
type APIError struct {
	// Operation is the API operation that failed, for example "createUpload".
	Operation string
	// StatusCode is the HTTP status.
	StatusCode int
	// Type, Code, Param and Message are OpenAI's error fields; Code and Param may be empty.
	Type, Code, Param, Message string
	// RequestID is the x-request-id header, to quote to OpenAI support.
	RequestID string
	// RetryAfter is the delay the server asked for (retry-after-ms or Retry-After), if any.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d %s", e.Operation, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Type != "" {
		b.WriteString(" (" + e.Type)
		if e.Code != "" {
			b.WriteString(", code " + e.Code)
		}
		if e.Param != "" {
			b.WriteString(", param " + e.Param)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + e.RequestID + "]")
	}
	return b.String()
}

// Temporary reports whether the request may succeed if sent again (408, 409, 429, 5xx), except
// a 429 with code insufficient_quota: OpenAI's answer when the account has run out of credit,
// which waiting does not cure.
func (e *APIError) Temporary() bool {
	return retryableStatus(e.StatusCode) && !(e.StatusCode == http.StatusTooManyRequests && e.Code == "insufficient_quota")
}

// maxErrorMessage is how much of a body that is not OpenAI's error envelope an APIError keeps.
const maxErrorMessage = 200

// newAPIError builds the error for a non-2xx answer. The key is scrubbed from every field, in
// case a server echoes it, before a long message is cut.
func (c *Client) newAPIError(op string, resp *http.Response, body []byte, env *generated.ErrorResponse) *APIError {
	e := &APIError{Operation: op, StatusCode: resp.StatusCode, RequestID: scrub(resp.Header.Get("x-request-id"), c.key)}
	if d, ok := retryAfter(resp); ok {
		e.RetryAfter = d
	}
	if env != nil {
		e.Type, e.Message = env.Error.Type, env.Error.Message
		if env.Error.Code != nil {
			e.Code = *env.Error.Code
		}
		if env.Error.Param != nil {
			e.Param = *env.Error.Param
		}
		e.Type, e.Code, e.Param, e.Message = scrub(e.Type, c.key), scrub(e.Code, c.key), scrub(e.Param, c.key), scrub(e.Message, c.key)
	} else {
		msg := scrub(strings.TrimSpace(string(body)), c.key)
		if len(msg) > maxErrorMessage {
			msg = msg[:maxErrorMessage] + "…"
		}
		e.Message = msg
	}
	return e
}

// MinScrubbedKeyLength is the length from which the API key is scrubbed from errors and debug
// output. A shorter "key" (a placeholder in a test) is left alone: replacing every "abc" would
// mangle messages and hide nothing.
const MinScrubbedKeyLength = 8

// scrub replaces every occurrence of key in s with [redacted].
func scrub(s, key string) string {
	if len(key) < MinScrubbedKeyLength || !strings.Contains(s, key) {
		return s
	}
	return strings.ReplaceAll(s, key, "[redacted]")
}

// scrubFold is scrub ignoring case, for header names, which net/http canonicalizes.
func scrubFold(s, key string) string {
	if len(key) < MinScrubbedKeyLength {
		return s
	}
	lower, lkey := strings.ToLower(s), strings.ToLower(key)
	var b strings.Builder
	for {
		i := strings.Index(lower, lkey)
		if i < 0 || len(lower) != len(s) { // a case change that altered the length: give up on folding
			b.WriteString(scrub(s, key))
			return b.String()
		}
		b.WriteString(s[:i] + "[redacted]")
		s, lower = s[i+len(key):], lower[i+len(key):]
	}
}

// scrubbedError is an error whose message had the key in it: Error is scrubbed, Unwrap keeps
// the original for errors.Is and errors.As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrubError returns err, or a copy whose message has the key scrubbed if it holds it.
func scrubError(err error, key string) error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); scrub(msg, key) != msg {
		return &scrubbedError{msg: scrub(msg, key), err: err}
	}
	return err
}

// isUploadState reports whether err is the API refusing an operation because the Upload is in
// the given state: code upload_completed, upload_completing, upload_cancelled or
// upload_expired (OpenAI's and the reference server's codes), or, failing a code, a message
// saying so.
func isUploadState(err error, code string) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode/100 != 4 {
		return false
	}
	if apiErr.Code == code {
		return true
	}
	if apiErr.Code != "" {
		return false
	}
	msg := strings.ToLower(apiErr.Message)
	switch code {
	case "upload_completed":
		return strings.Contains(msg, "already completed") || strings.Contains(msg, "is completed")
	case "upload_completing":
		return strings.Contains(msg, "being completed")
	case "upload_cancelled":
		return strings.Contains(msg, "already cancelled") || strings.Contains(msg, "is cancelled")
	}
	return false
}
