package helpers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// hangGuard bounds a call that must not hang: if the behaviour under test is broken, the call
// fails with this deadline (hangBound) instead of blocking the test binary. It is never what a
// test asserts. If the test is still running hangGrace after the deadline, the call ignored its
// context (blocked on something a context does not end): a watchdog then names the test and
// ends the test binary (giveUp) rather than letting it sit until go test's -timeout.
func hangGuard(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hangBound)
	watchdog := time.AfterFunc(hangBound+hangGrace, func() {
		giveUp(fmt.Sprintf("%s: still running %s after its hangGuard deadline: a call ignored its context", t.Name(), hangGrace))
	})
	t.Cleanup(func() {
		watchdog.Stop()
		cancel()
	})
	return ctx
}

// hangBound is hangGuard's deadline: the longest test of the package takes under 4 s. hangGrace
// is how long a cancelled call may take to return: milliseconds when it honours its context.
const (
	hangBound = 60 * time.Second
	hangGrace = 15 * time.Second
)

func faults(kind conformance.FaultKind, limit int64, ops ...string) conformance.Faults {
	return conformance.Faults{Rate: 1, Limit: limit, Kinds: []conformance.FaultKind{kind}, Operations: ops}
}

// progressGuard is a Progress callback that records the last report and fails the test if
// BytesSent ever exceeds TotalBytes.
type progressGuard struct {
	t    *testing.T
	mu   sync.Mutex
	last helpers.Progress
}

func (g *progressGuard) update(p helpers.Progress) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p.BytesSent > p.TotalBytes || p.BytesSent < 0 {
		g.t.Errorf("BytesSent %d outside 0..TotalBytes %d", p.BytesSent, p.TotalBytes)
	}
	g.last = p
}

// fileCount counts the Files the server holds.
func fileCount(t *testing.T, c *helpers.Client) int {
	t.Helper()
	page, err := c.ListFiles(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Data)
}

// TestStalledPartIsRetried freezes the first part request: once with a part far larger than the
// kernel's socket buffers, whose body stops moving, and once with a small part, all of it
// buffered, that is never answered. The attempt is abandoned after StallTimeout and retried:
// the upload completes byte-exact, with one retry and one File, in far less than the default.
func TestStalledPartIsRetried(t *testing.T) {
	for name, partSize := range map[string]int64{"body frozen": 16 << 20, "never answered": testPartSize} {
		t.Run(name, func(t *testing.T) {
			const stall = time.Second
			srv := startServer(t, conformance.ServerOptions{Faults: faults(conformance.FaultStall, 1)})
			var debug syncBuffer
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.Debug = &debug })
			data := pattern(int(2 * partSize))
			g := &progressGuard{t: t}
			up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), helpers.UploadOptions{
				Purpose: "batch", PartSize: partSize, StallTimeout: stall, Progress: g.update,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkUploaded(t, c, srv, up, data)
			// The stalled attempt is cut and retried once; on a loaded machine a part that did
			// move may now and then sit still for the stall timeout as well, and be cut and retried
			// too: each retry must follow a cut the debug output shows.
			cuts := strings.Count(debug.String(), fmt.Sprintf("/parts: stalled: no byte moved for %v", stall))
			if cuts == 0 || g.last.Retries != cuts {
				t.Errorf("%d retries after %d attempts cut as stalled, want the stalled attempt retried once (and nothing retried but what was cut)", g.last.Retries, cuts)
			}
			if n := srv.Stats().Faults[conformance.FaultStall]; n != 1 {
				t.Errorf("%d stalls injected, want 1", n)
			}
			if n := fileCount(t, c); n != 1 {
				t.Errorf("%d Files, want 1", n)
			}
		})
	}
}

// smallBuffers is a client transport and a server listener whose sockets buffer 16 KiB each
// way, so that a slow transfer shows as slow Reads of the body instead of disappearing into
// megabytes of kernel buffers.
func smallBuffersServer(t *testing.T, opts conformance.ServerOptions) (*refServer, *http.Client) {
	s, err := conformance.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(s)
	ts.Listener = smallBufferListener{ts.Listener}
	ts.Start()
	t.Cleanup(func() { ts.Close(); _ = s.Close() })
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetWriteBuffer(16 << 10)
		}
		return conn, err
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &refServer{Server: s, URL: ts.URL + "/v1"}, &http.Client{Transport: tr}
}

type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(16 << 10)
	}
	return c, err
}

// TestSlowPartIsNotCut: a server reading every part at 256 KiB/s takes twice the stall timeout
// per part, but the bytes keep moving: nothing is cut, nothing retried. The user's
// HTTPClient.Timeout, shorter still, does not cut it either: it bounds requests without a
// streamed body, per attempt. (The stall timeout is 750 ms, not 500: bytes move every 60 ms or
// so, and a loaded machine must not make a gap of it.)
func TestSlowPartIsNotCut(t *testing.T) {
	opts := conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, SlowRate: 256 << 10, Kinds: []conformance.FaultKind{conformance.FaultSlowRequest}}}
	srv, hc := smallBuffersServer(t, opts)
	hc.Timeout = 300 * time.Millisecond
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.HTTPClient = hc })
	data := pattern(384 << 10)
	g := &progressGuard{t: t}
	up, err := c.UploadReaderAt(hangGuard(t), bytes.NewReader(data), int64(len(data)), helpers.UploadOptions{
		Purpose: "batch", Filename: "train.jsonl", PartSize: int64(len(data)), StallTimeout: 750 * time.Millisecond, Progress: g.update,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkUploaded(t, c, srv, up, data)
	if g.last.Retries != 0 {
		t.Errorf("%d retries: a slow part that kept moving was cut", g.last.Retries)
	}
}

// TestTimeoutCutsAStalledRequest: every request without a streamed body is bounded per attempt
// by ClientOptions.Timeout, and retried: each operation's first request is frozen, and each
// call still succeeds, long before the default 10 minutes. (A frozen download, whose headers
// did arrive, is TestDownloadStall's.)
func TestTimeoutCutsAStalledRequest(t *testing.T) {
	for _, op := range []string{"createUpload", "completeUpload", "cancelUpload", "listFiles", "retrieveFile", "deleteFile"} {
		t.Run(op, func(t *testing.T) {
			srv := startServer(t, conformance.ServerOptions{Faults: faults(conformance.FaultStall, 1, op)})
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
				o.Timeout = 200 * time.Millisecond
				o.InitialRetryDelay = time.Millisecond
			})
			ctx := hangGuard(t)
			up, err := c.CreateUpload(ctx, generated.CreateUploadRequest{Bytes: 3, Filename: "a.txt", MimeType: "text/plain", Purpose: "batch"})
			if err != nil {
				t.Fatal(err)
			}
			part, err := c.AddUploadPart(ctx, up.ID, strings.NewReader("abc"), 3)
			if err != nil {
				t.Fatal(err)
			}
			done, err := c.CompleteUpload(ctx, up.ID, []string{part.ID}, "")
			if err != nil {
				t.Fatal(err)
			}
			other, err := c.CreateUpload(ctx, generated.CreateUploadRequest{Bytes: 1, Filename: "b.txt", MimeType: "text/plain", Purpose: "batch"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.CancelUpload(ctx, other.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ListFiles(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := c.RetrieveFile(ctx, done.File.ID); err != nil {
				t.Fatal(err)
			}
			if got := download(t, c, done.File.ID); string(got) != "abc" {
				t.Fatalf("downloaded %q", got)
			}
			if _, err := c.DeleteFile(ctx, done.File.ID); err != nil {
				t.Fatal(err)
			}
			if n := srv.Stats().Faults[conformance.FaultStall]; n != 1 {
				t.Errorf("%d stalls, want 1", n)
			}
			if n := srv.Stats().Operations[op]; n < 2 {
				t.Errorf("%s was sent %d times, want the stalled attempt and a retry", op, n)
			}
		})
	}
}

// TestTimeoutCoversTheAnswersBody: an answer whose headers arrive at once but whose body
// trickles in at 10 bytes a second is cut by ClientOptions.Timeout, and the retry succeeds.
func TestTimeoutCoversTheAnswersBody(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Limit: 1, SlowRate: 10,
		Kinds: []conformance.FaultKind{conformance.FaultSlowResponse}, Operations: []string{"listFiles"}}})
	var debug syncBuffer
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
		o.Timeout = 200 * time.Millisecond
		o.InitialRetryDelay = time.Millisecond
		o.Debug = &debug
	})
	if _, err := c.ListFiles(hangGuard(t), nil); err != nil {
		t.Fatal(err)
	}
	// The trickling answer is cut once; on a loaded machine the retry's answer may be slower than
	// the 200 ms and cut too: each send but the last must follow a cut the debug output shows.
	cuts := cutAttempts(debug.String(), "/v1/files", 200*time.Millisecond)
	if n := srv.Stats().Operations["listFiles"]; n < 2 || n > int64(cuts)+1 {
		t.Errorf("listFiles sent %d times after %d attempts cut by the timeout, want 2 (no more than one beyond the cuts)", n, cuts)
	}
	if cuts == 0 || !strings.Contains(debug.String(), helpers.ErrTimeout.Error()) {
		t.Errorf("the debug output does not show the timeout:\n%s", debug.String())
	}
}

// cutAttempts counts the attempts the debug output shows cut by the per-attempt deadline d, of
// the requests to path ("/v1/uploads": createUpload; "/v1/files": listFiles).
func cutAttempts(debug, path string, d time.Duration) int {
	n := 0
	for _, l := range strings.Split(debug, "\n") {
		if strings.Contains(l, path+": ") && strings.Contains(l, "the attempt took longer than "+d.String()) {
			n++
		}
	}
	return n
}

// TestDownloadStall: a download whose bytes stop fails with ErrStalled after the stall timeout,
// instead of hanging; one whose bytes trickle on for longer than ClientOptions.Timeout is not
// cut; and time the caller spends between Reads is never taken for a stall.
func TestDownloadStall(t *testing.T) {
	content := pattern(1 << 20)
	setup := func(t *testing.T, f conformance.Faults, mod func(*helpers.ClientOptions)) (*helpers.Client, string) {
		srv := startServer(t, conformance.ServerOptions{Faults: f})
		// The File is made by a client of its own: the tests' short timeouts are for the
		// download, and a 1 MiB upload under them was cut on a loaded machine.
		file, err := newClient(t, srv.URL).CreateFile(context.Background(), bytes.NewReader(content), int64(len(content)), "a.jsonl", "batch", nil)
		if err != nil {
			t.Fatal(err)
		}
		return newClient(t, srv.URL, mod), file.ID
	}
	t.Run("frozen", func(t *testing.T) {
		c, id := setup(t, faults(conformance.FaultStall, 1, "downloadFile"), func(o *helpers.ClientOptions) { o.StallTimeout = 200 * time.Millisecond })
		body, err := c.DownloadFile(hangGuard(t), id)
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		n, err := io.Copy(io.Discard, body)
		if !errors.Is(err, helpers.ErrStalled) {
			t.Fatalf("read %d bytes, err = %v, want ErrStalled", n, err)
		}
		if n > 16<<10 {
			t.Errorf("read %d bytes of a download frozen after 16 KiB", n)
		}
	})
	t.Run("slow but moving", func(t *testing.T) {
		f := conformance.Faults{Rate: 1, SlowRate: 2 << 20, Kinds: []conformance.FaultKind{conformance.FaultSlowResponse}, Operations: []string{"downloadFile"}}
		c, id := setup(t, f, func(o *helpers.ClientOptions) { o.Timeout = 100 * time.Millisecond; o.StallTimeout = time.Second })
		if got := download(t, c, id); !bytes.Equal(got, content) {
			t.Fatalf("downloaded %d bytes, want the %d, byte-exact", len(got), len(content))
		}
	})
	t.Run("a slow caller", func(t *testing.T) {
		// A stall timeout of 200 ms, not 50: a Read that waits for bytes the server has yet to
		// write must not be cut on a loaded machine. The caller is busy for twice that between
		// its first Reads; the rest is read at once (two pauses tell; each costs 400 ms).
		const stall = 200 * time.Millisecond
		c, id := setup(t, conformance.Faults{}, func(o *helpers.ClientOptions) { o.StallTimeout = stall })
		body, err := c.DownloadFile(hangGuard(t), id)
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		var got bytes.Buffer
		buf := make([]byte, 256<<10)
		for pauses := 0; ; pauses++ {
			n, err := body.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("after %d bytes: %v", got.Len(), err)
			}
			if pauses < 2 {
				time.Sleep(2 * stall) // the caller is busy: twice the stall timeout between Reads
			}
		}
		if !bytes.Equal(got.Bytes(), content) {
			t.Errorf("downloaded %d bytes, want %d byte-exact", got.Len(), len(content))
		}
	})
}

// TestUserHTTPClientTimeout: the Timeout of the caller's HTTPClient becomes the per-attempt
// deadline: a frozen create is cut by it and retried, instead of failing the whole call.
func TestUserHTTPClientTimeout(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{Faults: faults(conformance.FaultStall, 1, "createUpload")})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	var debug syncBuffer
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
		o.HTTPClient = &http.Client{Transport: tr, Timeout: 200 * time.Millisecond}
		o.InitialRetryDelay = time.Millisecond
		o.Debug = &debug
	})
	data := pattern(3 * testPartSize)
	up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize})
	if err != nil {
		t.Fatal(err)
	}
	checkUploaded(t, c, srv, up, data)
	// The frozen create is cut once; on a loaded machine the retry may be slower than the 200 ms
	// and cut too: each send but the last must follow a cut the debug output shows.
	cuts := cutAttempts(debug.String(), "/v1/uploads", 200*time.Millisecond)
	if n := srv.Stats().Operations["createUpload"]; cuts == 0 || n < 2 || n > int64(cuts)+1 {
		t.Errorf("createUpload sent %d times after %d attempts cut by the timeout, want 2 (no more than one beyond the cuts)", n, cuts)
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of debug output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStallTimeoutGuardsThePublicStreams: AddUploadPart and CreateFile, called directly, are
// guarded by ClientOptions.StallTimeout: a frozen request fails with ErrStalled instead of
// hanging, and, since all of it was sent, says that it may have taken effect (ErrReplyLost).
func TestStallTimeoutGuardsThePublicStreams(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{Faults: faults(conformance.FaultStall, 0, "addUploadPart", "createFile")})
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.StallTimeout = 200 * time.Millisecond })
	ctx := hangGuard(t)
	up, err := c.CreateUpload(ctx, createReq)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AddUploadPart(ctx, up.ID, bytes.NewReader(pattern(10)), 10)
	if !errors.Is(err, helpers.ErrStalled) || !errors.Is(err, helpers.ErrReplyLost) {
		t.Errorf("AddUploadPart: err = %v, want ErrStalled and ErrReplyLost", err)
	}
	_, err = c.CreateFile(ctx, bytes.NewReader(pattern(10)), 10, "a.jsonl", "batch", nil)
	if !errors.Is(err, helpers.ErrStalled) || !errors.Is(err, helpers.ErrReplyLost) {
		t.Errorf("CreateFile: err = %v, want ErrStalled and ErrReplyLost", err)
	}
}
