package conformance_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// slowPart opens a connection and sends the head of a part request for upload whose body
// announces size bytes, and the first bytes of the form; the caller sends the rest, or not.
func slowPart(t testing.TB, addr, uploadID string, size int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	head := "--b\r\nContent-Disposition: form-data; name=\"data\"; filename=\"blob\"\r\n\r\n"
	req := fmt.Sprintf("POST /v1/uploads/%s/parts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n%s",
		uploadID, testKey, len(head)+size+len("\r\n--b--\r\n"), head)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return conn
}

// eventually polls cond until it holds, failing the test if it does not within 20 s (a bound
// for a failing test, not a measure).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("20 s on, still not: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// readAnswer reads the server's answer on conn, with a bound for a failing test.
func readAnswer(t *testing.T, conn net.Conn) (*http.Response, string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// TestStalledBodyIsCutOff: a part whose body stops arriving is cut off after StallTimeout with
// a 408 in OpenAI's envelope, and the connection is closed; nothing is kept.
func TestStalledBodyIsCutOff(t *testing.T) {
	var mu sync.Mutex
	var logged []conformance.RequestRecord
	srv := start(t, conformance.ServerOptions{StallTimeout: 200 * time.Millisecond, MinTransferRate: -1, RequestLog: func(r conformance.RequestRecord) {
		mu.Lock()
		logged = append(logged, r)
		mu.Unlock()
	}})
	c := validatingClient(t, srv.URL)
	up := createUpload(t, c, 1<<20)
	conn := slowPart(t, srv.Addr, up.ID, 1<<20)
	defer conn.Close()
	if _, err := conn.Write(pattern(1000)); err != nil { // then nothing more
		t.Fatal(err)
	}
	resp, body := readAnswer(t, conn)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(body, "made no progress for 200ms") || !strings.Contains(body, `"code":"request_timeout"`) {
		t.Errorf("answer %d %s, want a 408 saying the body made no progress", resp.StatusCode, body)
	}
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("the connection stays open after the cut-off")
	}
	if st := srv.Stats(); st.Stalled != 1 || st.StoredBytes != 0 || srv.UploadParts(up.ID) != 0 {
		t.Errorf("stats %+v, parts %d: want one stall and nothing kept", st, srv.UploadParts(up.ID))
	}
	mu.Lock()
	defer mu.Unlock()
	last := logged[len(logged)-1]
	if last.Status != 408 || last.BytesIn < 1000 || !strings.Contains(last.Cut, "request body made no progress") {
		t.Errorf("request log %+v", last)
	}
}

// TestTrickledBodyIsCutOff: a body that keeps arriving, but below MinTransferRate, is cut off
// too: StallTimeout alone would let it hold the connection forever.
func TestTrickledBodyIsCutOff(t *testing.T) {
	srv := start(t, conformance.ServerOptions{StallTimeout: 300 * time.Millisecond, MinTransferRate: 100})
	c := validatingClient(t, srv.URL)
	up := createUpload(t, c, 1<<20)
	conn := slowPart(t, srv.Addr, up.ID, 1<<20)
	defer conn.Close()
	stop := make(chan struct{})
	trickled := make(chan struct{})
	go func() { // one byte every 20 ms: 50 bytes/s, never 300 ms without progress
		defer close(trickled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte{'x'}); err != nil {
					return
				}
			}
		}
	}()
	resp, body := readAnswer(t, conn)
	close(stop)
	<-trickled
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(body, "fell below 100 bytes/s") {
		t.Errorf("answer %d %s, want a 408 saying the body fell below 100 bytes/s", resp.StatusCode, body)
	}
}

// TestSteadyBodyIsNotCutOff: a body that arrives slowly but above the floor completes.
func TestSteadyBodyIsNotCutOff(t *testing.T) {
	srv := start(t, conformance.ServerOptions{StallTimeout: 2 * time.Second, MinTransferRate: 100})
	c := validatingClient(t, srv.URL)
	const size = 5000
	up := createUpload(t, c, size)
	conn := slowPart(t, srv.Addr, up.ID, size)
	defer conn.Close()
	data := pattern(size)
	for i := 0; i < size; i += 100 { // 100 bytes every 10 ms: 10,000 bytes/s
		if _, err := conn.Write(data[i : i+100]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // pacing the client, not an assertion
	}
	if _, err := io.WriteString(conn, "\r\n--b--\r\n"); err != nil {
		t.Fatal(err)
	}
	if resp, body := readAnswer(t, conn); resp.StatusCode != 200 {
		t.Errorf("answer %d %s, want 200", resp.StatusCode, body)
	}
}

// TestStalledDownloadIsCutOff: a client that stops reading a download is cut off after
// StallTimeout, which frees its connection and the stored file it held open.
func TestStalledDownloadIsCutOff(t *testing.T) {
	srv := start(t, conformance.ServerOptions{StallTimeout: time.Second})
	c := validatingClient(t, srv.URL)
	f := mustCreateFile(t, c, "big.jsonl", pattern(32<<20), "purpose", "batch")
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(64 << 10) // keep the kernel from buffering the whole file
	}
	fmt.Fprintf(conn, "GET /v1/files/%s/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", f.ID, testKey)
	eventually(t, "the stalled download is cut off", func() bool { return srv.Stats().Stalled != 0 })
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection of the stalled download stays open")
	}
	if n >= 32<<20 {
		t.Errorf("the client got all %d bytes", n)
	}
}

// TestShutdownEndsWhateverClientsDo: Shutdown waits for requests under way until its context
// ends, then closes the connections still open: a client sending a body that never ends does
// not hold it. The error says so.
func TestShutdownEndsWhateverClientsDo(t *testing.T) {
	srv, err := conformance.Start(conformance.ServerOptions{StallTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := validatingClient(t, srv.URL)
	up := createUpload(t, c, 1<<20)
	conn := slowPart(t, srv.Addr, up.ID, 1<<20)
	defer conn.Close()
	if _, err := conn.Write(pattern(100)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the part request reaches the server", func() bool { return srv.Stats().Operations["addUploadPart"] != 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "closed 1 connection(s) still open") {
			t.Errorf("Shutdown: %v, want the deadline and the connection it closed", err)
		}
	case <-time.After(20 * time.Second): // a bound for a failing test
		t.Fatal("Shutdown still waits for the slow client 20 s on")
	}
	if n := srv.OpenConnections(); n != 0 {
		t.Errorf("%d connections open after Shutdown", n)
	}
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("the slow client's connection is still open")
	}
}

// fds counts this process's open file descriptors (Linux).
func fds(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(entries)
}

// TestDescriptorsBoundedUnderSlowBodies: 200 clients that send parts slowly hold at most
// MaxConnections of the server's connections (and at most as many stored files open); the
// others wait to be accepted. The count is of this process, clients included.
func TestDescriptorsBoundedUnderSlowBodies(t *testing.T) {
	const clients, limit = 200, 16
	srv := start(t, conformance.ServerOptions{Storage: conformance.DiskStorage, MaxConnections: limit, StallTimeout: time.Hour})
	base := newBase(t)
	c := clientWith(t, srv.URL, &conformance.Transport{Base: base})
	up := createUpload(t, c, 1<<30)
	base.CloseIdleConnections() // its keep-alive connection would take one of the slots
	eventually(t, "no connection open", func() bool { return srv.OpenConnections() == 0 })
	before := fds(t)
	conns := make([]net.Conn, clients)
	for i := range conns {
		conns[i] = slowPart(t, srv.Addr, up.ID, 1<<20)
		if _, err := conns[i].Write(pattern(100)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the cap of connections is reached", func() bool {
		return srv.OpenConnections() >= limit && srv.Stats().Operations["addUploadPart"] >= limit
	})
	during := fds(t)
	t.Logf("%d slow bodies, MaxConnections %d: %d descriptors before, %d during (%d are the clients')", clients, limit, before, during, clients)
	if open := srv.OpenConnections(); open > limit {
		t.Errorf("%d connections open, above the cap of %d", open, limit)
	}
	// The clients' own descriptors, and per served connection its socket and one stored file.
	if extra := during - before; extra > clients+2*limit+16 {
		t.Errorf("%d more descriptors with %d slow clients: the server holds more than its %d connections need", extra, clients, limit)
	}
	for _, conn := range conns {
		conn.Close()
	}
}

// TestDescriptorsBoundedUnderConcurrentDownloads: 8 downloads of a File of 400 stored parts,
// all under way at once, hold one stored part open each, not 400; deleting the File meanwhile
// does not cut them short.
func TestDescriptorsBoundedUnderConcurrentDownloads(t *testing.T) {
	const parts, partSize, downloads = 400, 64 << 10, 8
	srv := start(t, conformance.ServerOptions{Storage: conformance.DiskStorage, StallTimeout: time.Hour})
	c := validatingClient(t, srv.URL)
	data := pattern(parts * partSize)
	up := createUpload(t, c, int64(len(data)))
	ids := make([]string, parts)
	for i := range ids {
		r := addPart(t, c, up.ID, data[i*partSize:(i+1)*partSize])
		if r.JSON200 == nil {
			t.Fatalf("part %d: %d %s", i, r.StatusCode(), r.Body)
		}
		ids[i] = r.JSON200.ID
	}
	done, err := c.CompleteUploadWithResponse(context.Background(), up.ID, generated.CompleteUploadRequest{PartIDs: ids})
	if err != nil || done.JSON200 == nil {
		t.Fatalf("complete: %v", err)
	}
	fileID := done.JSON200.File.ID

	before := fds(t)
	bodies := make([]*bufio.Reader, downloads)
	conns := make([]net.Conn, downloads)
	for i := range conns {
		conn, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(64 << 10)
		}
		fmt.Fprintf(conn, "GET /v1/files/%s/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", fileID, testKey)
		conns[i] = conn
		bodies[i] = bufio.NewReader(conn)
		resp, err := http.ReadResponse(bodies[i], nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("download %d: %v", i, err)
		}
		if got, _ := strconv.Atoi(resp.Header.Get("Content-Length")); got != len(data) {
			t.Fatalf("Content-Length %d", got)
		}
	}
	during := fds(t)
	t.Logf("%d downloads of a %d-part File under way: %d descriptors before, %d during", downloads, parts, before, during)
	if extra := during - before; extra > 3*downloads+8 {
		t.Errorf("%d more descriptors for %d downloads: more than a socket each side and one stored part each", extra, downloads)
	}

	if r, err := c.DeleteFileWithResponse(context.Background(), fileID); err != nil || r.JSON200 == nil {
		t.Fatalf("delete during the downloads: %v", err)
	}
	for i, conn := range conns {
		_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		got, err := io.ReadAll(bodies[i])
		if err != nil || string(got) != string(data) {
			t.Errorf("download %d after the delete: %v, %d bytes, want %d byte-exact", i, err, len(got), len(data))
		}
	}
	// The last handler unpins just after its last byte.
	eventually(t, "the deleted File's bytes are freed once the downloads end", func() bool {
		st := srv.Stats()
		return st.StoredBytes == 0 && st.StoredBlobs == 0
	})
}
