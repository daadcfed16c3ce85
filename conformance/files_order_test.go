package conformance_test

import (
	"context"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// TestCompletedFilesListNewestFirst: Files made by completing Uploads one after another, and a
// File created after them, are listed newest first.
func TestCompletedFilesListNewestFirst(t *testing.T) {
	ctx := context.Background()
	srv := start(t, conformance.ServerOptions{})
	c := validatingClient(t, srv.URL)
	var ids []string
	for range 2 {
		up := createUpload(t, c, 1)
		p := addPart(t, c, up.ID, []byte("x")).JSON200
		done, err := c.CompleteUploadWithResponse(ctx, up.ID, generated.CompleteUploadRequest{PartIDs: []string{p.ID}})
		if err != nil || done.JSON200 == nil || done.JSON200.File == nil {
			t.Fatalf("complete: %v %s", err, done.Body)
		}
		ids = append(ids, done.JSON200.File.ID)
	}
	ids = append(ids, mustCreateFile(t, c, "last.jsonl", []byte("{}"), "purpose", "batch").ID)
	list, err := c.ListFilesWithResponse(ctx, nil)
	if err != nil || list.JSON200 == nil || len(list.JSON200.Data) != 3 {
		t.Fatalf("list: %v %s", err, list.Body)
	}
	for i, f := range list.JSON200.Data {
		if want := ids[len(ids)-1-i]; f.ID != want {
			t.Errorf("list[%d] = %s, want %s (newest first: %v reversed)", i, f.ID, want, ids)
		}
	}
}
