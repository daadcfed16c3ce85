package conformance_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
)

// TestFaultSlowResponseTrickles: a slow answer is written a little at a time (a piece of 50 ms
// at the rate, flushed each), not whole after a wait: its chunks on the wire are each at most a
// piece. A client's stall watchdog sees such an answer move.
func TestFaultSlowResponseTrickles(t *testing.T) {
	const rate = 400 // bytes per second: pieces of 20 bytes
	srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, SlowRate: rate,
		Kinds: []conformance.FaultKind{conformance.FaultSlowResponse}, Operations: []string{"listFiles"}}})
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "GET /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", testKey)
	br := bufio.NewReader(conn)
	chunked := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("headers: %v", err)
		}
		if strings.EqualFold(strings.TrimSpace(line), "Transfer-Encoding: chunked") {
			chunked = true
		}
		if line == "\r\n" {
			break
		}
	}
	if !chunked {
		t.Fatal("the slow answer was not sent in chunks")
	}
	var sizes []int64
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("chunk size: %v", err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
		if err != nil {
			t.Fatalf("chunk size %q: %v", line, err)
		}
		if n == 0 {
			break
		}
		sizes = append(sizes, n)
		if _, err := io.CopyN(io.Discard, br, n+2); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	for _, n := range sizes {
		total += n
		if n > rate/20 {
			t.Errorf("a chunk of %d bytes, above the piece of %d: chunks %v", n, rate/20, sizes)
		}
	}
	if total <= rate/20 {
		t.Errorf("an answer of %d bytes, too short to be seen in pieces", total)
	}
}
