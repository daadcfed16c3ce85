package helpers_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// TestResumeSendsChangedParts: after a crash, a byte of a part already sent changes and the
// file gets its size and modification time back (as cp -p, rsync -t or touch -d leave it). The
// next call sends the missing parts and the changed one, not the others, and the File holds the
// file's current bytes; with the whole file's md5 on or off. A change that moves the
// modification time is treated the same.
func TestResumeSendsChangedParts(t *testing.T) {
	for _, tc := range []struct {
		skipMD5, keepTime bool
	}{{false, true}, {true, true}, {false, false}} {
		t.Run(fmt.Sprintf("skipMD5=%v/keepTime=%v", tc.skipMD5, tc.keepTime), func(t *testing.T) {
			srv := startServer(t, conformance.ServerOptions{})
			c := newClient(t, srv.URL)
			path := writeFile(t, "train.jsonl", pattern(6*testPartSize+100))
			checkpoint := filepath.Join(t.TempDir(), "cp.json")
			var n []string
			crashAfterWith(t, c, path, checkpoint, 3, &n, func(o *helpers.UploadOptions) { o.SkipMD5 = tc.skipMD5 })
			recorded := len(readCheckpoint(t, checkpoint).Parts)
			if tc.keepTime {
				flipByteKeepingTime(t, path, testPartSize+17) // in part 1, sent before the crash
			} else {
				rewriteAt(t, path, testPartSize+17)
			}
			data, _ := os.ReadFile(path)

			before := srv.Stats().Operations["addUploadPart"]
			up, err := c.UploadFile(hangGuard(t), path, helpers.UploadOptions{Purpose: "fine-tune", PartSize: testPartSize, Checkpoint: checkpoint, SkipMD5: tc.skipMD5})
			if err != nil {
				t.Fatal(err)
			}
			checkUploaded(t, c, srv, up, data)
			if got, want := srv.Stats().Operations["addUploadPart"]-before, int64(7-recorded+1); got != want {
				t.Errorf("the resumed upload sent %d parts; want the %d missing and the changed one", got, 7-recorded)
			}
		})
	}
}

// rewriteAt changes the byte at off in place; the modification time moves.
func rewriteAt(t *testing.T, path string, off int64) {
	t.Helper()
	info, _ := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	// A later time for sure, whatever the filesystem's clock granularity.
	later := info.ModTime().Add(2 * time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

// mutateAt changes the file when the n-th part request arrives (before it is passed on); wait,
// if set, is waited for first. mutated is closed after the change.
type mutateAt struct {
	n       int32
	wait    <-chan struct{}
	mutate  func()
	once    sync.Once
	count   int32
	mu      sync.Mutex
	mutated chan struct{}
}

func (m *mutateAt) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/parts") {
			m.mu.Lock()
			m.count++
			now := m.count == m.n
			m.mu.Unlock()
			if now {
				if m.wait != nil {
					select {
					case <-m.wait:
					case <-r.Context().Done():
						return
					}
				}
				m.once.Do(func() { m.mutate(); close(m.mutated) })
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestFileChangedDuringUpload: the file is appended to, truncated, or rewritten in place (same
// size; its modification time moves, or is put back) while its parts are sent. The upload fails
// with ErrSourceChanged and says the file changed while it was being uploaded, no File is made,
// and the Upload is cancelled, or, with a checkpoint and the same size, left resumable: the next
// call then completes it with the file's current bytes. With md5 on or off.
//
// Not covered, as documented: a rewrite that keeps the size and puts the modification time back,
// with neither md5 nor checkpoint (nothing reads the file twice), or after both of a part's reads.
func TestFileChangedDuringUpload(t *testing.T) {
	const size = 6 * testPartSize
	for _, change := range []string{"append", "append keeping the time", "truncate", "rewrite", "rewrite keeping the time"} {
		for _, skipMD5 := range []bool{false, true} {
			for _, withCheckpoint := range []bool{false, true} {
				if change == "rewrite keeping the time" && skipMD5 && !withCheckpoint {
					continue // not caught: documented
				}
				name := fmt.Sprintf("%s/skipMD5=%v/checkpoint=%v", change, skipMD5, withCheckpoint)
				t.Run(name, func(t *testing.T) {
					path := writeFile(t, "train.jsonl", pattern(size))
					m := &mutateAt{n: 3, mutated: make(chan struct{})}
					switch change {
					case "append":
						m.mutate = func() { appendTo(t, path, []byte("{\"late\":1}\n")) }
					case "append keeping the time": // only the size tells
						m.mutate = func() {
							info, _ := os.Stat(path)
							appendTo(t, path, []byte("{\"late\":1}\n"))
							must(t, os.Chtimes(path, info.ModTime(), info.ModTime()))
						}
					case "truncate":
						m.mutate = func() { must(t, os.Truncate(path, 4*testPartSize+10)) }
					case "rewrite":
						m.mutate = func() { rewriteAt(t, path, 5*testPartSize+3) } // the last part, not sent yet
					case "rewrite keeping the time":
						// After the md5 pass has read the whole file: the last part is then sent
						// with bytes the pass did not see.
						passed := make(chan struct{})
						var once sync.Once
						defer helpers.SetPassHook(func(off int64) {
							if off == size {
								once.Do(func() { close(passed) })
							}
						})()
						m.wait = passed
						m.mutate = func() { flipByteKeepingTime(t, path, 5*testPartSize+3) }
					}
					srv := startServer(t, conformance.ServerOptions{}, m.wrap)
					c := newClient(t, srv.URL)
					opts := helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Concurrency: 1, SkipMD5: skipMD5}
					dir := t.TempDir()
					if withCheckpoint {
						opts.Checkpoint = filepath.Join(dir, "cp.json")
					}
					_, err := c.UploadFile(hangGuard(t), path, opts)
					if !errors.Is(err, helpers.ErrSourceChanged) || !strings.Contains(err.Error(), "train.jsonl changed while it was being uploaded") {
						t.Fatalf("err = %v, want ErrSourceChanged saying the file changed while it was being uploaded", err)
					}
					if change == "rewrite keeping the time" && skipMD5 && withCheckpoint && !strings.Contains(err.Error(), "part 5 (bytes 327680-393215) read differently") {
						t.Errorf("err = %v, want it to name the part that changed and its bytes", err)
					}
					if fileCount(t, c) != 0 {
						t.Error("a File was made")
					}
					var upErr *helpers.UploadError
					if !errors.As(err, &upErr) {
						t.Fatalf("err = %v, want an UploadError", err)
					}
					resumable := withCheckpoint && (change == "rewrite" || change == "rewrite keeping the time")
					want := generated.UploadStatusCancelled
					if resumable {
						want = generated.UploadStatusPending
					}
					if u, _ := srv.Upload(upErr.UploadID); u.Status != want || upErr.Resumable != resumable {
						t.Fatalf("the Upload is %q (Resumable %v), want %q", u.Status, upErr.Resumable, want)
					}
					if !withCheckpoint {
						return
					}
					if _, err := os.Stat(opts.Checkpoint); errors.Is(err, fs.ErrNotExist) == resumable {
						t.Errorf("checkpoint kept: %v, want %v", err == nil, resumable)
					}
					// The next call, the file no longer changing, completes with its current bytes.
					data, _ := os.ReadFile(path)
					up, err := c.UploadFile(hangGuard(t), path, opts)
					if err != nil {
						t.Fatal(err)
					}
					checkUploaded(t, c, srv, up, data)
					if (up.ID == upErr.UploadID) != resumable {
						t.Errorf("the next call completed %s (the failed one: %s), resumed: want %v", up.ID, upErr.UploadID, resumable)
					}
				})
			}
		}
	}
}

func appendTo(t *testing.T, path string, b []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.Write(b)
	must(t, err)
	must(t, f.Close())
}

func must(t *testing.T, err error) {
	if err != nil {
		t.Error(err)
	}
}
