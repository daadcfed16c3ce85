// Package helpers is the hand-written layer of openai-uploads over the generated client: client
// set-up (key, base URL, organization and project headers, User-Agent, retries), typed errors,
// one method per API operation, and the chunked upload: parallel parts streamed from the file,
// the md5 of the whole file, retries, cancel on failure, progress and resume. Every request has
// a bound: a deadline per attempt (ClientOptions.Timeout), or, for the bytes of a part, a file
// or a download, a stall timeout (no byte moved for that long); requests that are not
// idempotent are retried only with a plan for an earlier attempt that did succeed.
//
// Start with [NewClient], then [Client.UploadFile] (or [Client.UploadFiles] for several files at
// once); the number of parts in flight adapts to the link by default (UploadOptions.Concurrency):
//
//	c, err := helpers.NewClient(helpers.ClientOptions{}) // key from OPENAI_API_KEY
//	up, err := c.UploadFile(ctx, "train.jsonl", helpers.UploadOptions{Purpose: "fine-tune"})
//	fmt.Println(up.File.ID)
package helpers

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
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
	// DefaultTimeout is the deadline of each attempt of a request without a streamed body when
	// ClientOptions.Timeout is 0 (as OpenAI's own SDKs: 10 minutes).
	DefaultTimeout = 10 * time.Minute
	// DefaultStallTimeout is how long a stream (a part or a file going out, a download coming in)
	// may move no byte before its attempt is abandoned, when the stall timeout is 0.
	DefaultStallTimeout = 60 * time.Second
)

// DefaultTransport sends the requests of a Client whose ClientOptions.HTTPClient (or its
// Transport) is nil: http.DefaultTransport's settings (proxy from the environment, timeouts of
// dial, TLS handshake and idle connections) but HTTP/1.1 only, and up to MaxConcurrency+4 idle
// connections kept per host instead of 2.
//
// Why HTTP/1.1: over HTTP/2, which Go's default transport speaks to api.openai.com, every part
// in flight is a stream multiplexed over one TCP connection, so adding streams adds no
// connection: the upload is bound by that one connection's congestion window (one lost packet
// stalls every part) and by HTTP/2's flow control. Over HTTP/1.1 each part in flight has its own
// TCP connection, which is what parallel parts are for (S3's and GCS's parallel uploads work the
// same way), and what the adaptive concurrency measures. The idle connections kept per host let
// the next part reuse a connection (and its TLS session) instead of dialling a new one.
var DefaultTransport http.RoundTripper = newDefaultTransport()

func newDefaultTransport() *http.Transport {
	var t *http.Transport
	if d, ok := http.DefaultTransport.(*http.Transport); ok {
		t = d.Clone()
	} else { // replaced by another package: net/http's defaults, rebuilt
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, IdleConnTimeout: 90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second, ExpectContinueTimeout: time.Second}
	}
	t.ForceAttemptHTTP2 = false
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	t.MaxIdleConnsPerHost = MaxConcurrency + 4
	t.MaxIdleConns = max(t.MaxIdleConns, 4*(MaxConcurrency+4))
	return t
}

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
	// Authorization header, only to BaseURL's scheme, host and port (a redirect elsewhere goes
	// without it, and without the organization and project), and never appears in an error or
	// in debug output.
	APIKey string
	// BaseURL is the API's base URL; empty means $OPENAI_BASE_URL, else DefaultBaseURL.
	BaseURL string
	// Organization is sent as OpenAI-Organization; empty means $OPENAI_ORG_ID.
	Organization string
	// Project is sent as OpenAI-Project; empty means $OPENAI_PROJECT_ID.
	Project string
	// HTTPClient sends the requests; nil, or a nil Transport, means this package's
	// DefaultTransport: HTTP/1.1 connections, so that each part in flight is its own TCP
	// connection (see DefaultTransport for why). It is not modified: NewClient uses a copy whose
	// transport adds the headers and the retries. With a transport of your own, its protocols
	// decide: http.DefaultTransport speaks HTTP/2 to servers that offer it (api.openai.com
	// does), and carries every part over one TCP connection.
	// Its Timeout, if set, is taken as the default of Timeout below and applied per attempt of
	// the requests Timeout covers; it is removed from the copy, so that it never cuts a part, a
	// file or a download that keeps moving (http.Client.Timeout covers a whole call, retries and
	// body included, and its expiry is never retried).
	HTTPClient *http.Client
	// Timeout is the deadline of each attempt of every request without a streamed body: create,
	// complete and cancel an Upload, list, retrieve and delete Files, and a download until its
	// headers arrive. It covers reading the answer's body. An attempt that runs out fails with
	// ErrTimeout and is retried where that is safe (see MaxRetries). 0 means HTTPClient.Timeout
	// if set, else DefaultTimeout (10 minutes); a negative value is refused.
	Timeout time.Duration
	// StallTimeout bounds how long a stream may move no byte: a part sent by AddUploadPart, a
	// file sent by CreateFile (and the wait for their answers), and each Read of a download's
	// body (DownloadFile), whose bytes have no deadline, however long they take. A stalled
	// attempt fails with ErrStalled. 0 means DefaultStallTimeout (60 s); a negative value is
	// refused. Uploads have their own: UploadOptions.StallTimeout.
	StallTimeout time.Duration
	// MaxRetries is how often a request whose body can be replayed is retried after a
	// connection error, a timeout, an unreadable 2xx answer, 408, 409, 429 or 5xx: 0 means
	// DefaultMaxRetries, a negative value none. createUpload and completeUpload are retried too,
	// although they are not idempotent: a createUpload whose reply was lost may leave a pending
	// Upload behind (it expires within the hour); a completeUpload whose reply was lost is
	// refused on retry if the first attempt completed the Upload, and the error wraps
	// ErrReplyLost (UploadFile recovers the File in that case). (Parts of a chunked upload have
	// their own count: UploadOptions.MaxRetries.)
	MaxRetries int
	// InitialRetryDelay and MaxRetryDelay shape the exponential backoff with jitter used when
	// the server does not say how long to wait; 0 means the defaults.
	InitialRetryDelay, MaxRetryDelay time.Duration
	// Debug, when set, receives a line per request and response (method, URL, status, and
	// headers with Authorization redacted and the key scrubbed from every value), one Write per
	// line, never two at once, and a line for each decision taken after a lost reply. Never
	// bodies.
	Debug io.Writer
}

// Client is a set-up API client: every request carries the key, the User-Agent and the
// organization and project headers, and is retried when that is safe. Its methods return typed
// results and, for any non-2xx answer, an *[APIError]. It is safe for concurrent use.
type Client struct {
	api     *generated.ClientWithResponses
	raw     *generated.Client
	tr      *transport
	baseURL string
	retry   retryPolicy
	timeout time.Duration
	stall   time.Duration
	key     string
}

// NewClient builds a Client from opts and the environment. It fails, before any request, with an
// *[InputError] when no API key is set (spaces and line endings around it are dropped), the key
// holds a space or control character, the base URL is not an http(s) URL or has a query or
// fragment, or a timeout is negative.
func NewClient(opts ClientOptions) (*Client, error) {
	// Spaces and line endings around the key (a file saved with CRLF) are not part of it.
	key := strings.TrimSpace(firstNonEmpty(opts.APIKey, os.Getenv(EnvAPIKey)))
	if key == "" {
		return nil, inputErrorf("ClientOptions.APIKey", "no API key (set it or %s)", EnvAPIKey)
	}
	if i := strings.IndexFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
		return nil, inputErrorf("ClientOptions.APIKey", "holds a space or control character at byte %d; an API key has none (was it copied with another line?)", i)
	}
	base := firstNonEmpty(opts.BaseURL, os.Getenv(EnvBaseURL), DefaultBaseURL)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, inputErrorf("ClientOptions.BaseURL", "%q is not an http or https URL", base)
	}
	// A query or fragment would be lost when the operations' paths are joined to it: requests
	// would go to the host's root (http://host/files). Said without them: a query may hold a
	// secret.
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, inputErrorf("ClientOptions.BaseURL", "%s has a query or fragment (?… or #…); give the API's base URL alone, for example %s",
			(&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).Redacted(), DefaultBaseURL)
	}
	if opts.Timeout < 0 {
		return nil, inputErrorf("ClientOptions.Timeout", "%v is negative (0 means %v)", opts.Timeout, DefaultTimeout)
	}
	if opts.StallTimeout < 0 {
		return nil, inputErrorf("ClientOptions.StallTimeout", "%v is negative (0 means %v)", opts.StallTimeout, DefaultStallTimeout)
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
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = hc.Timeout
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	hc.Timeout = 0 // applied per attempt by the transport instead
	stall := opts.StallTimeout
	if stall == 0 {
		stall = DefaultStallTimeout
	}
	base2 := hc.Transport
	if base2 == nil {
		base2 = DefaultTransport
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
	tr := &transport{
		base: base2, headers: headers, retry: policy, timeout: timeout, stall: stall,
		basePath: strings.TrimRight(u.EscapedPath(), "/"), origin: originOf(u), key: key, debug: opts.Debug,
	}
	hc.Transport = tr

	c := &Client{baseURL: strings.TrimRight(base, "/"), tr: tr, retry: policy, timeout: timeout, stall: stall, key: key}
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
