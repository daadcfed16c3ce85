package conformance

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The limits a benchmark or a client's test puts on the server beside the per-connection
// Bandwidth: a cap on the throughput of all connections together (TotalBandwidth), and a limit
// of part requests in flight beyond which the server answers 429 (MaxPartsInFlight).

// DefaultPartsRetryAfter is the delay the 429s of ServerOptions.MaxPartsInFlight ask for when
// ServerOptions.PartsRetryAfter is 0.
const DefaultPartsRetryAfter = 100 * time.Millisecond

// sharedPacer spaces the transfers of every connection together so that their sum never gets
// ahead of rate bytes per second. A connection reserves its bytes' time under the lock and
// sleeps outside it, so connections share the rate in the order they ask.
type sharedPacer struct {
	rate int64
	mu   sync.Mutex
	next time.Time // when the bytes reserved so far are all due
	// now and sleep default to the wall clock; tests replace them.
	now   func() time.Time
	sleep func(time.Duration)
}

func (p *sharedPacer) wait(n int) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	if p.now == nil {
		p.now, p.sleep = time.Now, time.Sleep
	}
	now := p.now()
	if p.next.Before(now.Add(-pacerBurst)) {
		p.next = now.Add(-pacerBurst) // idle: at most pacerBurst of credit
	}
	p.next = p.next.Add(time.Duration(float64(n) / float64(p.rate) * float64(time.Second)))
	d := p.next.Sub(now)
	sleep := p.sleep
	p.mu.Unlock()
	if d > 0 {
		sleep(d)
	}
}

// pacedListener paces each accepted connection: perConn bytes per second each way (0: no cap),
// and all of them together through totalRead and totalWrite (nil: no cap).
type pacedListener struct {
	net.Listener
	perConn               int64
	totalRead, totalWrite *sharedPacer
}

func newPacedListener(ln net.Listener, perConn, total int64) net.Listener {
	if perConn <= 0 && total <= 0 {
		return ln
	}
	l := pacedListener{Listener: ln, perConn: perConn}
	if total > 0 {
		l.totalRead, l.totalWrite = &sharedPacer{rate: total}, &sharedPacer{rate: total}
	}
	return l
}

func (l pacedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &throttledConn{Conn: c, read: pacer{rate: l.perConn}, write: pacer{rate: l.perConn},
		totalRead: l.totalRead, totalWrite: l.totalWrite}, nil
}

// partLimiter counts the part requests being served and refuses those beyond the limit.
type partLimiter struct {
	limit      int64
	retryAfter time.Duration
	inFlight   atomic.Int64
	peak       atomic.Int64
	refused    atomic.Int64
}

// admitPart counts a part request in flight (Stats.PeakPartsInFlight) from its arrival, before
// the simulated Latency, and, with MaxPartsInFlight set, answers 429 to one beyond it, at once,
// before reading its body (the connection is then closed, the rest of the body unread):
// retry-after-ms carries PartsRetryAfter, Retry-After the same rounded up to whole seconds, and
// the error is OpenAI's rate-limit envelope (type requests, code rate_limit_exceeded). It
// returns false when it answered; otherwise done must be called when the request ends.
func (s *Server) admitPart(w http.ResponseWriter, r *http.Request) (done func(), ok bool) {
	if operationOf(r) != "addUploadPart" {
		return func() {}, true
	}
	l := &s.parts
	n := l.inFlight.Add(1)
	if l.limit > 0 && n > l.limit {
		l.inFlight.Add(-1)
		l.refused.Add(1)
		s.stats.op("addUploadPart")
		w.Header().Set("retry-after-ms", strconv.FormatInt(l.retryAfter.Milliseconds(), 10))
		w.Header().Set("Retry-After", strconv.FormatInt(int64((l.retryAfter+time.Second-1)/time.Second), 10))
		fail(w, &apiError{status: http.StatusTooManyRequests, typ: "requests", code: "rate_limit_exceeded", closeConn: true,
			message: "Rate limit reached: more than " + strconv.FormatInt(l.limit, 10) + " part requests in flight. Please try again shortly."})
		return nil, false
	}
	for {
		p := l.peak.Load()
		if n <= p || l.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return func() { l.inFlight.Add(-1) }, true
}
