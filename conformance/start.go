package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts of the HTTP server run by [Listen] and [Start].
const (
	// ReadHeaderTimeout bounds how long a client may take to send a request's headers.
	ReadHeaderTimeout = 10 * time.Second
	// IdleTimeout closes keep-alive connections idle for longer.
	IdleTimeout = 2 * time.Minute
)

// Running is a reference server listening on a TCP address.
type Running struct {
	*Server
	// URL is the API's base URL, for example "http://127.0.0.1:41234/v1".
	URL string
	// Addr is the address the server listens on.
	Addr string

	http    *http.Server
	base    context.Context // every request's context derives from it
	cancel  context.CancelFunc
	done    chan error
	ln      net.Listener // what http.Server accepts from: the paced, capped listener
	once    sync.Once
	stopErr error
	conns   sync.WaitGroup
	open    atomic.Int64
}

// Start runs a reference server on 127.0.0.1 at a free port, for tests, benchmarks and the
// demo. Close stops it.
func Start(opts ServerOptions) (*Running, error) {
	return Listen("127.0.0.1:0", opts)
}

// Listen runs a reference server on addr (host:port). The HTTP server bounds how long a client may
// take to send headers and how long a connection may idle (opts.ReadHeaderTimeout and
// opts.IdleTimeout, by default ReadHeaderTimeout and IdleTimeout), how many connections it serves
// at once (opts.MaxConnections), and cuts off stalled transfers (opts.StallTimeout); with
// opts.Bandwidth set, every connection is paced, and with opts.TotalBandwidth all of them
// together.
func Listen(addr string, opts ServerOptions) (*Running, error) {
	if opts.Bandwidth < 0 || opts.TotalBandwidth < 0 {
		return nil, fmt.Errorf("conformance: Bandwidth %d and TotalBandwidth %d must not be negative", opts.Bandwidth, opts.TotalBandwidth)
	}
	// The port first: a server that cannot listen must not have opened (or made) its storage
	// directory, restored it, or removed its orphaned blobs.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s, err := NewServer(opts)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	ln = newPacedListener(ln, opts.Bandwidth, opts.TotalBandwidth)
	if limit := opts.MaxConnections; limit >= 0 {
		if limit == 0 {
			limit = DefaultMaxConnections
		}
		ln = newLimitListener(ln, limit)
	}
	r := &Running{
		Server: s,
		URL:    "http://" + ln.Addr().String() + "/v1",
		Addr:   ln.Addr().String(),
		done:   make(chan error, 1),
		ln:     ln,
	}
	r.base, r.cancel = context.WithCancel(context.Background())
	r.http = &http.Server{
		Handler: s, ReadHeaderTimeout: orDefault(opts.ReadHeaderTimeout, ReadHeaderTimeout), IdleTimeout: orDefault(opts.IdleTimeout, IdleTimeout),
		// Cancelled when the server stops for good, so that a handler waiting on its request's
		// context (latency, an md5 pass) ends with it.
		BaseContext: func(net.Listener) context.Context { return r.base },
		// Track every connection's goroutine, so that Close returns only once all have ended
		// (a connection closed after a cut-off part lingers ~0.5 s in net/http).
		ConnState: func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				r.conns.Add(1)
				r.open.Add(1)
			case http.StateHijacked, http.StateClosed:
				r.open.Add(-1)
				r.conns.Done()
			}
		},
	}
	go func() { r.done <- r.http.Serve(ln) }()
	return r, nil
}

// OpenConnections returns the number of connections open now.
func (r *Running) OpenConnections() int { return int(r.open.Load()) }

// Shutdown stops accepting connections and waits for requests under way to finish. If ctx
// ends first, the connections still open are closed (their requests fail) and the error wraps
// ctx.Err(): whatever clients do, Shutdown returns soon after ctx ends. Then it releases the
// storage. Only the first Shutdown or Close has an effect.
func (r *Running) Shutdown(ctx context.Context) error {
	return r.stop(func() error {
		err := r.http.Shutdown(ctx)
		if err == nil {
			return nil
		}
		n := r.open.Load()
		r.cancel()
		return errors.Join(fmt.Errorf("conformance: closed %d connection(s) still open when the shutdown's time was up: %w", n, err), r.http.Close())
	})
}

// Close stops the server at once, closing every connection, and releases the storage. Only the
// first Shutdown or Close has an effect.
func (r *Running) Close() error {
	return r.stop(func() error {
		r.cancel()
		return r.http.Close()
	})
}

func (r *Running) stop(halt func() error) error {
	r.once.Do(func() {
		err := halt()
		if serveErr := <-r.done; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		r.conns.Wait()
		r.cancel()
		r.stopErr = errors.Join(err, r.Server.Close())
	})
	return r.stopErr
}

// limitListener accepts at most n connections at once: past that, Accept waits until one of
// them is closed (new clients wait in the kernel's queue, as on a busy server). Unlike
// golang.org/x/net/netutil's, its connections give the one they wrap back (NetConn), which the
// fault injection needs to reset a TCP connection.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, l: l}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.l.slots })
	return err
}

// NetConn returns the underlying connection.
func (c *limitConn) NetConn() net.Conn { return c.Conn }

// CloseWrite half-closes the TCP connection underneath: net/http does so before closing a
// connection whose request it did not read to the end, so that its answer (a 400 for a part
// that is too large) arrives instead of a reset.
func (c *limitConn) CloseWrite() error {
	if cw, ok := unwrapConn(c.Conn).(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
