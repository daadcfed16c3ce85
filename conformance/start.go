package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
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
	done    chan error
	once    sync.Once
	stopErr error
	conns   sync.WaitGroup
}

// Start runs a reference server on 127.0.0.1 at a free port, for tests, benchmarks and the
// demo. Close stops it.
func Start(opts ServerOptions) (*Running, error) {
	return Listen("127.0.0.1:0", opts)
}

// Listen runs a reference server on addr (host:port). The HTTP server bounds how long a client may
// take to send headers and how long a connection may idle (opts.ReadHeaderTimeout and
// opts.IdleTimeout, by default ReadHeaderTimeout and IdleTimeout); with opts.Bandwidth set, every
// connection is paced.
func Listen(addr string, opts ServerOptions) (*Running, error) {
	if opts.Bandwidth < 0 {
		return nil, fmt.Errorf("conformance: Bandwidth %d is negative", opts.Bandwidth)
	}
	s, err := NewServer(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	if opts.Bandwidth > 0 {
		ln = throttledListener{Listener: ln, rate: opts.Bandwidth}
	}
	r := &Running{
		Server: s,
		URL:    "http://" + ln.Addr().String() + "/v1",
		Addr:   ln.Addr().String(),
		done:   make(chan error, 1),
	}
	r.http = &http.Server{
		Handler: s, ReadHeaderTimeout: orDefault(opts.ReadHeaderTimeout, ReadHeaderTimeout), IdleTimeout: orDefault(opts.IdleTimeout, IdleTimeout),
		// Track every connection's goroutine, so that Close returns only once all have ended
		// (a connection closed after a cut-off part lingers ~0.5 s in net/http).
		ConnState: func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				r.conns.Add(1)
			case http.StateHijacked, http.StateClosed:
				r.conns.Done()
			}
		},
	}
	go func() { r.done <- r.http.Serve(ln) }()
	return r, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Shutdown stops accepting connections and waits for requests under way to finish (or ctx to
// end), then releases the storage. Only the first Shutdown or Close has an effect.
func (r *Running) Shutdown(ctx context.Context) error {
	return r.stop(func() error { return r.http.Shutdown(ctx) })
}

// Close stops the server at once, closing every connection, and releases the storage. Only the
// first Shutdown or Close has an effect.
func (r *Running) Close() error {
	return r.stop(r.http.Close)
}

func (r *Running) stop(halt func() error) error {
	r.once.Do(func() {
		err := halt()
		if serveErr := <-r.done; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		r.conns.Wait()
		r.stopErr = errors.Join(err, r.Server.Close())
	})
	return r.stopErr
}
