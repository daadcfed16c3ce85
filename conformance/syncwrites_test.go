package conformance_test

import (
	"runtime/debug"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// TestSyncWritesHoldsNoDescriptor: with SyncWrites, every stored part is flushed with its
// directory, and the directory opened for that is closed again: a long-running serve --sync
// does not run out of file descriptors. The garbage collector is held off meanwhile, since an
// os.File's finalizer would close a leaked descriptor and hide the leak.
func TestSyncWritesHoldsNoDescriptor(t *testing.T) {
	const parts = 60
	srv := start(t, conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: t.TempDir(), SyncWrites: true})
	c := validatingClient(t, srv.URL)
	up := createUpload(t, c, 1<<20)
	addPart(t, c, up.ID, pattern(100)) // the keep-alive connection is open from here on
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	before := fds(t)
	for range parts {
		if r := addPart(t, c, up.ID, pattern(100)); r.JSON200 == nil {
			t.Fatalf("part: %d %s", r.StatusCode(), r.Body)
		}
	}
	if grown := fds(t) - before; grown > parts/10 {
		t.Errorf("%d more open descriptors after %d parts stored with SyncWrites", grown, parts)
	}
}
