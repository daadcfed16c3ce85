package main

import (
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// TestSplitPathKeepsTheDirectory: --output's directory (where the download is written before
// it replaces the file) is the path's own, also for a file at the root.
func TestSplitPathKeepsTheDirectory(t *testing.T) {
	for _, c := range []struct{ path, dir, base string }{
		{"out.bin", ".", "out.bin"},
		{"dl/out.bin", "dl/", "out.bin"},
		{"/tmp/dl/out.bin", "/tmp/dl/", "out.bin"},
		{"/out.bin", "/", "out.bin"},
	} {
		if dir, base := splitPath(c.path); dir != c.dir || base != c.base {
			t.Errorf("splitPath(%q) = %q, %q; want %q, %q", c.path, dir, base, c.dir, c.base)
		}
	}
}

// TestFilesListAllWithNoFiles: files list --all of an organization without files prints an
// empty list (no first or last id).
func TestFilesListAllWithNoFiles(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	list := decode[generated.ListFilesResponse](t, apiCLI(t, srv, "", "files", "list", "--all"))
	if len(list.Data) != 0 || list.FirstID != nil || list.LastID != nil || list.HasMore {
		t.Errorf("list %+v, want an empty page", list)
	}
}
