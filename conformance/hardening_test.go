package conformance_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
)

// TestServerClosesSlowAndIdleConnections: a client that never finishes its headers, or a
// keep-alive connection left idle, is disconnected after the ServerOptions' ReadHeaderTimeout
// and IdleTimeout (100 ms here), not the package's defaults (10 s and 2 min).
func TestServerClosesSlowAndIdleConnections(t *testing.T) {
	srv := start(t, conformance.ServerOptions{ReadHeaderTimeout: 100 * time.Millisecond, IdleTimeout: 100 * time.Millisecond})
	closed := func(t *testing.T, conn net.Conn, r *bufio.Reader) {
		t.Helper()
		// A bound that tells the options from the defaults: 25 times the options' 100 ms, a
		// quarter of the shorter default (the bound used to be 10 s, the default
		// ReadHeaderTimeout itself, so that a server ignoring the option passed at random).
		_ = conn.SetReadDeadline(time.Now().Add(conformance.ReadHeaderTimeout / 4))
		_, err := io.Copy(io.Discard, r)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the server kept the connection open")
		}
	}

	slow, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := io.WriteString(slow, "GET /v1/files HTTP/1.1\r\nHost: x\r\n"); err != nil { // headers never end
		t.Fatal(err)
	}
	closed(t, slow, bufio.NewReader(slow))

	idle, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := io.WriteString(idle, "GET /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(idle)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	closed(t, idle, r) // then idle
}

// TestServerBodyLimits: bodies are limited while they are read: a JSON body above 1 MiB is
// refused without being read whole.
func TestServerBodyLimits(t *testing.T) {
	srv := start(t, conformance.ServerOptions{})
	c, report := reportingClient(t, srv.URL)
	big := `{"bytes":1,"filename":"` + strings.Repeat("a", 2<<20) + `","mime_type":"text/plain","purpose":"batch"}`
	resp, err := c.CreateUploadWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	if e := errorOf(t, resp.StatusCode(), resp.Body); resp.StatusCode() != 400 || !strings.Contains(e.Message, "larger than 1048576 bytes") {
		t.Errorf("2 MiB JSON body: %d %+v", resp.StatusCode(), e)
	}
	responseViolations(t, report)
}
