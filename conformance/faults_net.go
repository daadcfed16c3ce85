package conformance

import (
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// The connection-level halves of the faults: a reset, a dropped answer, slow bodies, and the
// bandwidth caps of ServerOptions.Bandwidth and TotalBandwidth (the listener is in limits.go).

// resetConnection drops the client's connection with a TCP RST, mid-request.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := unwrapConn(conn).(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func unwrapConn(c net.Conn) net.Conn {
	for {
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return c
		}
		c = u.NetConn()
	}
}

// errSlowStopped ends a slow body when the server closes or the request is abandoned.
var errSlowStopped = errors.New("conformance: slow body stopped")

// slowPace spaces a slow body's pieces so that it moves at rate bytes per second: a piece every
// 50 ms. Its waits end early when the server is closed or the request's context ends.
type slowPace struct {
	rate  int64
	start time.Time
	total int64
	stop  <-chan struct{}
	done  <-chan struct{}
}

func (f *faultInjector) newPace(r *http.Request) *slowPace {
	return &slowPace{rate: f.slowRate, stop: f.closed, done: r.Context().Done()}
}

// piece is how much moves at once: 50 ms worth, at least a byte.
func (p *slowPace) piece() int { return int(max(p.rate/20, 1)) }

// wait blocks until n more bytes are due; false if the server or the request ended first.
func (p *slowPace) wait(n int) bool {
	if p.start.IsZero() {
		p.start = time.Now()
	}
	p.total += int64(n)
	d := time.Until(p.start.Add(time.Duration(float64(p.total) / float64(p.rate) * float64(time.Second))))
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.stop:
	case <-p.done:
	}
	return false
}

// slowBody is a request body read a piece at a time, at the pace's rate.
type slowBody struct {
	io.ReadCloser
	p *slowPace
}

func (b *slowBody) Read(buf []byte) (int, error) {
	if max := b.p.piece(); len(buf) > max {
		buf = buf[:max]
	}
	n, err := b.ReadCloser.Read(buf)
	if n > 0 && !b.p.wait(n) {
		return n, errSlowStopped
	}
	return n, err
}

// slowWriter writes an answer's body a piece at a time, at the pace's rate, flushing each.
type slowWriter struct {
	http.ResponseWriter
	p *slowPace
}

func (s *slowWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *slowWriter) Write(b []byte) (int, error) {
	rc := http.NewResponseController(s.ResponseWriter)
	written := 0
	for len(b) > 0 {
		q := b[:min(len(b), s.p.piece())]
		n, err := s.ResponseWriter.Write(q)
		written += n
		if err != nil {
			return written, err
		}
		_ = rc.Flush()
		if !s.p.wait(n) {
			return written, errSlowStopped
		}
		b = b[n:]
	}
	return written, nil
}

// throttledConn paces reads and writes: rate bytes per second each on this connection (a zero
// pacer: no cap), and all connections together through totalRead and totalWrite (nil: no cap).
type throttledConn struct {
	net.Conn
	read, write           pacer
	totalRead, totalWrite *sharedPacer
}

// NetConn returns the underlying connection.
func (c *throttledConn) NetConn() net.Conn { return c.Conn }

// chunk is the most to move at once: 10 ms worth of the connection's rate, or 64 KiB with no
// per-connection cap.
func chunkOf(p *pacer) int {
	if p.rate <= 0 {
		return 64 << 10
	}
	return p.chunk()
}

func (c *throttledConn) Read(p []byte) (int, error) {
	if max := chunkOf(&c.read); len(p) > max {
		p = p[:max]
	}
	n, err := c.Conn.Read(p)
	c.read.wait(n)
	if c.totalRead != nil {
		c.totalRead.wait(n)
	}
	return n, err
}

func (c *throttledConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		q := p
		if max := chunkOf(&c.write); len(q) > max {
			q = q[:max]
		}
		n, err := c.Conn.Write(q)
		written += n
		c.write.wait(n)
		if c.totalWrite != nil {
			c.totalWrite.wait(n)
		}
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// pacer spaces transfers so that the running total never gets ahead of rate bytes per second.
type pacer struct {
	rate  int64
	start time.Time
	total int64
	// now and sleep default to the wall clock; tests replace them.
	now   func() time.Time
	sleep func(time.Duration)
}

// chunk is the most to move at once: 10 ms worth, at least 1 KiB.
func (p *pacer) chunk() int {
	return int(max(p.rate/100, 1<<10))
}

// pacerBurst is the most credit an idle connection keeps: after a pause, the pace restarts.
const pacerBurst = 20 * time.Millisecond

func (p *pacer) due() time.Time {
	return p.start.Add(time.Duration(float64(p.total) / float64(p.rate) * float64(time.Second)))
}

func (p *pacer) wait(n int) {
	if n <= 0 || p.rate <= 0 {
		return
	}
	if p.now == nil {
		p.now, p.sleep = time.Now, time.Sleep
	}
	now := p.now()
	if p.start.IsZero() || now.Sub(p.due()) > pacerBurst {
		p.start, p.total = now, 0
	}
	p.total += int64(n)
	if d := p.due().Sub(now); d > 0 {
		p.sleep(d)
	}
}
