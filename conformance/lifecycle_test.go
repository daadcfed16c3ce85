package conformance_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// storages runs a test with memory storage and with disk storage in a directory of its own,
// which it returns ("" for memory).
func storages(t *testing.T, run func(t *testing.T, opts conformance.ServerOptions, dir string)) {
	t.Run("memory", func(t *testing.T) { run(t, conformance.ServerOptions{}, "") })
	t.Run("disk", func(t *testing.T) {
		dir := t.TempDir()
		run(t, conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: dir}, dir)
	})
}

// blobBytes adds up the sizes of the .blob files in dir.
func blobBytes(t *testing.T, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".blob") {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			n += info.Size()
		}
	}
	return n
}

// TestSweepFreesExpiredUploadsAndForgetsFinishedOnes: the parts of Uploads left pending past
// their hour are freed by a sweep (memory and disk), and the Uploads are forgotten once the
// retention has passed.
func TestSweepFreesExpiredUploadsAndForgetsFinishedOnes(t *testing.T) {
	storages(t, func(t *testing.T, opts conformance.ServerOptions, dir string) {
		clk := &clock{}
		clk.now.Store(1_700_000_000)
		opts.Now, opts.SweepInterval, opts.Retention = clk.Now, -1, 2*time.Hour
		srv := start(t, opts)
		c := validatingClient(t, srv.URL)

		var ids []string
		for range 5 {
			up := createUpload(t, c, 4<<10)
			for range 4 {
				if r := addPart(t, c, up.ID, pattern(1<<10)); r.JSON200 == nil {
					t.Fatalf("part: %d %s", r.StatusCode(), r.Body)
				}
			}
			ids = append(ids, up.ID)
		}
		before := srv.Stats()
		if before.StoredBytes != 20<<10 || before.StoredBlobs != 20 {
			t.Fatalf("stored %d bytes in %d blobs, want 20 KiB in 20", before.StoredBytes, before.StoredBlobs)
		}
		if dir != "" && blobBytes(t, dir) != 20<<10 {
			t.Fatalf("the directory holds %d bytes of blobs, want 20 KiB", blobBytes(t, dir))
		}

		clk.advance(conformance.UploadTTL - time.Second)
		if res, err := srv.Sweep(); err != nil || res != (conformance.SweepResult{}) {
			t.Fatalf("a sweep before the hour: %+v %v, want nothing done", res, err)
		}
		clk.advance(time.Second)
		res, err := srv.Sweep()
		if err != nil {
			t.Fatal(err)
		}
		want := conformance.SweepResult{UploadsExpired: 5, PartsFreed: 20, BytesFreed: 20 << 10}
		if res != want {
			t.Errorf("sweep at the hour: %+v, want %+v", res, want)
		}
		after := srv.Stats()
		t.Logf("bytes stored before the sweep: %d (%d blobs); after: %d (%d blobs)", before.StoredBytes, before.StoredBlobs, after.StoredBytes, after.StoredBlobs)
		if after.StoredBytes != 0 || after.StoredBlobs != 0 {
			t.Errorf("after the sweep %d bytes in %d blobs are stored, want none", after.StoredBytes, after.StoredBlobs)
		}
		if dir != "" {
			if n := blobBytes(t, dir); n != 0 {
				t.Errorf("after the sweep the directory holds %d bytes of blobs", n)
			}
		}
		for _, id := range ids {
			if u, ok := srv.Upload(id); !ok || u.Status != generated.UploadStatusExpired {
				t.Errorf("%s: %+v %v, want expired and still known", id, u, ok)
			}
		}

		// Forgotten two hours after they expired, not before.
		clk.advance(2*time.Hour - time.Second)
		if res, _ := srv.Sweep(); res.UploadsForgotten != 0 {
			t.Errorf("forgot %d Uploads before the retention passed", res.UploadsForgotten)
		}
		clk.advance(time.Second)
		if res, _ := srv.Sweep(); res.UploadsForgotten != 5 {
			t.Errorf("forgot %d Uploads after the retention, want 5", res.UploadsForgotten)
		}
		if n := srv.Stats().Uploads; n != 0 {
			t.Errorf("the server still knows %d Uploads", n)
		}
		resp, err := c.CancelUploadWithResponse(context.Background(), ids[0])
		if err != nil || resp.StatusCode() != http.StatusNotFound {
			t.Fatalf("cancel a forgotten Upload: %v %d, want 404", err, resp.StatusCode())
		}
	})
}

// TestRetentionCountsFromTheFinish: completed, cancelled and expired Uploads are each forgotten
// Retention after they finished; a pending one is not forgotten while it is pending.
func TestRetentionCountsFromTheFinish(t *testing.T) {
	clk := &clock{}
	clk.now.Store(1_700_000_000)
	srv := start(t, conformance.ServerOptions{Now: clk.Now, SweepInterval: -1, Retention: 100 * time.Second, UploadTTL: 1000 * time.Second})
	c := validatingClient(t, srv.URL)
	ctx := context.Background()

	completed := createUpload(t, c, 3)
	p := addPart(t, c, completed.ID, []byte("abc")).JSON200
	if r, err := c.CompleteUploadWithResponse(ctx, completed.ID, generated.CompleteUploadRequest{PartIDs: []string{p.ID}}); err != nil || r.JSON200 == nil {
		t.Fatalf("complete: %v", err)
	}
	pending := createUpload(t, c, 3) // expires at +1000 s
	clk.advance(50 * time.Second)
	cancelled := createUpload(t, c, 3)
	if r, err := c.CancelUploadWithResponse(ctx, cancelled.ID); err != nil || r.JSON200 == nil {
		t.Fatalf("cancel: %v", err)
	}
	known := func(id string) bool { _, ok := srv.Upload(id); return ok }

	clk.advance(50 * time.Second) // +100 s: the completed one's retention is over
	if _, err := srv.Sweep(); err != nil {
		t.Fatal(err)
	}
	if known(completed.ID) || !known(cancelled.ID) || !known(pending.ID) {
		t.Errorf("at +100 s: completed known %v (want false), cancelled %v (want true), pending %v (want true)", known(completed.ID), known(cancelled.ID), known(pending.ID))
	}
	clk.advance(50 * time.Second) // +150 s
	_, _ = srv.Sweep()
	if known(cancelled.ID) || !known(pending.ID) {
		t.Errorf("at +150 s: cancelled known %v, pending %v", known(cancelled.ID), known(pending.ID))
	}
	clk.advance(850 * time.Second) // +1000 s: the pending one expires now, is kept 100 s more
	if res, _ := srv.Sweep(); res.UploadsExpired != 1 || !known(pending.ID) {
		t.Errorf("at +1000 s: %+v, known %v", res, known(pending.ID))
	}
	clk.advance(100 * time.Second)
	_, _ = srv.Sweep()
	if known(pending.ID) {
		t.Error("an expired Upload is remembered past its retention")
	}
}

// TestUploadTTLOption: ServerOptions.UploadTTL sets expires_at and when the Upload expires.
func TestUploadTTLOption(t *testing.T) {
	clk := &clock{}
	clk.now.Store(1_700_000_000)
	srv := start(t, conformance.ServerOptions{Now: clk.Now, SweepInterval: -1, UploadTTL: 90 * time.Second})
	c := validatingClient(t, srv.URL)
	up := createUpload(t, c, 1)
	if up.ExpiresAt != up.CreatedAt+90 {
		t.Errorf("expires_at = created_at + %d, want + 90", up.ExpiresAt-up.CreatedAt)
	}
	addPart(t, c, up.ID, []byte("x"))
	clk.advance(89 * time.Second)
	if res, _ := srv.Sweep(); res.UploadsExpired != 0 {
		t.Errorf("expired after 89 s")
	}
	clk.advance(time.Second)
	if res, _ := srv.Sweep(); res.UploadsExpired != 1 || res.BytesFreed != 1 {
		t.Errorf("at 90 s: %+v, want one Upload expired and its byte freed", res)
	}

	for _, ttl := range []time.Duration{-time.Second, 500 * time.Millisecond} {
		if _, err := conformance.NewServer(conformance.ServerOptions{UploadTTL: ttl}); err == nil {
			t.Errorf("NewServer accepted UploadTTL %v", ttl)
		}
	}
	// One second, the resolution of expires_at, is the shortest TTL accepted.
	s, err := conformance.NewServer(conformance.ServerOptions{UploadTTL: time.Second})
	if err != nil {
		t.Fatalf("NewServer refused UploadTTL 1s: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

// TestExpiredFilesLeaveTheAPI: past its expires_at a File is no longer listed, retrieved,
// downloaded or deletable, before any sweep; the sweep frees its bytes.
func TestExpiredFilesLeaveTheAPI(t *testing.T) {
	storages(t, func(t *testing.T, opts conformance.ServerOptions, dir string) {
		clk := &clock{}
		clk.now.Store(1_700_000_000)
		opts.Now, opts.SweepInterval = clk.Now, -1
		srv := start(t, opts)
		c, report := reportingClient(t, srv.URL)
		t.Cleanup(func() { responseViolations(t, report) })
		ctx := context.Background()

		expiring := mustCreateFile(t, c, "a.jsonl", pattern(5000), "purpose", "fine-tune", "expires_after[anchor]", "created_at", "expires_after[seconds]", "3600")
		kept := mustCreateFile(t, c, "b.pdf", pattern(700), "purpose", "assistants")
		clk.advance(time.Hour)

		if r, _ := c.RetrieveFileWithResponse(ctx, expiring.ID); r.StatusCode() != 404 {
			t.Errorf("retrieve an expired File: %d", r.StatusCode())
		}
		if r, _ := c.DownloadFileWithResponse(ctx, expiring.ID); r.StatusCode() != 404 {
			t.Errorf("download an expired File: %d", r.StatusCode())
		}
		if r, _ := c.DeleteFileWithResponse(ctx, expiring.ID); r.StatusCode() != 404 {
			t.Errorf("delete an expired File: %d", r.StatusCode())
		}
		list, err := c.ListFilesWithResponse(ctx, nil)
		if err != nil || list.JSON200 == nil || len(list.JSON200.Data) != 1 || list.JSON200.Data[0].ID != kept.ID {
			t.Fatalf("list after the expiry: %v %s, want only %s", err, list.Body, kept.ID)
		}
		if st := srv.Stats(); st.StoredBytes != 5700 {
			t.Errorf("before the sweep %d bytes are stored, want 5700", st.StoredBytes)
		}
		res, err := srv.Sweep()
		if err != nil || res.FilesExpired != 1 || res.BytesFreed != 5000 {
			t.Errorf("sweep: %+v %v, want one File and 5000 bytes", res, err)
		}
		if st := srv.Stats(); st.StoredBytes != 700 || st.Files != 1 {
			t.Errorf("after the sweep: %d bytes, %d Files, want 700 and 1", st.StoredBytes, st.Files)
		}
		if dir != "" && blobBytes(t, dir) != 700 {
			t.Errorf("after the sweep the directory holds %d bytes of blobs, want 700", blobBytes(t, dir))
		}
		if r, _ := c.DownloadFileWithResponse(ctx, kept.ID); r.StatusCode() != 200 || len(r.Body) != 700 {
			t.Errorf("the File without expiry: %d, %d bytes", r.StatusCode(), len(r.Body))
		}
	})
}

// TestSweeperRunsOnItsTimer: with a short SweepInterval, the sweeper runs on that interval (not
// the default) and frees an expired Upload's parts without any request or call, and reports it,
// and only it, through SweepLog.
func TestSweeperRunsOnItsTimer(t *testing.T) {
	clk := &clock{}
	clk.now.Store(1_700_000_000)
	var mu sync.Mutex
	var logged []conformance.SweepResult
	srv := start(t, conformance.ServerOptions{Now: clk.Now, SweepInterval: 5 * time.Millisecond, SweepLog: func(r conformance.SweepResult, err error) {
		if err != nil {
			t.Errorf("sweep: %v", err)
		}
		mu.Lock()
		logged = append(logged, r)
		mu.Unlock()
	}})
	c := validatingClient(t, srv.URL)
	up := createUpload(t, c, 10)
	addPart(t, c, up.ID, pattern(10))
	// It sweeps every 5 ms, not at the 10 s default: three sweeps come well within eventually's
	// bound, and sweeps that change nothing are not logged.
	eventually(t, "three sweeps of the 5 ms sweeper", func() bool { return srv.Stats().Sweeps >= 3 })
	clk.advance(conformance.UploadTTL)
	eventually(t, "the sweeper frees the part", func() bool { return srv.Stats().StoredBytes == 0 })
	// The sweep frees the bytes, then reports: wait for its report, then check it is the only one.
	eventually(t, "the sweep reported", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(logged) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 1 || logged[0].UploadsExpired != 1 || logged[0].BytesFreed != 10 {
		t.Errorf("SweepLog saw %+v, want one sweep that expired one Upload and freed 10 bytes", logged)
	}
}

// TestForgottenUploadsFreeTheirMemory: 50,000 Uploads created and cancelled, then forgotten,
// leave (nearly) nothing behind on the heap.
func TestForgottenUploadsFreeTheirMemory(t *testing.T) {
	n := 50_000
	if testing.Short() {
		n = 5_000
	}
	clk := &clock{}
	clk.now.Store(1_700_000_000)
	srv, err := conformance.NewServer(conformance.ServerOptions{Now: clk.Now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	call := func(method, path, body string) []byte {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	cycle := func() {
		var up struct{ ID string }
		if err := json.Unmarshal(call("POST", "/v1/uploads", createBody), &up); err != nil {
			t.Fatal(err)
		}
		call("POST", "/v1/uploads/"+up.ID+"/cancel", "")
	}
	for range 100 { // warm up the server's own structures
		cycle()
	}
	clk.advance(conformance.DefaultRetention)
	if _, err := srv.Sweep(); err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for range n {
		cycle()
	}
	held := heap()
	clk.advance(conformance.DefaultRetention)
	res, err := srv.Sweep()
	if err != nil || res.UploadsForgotten != n {
		t.Fatalf("sweep: %+v %v, want %d forgotten", res, err, n)
	}
	after := heap()
	perHeld := (float64(held) - float64(before)) / float64(n)
	perForgotten := (float64(after) - float64(before)) / float64(n)
	t.Logf("%d Uploads created and cancelled: %.0f B each on the heap while remembered, %.1f B each once forgotten (heap %d → %d → %d)", n, perHeld, perForgotten, before, held, after)
	if perForgotten > 16 {
		t.Errorf("a forgotten Upload still costs %.1f B of heap, want none (under 16 B of noise)", perForgotten)
	}
}
