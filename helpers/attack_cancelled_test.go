package helpers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// TestUploadWithAContextAlreadyCancelled: a call whose context is over before it starts (a file
// of UploadFiles that waited for its turn while the user pressed Ctrl-C) sends nothing: no
// Upload is created only to be cancelled.
func TestUploadWithAContextAlreadyCancelled(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	path := writeFile(t, "train.jsonl", pattern(3*testPartSize))
	for _, ckpt := range []string{"", t.TempDir() + "/cp.json"} {
		_, err := c.UploadFile(ctx, path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Checkpoint: ckpt})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("checkpoint %q: err = %v, want context.Canceled", ckpt, err)
		}
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests sent with a cancelled context (%v)", n, srv.Stats().Operations)
	}
}
