package helpers

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileAtomic: the checkpoint's writer replaces the file whole, and a replacement that
// cannot be made (here the path became a directory holding a file: the rename fails) is an
// error, with the old content left and no temporary file beside it.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cp.json")
	for _, data := range [][]byte{[]byte("first, longer content"), []byte("second")} {
		if err := writeFileAtomic(path, data); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %q, %v: want %q", got, err, data)
		}
	}

	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(blocked, []byte("x")); err == nil {
		t.Error("a rename over a directory that is not empty reported no error")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("%d entries beside the checkpoint, want only cp.json and blocked: %v", len(entries), entries)
	}
}
