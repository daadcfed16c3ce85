package helpers_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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

// TestUploadFilesCancelledWhileSmallFilesAreAnswered: Ctrl-C comes while the server, having
// received whole small files, is creating their Files (its answers take 100 ms, or longer than
// CreateGrace). A File the server made must not be left unseen: it is the file's result (the
// request got its answer within CreateGrace), or the file's error says a File may have been
// created. Every File on the server belongs to a result.
func TestUploadFilesCancelledWhileSmallFilesAreAnswered(t *testing.T) {
	for _, delay := range []time.Duration{100 * time.Millisecond, helpers.CreateGrace + time.Second} {
		t.Run(delay.String(), func(t *testing.T) {
			cancelledWhileAnswered(t, delay)
		})
	}
}

func cancelledWhileAnswered(t *testing.T, delay time.Duration) {
	ctx, cancel := context.WithCancel(hangGuard(t))
	defer cancel()
	var received atomic.Int32
	slowAnswer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/files") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r) // the File is made
			if received.Add(1) == 3 {
				cancel() // the user presses Ctrl-C as the third File is made
			}
			time.Sleep(delay) // the answer is on its way
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		})
	}
	srv := startServer(t, conformance.ServerOptions{}, slowAnswer)
	c := newClient(t, srv.URL)
	paths, _ := filesOf(t, 10, 1000)
	results, err := c.UploadFiles(ctx, paths, helpers.UploadFilesOptions{Purpose: "assistants", Concurrency: 3})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	got := map[string]bool{}
	mayExist := 0
	for _, r := range results {
		switch {
		case r.File != nil:
			got[r.File.ID] = true
		case errors.Is(r.Err, helpers.ErrReplyLost):
			mayExist++
		}
	}
	page, lerr := c.ListFiles(context.Background(), nil)
	if lerr != nil {
		t.Fatal(lerr)
	}
	unseen := 0
	for _, f := range page.Data {
		if !got[f.ID] {
			unseen++
		}
	}
	if delay > helpers.CreateGrace && mayExist == 0 {
		t.Error("no file's error says a File may have been created, with answers slower than CreateGrace")
	}
	if unseen > mayExist {
		t.Errorf("%d Files on the server, %d of them in no result and only %d errors saying a File may exist", len(page.Data), unseen, mayExist)
	}
}

// TestUploadFilesSmallFileChangedDuringItsRequest: a small file of UploadFiles (one POST /files)
// is appended to, or rewritten, while its request is under way. As for a file sent through an
// Upload (TestFileChangedDuringUpload), the file's result must be ErrSourceChanged saying it
// changed while it was being uploaded, and no File holding bytes the file no longer has may be
// left: it used to be uploaded as it was when opened (the append dropped), exit 0.
func TestUploadFilesSmallFileChangedDuringItsRequest(t *testing.T) {
	for _, change := range []string{"append", "rewrite"} {
		t.Run(change, func(t *testing.T) {
			paths, datas := filesOf(t, 1, 5000)
			path := paths[0]
			mutate := func() {
				switch change {
				case "append":
					appendTo(t, path, []byte("{\"late\":1}\n"))
				case "rewrite":
					rewriteAt(t, path, 10)
				}
			}
			var once sync.Once
			srv := startServer(t, conformance.ServerOptions{}, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/files") {
						once.Do(mutate) // the bytes are on their way: the file changes now
					}
					next.ServeHTTP(w, r)
				})
			})
			c := newClient(t, srv.URL)
			res, err := c.UploadFiles(hangGuard(t), paths, helpers.UploadFilesOptions{Purpose: "assistants"})
			if !errors.Is(err, helpers.ErrSourceChanged) || !strings.Contains(err.Error(), "changed while it was being uploaded") || !strings.Contains(err.Error(), "was deleted") {
				t.Errorf("err = %v, want ErrSourceChanged saying the file changed while it was being uploaded and the File made was deleted", err)
			}
			now, _ := os.ReadFile(path)
			page, lerr := c.ListFiles(context.Background(), nil)
			if lerr != nil {
				t.Fatal(lerr)
			}
			for _, f := range page.Data {
				if got := download(t, c, f.ID); !bytes.Equal(got, now) {
					t.Errorf("File %s holds %d bytes (the file as opened: %v), not the file's %d", f.ID, len(got), bytes.Equal(got, datas[0]), len(now))
				}
			}
			if res[0].File != nil {
				t.Errorf("the result holds File %s", res[0].File.ID)
			}
		})
	}
}

// TestUploadFilesTwinNeverTakesTheFileOfTheOther: twins (same name and size) through Uploads,
// on a server whose clock stands still (every created_at the same second). The first complete
// is answered; every complete of the other twin is dropped (never reaches the server, never
// answered). The other twin's search for its File must not take the first one's, which matches
// its name, size, purpose and time: it fails (its Upload cancelled), and only one File exists,
// with the bytes of the twin that completed.
func TestUploadFilesTwinNeverTakesTheFileOfTheOther(t *testing.T) {
	dir := t.TempDir()
	size := 2*testPartSize + 5
	content := map[string][]byte{}
	var paths []string
	for i, data := range [][]byte{pattern(size), bytes.Repeat([]byte{'b'}, size)} {
		p := filepath.Join(dir, string(rune('a'+i)), "train.jsonl")
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, data, 0o600))
		paths, content[p] = append(paths, p), data
	}
	clock := &fakeClock{}
	clock.set(nowUnix())
	// Dropped rather than swallowed, the completes without a reply cost no timeout, and the
	// client's Timeout can be long: a 100 ms one could cut the answered complete on a loaded
	// machine, the script's answers then shifting so that the other twin completed too.
	srv := startServer(t, conformance.ServerOptions{Now: clock.Now}, completeScript("pass", "drop", "drop", "drop"))
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
		o.Timeout = 5 * time.Second
		o.InitialRetryDelay = time.Millisecond
	})
	res, _ := c.UploadFiles(hangGuard(t), paths, helpers.UploadFilesOptions{
		Purpose: "batch", PartSize: testPartSize, SmallFileLimit: -1, MaxRetries: 2,
	})
	var done, failed []helpers.FileResult
	for _, r := range res {
		if r.Err == nil {
			done = append(done, r)
		} else {
			failed = append(failed, r)
		}
	}
	if len(done) != 1 || len(failed) != 1 {
		t.Fatalf("%d twins completed and %d failed, want 1 and 1: %+v", len(done), len(failed), res)
	}
	if failed[0].File != nil {
		t.Errorf("%s, whose complete never reached the server, got File %s", failed[0].Path, failed[0].File.ID)
	}
	if got := download(t, c, done[0].File.ID); !bytes.Equal(got, content[done[0].Path]) {
		t.Errorf("%s: its File holds other bytes", done[0].Path)
	}
	if n := fileCount(t, c); n != 1 {
		t.Errorf("%d Files, want 1", n)
	}
}
