package conformance

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// stallReadBytes is how much of a request body a stall or a reset reads before it acts, and the
// most of a download's content a stall sends.
const stallReadBytes = 16 << 10

// maxDrainBytes bounds what an injected error answer reads of the request body (the largest
// body any operation accepts, and a little more); past that the connection is closed.
const maxDrainBytes = MaxFileBytes + 1<<20

// withFaults is the fault-injection middleware over every operation: it finds the request's
// operation, asks the injector for a fault, and injects it. Requests that get none, and
// requests to operations not chosen, go straight to next.
func (s *Server) withFaults(next http.Handler) http.Handler {
	f := s.faults
	if f.rate == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := operationOf(r)
		kind := f.next(op)
		if kind == "" {
			next.ServeHTTP(w, r)
			return
		}
		s.stats.fault(kind)
		switch kind {
		case FaultLostResponse, FaultSlowRequest, FaultSlowResponse:
			// The operation runs (and counts itself).
		default:
			s.stats.op(op) // the request reached the operation, which the fault replaces
		}
		f.inject(kind, op, next, w, r)
	})
}

// routes maps a request to its operationId with the same patterns as the generated router.
var routes = func() *http.ServeMux {
	mux := http.NewServeMux()
	for pattern, op := range map[string]string{
		"POST /v1/uploads":                      "createUpload",
		"POST /v1/uploads/{upload_id}/parts":    "addUploadPart",
		"POST /v1/uploads/{upload_id}/complete": "completeUpload",
		"POST /v1/uploads/{upload_id}/cancel":   "cancelUpload",
		"POST /v1/files":                        "createFile",
		"GET /v1/files":                         "listFiles",
		"GET /v1/files/{file_id}":               "retrieveFile",
		"DELETE /v1/files/{file_id}":            "deleteFile",
		"GET /v1/files/{file_id}/content":       "downloadFile",
	} {
		mux.Handle(pattern, opName(op))
	}
	return mux
}()

// opName is a route's handler that only carries the operation's name.
type opName string

func (opName) ServeHTTP(http.ResponseWriter, *http.Request) {}

func operationOf(r *http.Request) string {
	h, _ := routes.Handler(r)
	op, _ := h.(opName)
	return string(op)
}

func (f *faultInjector) inject(kind FaultKind, op string, next http.Handler, w http.ResponseWriter, r *http.Request) {
	switch kind {
	case Fault500:
		drain(w, r)
		fail(w, &apiError{status: http.StatusInternalServerError, typ: "server_error", message: "The server had an error while processing your request (injected fault)."})
	case Fault503:
		drain(w, r)
		fail(w, &apiError{status: http.StatusServiceUnavailable, typ: "server_error", message: "The server is overloaded (injected fault)."})
	case Fault429:
		drain(w, r)
		w.Header().Set("retry-after-ms", strconv.FormatInt(f.retryAfter.Milliseconds(), 10))
		w.Header().Set("Retry-After", strconv.FormatInt(int64((f.retryAfter+time.Second-1)/time.Second), 10))
		fail(w, &apiError{status: http.StatusTooManyRequests, typ: "requests", code: "rate_limit_exceeded", message: "Rate limit reached for requests (injected fault)."})
	case Fault503Early:
		fail(w, &apiError{status: http.StatusServiceUnavailable, typ: "server_error", message: "The server is overloaded (injected fault, answered before the body was read).", closeConn: true})
	case FaultReset:
		_, _ = io.CopyN(io.Discard, r.Body, stallReadBytes)
		resetConnection(w)
	case FaultLostResponse:
		next.ServeHTTP(&discardWriter{header: http.Header{}}, r)
		dropConnection(w)
	case FaultStall:
		if op == "downloadFile" {
			next.ServeHTTP(&stallingWriter{ResponseWriter: w, f: f}, r)
			return
		}
		n, _ := io.CopyN(io.Discard, r.Body, stallReadBytes+1)
		whole := n <= stallReadBytes // the body ended: a client that leaves can be seen
		f.stall(w, whole)
	case FaultSlowRequest:
		r.Body = &slowBody{ReadCloser: r.Body, p: f.newPace(r)}
		next.ServeHTTP(w, r)
	case FaultSlowResponse:
		next.ServeHTTP(&slowWriter{ResponseWriter: w, p: f.newPace(r)}, r)
	}
}

// drain reads the request body, as a server does before it answers; a body above
// maxDrainBytes is cut off and the connection closed.
func drain(w http.ResponseWriter, r *http.Request) {
	if n, _ := io.CopyN(io.Discard, r.Body, maxDrainBytes); n == maxDrainBytes {
		w.Header().Set("Connection", "close")
	}
}

// stall takes the connection over and holds it, neither reading nor answering, until the
// client closes it (watched only when watchClient: reading would otherwise drain the body),
// StallFor passes, or the injector is closed. The request's handler returns only then.
func (f *faultInjector) stall(w http.ResponseWriter, watchClient bool) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	f.holdConn(conn, buf, watchClient)
}

func (f *faultInjector) holdConn(conn net.Conn, buf *bufio.ReadWriter, watchClient bool) {
	defer conn.Close()
	if !f.hold() {
		return
	}
	defer f.held.Done()
	var gone chan struct{}
	if watchClient {
		gone = make(chan struct{})
		go func() {
			defer close(gone)
			_, _ = io.Copy(io.Discard, buf) // ends when the client closes, or we do
		}()
		defer func() { _ = conn.Close(); <-gone }()
	}
	var limit <-chan time.Time
	if f.stallFor > 0 {
		t := time.NewTimer(f.stallFor)
		defer t.Stop()
		limit = t.C
	}
	select {
	case <-f.closed:
	case <-gone:
	case <-limit:
	}
}

// errStalled ends a handler whose answer was frozen by a stall.
var errStalled = errors.New("conformance: the answer was stalled (injected fault)")

// stallingWriter passes the headers and the first bytes of a streamed answer (at most
// stallReadBytes, at most half of Content-Length), then freezes the connection.
type stallingWriter struct {
	http.ResponseWriter
	f               *faultInjector
	started, frozen bool
	limit, written  int64
}

func (s *stallingWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *stallingWriter) Write(p []byte) (int, error) {
	if s.frozen {
		return 0, errStalled
	}
	if !s.started {
		s.started = true
		s.limit = stallReadBytes
		if n, err := strconv.ParseInt(s.Header().Get("Content-Length"), 10, 64); err == nil {
			s.limit = min(s.limit, n/2)
		}
	}
	room := s.limit - s.written
	if int64(len(p)) < room {
		n, err := s.ResponseWriter.Write(p)
		s.written += int64(n)
		return n, err
	}
	p = p[:room]
	n, err := s.ResponseWriter.Write(p)
	s.written += int64(n)
	if err != nil {
		return n, err
	}
	s.frozen = true
	rc := http.NewResponseController(s.ResponseWriter)
	_ = rc.Flush()
	conn, buf, err := rc.Hijack()
	if err != nil {
		return n, errStalled
	}
	s.f.holdConn(conn, buf, true)
	return n, errStalled
}

// discardWriter is where a lost response goes: the operation runs, its answer is dropped.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
