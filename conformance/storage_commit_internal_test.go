package conformance

import (
	"errors"
	"io/fs"
	"os"
	"testing"
)

// TestDurableCommitFailsWhenTheFileCannotBeSynced: with durable storage (SyncWrites), a blob
// whose file cannot be synced or closed (a disk's write-back error) is not committed: commit
// returns the error and removes the file, whatever the sync of the directory would say.
func TestDurableCommitFailsWhenTheFileCannotBeSynced(t *testing.T) {
	d := &dirStorage{dir: t.TempDir(), durable: true}
	w, err := d.create()
	if err != nil {
		t.Fatal(err)
	}
	fw := w.(*fileBlobWriter)
	if _, err := fw.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	_ = fw.f.Close() // from now on the file's Sync and Close fail
	if b, err := w.commit(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("commit = %+v, %v; want the file's error", b, err)
	}
	if _, err := os.Stat(d.path(fw.key)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the blob's file after the failed commit: %v, want it removed", err)
	}
}
