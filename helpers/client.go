// Package helpers is the hand-written layer of openai-uploads over the generated client: client
// set-up (key, base URL, organization and project headers, User-Agent, retries), typed errors,
// one method per API operation, and the chunked upload: parallel parts streamed from the file,
// the md5 of the whole file, retries, cancel on failure, progress and resume.
//
// Start with [NewClient], then [Client.UploadFile]:
//
//	c, err := helpers.NewClient(helpers.ClientOptions{}) // key from OPENAI_API_KEY
//	up, err := c.UploadFile(ctx, "train.jsonl", helpers.UploadOptions{Purpose: "fine-tune"})
//	fmt.Println(up.File.ID)
package helpers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// Version is this SDK's version, sent in the User-Agent.
const Version = "0.1.0"

// Defaults of [ClientOptions].
const (
	// DefaultBaseURL is the API's base URL when neither ClientOptions.BaseURL nor
	// OPENAI_BASE_URL is set.
	DefaultBaseURL = "https://api.openai.com/v1"
	// DefaultMaxRetries is how often a failed request is retried when ClientOptions.MaxRetries
	// is 0 (as OpenAI's own SDKs do).
	DefaultMaxRetries = 2
	// DefaultInitialRetryDelay is the first backoff delay; each retry doubles it.
	DefaultInitialRetryDelay = 500 * time.Millisecond
	// DefaultMaxRetryDelay caps the exponential backoff.
	DefaultMaxRetryDelay = 8 * time.Second
	// MaxRetryAfter caps a delay the server asks for (retry-after-ms or Retry-After).
	MaxRetryAfter = 60 * time.Second
)

// Environment variables NewClient reads when an option is empty.
const (
	EnvAPIKey       = "OPENAI_API_KEY"
	EnvBaseURL      = "OPENAI_BASE_URL"
	EnvOrganization = "OPENAI_ORG_ID"
	EnvProject      = "OPENAI_PROJECT_ID"
)

// ClientOptions configures [NewClient]. Every field is optional.
type ClientOptions struct {
	// APIKey is the secret key; empty means $OPENAI_API_KEY. It is sent only in the
	// Authorization header and never appears in an error or in debug output.
	APIKey string
	// BaseURL is the API's base URL; empty means $OPENAI_BASE_URL, else DefaultBaseURL.
	BaseURL string
	// Organization is sent as OpenAI-Organization; empty means $OPENAI_ORG_ID.
	Organization string
	// Project is sent as OpenAI-Project; empty means $OPENAI_PROJECT_ID.
	Project string
	// HTTPClient sends the requests; nil means a client over http.DefaultTransport. It is not
	// modified: NewClient uses a copy whose transport adds the headers and the retries.
	HTTPClient *http.Client
	// MaxRetries is how often a request whose body can be replayed is retried after a
	// connection error, 408, 409, 429 or 5xx: 0 means DefaultMaxRetries, a negative value none.
	// (Parts of a chunked upload have their own count: UploadOptions.MaxRetries.)
	MaxRetries int
	// InitialRetryDelay and MaxRetryDelay shape the exponential backoff with jitter used when
	// the server does not say how long to wait; 0 means the defaults.
	InitialRetryDelay, MaxRetryDelay time.Duration
	// Debug, when set, receives a line per request and response (method, URL, status, and
	// headers with Authorization redacted), one Write per line, never two at once. Never bodies.
	Debug io.Writer
}

// Client is a set-up API client: every request carries the key, the User-Agent and the
// organization and project headers, and is retried when that is safe. Its methods return typed
// results and, for any non-2xx answer, an *[APIError]. It is safe for concurrent use.
type Client struct {
	api     *generated.ClientWithResponses
	raw     *generated.Client
	baseURL string
	retry   retryPolicy
	key     string
}

// NewClient builds a Client from opts and the environment. It fails, before any request, with an
// *[InputError] when no API key is set or the base URL is not an http(s) URL.
func NewClient(opts ClientOptions) (*Client, error) {
	key := firstNonEmpty(opts.APIKey, os.Getenv(EnvAPIKey))
	if strings.TrimSpace(key) == "" {
		return nil, inputErrorf("ClientOptions.APIKey", "no API key (set it or %s)", EnvAPIKey)
	}
	base := firstNonEmpty(opts.BaseURL, os.Getenv(EnvBaseURL), DefaultBaseURL)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, inputErrorf("ClientOptions.BaseURL", "%q is not an http or https URL", base)
	}
	policy := retryPolicy{
		maxRetries: opts.MaxRetries,
		initial:    opts.InitialRetryDelay,
		max:        opts.MaxRetryDelay,
	}.withDefaults(DefaultMaxRetries)

	hc := &http.Client{}
	if opts.HTTPClient != nil {
		copied := *opts.HTTPClient
		hc = &copied
	}
	base2 := hc.Transport
	if base2 == nil {
		base2 = http.DefaultTransport
	}
	headers := http.Header{}
	headers.Set("Authorization", "Bearer "+key)
	headers.Set("User-Agent", UserAgent())
	if org := firstNonEmpty(opts.Organization, os.Getenv(EnvOrganization)); org != "" {
		headers.Set("OpenAI-Organization", org)
	}
	if project := firstNonEmpty(opts.Project, os.Getenv(EnvProject)); project != "" {
		headers.Set("OpenAI-Project", project)
	}
	hc.Transport = &transport{base: base2, headers: headers, retry: policy, debug: opts.Debug}

	c := &Client{baseURL: strings.TrimRight(base, "/"), retry: policy, key: key}
	if c.api, err = generated.NewClientWithResponses(c.baseURL, generated.WithHTTPClient(hc)); err != nil {
		return nil, err
	}
	if c.raw, err = generated.NewClient(c.baseURL, generated.WithHTTPClient(hc)); err != nil {
		return nil, err
	}
	return c, nil
}

// UserAgent is the User-Agent every request carries.
func UserAgent() string {
	return fmt.Sprintf("openai-uploads/%s (Go %s; %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// BaseURL returns the API base URL the client sends to.
func (c *Client) BaseURL() string { return c.baseURL }

// Generated returns the generated client underneath, with the same headers and retries, for
// operations this package does not wrap.
func (c *Client) Generated() *generated.ClientWithResponses { return c.api }

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// transport adds the client's headers to each request and retries what can be retried.
type transport struct {
	base    http.RoundTripper
	headers http.Header
	retry   retryPolicy
	debug   io.Writer
	debugMu sync.Mutex // parts run concurrently; their lines must not interleave
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		out := req.Clone(req.Context())
		for k, v := range t.headers {
			out.Header[k] = append([]string(nil), v...)
		}
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			out.Body = body
		}
		t.logRequest(out, attempt)
		resp, err := t.base.RoundTrip(out)
		t.logResponse(out, resp, err)
		if !replayable || attempt >= t.retry.maxRetries || !shouldRetry(req.Context(), resp, err) {
			return resp, err
		}
		delay := t.retry.delay(attempt, resp)
		if resp != nil {
			drain(resp.Body)
		}
		if err := sleep(req.Context(), delay); err != nil {
			return nil, err
		}
	}
}

// drain reads a little of a body we are about to discard, so the connection can be reused.
func drain(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	_ = body.Close()
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *transport) logRequest(req *http.Request, attempt int) {
	if t.debug != nil {
		t.logf("openai-uploads: > %s %s (attempt %d) %s\n", req.Method, req.URL.Redacted(), attempt+1, redactedHeaders(req.Header))
	}
}

func (t *transport) logResponse(req *http.Request, resp *http.Response, err error) {
	switch {
	case t.debug == nil:
	case err != nil:
		t.logf("openai-uploads: < %s %s: %v\n", req.Method, req.URL.Redacted(), err)
	default:
		t.logf("openai-uploads: < %s %s: %s %s\n", req.Method, req.URL.Redacted(), resp.Status, redactedHeaders(resp.Header))
	}
}

// logf writes one debug line; lines from concurrent requests never interleave.
func (t *transport) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	t.debugMu.Lock()
	defer t.debugMu.Unlock()
	_, _ = io.WriteString(t.debug, line)
}

// redactedHeaders formats headers for debug output with credentials replaced.
func redactedHeaders(h http.Header) string {
	var b strings.Builder
	first := true
	for _, k := range sortedKeys(h) {
		v := strings.Join(h[k], ", ")
		switch strings.ToLower(k) {
		case "authorization", "proxy-authorization", "cookie", "set-cookie", "api-key", "x-api-key":
			v = "[redacted]"
		}
		if !first {
			b.WriteString("; ")
		}
		first = false
		b.WriteString(k + ": " + v)
	}
	return b.String()
}

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

// Temporary reports whether the request may succeed if sent again (408, 409, 429, 5xx).
func (e *APIError) Temporary() bool { return retryableStatus(e.StatusCode) }

// newAPIError builds the error for a non-2xx answer; the key is scrubbed from the message in
// case a server echoes it.
func (c *Client) newAPIError(op string, resp *http.Response, body []byte, env *generated.ErrorResponse) *APIError {
	e := &APIError{Operation: op, StatusCode: resp.StatusCode, RequestID: resp.Header.Get("x-request-id")}
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
	} else {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		e.Message = msg
	}
	if c.key != "" {
		e.Message = strings.ReplaceAll(e.Message, c.key, "[redacted]")
	}
	return e
}

// errNoResult reports a 2xx answer the client could not read as the operation's result.
var errNoResult = errors.New("the answer is not the operation's result")
