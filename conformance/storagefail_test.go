package conformance_test

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// failingWriter fails every write with err.
type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }
func (w failingWriter) Close() error              { return nil }

// TestStorageFailuresAre5xx: a storage that cannot take the bytes is the server's fault: a
// full one (the real ENOSPC of /dev/full) answers 507 and any other failure 500, in OpenAI's
// envelope, never 400; nothing is kept.
func TestStorageFailuresAre5xx(t *testing.T) {
	devFull := func() (io.WriteCloser, error) { return os.OpenFile("/dev/full", os.O_WRONLY, 0) }
	if _, err := os.Stat("/dev/full"); err != nil {
		devFull = func() (io.WriteCloser, error) {
			return failingWriter{errors.New("write: no space left on device (simulated)")}, nil
		}
		t.Log("no /dev/full: ENOSPC is simulated by its message only")
	}
	for _, tc := range []struct {
		name   string
		open   func() (io.WriteCloser, error)
		status int
		text   string
	}{
		{"disk full", devFull, 507, "storage is full"},
		{"input/output error", func() (io.WriteCloser, error) { return failingWriter{errors.New("input/output error")}, nil }, 500, "input/output error"},
		{"cannot create", func() (io.WriteCloser, error) { return nil, errors.New("too many open files") }, 500, "too many open files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := start(t, conformance.ServerOptions{})
			c, report := reportingClient(t, srv.URL)
			t.Cleanup(func() { responseViolations(t, report) })
			up := createUpload(t, c, 1<<20)
			conformance.BreakStorageWrites(srv.Server, tc.open)

			part := addPart(t, c, up.ID, pattern(1<<20))
			file := createFile(t, c, "a.jsonl", pattern(1<<20), "purpose", "batch")
			for what, got := range map[string]struct {
				status int
				body   []byte
			}{"part": {part.StatusCode(), part.Body}, "file": {file.StatusCode(), file.Body}} {
				if got.status != tc.status {
					t.Errorf("%s: status %d, want %d: %s", what, got.status, tc.status, got.body)
					continue
				}
				e := errorOf(t, got.status, got.body)
				if e.Type != "server_error" || !strings.Contains(e.Message, tc.text) {
					t.Errorf("%s: %+v, want a server_error saying %q", what, e, tc.text)
				}
			}
			if n := srv.UploadParts(up.ID); n != 0 {
				t.Errorf("the Upload holds %d parts", n)
			}
			if st := srv.Stats(); st.StoredBytes != 0 || st.Files != 0 {
				t.Errorf("stored %d bytes and %d Files", st.StoredBytes, st.Files)
			}
		})
	}
}

// TestStateFailuresAre500: when a change cannot be recorded in the storage directory's
// database, the answer is a 500 and the change is not made.
func TestStateFailuresAre500(t *testing.T) {
	srv := start(t, conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: t.TempDir()})
	c, report := reportingClient(t, srv.URL)
	t.Cleanup(func() { responseViolations(t, report) })
	ctx := context.Background()
	up := createUpload(t, c, 3)
	p := addPart(t, c, up.ID, []byte("abc")).JSON200
	conformance.BreakJournal(srv.Server, errors.New("database write failed"))

	check := func(what string, status int, body []byte) {
		t.Helper()
		if status != 500 {
			t.Errorf("%s: status %d, want 500: %s", what, status, body)
			return
		}
		if e := errorOf(t, status, body); !strings.Contains(e.Message, "could not record the change: database write failed") {
			t.Errorf("%s: message %q", what, e.Message)
		}
	}
	r1, _ := c.CreateUploadWithResponse(ctx, generated.CreateUploadRequest{Bytes: 1, Filename: "a", MimeType: "text/plain", Purpose: "batch"})
	check("create", r1.StatusCode(), r1.Body)
	r2 := addPart(t, c, up.ID, []byte("abc"))
	check("part", r2.StatusCode(), r2.Body)
	r3, _ := c.CompleteUploadWithResponse(ctx, up.ID, generated.CompleteUploadRequest{PartIDs: []string{p.ID}})
	check("complete", r3.StatusCode(), r3.Body)
	r4, _ := c.CancelUploadWithResponse(ctx, up.ID)
	check("cancel", r4.StatusCode(), r4.Body)
	r5 := createFile(t, c, "a.jsonl", []byte("{}"), "purpose", "batch")
	check("create file", r5.StatusCode(), r5.Body)

	if u, _ := srv.Upload(up.ID); u.Status != generated.UploadStatusPending || srv.UploadParts(up.ID) != 1 {
		t.Errorf("the Upload changed: %s with %d parts, want pending with 1", u.Status, srv.UploadParts(up.ID))
	}
	if st := srv.Stats(); st.Uploads != 1 || st.Files != 0 || st.StoredBytes != 3 {
		t.Errorf("stats %+v, want 1 Upload, no File, 3 bytes", st)
	}
}

// TestStorageReadFailuresAre500: bytes the storage cannot read back (here removed behind the
// server's back) answer a 500 before any byte of a download is sent, and fail a complete's md5
// pass with a 500, never a 400.
func TestStorageReadFailuresAre500(t *testing.T) {
	dir := t.TempDir()
	srv := start(t, conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: dir})
	c, report := reportingClient(t, srv.URL)
	t.Cleanup(func() { responseViolations(t, report) })
	ctx := context.Background()
	f := mustCreateFile(t, c, "a.jsonl", pattern(1000), "purpose", "batch")
	up := createUpload(t, c, 3)
	p := addPart(t, c, up.ID, []byte("abc")).JSON200
	for _, b := range blobsOf(t, dir) {
		if err := os.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.DownloadFileWithResponse(ctx, f.ID)
	if err != nil || r.StatusCode() != 500 || !strings.Contains(errorOf(t, r.StatusCode(), r.Body).Message, "could not store or read the bytes") {
		t.Errorf("download with its bytes gone: %v %d %s", err, r.StatusCode(), r.Body)
	}
	sum := md5hex([]byte("abc"))
	done, err := c.CompleteUploadWithResponse(ctx, up.ID, generated.CompleteUploadRequest{PartIDs: []string{p.ID}, MD5: &sum})
	if err != nil || done.StatusCode() != 500 {
		t.Errorf("complete with its part's bytes gone: %v %d %s", err, done.StatusCode(), done.Body)
	}
	if u, _ := srv.Upload(up.ID); u.Status != generated.UploadStatusPending {
		t.Errorf("the Upload is %s after the failed complete, want pending", u.Status)
	}
}
