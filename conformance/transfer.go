package conformance

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// RequestRecord describes one request the server handled, for a request log
// (ServerOptions.RequestLog). It holds no header's value and no query, and its path never holds
// the API key: never the key, even from a client that put it in the URL.
type RequestRecord struct {
	Method string
	// Path is the escaped path, without the query, and with any API key in it (the server's
	// APIKey, or the request's Bearer key, plain or percent-encoded) replaced by "[key]".
	Path string
	// Status is the response's status code, or 0 when no response was sent (the connection was
	// taken over to inject a fault).
	Status int
	// BytesIn and BytesOut are the body bytes read from the request and written in the response.
	BytesIn, BytesOut int64
	// Duration runs from the request's arrival to the handler's end.
	Duration time.Duration
	// Cut says why the transfer was cut off ("" when it was not): a stalled body or response, or
	// a request body the client (or the server's stop) broke off, whose answer reached nobody.
	Cut string
}

// keyMark replaces an API key in a logged path.
const keyMark = "[key]"

// logPath is the request's escaped path for the log, with every API key in it replaced by
// keyMark: the server's key and the key the request carries, found in the path as sent or
// percent-decoded (a client that built its base URL from the key, or pasted the key as an id).
func (s *Server) logPath(r *http.Request) string {
	escaped, decoded := r.URL.EscapedPath(), r.URL.Path
	var keys []string
	if k := s.opts.APIKey; k != "" {
		keys = append(keys, k)
	}
	if scheme, k, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	found := false
	for _, k := range keys {
		found = found || strings.Contains(escaped, k) || strings.Contains(decoded, k)
	}
	if !found {
		return escaped
	}
	// Redact in the decoded path, then escape what is left around the marks.
	pieces := []string{decoded}
	for _, k := range keys {
		var next []string
		for _, p := range pieces {
			next = append(next, strings.Split(p, k)...)
		}
		pieces = next
	}
	for i, p := range pieces {
		pieces[i] = (&url.URL{Path: p}).EscapedPath()
	}
	return strings.Join(pieces, keyMark)
}

// stallError is what a guarded request body returns, and what a guarded response's Write
// returns, once the transfer stalled (see ServerOptions.StallTimeout and MinTransferRate).
type stallError struct {
	reason string // "made no progress for 30s", "fell below 1024 bytes/s"
	err    error
}

func (e *stallError) Error() string { return "transfer cut off: it " + e.reason }
func (e *stallError) Unwrap() error { return e.err }

// pace decides when the next byte of a transfer must have moved: within idle of the last
// progress, and no later than start + idle + n/minRate.
type pace struct {
	idle    time.Duration
	minRate int64
	start   time.Time
	n       int64
	set     time.Time // the deadline last set on the connection
	byRate  bool      // it was the rate's
}

// next returns the deadline to set before the next transfer, and false when the one already
// set is close enough: within idle/16 of it. Deadlines only move later, so the one in force is
// at most idle/16 early, and a transfer costs a deadline update every idle/16 at most, not one
// per read.
func (p *pace) next(now time.Time) (time.Time, bool) {
	if p.start.IsZero() {
		p.start = now
	}
	d, byRate := now.Add(p.idle), false
	if p.minRate > 0 {
		floor := p.start.Add(p.idle + time.Duration(float64(p.n)/float64(p.minRate)*float64(time.Second)))
		if floor.Before(d) {
			d, byRate = floor, true
		}
	}
	if !p.set.IsZero() && d.Sub(p.set) < p.idle/16 {
		return time.Time{}, false
	}
	p.set, p.byRate = d, byRate
	return d, true
}

// reason says which limit the transfer broke.
func (p *pace) reason() string {
	if p.byRate {
		return fmt.Sprintf("fell below %d bytes/s", p.minRate)
	}
	return fmt.Sprintf("made no progress for %v", p.idle)
}

// guardLimits returns the stall timeout and the minimum rate in force; idle 0 means none.
func (s *Server) guardLimits() (time.Duration, int64) {
	idle := s.opts.StallTimeout
	switch {
	case idle < 0:
		return 0, 0
	case idle == 0:
		idle = DefaultStallTimeout
	}
	rate := s.opts.MinTransferRate
	switch {
	case rate < 0:
		rate = 0
	case rate == 0:
		rate = DefaultMinTransferRate
	}
	if bw := s.opts.Bandwidth; bw > 0 && rate > bw/2 {
		rate = max(bw/2, 1)
	}
	return idle, rate
}

// track wraps a request for the request log and the stall guards; done is called when the
// handler returns.
func (s *Server) track(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, func()) {
	start := time.Now()
	idle, rate := s.guardLimits()
	rc := http.NewResponseController(w)
	tw := &trackedWriter{ResponseWriter: w, rc: rc, s: s, guard: idle > 0, pace: pace{idle: idle, minRate: rate}}
	var body *guardedBody
	if r.Body != nil && r.Body != http.NoBody {
		// On a copy of the request: net/http looks at its own request's body, after the
		// handler, to see whether it may half-close the connection before closing it.
		r = r.WithContext(r.Context())
		body = &guardedBody{body: r.Body, rc: rc, s: s, guard: idle > 0, pace: pace{idle: idle, minRate: rate}}
		r.Body = body
	}
	return tw, r, func() {
		if tw.status == 0 {
			// Nothing was written: net/http would send a 200, unless the connection was
			// taken over (an injected fault), which a write of nothing tells.
			if _, err := tw.ResponseWriter.Write(nil); errors.Is(err, http.ErrHijacked) {
				tw.cut = "connection taken over by an injected fault"
			} else {
				tw.status = http.StatusOK
			}
		}
		if tw.guard && tw.status != 0 {
			// The last bytes are flushed after the handler: give them one more stall timeout.
			_ = rc.SetWriteDeadline(time.Now().Add(idle))
		}
		log := s.opts.RequestLog
		if log == nil {
			return
		}
		rec := RequestRecord{Method: r.Method, Path: s.logPath(r), Status: tw.status, BytesOut: tw.pace.n, Duration: time.Since(start), Cut: tw.cut}
		if body != nil {
			rec.BytesIn = body.pace.n
			if body.cut != "" {
				rec.Cut = body.cut
			}
		}
		log(rec)
	}
}

// guardedBody is a request body that is cut off when it stalls.
type guardedBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	s     *Server
	guard bool
	eof   bool
	cut   string
	pace  pace
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.guard && !b.eof {
		// After EOF net/http reads the connection itself, with no deadline: leave it be.
		if d, ok := b.pace.next(time.Now()); ok {
			if err := b.rc.SetReadDeadline(d); err != nil {
				b.guard = false // not supported by the ResponseWriter (a plain handler in a test)
			}
		}
	}
	n, err := b.body.Read(p)
	b.pace.n += int64(n)
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil && b.guard && errors.Is(err, os.ErrDeadlineExceeded):
		if b.cut == "" {
			b.s.stats.stalled.Add(1)
			b.cut = "request body " + b.pace.reason()
		}
		err = &stallError{reason: b.pace.reason(), err: err}
	case err != nil && b.cut == "":
		// The answer to it (a 400) reaches nobody: the log says why instead of leaving a 400
		// that reads like a bad request.
		if errors.Is(err, net.ErrClosed) {
			b.cut = "request body broken off: the server closed the connection (stopping)"
		} else {
			b.cut = "request body broken off by the client (" + err.Error() + ")"
		}
	}
	return n, err
}

func (b *guardedBody) Close() error { return b.body.Close() }

// trackedWriter records the status and counts the bytes of a response, and cuts it off when the
// client stops reading it.
type trackedWriter struct {
	http.ResponseWriter
	rc     *http.ResponseController
	s      *Server
	guard  bool
	status int
	cut    string
	pace   pace
}

func (w *trackedWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *trackedWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.guard {
		if d, ok := w.pace.next(time.Now()); ok {
			if err := w.rc.SetWriteDeadline(d); err != nil {
				w.guard = false
			}
		}
	}
	n, err := w.ResponseWriter.Write(p)
	w.pace.n += int64(n)
	if err != nil && w.guard && errors.Is(err, os.ErrDeadlineExceeded) {
		if w.cut == "" {
			w.s.stats.stalled.Add(1)
			w.cut = "response " + w.pace.reason()
		}
		err = &stallError{reason: w.pace.reason(), err: err}
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (deadlines, Hijack).
func (w *trackedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
