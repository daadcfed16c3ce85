package helpers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxAnswerBytes bounds a JSON answer the transport reads whole (a list of 10,000 files is a
// few MB).
const maxAnswerBytes = 64 << 20

// transport adds the client's headers to each request, bounds each attempt (a deadline, or a
// stall watchdog for streams), checks that a 2xx answer is the operation's result, and retries
// what can be retried.
type transport struct {
	base     http.RoundTripper
	headers  http.Header
	retry    retryPolicy
	timeout  time.Duration // ClientOptions.Timeout
	stall    time.Duration // ClientOptions.StallTimeout
	basePath string        // the base URL's path, to name operations
	// origin is the base URL's scheme and host: the only place the credentials (headers that
	// are not the User-Agent) are sent. A redirect elsewhere (another host, or http from https)
	// goes without them, as net/http does for the headers a request carries itself.
	origin  string
	key     string
	debug   io.Writer
	debugMu sync.Mutex // parts run concurrently; their lines must not interleave
	// clockOffset is the server's clock minus ours (nanoseconds), from the Date header of the
	// last answer; datesSeen says one was read.
	clockOffset atomic.Int64
	datesSeen   atomic.Bool
}

// noteDate records the server's clock from an answer's Date header (whole seconds, cut
// down: the estimate may be up to a second early).
func (t *transport) noteDate(resp *http.Response) {
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		t.clockOffset.Store(int64(time.Until(d)))
		t.datesSeen.Store(true)
	}
}

// serverNow estimates the server's clock now; false when no answer has carried a Date yet.
func (t *transport) serverNow() (time.Time, bool) {
	if !t.datesSeen.Load() {
		return time.Time{}, false
	}
	return time.Now().Add(time.Duration(t.clockOffset.Load())), true
}

// apiNow is the API's clock as well as it is known: this machine's, corrected by the Date of
// the last answer when one came. An Upload's created_at and expires_at are in the API's time;
// compared with this machine's clock alone, a clock an hour ahead would take every Upload for
// expired.
func (c *Client) apiNow() time.Time {
	if now, ok := c.tr.serverNow(); ok {
		return now
	}
	return time.Now()
}

// opInfo says how the transport treats an operation's requests.
type opInfo struct {
	name string
	// object is the "object" field of the operation's result ("" for downloadFile).
	object string
	// streamUp: the request body streams the caller's bytes (a part, a file). Its attempt has no
	// deadline, however long the bytes take, but is cut when nothing moves for the stall timeout.
	streamUp bool
	// streamDown: the answer is a stream (a download): the deadline runs until the headers
	// arrive, then each Read of the body is watched for a stall instead.
	streamDown bool
	// idempotent: sending it twice has the effect of sending it once.
	idempotent bool
}

var operations = map[string]opInfo{
	"createUpload":   {name: "createUpload", object: "upload"},
	"addUploadPart":  {name: "addUploadPart", object: "upload.part", streamUp: true},
	"completeUpload": {name: "completeUpload", object: "upload"},
	"cancelUpload":   {name: "cancelUpload", object: "upload", idempotent: true},
	"createFile":     {name: "createFile", object: "file", streamUp: true},
	"listFiles":      {name: "listFiles", object: "list", idempotent: true},
	"retrieveFile":   {name: "retrieveFile", object: "file", idempotent: true},
	"deleteFile":     {name: "deleteFile", object: "file", idempotent: true},
	"downloadFile":   {name: "downloadFile", streamDown: true, idempotent: true},
}

// operationOf names a request's operation from its method and path under the base URL; the
// zero opInfo for a request to no known operation (sent with the deadline, not checked).
func (t *transport) operationOf(req *http.Request) opInfo {
	path, ok := strings.CutPrefix(req.URL.EscapedPath(), t.basePath)
	if !ok {
		return opInfo{}
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	name := ""
	switch {
	case len(segs) == 1 && segs[0] == "uploads" && req.Method == http.MethodPost:
		name = "createUpload"
	case len(segs) == 3 && segs[0] == "uploads" && req.Method == http.MethodPost:
		name = map[string]string{"parts": "addUploadPart", "complete": "completeUpload", "cancel": "cancelUpload"}[segs[2]]
	case len(segs) == 1 && segs[0] == "files":
		name = map[string]string{http.MethodPost: "createFile", http.MethodGet: "listFiles"}[req.Method]
	case len(segs) == 2 && segs[0] == "files":
		name = map[string]string{http.MethodGet: "retrieveFile", http.MethodDelete: "deleteFile"}[req.Method]
	case len(segs) == 3 && segs[0] == "files" && segs[2] == "content" && req.Method == http.MethodGet:
		name = "downloadFile"
	}
	return operations[name]
}

// callOptions are set on a call's context by this package's methods and the upload engine.
type callOptions struct {
	// noRetry: one attempt only; the caller retries (the upload engine's create and complete).
	noRetry bool
	// stall overrides ClientOptions.StallTimeout (UploadOptions.StallTimeout for parts).
	stall time.Duration
	// rec, when set, collects what happened to each attempt.
	rec *callRecord
}

type callOptionsKey struct{}

func withCall(ctx context.Context, co callOptions) context.Context {
	return context.WithValue(ctx, callOptionsKey{}, co)
}

func callOptionsFrom(ctx context.Context) callOptions {
	co, _ := ctx.Value(callOptionsKey{}).(callOptions)
	return co
}

// callRecord collects what the transport saw of one call's attempts: for each, whether it was
// lost, that is sent in full with no readable answer (the request may have taken effect).
type callRecord struct {
	mu       sync.Mutex
	outcomes []error // per attempt: nil when an answer came, else why it was lost
}

func (r *callRecord) add(lost error) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes = append(r.outcomes, lost)
}

// lostCount is the number of attempts whose outcome is unknown.
func (r *callRecord) lostCount() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.outcomes {
		if o != nil {
			n++
		}
	}
	return n
}

// lastLost reports whether the last attempt was lost.
func (r *callRecord) lastLost() bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.outcomes) > 0 && r.outcomes[len(r.outcomes)-1] != nil
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	op := t.operationOf(req)
	co := callOptionsFrom(req.Context())
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	maxRetries := t.retry.maxRetries
	if co.noRetry || !replayable {
		maxRetries = 0
	}
	for attempt := 0; ; attempt++ {
		body := req.Body
		if attempt > 0 && req.GetBody != nil {
			var err error
			if body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		resp, err, lost := t.attempt(req, body, op, co, attempt)
		co.rec.add(lost)
		if attempt >= maxRetries || !shouldRetry(req.Context(), resp, err) {
			return resp, err
		}
		if lost != nil && !op.idempotent {
			t.logf("openai-uploads: %s: no reply to attempt %d (%v); retrying, %s\n", op.name, attempt+1, lost, replayRisk(op.name))
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

// replayRisk says what sending a request again may do when an earlier attempt got no reply.
func replayRisk(op string) string {
	switch op {
	case "createUpload":
		return "which may leave the earlier attempt's Upload pending (it expires within the hour)"
	case "completeUpload":
		return "which the API refuses if the earlier attempt completed the Upload"
	default:
		return "which may repeat its effect"
	}
}

// attempt sends req once. lost is set when the request was sent in full and no readable answer
// came (a connection error, a stall or timeout after the request was written, a 2xx answer
// that is not the operation's result, a gateway's 502 or 504): it may have taken effect.
func (t *transport) attempt(req *http.Request, body io.ReadCloser, op opInfo, co callOptions, n int) (resp *http.Response, err, lost error) {
	parent := req.Context()
	actx, cancel := context.WithCancelCause(parent)
	var wrote atomic.Bool
	var conn atomic.Pointer[net.Conn]
	trace := &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { conn.Store(&i.Conn) },
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	}
	out := req.Clone(httptrace.WithClientTrace(actx, trace))
	sameOrigin := originOf(out.URL) == t.origin
	for k, v := range t.headers {
		if sameOrigin || k == "User-Agent" {
			out.Header[k] = append([]string(nil), v...)
		}
	}
	out.Body = body

	stall := t.stall
	if co.stall > 0 {
		stall = co.stall
	}
	var wd *watchdog
	var guard *guardedBody
	var deadline *time.Timer
	if op.streamUp {
		wd = startWatchdog(stall, func() { cancel(stalledError(stall)) })
		wd.watchSocket(func() (int, bool) {
			if c := conn.Load(); c != nil {
				return unackedBytes(*c)
			}
			return 0, false
		})
		if out.Body != nil && out.Body != http.NoBody {
			guard = &guardedBody{rc: out.Body, touch: wd.touch}
			out.Body = guard
		}
	} else if t.timeout > 0 {
		deadline = time.AfterFunc(t.timeout, func() { cancel(timeoutError(t.timeout)) })
	}
	end := func() {
		if wd != nil {
			wd.stop()
		}
		if deadline != nil {
			deadline.Stop()
		}
		cancel(errAttemptOver)
		if guard != nil {
			guard.stop()
		}
	}

	t.logRequest(out, n)
	resp, err = t.base.RoundTrip(out)
	if err != nil {
		err = scrubError(attemptCause(parent, actx, err), t.key)
		t.logResponse(out, nil, err)
		end()
		if wrote.Load() {
			lost = err
		}
		return nil, err, lost
	}
	t.logResponse(out, resp, nil)
	t.noteDate(resp)
	ok := resp.StatusCode/100 == 2

	switch {
	case op.streamDown && ok:
		// The deadline covered the wait for the headers; the bytes are watched for stalls.
		if deadline != nil {
			deadline.Stop()
		}
		wd = startWatchdog(stall, func() { cancel(stalledError(stall)) })
		wd.pause()
		resp.Body = &watchedBody{rc: resp.Body, wd: wd, parent: parent, actx: actx, end: end}
		return resp, nil, nil
	case op.name == "" || op.streamDown:
		// Not a JSON answer this package knows: the attempt lasts until the body is closed.
		resp.Body = &watchedBody{rc: resp.Body, parent: parent, actx: actx, end: end}
		return resp, nil, nil
	}

	// A JSON answer: read whole, under the deadline (or the watchdog), and checked.
	var src io.Reader = resp.Body
	if wd != nil {
		wd.touch()
		src = &touchingReader{r: resp.Body, touch: wd.touch}
	}
	data, rerr := io.ReadAll(io.LimitReader(src, maxAnswerBytes+1))
	_ = resp.Body.Close()
	if rerr == nil && len(data) > maxAnswerBytes {
		rerr = fmt.Errorf("the answer is larger than %d bytes", maxAnswerBytes)
	}
	rerr = scrubError(attemptCause(parent, actx, rerr), t.key)
	end()
	if rerr != nil {
		t.logf("openai-uploads: < %s %s: reading the answer failed: %v\n", out.Method, out.URL.Redacted(), rerr)
	}
	switch {
	case ok && rerr != nil:
		err = fmt.Errorf("%s: %d, then reading the answer failed: %w", op.name, resp.StatusCode, rerr)
		return nil, err, err
	case ok:
		if cerr := checkResult(op, data); cerr != nil {
			err = fmt.Errorf("%s: %d %w: %v", op.name, resp.StatusCode, errNoResult, cerr)
			t.logf("openai-uploads: < %s %s: %v\n", out.Method, out.URL.Redacted(), err)
			return nil, err, err
		}
	case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout:
		// A gateway's answer: the server behind it may have done the work.
		lost = fmt.Errorf("%d %s from a gateway", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	return resp, nil, lost
}

// originOf is a URL's scheme, host name and port (the scheme's default when none is given),
// lower-cased: two URLs of one origin give the same string.
func originOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port))
}

// touchingReader marks progress on each Read that returns bytes.
type touchingReader struct {
	r     io.Reader
	touch func()
}

func (t *touchingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.touch()
	}
	return n, err
}

// checkResult checks that a 2xx JSON answer is the operation's result: its object, an id, and
// for complete a completed Upload with its File.
func checkResult(op opInfo, data []byte) error {
	var v struct {
		Object  string          `json:"object"`
		ID      string          `json:"id"`
		Status  string          `json:"status"`
		Deleted *bool           `json:"deleted"`
		Data    json.RawMessage `json:"data"`
		File    *struct {
			ID string `json:"id"`
		} `json:"file"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if v.Object != op.object {
		return fmt.Errorf("object %q, want %q", v.Object, op.object)
	}
	switch {
	case op.name == "listFiles":
		if !bytes.HasPrefix(bytes.TrimSpace(v.Data), []byte("[")) {
			return fmt.Errorf("no data array")
		}
		return nil
	case v.ID == "":
		return fmt.Errorf("no id")
	case op.name == "deleteFile" && v.Deleted == nil:
		return fmt.Errorf("no deleted field")
	case op.name == "completeUpload" && (v.Status != "completed" || v.File == nil || v.File.ID == ""):
		return fmt.Errorf("status %q and no File: not a completed Upload", v.Status)
	}
	return nil
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
