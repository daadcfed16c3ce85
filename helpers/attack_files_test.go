package helpers_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// TestUploadFilesLostCompleteOfTwinFiles: two files of one UploadFiles with the same name and
// size (a/train.jsonl and b/train.jsonl, the shards of two runs), both through Uploads. The reply
// to a's complete is lost after the server completed it, and b completes before a asks again:
// the files list then holds two Files of that name, size and purpose, b's the newest. a's File
// must be a's own, never b's: each path gets its own File, with its own bytes.
func TestUploadFilesLostCompleteOfTwinFiles(t *testing.T) {
	dir := t.TempDir()
	size := 3*testPartSize + 11
	a, b := pattern(size), bytes.Repeat([]byte{'b'}, size)
	var paths []string
	for i, data := range [][]byte{a, b} {
		d := filepath.Join(dir, string(rune('a'+i)))
		must(t, os.Mkdir(d, 0o755))
		p := filepath.Join(d, "train.jsonl")
		must(t, os.WriteFile(p, data, 0o600))
		paths = append(paths, p)
	}

	// The first complete (whichever file's) is carried out, and its reply held until the second
	// complete has been answered (or the attempt times out); then the connection is dropped.
	var mu sync.Mutex
	completes := 0
	secondDone := make(chan struct{})
	hold := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/complete") {
				next.ServeHTTP(w, r)
				return
			}
			mu.Lock()
			completes++
			k := completes
			mu.Unlock()
			switch k {
			case 1:
				next.ServeHTTP(discard{http.Header{}}, r)
				select { // until the twin completed, or the client gave this attempt up
				case <-secondDone:
				case <-r.Context().Done():
				}
				panic(http.ErrAbortHandler)
			case 2:
				next.ServeHTTP(w, r)
				close(secondDone)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
	srv := startServer(t, conformance.ServerOptions{}, hold)
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.Timeout = 300 * time.Millisecond })
	res, err := c.UploadFiles(hangGuard(t), paths, helpers.UploadFilesOptions{
		Purpose: "batch", PartSize: testPartSize, SmallFileLimit: -1, Concurrency: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].File.ID == res[1].File.ID {
		t.Fatalf("both paths got File %s", res[0].File.ID)
	}
	for i, want := range [][]byte{a, b} {
		if got := download(t, c, res[i].File.ID); !bytes.Equal(got, want) {
			t.Errorf("%s: its File %s holds another file's bytes", paths[i], res[i].File.ID)
		}
	}
	if n := fileCount(t, c); n != 2 {
		t.Errorf("%d Files, want 2", n)
	}
}

// TestUploadFilesTwinsTakeTurns: files with the same name and size go one after the other (their
// reports never overlap), while a file of another name goes beside them.
func TestUploadFilesTwinsTakeTurns(t *testing.T) {
	dir := t.TempDir()
	size := 4 * testPartSize
	var paths []string
	for _, name := range []string{"a/train.jsonl", "b/train.jsonl", "c/other.jsonl"} {
		p := filepath.Join(dir, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, pattern(size), 0o600))
		paths = append(paths, p)
	}
	// Parts are slowed a little, so that files that may overlap do.
	slow := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/parts") {
				time.Sleep(20 * time.Millisecond)
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := startServer(t, conformance.ServerOptions{}, slow)
	c := newClient(t, srv.URL)
	active := map[int]bool{}
	twinsOverlap, otherOverlap := false, false
	_, err := c.UploadFiles(hangGuard(t), paths, helpers.UploadFilesOptions{
		Purpose: "batch", PartSize: testPartSize, SmallFileLimit: -1, Concurrency: 8,
		Progress: func(p helpers.FileProgress) { // never called concurrently
			switch p.Phase {
			case helpers.PhaseDone, helpers.PhaseFailed, helpers.PhaseCancelled:
				delete(active, p.Index)
			default:
				active[p.Index] = true
			}
			twinsOverlap = twinsOverlap || active[0] && active[1]
			otherOverlap = otherOverlap || active[2] && (active[0] || active[1])
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if twinsOverlap {
		t.Error("a/train.jsonl and b/train.jsonl were uploaded at the same time")
	}
	if !otherOverlap {
		t.Error("c/other.jsonl waited for the twins: only files of one name and size take turns")
	}
}
