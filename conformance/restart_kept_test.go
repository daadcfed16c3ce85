package conformance_test

import (
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// TestRestartKeepsThePartsThatSurvived: when one part's bytes are gone at a start, only that
// part is dropped; the Upload's other part is kept, in memory and in the state on disk, so a
// further start still has it.
func TestRestartKeepsThePartsThatSurvived(t *testing.T) {
	dir := t.TempDir()
	opts := conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: dir}
	first, err := conformance.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := validatingClient(t, first.URL)
	up := createUpload(t, c, 3000)
	for _, n := range []int{300, 500} {
		if r := addPart(t, c, up.ID, pattern(n)); r.StatusCode() != 200 {
			t.Fatalf("part: %d %s", r.StatusCode(), r.Body)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if removed := removeBlobsOfSize(t, dir, 500); removed != 1 {
		t.Fatalf("%d blobs of 500 bytes removed, want the one part's", removed)
	}
	second, err := conformance.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Restored(); got.Lost != 1 || got.Parts != 1 {
		t.Errorf("second start restored %+v, want 1 part lost and 1 kept", got)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if got := start(t, opts).Restored(); got.Lost != 0 || got.Parts != 1 || got.PendingUploads != 1 {
		t.Errorf("third start restored %+v, want the kept part and nothing lost", got)
	}
}
