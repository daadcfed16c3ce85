package helpers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// inFlightCounter wraps the server and counts the requests that carry file bytes (parts and
// POST /files) being served at once.
type inFlightCounter struct {
	// filesOnly: count POST /files only (each is a file of its own).
	filesOnly bool
	now, peak atomic.Int64
	// gate, when set, holds each counted request until it returns (with the count after the
	// request arrived).
	gate func(n int64)
}

func (c *inFlightCounter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && (!c.filesOnly && strings.HasSuffix(r.URL.Path, "/parts") || strings.HasSuffix(r.URL.Path, "/files")) {
			n := c.now.Add(1)
			defer c.now.Add(-1)
			for {
				p := c.peak.Load()
				if n <= p || c.peak.CompareAndSwap(p, n) {
					break
				}
			}
			if c.gate != nil {
				c.gate(n)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// filesOf writes n files named f00.jsonl… of the given sizes (cycled) and returns their paths
// and contents.
func filesOf(t *testing.T, n int, sizes ...int) ([]string, [][]byte) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	var datas [][]byte
	for i := range n {
		data := pattern(sizes[i%len(sizes)])
		data[0] = byte(i) // each file its own content
		path := filepath.Join(dir, fmt.Sprintf("f%02d.jsonl", i))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		paths, datas = append(paths, path), append(datas, data)
	}
	return paths, datas
}

// checkResults checks each file's result: in the order of paths, a File of the path's name and
// bytes, downloaded back byte-exact; small files without an Upload, large ones with it.
func checkResults(t *testing.T, c *helpers.Client, paths []string, datas [][]byte, results []helpers.FileResult, small int) {
	t.Helper()
	if len(results) != len(paths) {
		t.Fatalf("%d results for %d paths", len(results), len(paths))
	}
	for i, r := range results {
		if r.Path != paths[i] || r.Err != nil || r.File == nil {
			t.Fatalf("result %d: %+v, want the File of %s", i, r, paths[i])
		}
		if r.File.Filename != filepath.Base(paths[i]) || r.File.Bytes != int64(len(datas[i])) {
			t.Errorf("result %d is File %s of %d bytes, want %s of %d", i, r.File.Filename, r.File.Bytes, filepath.Base(paths[i]), len(datas[i]))
		}
		if isSmall := len(datas[i]) <= small; isSmall != (r.Upload == nil) || r.Upload != nil && r.Upload.File.ID != r.File.ID {
			t.Errorf("result %d (%d bytes): Upload %v", i, len(datas[i]), r.Upload)
		}
		if got := download(t, c, r.File.ID); !bytes.Equal(got, datas[i]) {
			t.Errorf("result %d: downloaded %d bytes differ from the %d uploaded", i, len(got), len(datas[i]))
		}
	}
}

// TestUploadFilesSeveralAtOnce: small files go in one POST /files each, large ones through an
// Upload, results in the order of paths. Several files are in flight at once: the server holds
// each POST /files until three are in flight, which files sent one at a time would never reach.
func TestUploadFilesSeveralAtOnce(t *testing.T) {
	const small = 32 << 10
	var reached sync.Once
	three := make(chan struct{})
	counter := &inFlightCounter{filesOnly: true, gate: func(n int64) {
		if n >= 3 {
			reached.Do(func() { close(three) })
		}
		select {
		case <-three:
		case <-time.After(2 * time.Second): // files one at a time: fail below rather than hang
		}
	}}
	srv := startServer(t, conformance.ServerOptions{}, counter.wrap)
	c := newClient(t, srv.URL)
	paths, datas := filesOf(t, 9, 1000, small, 3*testPartSize+1)
	var mu sync.Mutex
	phases := map[int][]helpers.Phase{}
	results, err := c.UploadFiles(context.Background(), paths, helpers.UploadFilesOptions{
		Purpose: "assistants", PartSize: testPartSize, SmallFileLimit: small,
		Progress: func(p helpers.FileProgress) {
			mu.Lock()
			defer mu.Unlock()
			if ph := phases[p.Index]; len(ph) == 0 || ph[len(ph)-1] != p.Phase {
				phases[p.Index] = append(ph, p.Phase)
			}
			if p.Path != paths[p.Index] {
				t.Errorf("progress of file %d says path %s", p.Index, p.Path)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-three:
	default:
		t.Fatalf("at most %d POST /files were in flight at once: the files went one at a time", counter.peak.Load())
	}
	checkResults(t, c, paths, datas, results, small)
	st := srv.Stats()
	if st.Operations["createFile"] != 6 || st.Operations["createUpload"] != 3 || st.Files != 9 {
		t.Errorf("%d POST /files and %d Uploads for 6 small and 3 large files; %d Files", st.Operations["createFile"], st.Operations["createUpload"], st.Files)
	}
	for i := range paths {
		if ph := phases[i]; len(ph) == 0 || ph[len(ph)-1] != helpers.PhaseDone {
			t.Errorf("file %d went through phases %v, want them to end in done", i, ph)
		}
	}
}

// TestUploadFilesSharedBudget: with Concurrency 3, the parts of every Upload and the small
// files' POST /files together never exceed 3 requests in flight at the server; and they do
// reach 3, the budget being shared rather than one file at a time.
func TestUploadFilesSharedBudget(t *testing.T) {
	// The first requests are held until 3 are in flight at once, which the shared budget allows:
	// left to chance, with 3 ms of latency, they could all arrive apart on a loaded machine. A
	// bound for a failing test (a budget that never reaches 3) ends the hold.
	reached := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(reached) }) }
	bound := time.AfterFunc(5*time.Second, release)
	t.Cleanup(func() { bound.Stop() })
	counter := &inFlightCounter{gate: func(n int64) {
		if n >= 3 {
			release()
		}
		<-reached
	}}
	srv := startServer(t, conformance.ServerOptions{Latency: 3 * time.Millisecond}, counter.wrap)
	c := newClient(t, srv.URL)
	paths, datas := filesOf(t, 10, 2000, 6*testPartSize)
	results, err := c.UploadFiles(context.Background(), paths, helpers.UploadFilesOptions{
		Purpose: "batch", PartSize: testPartSize, Concurrency: 3, SmallFileLimit: 4000,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, c, paths, datas, results, 4000)
	if p := counter.peak.Load(); p != 3 {
		t.Errorf("peak of %d requests with file bytes in flight, want exactly the budget of 3", p)
	}
}

// rejectNamed answers 400 to the create (Upload or POST /files) of a file with this name: its
// body is read whole (the tests' files are small) and handed on otherwise.
func rejectNamed(name string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && (r.URL.Path == "/v1/files" || r.URL.Path == "/v1/uploads") {
				body, _ := io.ReadAll(r.Body)
				if bytes.Contains(body, []byte(`"`+name+`"`)) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"error":{"message":"This file is refused.","type":"invalid_request_error","param":"file","code":null}}`))
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestUploadFilesOneFails: the API refuses one small and one large file; the others complete,
// and the error is a *FilesError whose errors name the two paths and wrap the API's answers.
func TestUploadFilesOneFails(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{}, rejectNamed("f01.jsonl"), rejectNamed("f04.jsonl"))
	c := newClient(t, srv.URL)
	paths, _ := filesOf(t, 6, 500, 500, 3*testPartSize)
	results, err := c.UploadFiles(context.Background(), paths, helpers.UploadFilesOptions{Purpose: "batch", PartSize: testPartSize, SmallFileLimit: 1000})
	var fe *helpers.FilesError
	var apiErr *helpers.APIError
	if !errors.As(err, &fe) || fe.Failed != 2 || fe.Total != 6 || !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Fatalf("error %v, want 2 of 6 files failed with the API's 400", err)
	}
	for i, r := range results {
		failed := i == 1 || i == 4
		if failed != (r.Err != nil) || failed != (r.File == nil) {
			t.Errorf("result %d: %+v", i, r)
		}
		if failed && !strings.HasPrefix(r.Err.Error(), paths[i]+": ") {
			t.Errorf("result %d's error %q does not name its path", i, r.Err)
		}
	}
	if n := srv.Stats().Files; n != 4 {
		t.Errorf("%d Files, want the other 4", n)
	}
}

// TestUploadFilesLostReplyOfASmallFile: POST /files whose reply is lost after the File was
// made: the File is found in the list and taken as the file's; exactly one File exists. The
// same with an identical File made just before the call: two candidates, so the outcome is
// unknown, said, and nothing is sent again.
func TestUploadFilesLostReplyOfASmallFile(t *testing.T) {
	lost := conformance.Faults{Rate: 1, Limit: 1, Kinds: []conformance.FaultKind{conformance.FaultLostResponse}, Operations: []string{"createFile"}}
	t.Run("recovered", func(t *testing.T) {
		srv := startServer(t, conformance.ServerOptions{Faults: lost})
		c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
		paths, datas := filesOf(t, 3, 700)
		var notes []string
		var mu sync.Mutex
		results, err := c.UploadFiles(context.Background(), paths, helpers.UploadFilesOptions{Purpose: "batch", Concurrency: 1,
			Notify: func(_ int, _, msg string) { mu.Lock(); notes = append(notes, msg); mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		checkResults(t, c, paths, datas, results, 1000)
		if st := srv.Stats(); st.Files != 3 || st.Operations["createFile"] != 3 {
			t.Errorf("%d Files and %d POST /files, want 3 and 3 (the lost one not sent again)", st.Files, st.Operations["createFile"])
		}
		if len(notes) != 1 || !strings.Contains(notes[0], "is taken as its File") || !strings.Contains(notes[0], results[0].File.ID) {
			t.Errorf("notices %q", notes)
		}
	})
	t.Run("ambiguous", func(t *testing.T) {
		srv := startServer(t, conformance.ServerOptions{Faults: lost})
		c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
		paths, _ := filesOf(t, 1, 700)
		// An identical File (name, size, purpose) made just before, through an Upload: the
		// faults are in POST /files only.
		if _, err := c.UploadFile(context.Background(), paths[0], helpers.UploadOptions{Purpose: "batch"}); err != nil {
			t.Fatal(err)
		}
		_, err := c.UploadFiles(context.Background(), paths, helpers.UploadFilesOptions{Purpose: "batch"})
		var fe *helpers.FilesError
		if !errors.As(err, &fe) || fe.Failed != 1 || !errors.Is(err, helpers.ErrReplyLost) || !strings.Contains(err.Error(), "unknown") || !strings.Contains(err.Error(), "2 Files") {
			t.Fatalf("error %v, want the outcome unknown between 2 Files", err)
		}
		if st := srv.Stats(); st.Operations["createFile"] != 1 || st.Files != 2 {
			t.Errorf("%d POST /files, %d Files: want the ambiguous one not sent again", st.Operations["createFile"], st.Files)
		}
	})
}

// TestUploadFilesStalledSmallFileIsSentAgain: a POST /files sent in full and never answered
// (a stall: the server made no File) is abandoned after UploadFilesOptions.StallTimeout (not
// the client's, an hour here), looked for, not found, and sent again: one File.
func TestUploadFilesStalledSmallFileIsSentAgain(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Limit: 1, Kinds: []conformance.FaultKind{conformance.FaultStall},
		Operations: []string{"createFile"}}})
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond; o.StallTimeout = time.Hour })
	paths, datas := filesOf(t, 1, 900)
	var notes []string
	ctx, cancel := context.WithTimeout(hangGuard(t), 30*time.Second) // a guard: the stall lasts until the client gives up
	defer cancel()
	// 1 s, not 200: the POST /files sent again must not be cut as stalled too while its answer
	// is on the way (on a loaded machine), which would make it three.
	results, err := c.UploadFiles(ctx, paths, helpers.UploadFilesOptions{Purpose: "batch", StallTimeout: time.Second,
		Notify: func(_ int, _, msg string) { notes = append(notes, msg) }})
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, c, paths, datas, results, 1000)
	if st := srv.Stats(); st.Files != 1 || st.Operations["createFile"] != 2 {
		t.Errorf("%d Files after %d POST /files, want 1 after 2", st.Files, st.Operations["createFile"])
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "sending it again") {
		t.Errorf("notices %q", notes)
	}
}

// TestUploadFilesCancelled: cancelled while the first files' parts are in flight, UploadFiles
// returns, every Upload it created is cancelled (none left pending), and every file's error
// wraps context.Canceled, those not started included.
func TestUploadFilesCancelled(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{Latency: 20 * time.Millisecond})
	c := newClient(t, srv.URL)
	paths, _ := filesOf(t, 40, 8*testPartSize)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	results, err := c.UploadFiles(ctx, paths, helpers.UploadFilesOptions{Purpose: "batch", PartSize: testPartSize, Concurrency: 4, SmallFileLimit: -1,
		Progress: func(p helpers.FileProgress) {
			if p.PartsDone > 0 {
				once.Do(cancel)
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	for i, r := range results {
		if !errors.Is(r.Err, context.Canceled) || r.File != nil {
			t.Errorf("file %d: %+v", i, r)
		}
	}
	ids := srv.Uploads()
	if len(ids) == 0 || len(ids) == len(paths) {
		t.Errorf("%d Uploads created for %d files: want some, not all", len(ids), len(paths))
	}
	for _, id := range ids {
		if up, _ := srv.Upload(id); up.Status != generated.UploadStatusCancelled {
			t.Errorf("Upload %s is %s, want cancelled", id, up.Status)
		}
	}
}

// TestUploadFilesBadInput: a missing path, a directory, an empty file, an unknown extension, no
// path at all and a bad option are refused before any request, naming the path or the option.
func TestUploadFilesBadInput(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	good, _ := filesOf(t, 1, 100)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	odd := filepath.Join(dir, "data.weird")
	for _, p := range []string{empty, odd} {
		data := []byte("x")
		if p == empty {
			data = nil
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		paths []string
		opts  helpers.UploadFilesOptions
		want  []string
	}{
		{"missing", []string{good[0], filepath.Join(dir, "nope.jsonl")}, helpers.UploadFilesOptions{Purpose: "batch"}, []string{"paths[1]", "nope.jsonl"}},
		{"directory", []string{dir}, helpers.UploadFilesOptions{Purpose: "batch"}, []string{"paths[0]", "not a regular file"}},
		{"empty", []string{good[0], empty}, helpers.UploadFilesOptions{Purpose: "batch"}, []string{"paths[1]", "empty"}},
		{"extension", []string{odd}, helpers.UploadFilesOptions{Purpose: "batch"}, []string{"paths[0]", "MIME type"}},
		{"no path", nil, helpers.UploadFilesOptions{Purpose: "batch"}, []string{"paths", "no file"}},
		{"purpose", good, helpers.UploadFilesOptions{}, []string{"UploadFilesOptions.Purpose"}},
		{"concurrency", good, helpers.UploadFilesOptions{Purpose: "batch", Concurrency: 99}, []string{"UploadFilesOptions.Concurrency", "32"}},
		{"small-file limit", good, helpers.UploadFilesOptions{Purpose: "batch", SmallFileLimit: 1 << 30}, []string{"SmallFileLimit", "512 MB"}},
	} {
		_, err := c.UploadFiles(context.Background(), tc.paths, tc.opts)
		var in *helpers.InputError
		var pe *fs.PathError
		if err == nil || !errors.As(err, &in) && !errors.As(err, &pe) {
			t.Errorf("%s: error %v, want an *InputError or *fs.PathError", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// TestUploadFilesSmallFileRetries: a small file's POST /files answered 500 every time is sent
// 1 + MaxRetries times, no more, and its error says which attempt failed last.
func TestUploadFilesSmallFileRetries(t *testing.T) {
	oc := &opCounter{refuse: func(op string, _ int) (int, http.Header) {
		if op == "createFile" {
			return 500, nil
		}
		return 0, nil
	}}
	srv := startServer(t, conformance.ServerOptions{}, oc.wrap)
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
	paths, _ := filesOf(t, 1, 900)
	_, err := c.UploadFiles(hangGuard(t), paths, helpers.UploadFilesOptions{Purpose: "batch", MaxRetries: 2})
	if err == nil || !strings.Contains(err.Error(), "attempt 3: ") {
		t.Errorf("err = %v, want the file failed at attempt 3", err)
	}
	if n := oc.count("createFile"); n != 3 {
		t.Errorf("POST /files sent %d times, want 3 (MaxRetries 2)", n)
	}
}
