package conformance_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

func createFile(t *testing.T, c *generated.ClientWithResponses, name string, content []byte, fields ...string) *generated.CreateFileHTTPResponse {
	t.Helper()
	ct, body := formBody(func(mw *multipart.Writer) error {
		w, err := mw.CreateFormFile("file", name)
		if err != nil {
			return err
		}
		if _, err := w.Write(content); err != nil {
			return err
		}
		for i := 0; i+1 < len(fields); i += 2 {
			if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
				return err
			}
		}
		return nil
	})
	resp, err := c.CreateFileWithBodyWithResponse(context.Background(), ct, body)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// mustCreateFile is createFile for a test that needs the File: an answer other than 200 ends
// the test, naming it.
func mustCreateFile(t *testing.T, c *generated.ClientWithResponses, name string, content []byte, fields ...string) *generated.OpenAIFile {
	t.Helper()
	resp := createFile(t, c, name, content, fields...)
	if resp.JSON200 == nil {
		t.Fatalf("creating the File %s: %d %s", name, resp.StatusCode(), resp.Body)
	}
	return resp.JSON200
}

func TestServerCreateFile(t *testing.T) {
	clk := &clock{}
	clk.now.Store(1_700_000_000)
	srv := start(t, conformance.ServerOptions{Now: clk.Now})
	c := validatingClient(t, srv.URL)

	content := pattern(300 << 10)
	resp := createFile(t, c, "mydata.jsonl", content, "purpose", "fine-tune", "expires_after[anchor]", "created_at", "expires_after[seconds]", "7200")
	f := resp.JSON200
	if f == nil {
		t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
	}
	if f.Bytes != int64(len(content)) || f.Filename != "mydata.jsonl" || f.Purpose != generated.OpenAIFilePurposeFineTune ||
		f.CreatedAt != 1_700_000_000 || f.ExpiresAt == nil || *f.ExpiresAt != 1_700_007_200 {
		t.Errorf("created %+v", f)
	}
	got, err := c.DownloadFileWithResponse(context.Background(), f.ID)
	if err != nil || !bytes.Equal(got.Body, content) {
		t.Fatalf("content differs: %v", err)
	}

	batch := mustCreateFile(t, c, "in.jsonl", []byte("{}\n"), "purpose", "batch")
	if batch.ExpiresAt == nil || *batch.ExpiresAt != batch.CreatedAt+30*24*3600 {
		t.Errorf("a batch file expires at %v, want 30 days after creation", batch.ExpiresAt)
	}
	plain := mustCreateFile(t, c, "doc.pdf", []byte("%PDF"), "purpose", "assistants")
	if plain.ExpiresAt != nil {
		t.Errorf("an assistants file expires at %d, want never", *plain.ExpiresAt)
	}

	// openai-go names a reader without a name "anonymous_file"; any filename is accepted.
	if anon := createFile(t, c, "anonymous_file", []byte("x"), "purpose", "user_data").JSON200; anon == nil || anon.Filename != "anonymous_file" {
		t.Errorf("anonymous_file refused: %+v", anon)
	}
}

func TestServerCreateFileErrors(t *testing.T) {
	srv := start(t, conformance.ServerOptions{})
	c, report := reportingClient(t, srv.URL)
	t.Cleanup(func() { responseViolations(t, report) })
	for _, tc := range []struct {
		name   string
		fields []string
		param  string
		text   string
	}{
		{"missing purpose", nil, "purpose", "Missing required parameter"},
		{"unknown purpose", []string{"purpose", "fun"}, "purpose", "fun"},
		{"anchor without seconds", []string{"purpose", "batch", "expires_after[anchor]", "created_at"}, "expires_after", "both"},
		{"seconds not a number", []string{"purpose", "batch", "expires_after[anchor]", "created_at", "expires_after[seconds]", "soon"}, "expires_after[seconds]", "integer"},
		{"seconds too large", []string{"purpose", "batch", "expires_after[anchor]", "created_at", "expires_after[seconds]", "2592001"}, "expires_after.seconds", "2592000"},
		{"unknown anchor", []string{"purpose", "batch", "expires_after[anchor]", "last_access", "expires_after[seconds]", "3600"}, "expires_after.anchor", "created_at"},
		{"unknown field", []string{"purpose", "batch", "expires_after", `{"anchor":"created_at"}`}, "expires_after", "Unrecognized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := createFile(t, c, "a.jsonl", []byte("{}"), tc.fields...)
			if resp.StatusCode() != 400 {
				t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body)
			}
			e := errorOf(t, 400, resp.Body)
			if e.Param == nil || *e.Param != tc.param || !strings.Contains(e.Message, tc.text) {
				t.Errorf("param %v message %q, want %q and %q", e.Param, e.Message, tc.param, tc.text)
			}
		})
	}
	ct, body := formBody(func(mw *multipart.Writer) error { return mw.WriteField("purpose", "batch") })
	resp, err := c.CreateFileWithBodyWithResponse(context.Background(), ct, body)
	if err != nil {
		t.Fatal(err)
	}
	if e := errorOf(t, resp.StatusCode(), resp.Body); resp.StatusCode() != 400 || *e.Param != "file" {
		t.Errorf("missing file: %d %+v", resp.StatusCode(), e)
	}

	// Above 512 MB the file is cut off without reading the rest.
	src := &countingReader{left: conformance.MaxFileBytes + 64<<20}
	ct, body = formBody(func(mw *multipart.Writer) error {
		if err := mw.WriteField("purpose", "batch"); err != nil {
			return err
		}
		w, err := mw.CreateFormFile("file", "big.jsonl")
		if err == nil {
			_, err = io.Copy(w, src)
		}
		return err
	})
	resp, err = c.CreateFileWithBodyWithResponse(context.Background(), ct, body)
	if err != nil {
		t.Fatalf("the 400 did not arrive: %v", err)
	}
	if e := errorOf(t, resp.StatusCode(), resp.Body); resp.StatusCode() != 400 || !strings.Contains(e.Message, fmt.Sprint(conformance.MaxFileBytes)) {
		t.Errorf("oversized file: %d %+v", resp.StatusCode(), e)
	}
	if src.read.Load() >= conformance.MaxFileBytes+64<<20 {
		t.Error("the server read the oversized file to its end")
	}
}

func TestServerListFiles(t *testing.T) {
	clk := &clock{}
	clk.now.Store(1_700_000_000)
	srv := start(t, conformance.ServerOptions{Now: clk.Now})
	c := validatingClient(t, srv.URL)
	ctx := context.Background()

	var batchIDs []string // in creation order
	for i := range 5 {
		purpose := "batch"
		if i%2 == 1 {
			purpose = "fine-tune"
		}
		f := mustCreateFile(t, c, fmt.Sprintf("f%d.jsonl", i), []byte("{}"), "purpose", purpose)
		if purpose == "batch" {
			batchIDs = append(batchIDs, f.ID)
		}
		clk.advance(time.Second)
	}
	list := func(p generated.ListFilesParams) generated.ListFilesResponse {
		t.Helper()
		resp, err := c.ListFilesWithResponse(ctx, &p)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("list %+v: %v %s", p, err, resp.Body)
		}
		return *resp.JSON200
	}
	ids := func(l generated.ListFilesResponse) []string {
		var out []string
		for _, f := range l.Data {
			out = append(out, f.ID)
		}
		return out
	}

	all := list(generated.ListFilesParams{})
	if len(all.Data) != 5 || all.HasMore || all.Data[0].CreatedAt < all.Data[4].CreatedAt {
		t.Errorf("default list: %d files, has_more %v, want 5 newest first", len(all.Data), all.HasMore)
	}
	purpose, one, two := "batch", int64(1), int64(2)
	asc := generated.ListFilesParamsOrderAsc
	page1 := list(generated.ListFilesParams{Purpose: &purpose, Order: &asc, Limit: &two})
	if got := ids(page1); fmt.Sprint(got) != fmt.Sprint(batchIDs[:2]) || !page1.HasMore || *page1.FirstID != batchIDs[0] || *page1.LastID != batchIDs[1] {
		t.Errorf("page 1 = %v has_more %v, want %v and more", got, page1.HasMore, batchIDs[:2])
	}
	page2 := list(generated.ListFilesParams{Purpose: &purpose, Order: &asc, Limit: &two, After: page1.LastID})
	if got := ids(page2); fmt.Sprint(got) != fmt.Sprint(batchIDs[2:]) || page2.HasMore {
		t.Errorf("page 2 = %v has_more %v, want %v and no more", got, page2.HasMore, batchIDs[2:])
	}
	newest := list(generated.ListFilesParams{Purpose: &purpose, Limit: &one})
	if got := ids(newest); len(got) != 1 || got[0] != batchIDs[2] {
		t.Errorf("newest batch file = %v, want %s", got, batchIDs[2])
	}
	none := "vision"
	empty := list(generated.ListFilesParams{Purpose: &none})
	if len(empty.Data) != 0 || empty.FirstID != nil || empty.LastID != nil || empty.HasMore {
		t.Errorf("empty page %+v, want no data and null first_id/last_id", empty)
	}

	// Out-of-range limits reach the server only when the client skips validation.
	raw, report := reportingClient(t, srv.URL)
	for _, limit := range []int64{0, 10001} {
		resp, err := raw.ListFilesWithResponse(ctx, &generated.ListFilesParams{Limit: &limit})
		if err != nil {
			t.Fatal(err)
		}
		if e := errorOf(t, resp.StatusCode(), resp.Body); resp.StatusCode() != 400 || *e.Param != "limit" {
			t.Errorf("limit %d: %d %+v", limit, resp.StatusCode(), e)
		}
	}
	responseViolations(t, report)
}

// TestServerFaults injects each kind of fault into every part request and checks what a client
// sees and what the server kept.
func TestServerFaults(t *testing.T) {
	for _, tc := range []struct {
		kind   conformance.FaultKind
		status int  // 0: the connection fails
		stored bool // the part was kept
	}{
		{conformance.Fault500, 500, false},
		{conformance.Fault503, 503, false},
		{conformance.Fault429, 429, false},
		{conformance.FaultReset, 0, false},
		{conformance.FaultLostResponse, 0, true},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Kinds: []conformance.FaultKind{tc.kind}, RetryAfter: 1500 * time.Millisecond}})
			c := validatingClient(t, srv.URL)
			up := createUpload(t, c, 1<<20)
			ct, body := partBody(pattern(1 << 20))
			// A bound for a failing test: a connection the fault took over and never closed.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := c.AddUploadPartWithBodyWithResponse(ctx, up.ID, ct, body)
			if tc.status == 0 {
				if err == nil {
					t.Fatalf("got %d, want a failed connection", resp.StatusCode())
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("the connection was held, not closed: %v", err)
				}
				var viol *conformance.Violation
				if errors.As(err, &viol) {
					t.Fatalf("a connection fault surfaced as a violation: %v", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode() != tc.status {
					t.Fatalf("status %d, want %d", resp.StatusCode(), tc.status)
				}
				errorOf(t, tc.status, resp.Body)
				if tc.kind == conformance.Fault429 {
					h := resp.Headers429
					if h == nil || h.RetryAfterMs == nil || *h.RetryAfterMs != 1500 || h.RetryAfter == nil || *h.RetryAfter != "2" {
						t.Errorf("429 headers %+v, want retry-after-ms 1500 and Retry-After 2", h)
					}
				}
			}
			if got := srv.UploadParts(up.ID) == 1; got != tc.stored {
				t.Errorf("part stored = %v, want %v", got, tc.stored)
			}
			if n := srv.Stats().Faults[tc.kind]; n != 1 {
				t.Errorf("Stats counts %d %s faults, want 1", n, tc.kind)
			}
		})
	}

	t.Run("rate", func(t *testing.T) {
		srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 0.3, Kinds: []conformance.FaultKind{conformance.Fault500}, Seed: 7}})
		c := validatingClient(t, srv.URL)
		up := createUpload(t, c, 1)
		failed := 0
		const n = 400
		for range n {
			if addPart(t, c, up.ID, []byte("x")).StatusCode() == 500 {
				failed++
			}
		}
		// 30% of 400 is 120; the binomial standard deviation is about 9.
		if failed < 80 || failed > 160 {
			t.Errorf("%d of %d part requests failed, want about 30%%", failed, n)
		}
		if got := srv.Stats().Faults[conformance.Fault500]; got != int64(failed) {
			t.Errorf("Stats counts %d faults, the client saw %d", got, failed)
		}
	})

	t.Run("bad options", func(t *testing.T) {
		for _, f := range []conformance.Faults{{Rate: 1.5}, {Rate: -0.1}, {Rate: 0.5, Kinds: []conformance.FaultKind{"teapot"}}} {
			if _, err := conformance.NewServer(conformance.ServerOptions{Faults: f}); err == nil {
				t.Errorf("NewServer accepted %+v", f)
			}
		}
	})
}

// TestServerLatencyHoldsRequests: with Latency set, a request waits before it reaches its
// operation; cancelled during the wait, it never does: the server ends it, and listFiles is not
// run (checked once the server has ended the request, which RequestLog reports, not merely
// once the client has given up).
func TestServerLatencyHoldsRequests(t *testing.T) {
	// The latency outlasts the test by far, yet is short enough that a server which ignores the
	// cancel still lets the test's cleanup (Close waits for the request) end: the test fails
	// rather than hangs.
	const latency = 20 * time.Second
	ended := make(chan conformance.RequestRecord, 1)
	srv := start(t, conformance.ServerOptions{Latency: latency, RequestLog: func(r conformance.RequestRecord) { ended <- r }})
	c := validatingClient(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.ListFilesWithResponse(ctx, nil)
		done <- err
	}()
	for srv.Stats().Requests == 0 {
		time.Sleep(time.Millisecond) // polling for the request to arrive; not an assertion
	}
	select {
	case r := <-ended:
		t.Fatalf("the request ended (%d) during %v of latency", r.Status, latency)
	default:
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	select {
	case <-ended:
	case <-time.After(latency / 4): // a bound for a failing test, not a timing assertion
		t.Fatal("the server still holds the cancelled request: the latency ignores the request's context")
	}
	if n := srv.Stats().Operations["listFiles"]; n != 0 {
		t.Errorf("listFiles ran %d times: a request cancelled during the latency reached its operation", n)
	}
}

// TestServerConcurrentUploads runs many uploads at once (meant for -race).
func TestServerConcurrentUploads(t *testing.T) {
	srv := start(t, conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: t.TempDir()})
	c := validatingClient(t, srv.URL)
	var wg sync.WaitGroup
	for u := range 8 {
		wg.Go(func() {
			data := pattern(40<<10 + u)
			up := createUpload(t, c, int64(len(data)))
			ids := make([]string, 4)
			var pw sync.WaitGroup
			for i := range 4 {
				pw.Go(func() {
					lo, hi := i*len(data)/4, (i+1)*len(data)/4
					if r := addPart(t, c, up.ID, data[lo:hi]).JSON200; r != nil {
						ids[i] = r.ID
					}
				})
			}
			pw.Wait()
			sum := md5hex(data)
			resp, err := c.CompleteUploadWithResponse(context.Background(), up.ID, generated.CompleteUploadRequest{PartIDs: ids, MD5: &sum})
			if err != nil || resp.JSON200 == nil {
				t.Errorf("upload %d: %v %s", u, err, resp.Body)
			}
		})
	}
	wg.Wait()
	if st := srv.Stats(); st.PartsStored != 32 || st.Operations["completeUpload"] != 8 {
		t.Errorf("stats %+v, want 32 parts and 8 completions", st)
	}
}

// TestServerPathsCannotEscape: an id holding a dot segment or slashes reaches no other endpoint
// and no file outside the storage directory.
func TestServerPathsCannotEscape(t *testing.T) {
	dir := t.TempDir()
	storage := filepath.Join(dir, "store")
	srv := start(t, conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: storage})
	c := validatingClient(t, srv.URL)
	createFile(t, c, "keep.jsonl", []byte("{}"), "purpose", "batch")
	hc := &http.Client{Transport: newBase(t)}
	for _, path := range []string{
		"/v1/uploads/..%2Ffiles/parts", "/v1/uploads/%2E%2E/cancel", "/v1/files/..%2F..%2Fstore",
		"/v1/files/a%2Fb%3Fx=1", "/v1/files/%2E%2E%2Ffiles", "/v1/uploads/../files",
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL[:len(srv.URL)-3]+path, nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 && resp.StatusCode != 400 {
			t.Errorf("GET %s: %d %s, want a 404 or 400", path, resp.StatusCode, body)
			continue
		}
		errorOf(t, resp.StatusCode, body)
	}
	if st := srv.Stats(); st.Operations["listFiles"] != 0 || st.Operations["createFile"] != 1 {
		t.Errorf("a crafted path reached another operation: %v", st.Operations)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "store" {
		t.Errorf("the storage's parent holds %v", entries)
	}
	blobs, _ := os.ReadDir(storage)
	for _, e := range blobs {
		if !strings.HasSuffix(e.Name(), ".blob") && e.Name() != "state.db" {
			t.Errorf("unexpected file %s in storage", e.Name())
		}
	}
}

// TestServerMemoryLimit: memory storage refuses bytes past its cap with 507, keeping nothing.
func TestServerMemoryLimit(t *testing.T) {
	srv := start(t, conformance.ServerOptions{MemoryLimit: 2 << 20})
	c, report := reportingClient(t, srv.URL)
	up := createUpload(t, c, 3<<20)
	if r := addPart(t, c, up.ID, pattern(1<<20)); r.JSON200 == nil {
		t.Fatalf("first part: %d %s", r.StatusCode(), r.Body)
	}
	r := addPart(t, c, up.ID, pattern(2<<20))
	if r.StatusCode() != http.StatusInsufficientStorage {
		t.Fatalf("status %d, want 507: %s", r.StatusCode(), r.Body)
	}
	errorOf(t, r.StatusCode(), r.Body)
	if n := srv.UploadParts(up.ID); n != 1 {
		t.Errorf("%d parts kept, want 1", n)
	}
	responseViolations(t, report)
}
