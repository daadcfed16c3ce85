package helpers

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gofrs/flock"
)

// TestStillAtPath: a lock taken on a lock file that was then removed, or replaced by another
// file of the same name (a run that opened it just before its holder removed it), is seen not
// to be the lock of the path: the run starts over instead of running beside the next holder.
func TestStillAtPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp.json.lock")
	if err := createLockFile(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	fl := flock.New(path, flock.SetFlag(os.O_RDONLY))
	if ok, err := fl.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	defer fl.Unlock()
	if !stillAtPath(fl, path, info) {
		t.Fatal("the file locked at the path is not seen as still there")
	}
	if err := os.Remove(path); err != nil { // its holder ends
		t.Fatal(err)
	}
	if stillAtPath(fl, path, info) {
		t.Error("a removed lock file is taken as still there")
	}
	if err := createLockFile(path); err != nil { // the next run creates a new one
		t.Fatal(err)
	}
	if stillAtPath(fl, path, info) {
		t.Error("a replaced lock file is taken as the one locked")
	}
	other, _ := os.Lstat(path)
	if stillAtPath(fl, path, other) {
		t.Error("a lock taken on another file than the one checked is taken as good")
	}
}
