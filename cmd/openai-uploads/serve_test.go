package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// serveProc is a `serve` process of the built binary.
type serveProc struct {
	cmd    *exec.Cmd
	base   string // the API's base URL, from the first line of stdout
	addr   string
	stderr *syncBuffer
	waited chan error
}

// syncBuffer is a bytes.Buffer written by the process's stderr copier and read by the test.
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

// startServe runs `serve --addr 127.0.0.1:0` with args and waits for its base URL.
func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, stderr: &syncBuffer{}, waited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // a no-op once it has exited
		<-p.waited
	})
	first, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no first line: %v (stderr %s)", err, p.stderr)
	}
	p.base = strings.TrimSpace(first)
	if !strings.HasPrefix(p.base, "http://127.0.0.1:") || !strings.HasSuffix(p.base, "/v1") {
		t.Fatalf("first line %q is not the base URL", p.base)
	}
	p.addr = strings.TrimSuffix(strings.TrimPrefix(p.base, "http://"), "/v1")
	return p
}

// wait waits for the process to exit, at most bound (a bound on a subprocess, not a timing of
// the code under test), and returns how long it took.
func (p *serveProc) wait(t *testing.T, bound time.Duration) (time.Duration, error) {
	t.Helper()
	began := time.Now()
	select {
	case err := <-p.waited:
		p.waited <- err // for the cleanup
		return time.Since(began), err
	case <-time.After(bound):
		t.Fatalf("serve still running %v on (stderr %s)", bound, p.stderr)
		return 0, nil
	}
}

// waitFor polls stderr until it holds want (bounded, for a failing test).
func (p *serveProc) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.stderr.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr never said %q: %s", want, p.stderr)
		}
		sleepBriefly()
	}
}

func (p *serveProc) client(t *testing.T, key string) *generated.ClientWithResponses {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := generated.NewClientWithResponses(p.base, generated.WithHTTPClient(&http.Client{Transport: tr}),
		generated.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+key)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// slowBody opens a connection to p and sends a part request whose body never ends. It returns
// once the server has accepted the connection: a request on a second connection, accepted
// after it, has been answered and logged.
func (p *serveProc) slowBody(t *testing.T, key, uploadID string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /v1/uploads/%s/parts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n--b\r\n"+
		"Content-Disposition: form-data; name=\"data\"; filename=\"blob\"\r\n\r\nfirst bytes", uploadID, key)
	tr := &http.Transport{DisableKeepAlives: true}
	req, _ := http.NewRequest(http.MethodGet, p.base+"/files?limit=7", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p.waitFor(t, "GET /v1/files 200")
	return conn
}

func addPartTo(t *testing.T, c *generated.ClientWithResponses, uploadID string, data []byte) *generated.AddUploadPartHTTPResponse {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("data", "blob")
	_, _ = w.Write(data)
	_ = mw.Close()
	resp, err := c.AddUploadPartWithBodyWithResponse(context.Background(), uploadID, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func createUploadOn(t *testing.T, c *generated.ClientWithResponses, size int64) generated.Upload {
	t.Helper()
	resp, err := c.CreateUploadWithResponse(context.Background(), generated.CreateUploadRequest{Bytes: size, Filename: "a.jsonl", MimeType: "application/jsonl", Purpose: "batch"})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("create: %v %v", err, resp)
	}
	return *resp.JSON200
}

// TestServeStopsOnSignals runs the built binary: serve prints its base URL on the first line of
// stdout, answers the API there, logs one line per request without the key, and exits 0 on
// SIGINT and on SIGTERM, saying so.
func TestServeStopsOnSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startServe(t, "--require-key", "sk-serve-test")
			for key, want := range map[string]int{"sk-serve-test": 200, "sk-other": 401} {
				resp, err := p.client(t, key).ListFilesWithResponse(context.Background(), nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode() != want {
					t.Errorf("key %s: status %d, want %d", key, resp.StatusCode(), want)
				}
			}
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if _, err := p.wait(t, 30*time.Second); err != nil {
				t.Fatalf("exit after %v: %v (stderr %s)", sig, err, p.stderr)
			}
			stderr := p.stderr.String()
			for _, want := range []string{" GET /v1/files 200 in=0 out=", " GET /v1/files 401 in=0 out=", "reference server stopped in "} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stderr, "sk-serve-test") || strings.Contains(stderr, "sk-other") {
				t.Errorf("stderr shows a key:\n%s", stderr)
			}
		})
	}
}

// TestServeQuiet: --quiet prints no request lines, but still the line when it stops.
func TestServeQuiet(t *testing.T) {
	p := startServe(t, "--quiet")
	if _, err := p.client(t, "sk-x").ListFilesWithResponse(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if _, err := p.wait(t, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if stderr := p.stderr.String(); strings.Contains(stderr, "/v1/files") || !strings.Contains(stderr, "reference server stopped") {
		t.Errorf("stderr with --quiet:\n%s", stderr)
	}
}

// TestServeStopsWithinBoundWithSlowClient: a client sending a part that never ends does not
// hold serve: SIGTERM stops it within 10 s (the grace period, then the connection is closed).
func TestServeStopsWithinBoundWithSlowClient(t *testing.T) {
	p := startServe(t)
	c := p.client(t, "sk-x")
	up := createUploadOn(t, c, 1<<20)
	conn := p.slowBody(t, "sk-x", up.ID)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	took, err := p.wait(t, 10*time.Second)
	if err != nil {
		t.Fatalf("exit: %v (stderr %s)", err, p.stderr)
	}
	t.Logf("SIGTERM with a slow client: serve exited in %v\n%s", took.Round(time.Millisecond), p.stderr)
	stderr := p.stderr.String()
	if !strings.Contains(stderr, "connection(s) still open when the shutdown's time was up") {
		t.Errorf("stderr does not say the slow connection was closed:\n%s", stderr)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, conn); err != nil && isTimeout(err) {
		t.Error("the slow client's connection is still open")
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestServeSecondSignalStopsAtOnce: a second signal during the grace period exits at once (with
// the signal's exit code), without waiting out the grace period.
func TestServeSecondSignalStopsAtOnce(t *testing.T) {
	p := startServe(t)
	c := p.client(t, "sk-x")
	up := createUploadOn(t, c, 1<<20)
	p.slowBody(t, "sk-x", up.ID)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitFor(t, "stopping: ")
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	took, err := p.wait(t, 10*time.Second)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit: %v, want exit status 130 (SIGINT)", err)
	}
	if took >= serveShutdownGrace {
		t.Errorf("serve took %v after the second signal: it waited out the grace period", took)
	}
	if !strings.Contains(p.stderr.String(), "SIGINT (Ctrl-C) again: exiting without waiting") {
		t.Errorf("stderr:\n%s", p.stderr)
	}
}

// TestServeUploadTTL: with --upload-ttl 1s, an Upload's expires_at is a second after its
// creation, and the sweep (every --sweep-interval) frees its part and logs it.
func TestServeUploadTTL(t *testing.T) {
	p := startServe(t, "--upload-ttl", "1s", "--sweep-interval", "50ms", "--storage", "memory")
	c := p.client(t, "sk-x")
	up := createUploadOn(t, c, 3)
	if up.ExpiresAt != up.CreatedAt+1 {
		t.Errorf("expires_at = created_at + %d, want + 1", up.ExpiresAt-up.CreatedAt)
	}
	if r := addPartTo(t, c, up.ID, []byte("abc")); r.JSON200 == nil {
		t.Fatalf("part: %d %s", r.StatusCode(), r.Body)
	}
	p.waitFor(t, "sweep: 1 Uploads expired (1 parts freed), 0 Uploads forgotten, 0 Files expired; 3 bytes freed")
	r := addPartTo(t, c, up.ID, []byte("abc"))
	if r.StatusCode() != 400 || !strings.Contains(string(r.Body), "expired") {
		t.Errorf("a part after the TTL: %d %s", r.StatusCode(), r.Body)
	}
}

// TestServeRestartAfterKill: with --storage-dir, a File and a pending Upload survive SIGKILL:
// the next serve on the directory lists and serves the File byte-exact, and the Upload takes
// its last part and completes. A second serve on a directory in use fails, saying so.
func TestServeRestartAfterKill(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	first := startServe(t, "--storage-dir", dir)
	c := first.client(t, "sk-x")

	content := bytes.Repeat([]byte("0123456789abcdef"), 40000)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("file", "kept.jsonl")
	_, _ = w.Write(content)
	_ = mw.WriteField("purpose", "batch")
	_ = mw.Close()
	created, err := c.CreateFileWithBodyWithResponse(ctx, mw.FormDataContentType(), &body)
	if err != nil || created.JSON200 == nil {
		t.Fatalf("create file: %v", err)
	}
	pending := createUploadOn(t, c, 6)
	p1 := addPartTo(t, c, pending.ID, []byte("abc")).JSON200.ID

	second := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--storage-dir", dir)
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another reference server") || !strings.Contains(string(out), "--storage-dir") {
		t.Errorf("a second serve on the directory: %v\n%s", err, out)
	}

	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = first.wait(t, 10*time.Second)

	again := startServe(t, "--storage-dir", dir)
	again.waitFor(t, "restored 1 Uploads (1 pending, 1 parts) and 1 Files")
	c = again.client(t, "sk-x")
	got, err := c.DownloadFileWithResponse(ctx, created.JSON200.ID)
	if err != nil || !bytes.Equal(got.Body, content) {
		t.Fatalf("download after SIGKILL and restart: %v, %d bytes, want %d byte-exact", err, len(got.Body), len(content))
	}
	p2 := addPartTo(t, c, pending.ID, []byte("def")).JSON200
	if p2 == nil {
		t.Fatal("the pending Upload refused its last part after the restart")
	}
	done, err := c.CompleteUploadWithResponse(ctx, pending.ID, generated.CompleteUploadRequest{PartIDs: []string{p1, p2.ID}})
	if err != nil || done.JSON200 == nil {
		t.Fatalf("complete after the restart: %v %s", err, done.Body)
	}
	if got, _ := c.DownloadFileWithResponse(ctx, done.JSON200.File.ID); string(got.Body) != "abcdef" {
		t.Errorf("the completed File holds %q", got.Body)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "*.blob")); len(entries) != 3 {
		t.Errorf("%d blob files in the directory, want 3 (the File, the two parts)", len(entries))
	}
	if _, err := os.Stat(filepath.Join(dir, "state.db")); err != nil {
		t.Error(err)
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--fault-rate", "1.5"},
		{"serve", "--fault-kinds", "500,teapot"},
		{"serve", "--storage", "tape"},
		{"serve", "--bandwidth", "fast"},
		{"serve", "--total-bandwidth", "fast"},
		{"serve", "--max-parts-in-flight", "-1"},
		{"serve", "--parts-retry-after", "0s"},
		{"serve", "--latency", "soon"},
		{"serve", "--memory-limit", "0"},
		{"serve", "--upload-ttl", "500ms"},
		{"serve", "--retention", "0s"},
		{"serve", "--sweep-interval", "-1s"},
		{"serve", "--sweep-interval", "0s"}, // exactly not positive (0 is ServerOptions' "the default")
		{"serve", "--storage-dir", "/tmp/x", "--storage", "memory"},
	} {
		r := runCLIContext(t, canceled(), "", args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, r.code, exitUsage, r.stderr)
		}
		flag := strings.TrimPrefix(args[1], "--")
		if !strings.Contains(r.stderr, flag) {
			t.Errorf("%v: stderr %q does not name --%s", args, r.stderr, flag)
		}
	}
}

// TestRequestLine: the request log's format.
func TestRequestLine(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 6e6, time.UTC)
	got := requestLine(at, conformanceRecord("POST", "/v1/uploads/upload_a/parts", 408, 1000, 150, 30*time.Second, "request body made no progress for 30s"))
	want := "15:04:05.006 POST /v1/uploads/upload_a/parts 408 in=1000 out=150 30s cut: request body made no progress for 30s"
	if got != want {
		t.Errorf("requestLine = %q, want %q", got, want)
	}
	if got := requestLine(at, conformanceRecord("POST", "/v1/uploads/upload_a/parts", 0, 16384, 0, time.Millisecond, "")); !strings.Contains(got, " - in=16384") {
		t.Errorf("a request without a response: %q", got)
	}
	if got := requestLine(at, conformanceRecord("GET", "/v1/files", 200, 0, 10, 1234567*time.Nanosecond, "")); !strings.HasSuffix(got, " out=10 1.23ms") {
		t.Errorf("the duration is not to 10µs: %q", got)
	}
}

func conformanceRecord(method, path string, status int, in, out int64, d time.Duration, cut string) conformance.RequestRecord {
	return conformance.RequestRecord{Method: method, Path: path, Status: status, BytesIn: in, BytesOut: out, Duration: d, Cut: cut}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestUnknownCommandIsAUsageError(t *testing.T) {
	r := runCLI(t, "", "uplaod", "x.jsonl")
	if r.code != exitUsage || !strings.Contains(r.stderr, `unknown command "uplaod"`) {
		t.Errorf("exit %d stderr %q, want %d naming the command", r.code, r.stderr, exitUsage)
	}
}

// TestServeStartFailuresNameTheFlag: a port already taken, an address that is not host:port and
// a storage directory another server holds are said in the CLI's words, naming --addr or
// --storage-dir, and a start that fails leaves no storage directory behind (the storage was
// opened, and a new directory made, before the port was taken).
func TestServeStartFailuresNameTheFlag(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := filepath.Join(t.TempDir(), "state")
	r := runCLIContext(t, canceled(), "", "serve", "--addr", busy.Addr().String(), "--storage-dir", dir)
	if r.code != exitFail || !strings.Contains(r.stderr, "--addr "+busy.Addr().String()) || !strings.Contains(r.stderr, "already in use") {
		t.Errorf("a taken port: exit %d, stderr %q; want 1, naming --addr and saying it is in use", r.code, r.stderr)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a serve that could not listen made its storage directory (%v)", err)
	}

	r = runCLIContext(t, canceled(), "", "serve", "--addr", "localhost")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--addr") || strings.Contains(r.stderr, "listen tcp") {
		t.Errorf("an address without a port: exit %d, stderr %q; want a usage error naming --addr", r.code, r.stderr)
	}

	p := startServe(t, "--storage-dir", dir, "--quiet")
	r = runCLIContext(t, canceled(), "", "serve", "--addr", "127.0.0.1:0", "--storage-dir", dir)
	if r.code != exitFail || !strings.Contains(r.stderr, "--storage-dir "+dir) || len(speaksGo(r.stderr)) > 0 {
		t.Errorf("a directory in use: exit %d, stderr %q; want 1, naming --storage-dir, in the CLI's words", r.code, r.stderr)
	}
	_ = p
}
