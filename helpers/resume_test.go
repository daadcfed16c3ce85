package helpers_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// crashAfter uploads path with a checkpoint and cancels the context (the "crash") once n parts
// are done, with one part in flight at a time.
func crashAfter(t *testing.T, c *helpers.Client, path, checkpoint string, n int, notes *[]string) *helpers.UploadError {
	t.Helper()
	return crashAfterWith(t, c, path, checkpoint, n, notes, nil)
}

// crashAfterWith is crashAfter with other options (mod changes them).
func crashAfterWith(t *testing.T, c *helpers.Client, path, checkpoint string, n int, notes *[]string, mod func(*helpers.UploadOptions)) *helpers.UploadError {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := helpers.UploadOptions{
		Purpose: "fine-tune", PartSize: testPartSize, Concurrency: 1, Checkpoint: checkpoint,
		Notify: func(m string) { *notes = append(*notes, m) },
		Progress: func(p helpers.Progress) {
			if p.PartsDone >= n {
				cancel()
			}
		},
	}
	if mod != nil {
		mod(&opts)
	}
	_, err := c.UploadFile(ctx, path, opts)
	var upErr *helpers.UploadError
	if !errors.As(err, &upErr) || !upErr.Resumable || upErr.Cancelled || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a resumable UploadError wrapping context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "resumed") || !strings.Contains(err.Error(), checkpoint) {
		t.Errorf("%q does not say it can be resumed with the checkpoint", err)
	}
	return upErr
}

// TestResumeSendsOnlyMissingParts: after a crash with a checkpoint the Upload stays pending; the
// next call with the same checkpoint sends only the parts that are missing (counted at the
// server) and the File is byte-exact.
func TestResumeSendsOnlyMissingParts(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	data := pattern(10*testPartSize + 77)
	path := writeFile(t, "train.jsonl", data)
	checkpoint := filepath.Join(t.TempDir(), "train.checkpoint")
	var notes []string

	upErr := crashAfter(t, c, path, checkpoint, 4, &notes)
	if u, _ := srv.Upload(upErr.UploadID); u.Status != generated.UploadStatusPending {
		t.Fatalf("after the crash the Upload is %q, want pending", u.Status)
	}
	raw, err := os.ReadFile(checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	var cp struct {
		UploadID string `json:"upload_id"`
		Parts    []struct {
			Index int    `json:"index"`
			ID    string `json:"id"`
		} `json:"parts"`
	}
	if err := json.Unmarshal(raw, &cp); err != nil || cp.UploadID != upErr.UploadID {
		t.Fatalf("checkpoint %s: %v", raw, err)
	}
	done := len(cp.Parts)
	if done < 4 {
		t.Fatalf("the checkpoint records %d parts, want at least 4", done)
	}

	before := srv.Stats().Operations["addUploadPart"]
	up, err := c.UploadFile(context.Background(), path, helpers.UploadOptions{
		Purpose: "fine-tune", PartSize: testPartSize, Checkpoint: checkpoint,
		Notify: func(m string) { notes = append(notes, m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.ID != upErr.UploadID {
		t.Errorf("completed %s, want the resumed %s", up.ID, upErr.UploadID)
	}
	checkUploaded(t, c, srv, up, data)
	if sent := srv.Stats().Operations["addUploadPart"] - before; sent != int64(11-done) {
		t.Errorf("the resumed upload sent %d parts, want the %d missing", sent, 11-done)
	}
	if _, err := os.Stat(checkpoint); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the checkpoint is still there after success: %v", err)
	}
	if !containsNote(notes, "resuming upload "+up.ID) {
		t.Errorf("notes %q do not say it resumed", notes)
	}
}

func containsNote(notes []string, s string) bool {
	for _, n := range notes {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// TestResumeStartsAfreshWhenTheFileChanged: a checkpoint of a file that has changed since is
// not resumed: a new Upload is made, the old one is cancelled, and the upload says so.
func TestResumeStartsAfreshWhenTheFileChanged(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	path := writeFile(t, "train.jsonl", pattern(6*testPartSize))
	checkpoint := filepath.Join(t.TempDir(), "cp.json")
	var notes []string
	old := crashAfter(t, c, path, checkpoint, 2, &notes)

	changed := pattern(6*testPartSize + 1)
	if err := os.WriteFile(path, changed, 0o600); err != nil {
		t.Fatal(err)
	}
	up, err := c.UploadFile(context.Background(), path, helpers.UploadOptions{
		Purpose: "fine-tune", PartSize: testPartSize, Checkpoint: checkpoint,
		Notify: func(m string) { notes = append(notes, m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.ID == old.UploadID {
		t.Fatal("the changed file resumed the old Upload")
	}
	checkUploaded(t, c, srv, up, changed)
	if !containsNote(notes, "the file changed") {
		t.Errorf("notes %q do not say the file changed", notes)
	}
	if u, _ := srv.Upload(old.UploadID); u.Status != generated.UploadStatusCancelled {
		t.Errorf("the abandoned Upload is %q, want cancelled", u.Status)
	}
}

// TestResumeStartsAfreshWhenExpired: a checkpointed Upload past its hour is not resumed.
func TestResumeStartsAfreshWhenExpired(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	data := pattern(3 * testPartSize)
	path := writeFile(t, "train.jsonl", data)
	checkpoint := filepath.Join(t.TempDir(), "cp.json")
	var notes []string
	old := crashAfter(t, c, path, checkpoint, 1, &notes)

	// Age the checkpoint: its Upload expired an hour ago.
	setExpiresAt(t, checkpoint, time.Now().Add(-time.Hour).Unix())
	up, err := c.UploadFile(context.Background(), path, helpers.UploadOptions{
		Purpose: "fine-tune", PartSize: testPartSize, Checkpoint: checkpoint,
		Notify: func(m string) { notes = append(notes, m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.ID == old.UploadID || !containsNote(notes, "has expired") {
		t.Errorf("upload %s (old %s), notes %q: want a new Upload and a note that the old expired", up.ID, old.UploadID, notes)
	}
	checkUploaded(t, c, srv, up, data)
}

// setExpiresAt rewrites the expires_at of the checkpoint at path.
func setExpiresAt(t *testing.T, path string, unix int64) {
	t.Helper()
	raw, _ := os.ReadFile(path)
	var cp map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber() // keep mtime_ns exact
	if err := dec.Decode(&cp); err != nil {
		t.Fatal(err)
	}
	cp["expires_at"] = unix
	raw, _ = json.Marshal(cp)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestResumeAtTheExpirySecond: at the second of its expires_at (by the API's clock, here a
// server clock that stands still) a checkpointed Upload has expired, as complete's check has it:
// it is not resumed, nor cancelled (the API would refuse), and Notify says it has expired.
func TestResumeAtTheExpirySecond(t *testing.T) {
	clock := &fakeClock{}
	clock.set(nowUnix())
	srv := startServer(t, conformance.ServerOptions{Now: clock.Now})
	c := newClient(t, srv.URL)
	data := pattern(3 * testPartSize)
	path := writeFile(t, "train.jsonl", data)
	checkpoint := filepath.Join(t.TempDir(), "cp.json")
	var notes []string
	old := crashAfter(t, c, path, checkpoint, 1, &notes)
	setExpiresAt(t, checkpoint, clock.Now().Unix())
	cancels := srv.Stats().Operations["cancelUpload"]
	up, err := c.UploadFile(hangGuard(t), path, helpers.UploadOptions{
		Purpose: "fine-tune", PartSize: testPartSize, Checkpoint: checkpoint,
		Notify: func(m string) { notes = append(notes, m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.ID == old.UploadID || !containsNote(notes, "has expired") || srv.Stats().Operations["cancelUpload"] != cancels {
		t.Errorf("upload %s (old %s), %d cancel(s), notes %q: want a new Upload, no cancel and a note that the old expired",
			up.ID, old.UploadID, srv.Stats().Operations["cancelUpload"]-cancels, notes)
	}
}
