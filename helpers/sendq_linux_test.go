//go:build linux

package helpers_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// TestSlowLinkDrainingTheSocketIsNotCut: the client's socket takes a whole part into its send
// buffer at once, so the part's Reads end at once; the server then reads it at a pace that
// takes two stall timeouts (a slow link, seen from the client as a send buffer draining).
// The bytes keep moving, so the part is not cut: the watchdog counts the fall of the socket's
// unacknowledged bytes as progress. (750 ms, not 500 with three: the same 1.5 s, with more room
// for a loaded machine between the falls the watchdog sees.)
func TestSlowLinkDrainingTheSocketIsNotCut(t *testing.T) {
	const stall = 750 * time.Millisecond
	// The client's send buffer takes the whole part at once: Linux gives at least 2 × 208 KiB
	// (its default wmem_max) when asked for more, far above the part.
	const size = 48 << 10
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetWriteBuffer(1 << 20)
		}
		return conn, err
	}}
	t.Cleanup(tr.CloseIdleConnections)
	rate := int64(size) * 1000 / int64(2*stall/time.Millisecond) // two stall timeouts to drain

	s, err := conformance.NewServer(conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, SlowRate: rate, Kinds: []conformance.FaultKind{conformance.FaultSlowRequest}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(s)
	_ = ts.Listener.Close()
	// The smallest receive buffer, set on the listening socket so that accepted connections
	// start with it (and a small window): the bytes the slow reader has not taken wait in the
	// client's send buffer, as on a slow link, and the window reopens in small steps.
	lc := net.ListenConfig{Control: func(_, _ string, raw syscall.RawConn) error {
		return raw.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<10) })
	}}
	if ts.Listener, err = lc.Listen(context.Background(), "tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ts.Start()
	t.Cleanup(func() { ts.Close(); _ = s.Close() })
	srv := &refServer{Server: s, URL: ts.URL + "/v1"}

	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.HTTPClient = &http.Client{Transport: tr} })
	data := pattern(size)
	g := &progressGuard{t: t}
	up, err := c.UploadReaderAt(hangGuard(t), bytes.NewReader(data), int64(len(data)), helpers.UploadOptions{
		Purpose: "batch", Filename: "train.jsonl", PartSize: int64(len(data)), StallTimeout: stall, Progress: g.update,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkUploaded(t, c, srv, up, data)
	if g.last.Retries != 0 {
		t.Errorf("%d retries: a part whose bytes kept draining from the socket was cut (part %d bytes, %d bytes/s)", g.last.Retries, size, rate)
	}
}
