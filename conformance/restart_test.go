package conformance_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// TestRestartKeepsUploadsAndFiles: a server started again on the same storage directory lists
// and serves the Files made before, byte-exact and in the same order, and a pending Upload
// takes its last part and completes; a deleted File stays deleted.
func TestRestartKeepsUploadsAndFiles(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("SyncWrites=%v", sync), func(t *testing.T) { testRestart(t, sync) })
	}
}

func testRestart(t *testing.T, sync bool) {
	dir := t.TempDir()
	ctx := context.Background()
	opts := conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: dir, SyncWrites: sync}

	first, err := conformance.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := validatingClient(t, first.URL)
	direct := pattern(300<<10 + 7)
	fileA := mustCreateFile(t, c, "direct.jsonl", direct, "purpose", "batch")
	deleted := mustCreateFile(t, c, "gone.jsonl", []byte("{}"), "purpose", "batch")
	if r, err := c.DeleteFileWithResponse(ctx, deleted.ID); err != nil || r.JSON200 == nil {
		t.Fatalf("delete: %v", err)
	}
	whole := pattern(3 << 20)
	done := createUpload(t, c, int64(len(whole)))
	var doneParts []string
	for i := range 3 {
		doneParts = append(doneParts, addPart(t, c, done.ID, whole[i<<20:(i+1)<<20]).JSON200.ID)
	}
	sum := md5hex(whole)
	completed, err := c.CompleteUploadWithResponse(ctx, done.ID, generated.CompleteUploadRequest{PartIDs: doneParts, MD5: &sum})
	if err != nil || completed.JSON200 == nil {
		t.Fatalf("complete: %v", err)
	}
	fileB := completed.JSON200.File

	pendingData := pattern(2<<20 + 5)
	pending := createUpload(t, c, int64(len(pendingData)))
	p1 := addPart(t, c, pending.ID, pendingData[:1<<20]).JSON200.ID
	p2 := addPart(t, c, pending.ID, pendingData[1<<20:2<<20]).JSON200.ID
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := start(t, opts)
	got := second.Restored()
	want := conformance.Restored{Uploads: 2, PendingUploads: 1, Parts: 2, Files: 2, Bytes: int64(len(direct) + len(whole) + 2<<20)}
	if got != want {
		t.Errorf("restored %+v, want %+v", got, want)
	}
	c = validatingClient(t, second.URL)
	list, err := c.ListFilesWithResponse(ctx, nil)
	if err != nil || list.JSON200 == nil || len(list.JSON200.Data) != 2 ||
		list.JSON200.Data[0].ID != fileB.ID || list.JSON200.Data[1].ID != fileA.ID || list.JSON200.Data[0] != *fileB {
		t.Fatalf("list after the restart: %v %s, want %s then %s as before", err, list.Body, fileB.ID, fileA.ID)
	}
	for id, want := range map[string][]byte{fileA.ID: direct, fileB.ID: whole} {
		r, err := c.DownloadFileWithResponse(ctx, id)
		if err != nil || r.StatusCode() != 200 || !bytes.Equal(r.Body, want) {
			t.Errorf("download %s after the restart: %v %d, %d bytes (want %d, byte-exact)", id, err, r.StatusCode(), len(r.Body), len(want))
		}
	}
	if r, _ := c.RetrieveFileWithResponse(ctx, deleted.ID); r.StatusCode() != 404 {
		t.Errorf("the deleted File is back: %d", r.StatusCode())
	}
	if r, _ := c.CancelUploadWithResponse(ctx, done.ID); r.JSON400 == nil {
		t.Errorf("the completed Upload is not completed after the restart: %d %s", r.StatusCode(), r.Body)
	}

	p3 := addPart(t, c, pending.ID, pendingData[2<<20:]).JSON200.ID
	sum = md5hex(pendingData)
	resumed, err := c.CompleteUploadWithResponse(ctx, pending.ID, generated.CompleteUploadRequest{PartIDs: []string{p1, p2, p3}, MD5: &sum})
	if err != nil || resumed.JSON200 == nil {
		t.Fatalf("complete the pending Upload after the restart: %v %s", err, resumed.Body)
	}
	r, err := c.DownloadFileWithResponse(ctx, resumed.JSON200.File.ID)
	if err != nil || !bytes.Equal(r.Body, pendingData) {
		t.Errorf("the resumed Upload's File differs: %v, %d bytes", err, len(r.Body))
	}
}

// TestRestartCleansTheDirectory: blob files that no record refers to are removed at start
// (other files are left alone), and a record whose bytes are gone is dropped, not served.
func TestRestartCleansTheDirectory(t *testing.T) {
	dir := t.TempDir()
	opts := conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: dir}
	first, err := conformance.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := validatingClient(t, first.URL)
	kept := mustCreateFile(t, c, "kept.jsonl", pattern(100), "purpose", "batch")
	lost := mustCreateFile(t, c, "lost.jsonl", pattern(200), "purpose", "batch")
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	// The lost File's bytes disappear; an orphan and a file of the user's appear.
	if n := removeBlobsOfSize(t, dir, 200); n != 1 {
		t.Fatalf("%d blobs of 200 bytes removed, want the lost File's", n)
	}
	orphan := filepath.Join(dir, strings.Repeat("ab", 16)+".blob")
	notes := filepath.Join(dir, "notes.txt")
	for _, f := range []string{orphan, notes} {
		if err := os.WriteFile(f, pattern(1000), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	second := start(t, opts)
	got := second.Restored()
	if got.OrphansRemoved != 1 || got.OrphanBytes != 1000 || got.Lost != 1 || got.Files != 1 {
		t.Errorf("restored %+v, want 1 orphan of 1000 bytes removed, 1 File lost, 1 kept", got)
	}
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the orphan is still there: %v", err)
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("a file that is not the server's was touched: %v", err)
	}
	c = validatingClient(t, second.URL)
	if r, _ := c.RetrieveFileWithResponse(context.Background(), lost.ID); r.StatusCode() != 404 {
		t.Errorf("the File whose bytes are gone answers %d", r.StatusCode())
	}
	if r, _ := c.DownloadFileWithResponse(context.Background(), kept.ID); !bytes.Equal(r.Body, pattern(100)) {
		t.Errorf("the kept File differs")
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	// The dropped record stays dropped.
	third := start(t, opts)
	if got := third.Restored(); got.Lost != 0 || got.Files != 1 {
		t.Errorf("third start restored %+v", got)
	}
}

// removeBlobsOfSize removes the stored blobs of size bytes in dir and says how many there were.
func removeBlobsOfSize(t *testing.T, dir string, size int64) int {
	t.Helper()
	removed := 0
	for _, b := range blobsOf(t, dir) {
		if info, err := os.Stat(b); err == nil && info.Size() == size {
			if err := os.Remove(b); err != nil {
				t.Fatal(err)
			}
			removed++
		}
	}
	return removed
}

func blobsOf(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.blob"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStorageDirIsLocked: a second server on a storage directory in use fails at once, saying
// so; once the first has stopped, it starts.
func TestStorageDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	opts := conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: dir}
	first, err := conformance.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conformance.NewServer(opts)
	if !errors.Is(err, conformance.ErrStorageLocked) || !strings.Contains(err.Error(), dir) {
		t.Errorf("second server on %s: %v, want ErrStorageLocked naming the directory", dir, err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := conformance.NewServer(opts)
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSweepIsRecordedForTheNextServer: everything one sweep does (two Uploads expired with their
// parts, two finished Uploads forgotten, two Files expired) is in the storage directory's
// state, so a server started again on it restores none of what the sweep removed.
func TestSweepIsRecordedForTheNextServer(t *testing.T) {
	clk := &clock{}
	clk.now.Store(1_700_000_000)
	opts := conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: t.TempDir(), Now: clk.Now, SweepInterval: -1,
		UploadTTL: 2 * time.Hour, Retention: time.Hour}
	first, err := conformance.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := validatingClient(t, first.URL)
	for range 2 {
		up := createUpload(t, c, 2<<10)
		if r := addPart(t, c, up.ID, pattern(1<<10)); r.JSON200 == nil {
			t.Fatalf("part: %d %s", r.StatusCode(), r.Body)
		}
		cancelled := createUpload(t, c, 1<<10)
		if r, err := c.CancelUploadWithResponse(context.Background(), cancelled.ID); err != nil || r.JSON200 == nil {
			t.Fatalf("cancel: %v", err)
		}
		if r := createFile(t, c, "a.jsonl", pattern(3<<10), "purpose", "batch", "expires_after[anchor]", "created_at", "expires_after[seconds]", "3600"); r.JSON200 == nil {
			t.Fatalf("file: %d %s", r.StatusCode(), r.Body)
		}
	}
	clk.advance(2 * time.Hour)
	res, err := first.Sweep()
	want := conformance.SweepResult{UploadsExpired: 2, UploadsForgotten: 2, FilesExpired: 2, PartsFreed: 2, BytesFreed: 8 << 10}
	if err != nil || res != want {
		t.Fatalf("sweep: %+v %v, want %+v", res, err, want)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := start(t, opts)
	if got, want := second.Restored(), (conformance.Restored{Uploads: 2}); got != want {
		t.Errorf("restored %+v, want only the 2 expired Uploads, without parts: %+v", got, want)
	}
}

// TestRestartDropsPartsWhoseBytesAreGone: a pending Upload's part whose bytes disappeared while
// the server was down is counted lost and its record dropped, so the next start does not find it
// again; the Upload itself is kept. The same holds when a File's bytes are gone too.
func TestRestartDropsPartsWhoseBytesAreGone(t *testing.T) {
	for _, withFile := range []bool{false, true} {
		dir := t.TempDir()
		opts := conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: dir}
		first, err := conformance.Start(opts)
		if err != nil {
			t.Fatal(err)
		}
		c := validatingClient(t, first.URL)
		up := createUpload(t, c, 3000)
		if r := addPart(t, c, up.ID, pattern(300)); r.StatusCode() != 200 {
			t.Fatalf("part: %d %s", r.StatusCode(), r.Body)
		}
		lost := 1
		if withFile {
			createFile(t, c, "lost.jsonl", pattern(200), "purpose", "batch")
			lost = 2
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		for _, b := range blobsOf(t, dir) {
			if err := os.Remove(b); err != nil {
				t.Fatal(err)
			}
		}
		second, err := conformance.Start(opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := second.Restored(); got.Lost != lost || got.Parts != 0 || got.PendingUploads != 1 || got.Files != 0 {
			t.Errorf("with a lost File %v: restored %+v, want %d lost and the Upload kept", withFile, got, lost)
		}
		if err := second.Close(); err != nil {
			t.Fatal(err)
		}
		if got := start(t, opts).Restored(); got.Lost != 0 || got.Parts != 0 || got.PendingUploads != 1 {
			t.Errorf("with a lost File %v: third start restored %+v, want the lost records gone", withFile, got)
		}
	}
}
