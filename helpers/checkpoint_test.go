package helpers_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// dirState is every file under a directory with its content and modification time: what
// "nothing touched" compares.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	state := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		v := info.Mode().String() + " " + info.ModTime().String()
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			v += " " + md5hex(data)
		}
		state[path] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// unwritableDir is a directory that exists and in which no file can be created: a directory
// without write permission, or, for root (whom permissions do not stop), /sys.
func unwritableDir(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		dir := filepath.Join(t.TempDir(), "read-only")
		if err := os.Mkdir(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		return dir
	}
	if f, err := os.CreateTemp("/sys", "probe"); err == nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		t.Skip("running as root, and /sys can be written: no directory here that cannot be")
	}
	return "/sys"
}

// TestCheckpointRefusedBeforeAnyRequest: a checkpoint path that is not safe to use is refused
// with an InputError naming UploadOptions.Checkpoint and the path, before any request, and
// nothing in its directory is created, changed or removed.
func TestCheckpointRefusedBeforeAnyRequest(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	dir := t.TempDir()
	src := filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(src, pattern(3*testPartSize), 0o600); err != nil {
		t.Fatal(err)
	}
	put := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	data := put("results.jsonl", []byte("{\"custom_id\":\"r1\"}\n"))
	empty := put("empty.ckpt", nil)
	newer := put("newer.ckpt", []byte(`{"format":"openai-uploads-checkpoint","version":3,"upload_id":"upload_x"}`))
	put("guarded.ckpt.lock", []byte("pid 4242\n")) // another tool's lock file beside the checkpoint
	hardLink := filepath.Join(dir, "hard.jsonl")
	if err := os.Link(src, hardLink); err != nil {
		t.Fatal(err)
	}
	symlink := filepath.Join(dir, "link.ckpt")
	if err := os.Symlink(src, symlink); err != nil {
		t.Fatal(err)
	}
	otherLink := filepath.Join(dir, "other-link.ckpt")
	if err := os.Symlink(data, otherLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "a-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	lockSrc := put("data.lock", pattern(100)) // uploaded with --checkpoint data: its lock file is the source
	unwritable := unwritableDir(t)
	t.Chdir(dir)

	for _, tc := range []struct {
		name, source, checkpoint, want string
	}{
		{"a data file", src, data, "not a checkpoint"},
		{"an empty file", src, empty, "it is empty"},
		{"a newer version", src, newer, "newer version"},
		{"the source itself", src, src, "is the file being uploaded"},
		{"the source, named relatively", src, "./train.jsonl", "is the file being uploaded"},
		{"the source, through ..", src, filepath.Join(dir, "a-dir", "..", "train.jsonl"), "is the file being uploaded"},
		{"a hard link to the source", src, hardLink, "is the file being uploaded"},
		{"a symbolic link to the source", src, symlink, "symbolic link to the file being uploaded"},
		{"a symbolic link", src, otherLink, "symbolic link"},
		{"a directory", src, filepath.Join(dir, "a-dir"), "not a regular file"},
		{"a missing directory", src, filepath.Join(dir, "missing", "x.ckpt"), "does not exist"},
		{"a file as directory", src, filepath.Join(data, "x.ckpt"), "is not a directory"},
		{"an unwritable directory", src, filepath.Join(unwritable, "x.ckpt"), "cannot be written"},
		{"a foreign lock file", src, filepath.Join(dir, "guarded.ckpt"), "not a lock file of openai-uploads"},
		{"the source as lock file", lockSrc, filepath.Join(dir, "data"), "is the file being uploaded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := dirState(t, dir)
			_, err := c.UploadFile(context.Background(), tc.source, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, MIMEType: "text/plain", Checkpoint: tc.checkpoint})
			var in *helpers.InputError
			if !errors.As(err, &in) || in.Field != "UploadOptions.Checkpoint" {
				t.Fatalf("err = %v, want an InputError naming UploadOptions.Checkpoint", err)
			}
			if !strings.Contains(in.Reason, tc.want) || !strings.Contains(in.Reason, filepath.Base(tc.checkpoint)) {
				t.Errorf("reason %q does not say %q and name the path", in.Reason, tc.want)
			}
			if after := dirState(t, dir); !mapsEqual(before, after) {
				t.Errorf("the directory changed:\nbefore %v\nafter  %v", before, after)
			}
			if n := srv.Stats().Requests; n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCheckpointOfAnEarlierVersionIsReplaced: a version-1 checkpoint (no part md5s) and a
// damaged one (the format marker, but not a valid checkpoint) are this SDK's: the upload says
// why it does not resume them, cancels the Upload they name, and starts afresh.
func TestCheckpointOfAnEarlierVersionIsReplaced(t *testing.T) {
	for _, tc := range []struct{ name, content, says string }{
		{"version 1", `{"version":1,"upload_id":"ID","expires_at":9999999999,"size":196608,"mtime_ns":1,"part_size":65536,"purpose":"batch","filename":"train.jsonl","mime_type":"application/jsonl","parts":[{"index":0,"id":"part_a"}]}`, "earlier version"},
		{"damaged", `{"format":"openai-uploads-checkpoint","version":2,"upload_id":"ID","parts":"x"}`, "damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, conformance.ServerOptions{})
			c := newClient(t, srv.URL)
			old, err := c.CreateUpload(context.Background(), createReq)
			if err != nil {
				t.Fatal(err)
			}
			data := pattern(3 * testPartSize)
			path := writeFile(t, "train.jsonl", data)
			checkpoint := writeFile(t, "cp.json", []byte(strings.ReplaceAll(tc.content, "ID", old.ID)))
			n := &notes{}
			up, err := c.UploadFile(context.Background(), path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Checkpoint: checkpoint, Notify: n.add})
			if err != nil {
				t.Fatal(err)
			}
			checkUploaded(t, c, srv, up, data)
			if !strings.Contains(n.all(), tc.says) || !strings.Contains(n.all(), "cancelling upload "+old.ID) {
				t.Errorf("Notify %q does not say %q and that %s is cancelled", n.all(), tc.says, old.ID)
			}
			if u, _ := srv.Upload(old.ID); u.Status != generated.UploadStatusCancelled {
				t.Errorf("the old Upload is %q, want cancelled", u.Status)
			}
			if _, err := os.Stat(checkpoint); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the checkpoint is still there after success: %v", err)
			}
		})
	}
}

// TestCheckpointFormat: the checkpoint carries the format marker and version, and each finished
// part's md5 (of the bytes sent), also with SkipMD5.
func TestCheckpointFormat(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	data := pattern(5 * testPartSize)
	path := writeFile(t, "train.jsonl", data)
	checkpoint := filepath.Join(t.TempDir(), "cp.json")
	var n []string
	upErr := crashAfterWith(t, c, path, checkpoint, 2, &n, func(o *helpers.UploadOptions) { o.SkipMD5 = true })
	cp := readCheckpoint(t, checkpoint)
	if cp.Format != "openai-uploads-checkpoint" || cp.Version != 2 || cp.UploadID != upErr.UploadID || len(cp.Parts) < 2 {
		t.Fatalf("checkpoint %+v", cp)
	}
	for _, p := range cp.Parts {
		off := p.Index * testPartSize
		if want := md5hex(data[off:min(off+testPartSize, len(data))]); p.MD5 != want {
			t.Errorf("part %d: md5 %s, want %s", p.Index, p.MD5, want)
		}
	}
}

// savedCheckpoint is the checkpoint file as the tests read it.
type savedCheckpoint struct {
	Format   string `json:"format"`
	Version  int    `json:"version"`
	UploadID string `json:"upload_id"`
	Parts    []struct {
		Index int    `json:"index"`
		ID    string `json:"id"`
		MD5   string `json:"md5"`
	} `json:"parts"`
}

func readCheckpoint(t *testing.T, path string) savedCheckpoint {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cp savedCheckpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		t.Fatalf("checkpoint %s: %v", raw, err)
	}
	return cp
}

// dirNames lists a directory's entries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}
