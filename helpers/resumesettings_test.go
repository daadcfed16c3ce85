package helpers_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// TestResumeWithOtherSettingsStartsAfresh: a checkpoint is resumed only with the settings it was
// made with. Each setting changed alone (part size, purpose, filename, MIME type) means a new
// Upload: the old one is cancelled, the notes say why, and the File is byte-exact with the new
// settings.
func TestResumeWithOtherSettingsStartsAfresh(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*helpers.UploadOptions)
	}{
		{"part size", func(o *helpers.UploadOptions) { o.PartSize = 2 * testPartSize }},
		{"purpose", func(o *helpers.UploadOptions) { o.Purpose = "batch" }},
		{"filename", func(o *helpers.UploadOptions) { o.Filename = "other.jsonl" }},
		{"MIME type", func(o *helpers.UploadOptions) { o.MIMEType = "text/plain" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, conformance.ServerOptions{})
			c := newClient(t, srv.URL)
			data := pattern(6 * testPartSize)
			path := writeFile(t, "train.jsonl", data)
			checkpoint := filepath.Join(t.TempDir(), "cp.json")
			var notes []string
			old := crashAfter(t, c, path, checkpoint, 2, &notes)

			opts := helpers.UploadOptions{
				Purpose: "fine-tune", PartSize: testPartSize, Checkpoint: checkpoint,
				Notify: func(m string) { notes = append(notes, m) },
			}
			tc.mod(&opts)
			up, err := c.UploadFile(context.Background(), path, opts)
			if err != nil {
				t.Fatal(err)
			}
			if up.ID == old.UploadID {
				t.Fatalf("the checkpoint was resumed with another %s", tc.name)
			}
			if !containsNote(notes, "other settings") || containsNote(notes, "resuming upload") {
				t.Errorf("notes %q: want that the checkpoint had other settings, and no resume", notes)
			}
			if u, _ := srv.Upload(old.UploadID); u.Status != generated.UploadStatusCancelled {
				t.Errorf("the abandoned Upload is %q, want cancelled", u.Status)
			}
			if got := download(t, c, up.File.ID); string(got) != string(data) {
				t.Errorf("the File holds %d bytes, md5 %s; want the file's %d, md5 %s", len(got), md5hex(got), len(data), md5hex(data))
			}
			wantName := "train.jsonl"
			if opts.Filename != "" {
				wantName = opts.Filename
			}
			if up.Filename != wantName || string(up.Purpose) != string(opts.Purpose) {
				t.Errorf("Upload %q (%s), want %q (%s)", up.Filename, up.Purpose, wantName, opts.Purpose)
			}
		})
	}
}

// TestResumeNotesAModifiedFile: a file whose modification time changed since the checkpoint (its
// bytes the same) is resumed, each recorded part being checked, and the notes say it was
// modified; an untouched file is resumed without that remark.
func TestResumeNotesAModifiedFile(t *testing.T) {
	for _, touch := range []bool{false, true} {
		srv := startServer(t, conformance.ServerOptions{})
		c := newClient(t, srv.URL)
		data := pattern(4 * testPartSize)
		path := writeFile(t, "train.jsonl", data)
		checkpoint := filepath.Join(t.TempDir(), "cp.json")
		var notes []string
		old := crashAfter(t, c, path, checkpoint, 2, &notes)
		if touch {
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			later := info.ModTime().Add(time.Minute)
			if err := os.Chtimes(path, later, later); err != nil {
				t.Fatal(err)
			}
		}
		up, err := c.UploadFile(context.Background(), path, helpers.UploadOptions{
			Purpose: "fine-tune", PartSize: testPartSize, Checkpoint: checkpoint,
			Notify: func(m string) { notes = append(notes, m) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if up.ID != old.UploadID {
			t.Errorf("touched %v: a new Upload %s, want %s resumed", touch, up.ID, old.UploadID)
		}
		if got := containsNote(notes, "was modified"); got != touch {
			t.Errorf("touched %v: notes %q say modified: %v", touch, notes, got)
		}
		if got := download(t, c, up.File.ID); string(got) != string(data) {
			t.Errorf("touched %v: the File is not the file's bytes", touch)
		}
	}
}

// TestResumeNotTooCloseToExpiry: a checkpointed Upload that expires within ResumeMargin is not
// resumed (its parts could not be sent in time), while one with more time left is.
func TestResumeNotTooCloseToExpiry(t *testing.T) {
	for _, tc := range []struct {
		left    time.Duration
		resumed bool
	}{{helpers.ResumeMargin / 2, false}, {helpers.ResumeMargin + 10*time.Minute, true}} {
		srv := startServer(t, conformance.ServerOptions{})
		c := newClient(t, srv.URL)
		data := pattern(3 * testPartSize)
		path := writeFile(t, "train.jsonl", data)
		checkpoint := filepath.Join(t.TempDir(), "cp.json")
		var notes []string
		old := crashAfter(t, c, path, checkpoint, 1, &notes)
		setExpiry(t, checkpoint, time.Now().Add(tc.left).Unix())
		up, err := c.UploadFile(context.Background(), path, helpers.UploadOptions{
			Purpose: "fine-tune", PartSize: testPartSize, Checkpoint: checkpoint,
			Notify: func(m string) { notes = append(notes, m) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if resumed := up.ID == old.UploadID; resumed != tc.resumed || containsNote(notes, "expires within") == tc.resumed {
			t.Errorf("%v left: resumed %v, want %v; notes %q", tc.left, resumed, tc.resumed, notes)
		}
		checkUploaded(t, c, srv, up, data)
	}
}

// setExpiry rewrites the expires_at of a checkpoint, keeping the rest exact.
func setExpiry(t *testing.T, checkpoint string, unix int64) {
	t.Helper()
	raw, err := os.ReadFile(checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	var cp map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&cp); err != nil {
		t.Fatal(err)
	}
	cp["expires_at"] = unix
	if raw, err = json.Marshal(cp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(checkpoint, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}
