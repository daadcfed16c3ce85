package helpers_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// Examples use http.DefaultTransport, as users do; its idle connections are not leaks.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

const testKey = "sk-helpers-test-KEY-4f1c2a"

// refServer is a reference server for one test, optionally behind a wrapping handler.
type refServer struct {
	*conformance.Server
	URL string
}

func startServer(t testing.TB, opts conformance.ServerOptions, wrap ...func(http.Handler) http.Handler) *refServer {
	t.Helper()
	if opts.Storage == conformance.DiskStorage && opts.StorageDir == "" {
		opts.StorageDir = t.TempDir()
	}
	if len(wrap) == 0 && (opts.Bandwidth > 0) {
		run, err := conformance.Start(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = run.Close() })
		return &refServer{Server: run.Server, URL: run.URL}
	}
	s, err := conformance.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = s
	for _, w := range wrap {
		h = w(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(func() {
		ts.Close()
		_ = s.Close()
	})
	return &refServer{Server: s, URL: ts.URL + "/v1"}
}

// newClient is a client of srv whose traffic is validated against the spec; any violation fails
// the request.
func newClient(t testing.TB, url string, opts ...func(*helpers.ClientOptions)) *helpers.Client {
	t.Helper()
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	o := helpers.ClientOptions{
		APIKey: testKey, BaseURL: url,
		HTTPClient: &http.Client{Transport: &conformance.Transport{Base: base}},
	}
	for _, f := range opts {
		f(&o)
	}
	c, err := helpers.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>9)
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// download fetches a File's content back through the client.
func download(t testing.TB, c *helpers.Client, fileID string) []byte {
	t.Helper()
	rc, err := c.DownloadFile(context.Background(), fileID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fakeClock is a settable clock for the reference server.
type fakeClock struct{ unix atomic.Int64 }

func (c *fakeClock) Now() time.Time { return time.Unix(c.unix.Load(), 0) }
func (c *fakeClock) set(unix int64) { c.unix.Store(unix) }

func nowUnix() int64 { return time.Now().Unix() }
