package helpers_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// TestUploadFilesSmallFileAnsweredEarly: a 200 to a small file's POST /files that comes before
// the body was sent (a proxy's, or a broken server's) is not taken for the File: the file is
// sent again, and its result is the File the server made from all of its bytes.
//
// The file is 16 MiB (sent as a small file by raising SmallFileLimit) so that the sockets cannot
// take all of it before the early answer arrives: Linux lets a sender queue up to 4 MiB
// (net.ipv4.tcp_wmem) plus the receiver's unread window; with 4 MiB the whole body was sometimes
// queued by then, and nothing on the client can tell such a body from one the server read
// (about 1 run in 5 failed).
func TestUploadFilesSmallFileAnsweredEarly(t *testing.T) {
	const size = 16 << 20
	var answered atomic.Bool
	srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/files") || !answered.CompareAndSwap(false, true) {
				next.ServeHTTP(w, r)
				return
			}
			_, _ = io.CopyN(io.Discard, r.Body, 1<<10) // 1 KiB of 16 MiB, then a 200
			w.Header().Set("Connection", "close")
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"id":"file_early","object":"file","bytes":%d,"created_at":1700000000,"filename":"f00.jsonl","purpose":"batch","status":"processed"}`, size)
		})
	})
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = 1 })
	paths, datas := filesOf(t, 1, size)
	results, err := c.UploadFiles(hangGuard(t), paths, helpers.UploadFilesOptions{Purpose: "batch", SmallFileLimit: size})
	if err != nil {
		t.Fatal(err)
	}
	if !answered.Load() {
		t.Fatal("no POST /files was answered early")
	}
	checkResults(t, c, paths, datas, results, size)
	if results[0].File.ID == "file_early" {
		t.Error("the early answer was taken for the File")
	}
}
