package conformance

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// FaultKind is a way a part request can fail.
type FaultKind string

// The fault kinds the reference server can inject into part requests.
const (
	// Fault500 answers 500 after reading the part, without storing it.
	Fault500 FaultKind = "500"
	// Fault503 answers 503 after reading the part, without storing it.
	Fault503 FaultKind = "503"
	// Fault429 answers 429 with Retry-After and retry-after-ms after reading the part, without
	// storing it.
	Fault429 FaultKind = "429"
	// FaultReset reads a little of the part, then resets the connection (TCP RST) mid-body.
	FaultReset FaultKind = "reset"
	// FaultLostResponse stores the part, then closes the connection without answering: the
	// client cannot know the part arrived, and the stored part is never listed.
	FaultLostResponse FaultKind = "lost-response"
)

// AllFaultKinds lists every fault kind.
var AllFaultKinds = []FaultKind{Fault500, Fault503, Fault429, FaultReset, FaultLostResponse}

// DefaultFaultRetryAfter is the delay an injected 429 asks for when Faults.RetryAfter is 0.
const DefaultFaultRetryAfter = 50 * time.Millisecond

// Faults configures fault injection into part requests.
type Faults struct {
	// Rate is the fraction of part requests that fail, from 0 (none) to 1 (all).
	Rate float64
	// Kinds are the faults to choose from, uniformly; nil means AllFaultKinds.
	Kinds []FaultKind
	// Seed makes the sequence of faults reproducible for a given order of requests.
	Seed uint64
	// RetryAfter is the delay an injected 429 asks for: retry-after-ms carries it, Retry-After
	// carries it rounded up to whole seconds. 0 means DefaultFaultRetryAfter.
	RetryAfter time.Duration
}

type faultInjector struct {
	mu         sync.Mutex
	rng        *rand.Rand
	rate       float64
	kinds      []FaultKind
	retryAfter time.Duration
}

func newFaultInjector(f Faults) (*faultInjector, error) {
	if f.Rate < 0 || f.Rate > 1 {
		return nil, fmt.Errorf("conformance: Faults.Rate %v is outside 0..1", f.Rate)
	}
	kinds := f.Kinds
	if len(kinds) == 0 {
		kinds = AllFaultKinds
	}
	for _, k := range kinds {
		if !slices.Contains(AllFaultKinds, k) {
			return nil, fmt.Errorf("conformance: unknown fault kind %q (known: %v)", k, AllFaultKinds)
		}
	}
	retryAfter := f.RetryAfter
	if retryAfter <= 0 {
		retryAfter = DefaultFaultRetryAfter
	}
	return &faultInjector{
		rng:  rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15)),
		rate: f.Rate, kinds: kinds, retryAfter: retryAfter,
	}, nil
}

// next returns the fault for the next part request, or "" for none.
func (f *faultInjector) next() FaultKind {
	if f.rate == 0 {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() >= f.rate {
		return ""
	}
	return f.kinds[f.rng.IntN(len(f.kinds))]
}

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

// throttledListener caps each accepted connection's throughput.
type throttledListener struct {
	net.Listener
	rate int64
}

func (l throttledListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &throttledConn{Conn: c, read: pacer{rate: l.rate}, write: pacer{rate: l.rate}}, nil
}

// throttledConn paces reads and writes to rate bytes per second each.
type throttledConn struct {
	net.Conn
	read, write pacer
}

// NetConn returns the underlying connection.
func (c *throttledConn) NetConn() net.Conn { return c.Conn }

func (c *throttledConn) Read(p []byte) (int, error) {
	if max := c.read.chunk(); len(p) > max {
		p = p[:max]
	}
	n, err := c.Conn.Read(p)
	c.read.wait(n)
	return n, err
}

func (c *throttledConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		q := p
		if max := c.write.chunk(); len(q) > max {
			q = q[:max]
		}
		n, err := c.Conn.Write(q)
		written += n
		c.write.wait(n)
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
	if n <= 0 {
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
