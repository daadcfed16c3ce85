package helpers_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// Upload a file in parallel parts: this is what a program does against the real API, here
// pointed at the reference server on 127.0.0.1.
func ExampleClient_UploadFile() {
	srv, err := conformance.Start(conformance.ServerOptions{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.jsonl")
	_ = os.WriteFile(path, []byte(strings.Repeat(`{"prompt":"hi","completion":"hello"}`+"\n", 100000)), 0o600)

	// With the zero ClientOptions the key comes from OPENAI_API_KEY and the base URL is
	// OpenAI's; here both point at the reference server.
	client, err := helpers.NewClient(helpers.ClientOptions{APIKey: "sk-example", BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	up, err := client.UploadFile(context.Background(), path, helpers.UploadOptions{
		Purpose:  "fine-tune",
		PartSize: 1 << 20, // 1 MiB parts for the example; the default is 64 MiB
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(up.Status, up.File.Bytes, up.File.Filename, up.File.Purpose)
	// Output: completed 3700000 train.jsonl fine-tune
}

// Resume: with a checkpoint, a failed upload stays pending, and the next call with the same
// checkpoint sends only the parts that are missing.
func ExampleUploadOptions_checkpoint() {
	srv, err := conformance.Start(conformance.ServerOptions{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "batch.jsonl")
	_ = os.WriteFile(path, make([]byte, 8<<20), 0o600)
	client, _ := helpers.NewClient(helpers.ClientOptions{APIKey: "sk-example", BaseURL: srv.URL})

	opts := helpers.UploadOptions{
		Purpose: "batch", PartSize: 1 << 20, Concurrency: 1,
		Checkpoint: filepath.Join(dir, "batch.jsonl.checkpoint"),
	}
	ctx, stop := context.WithCancel(context.Background())
	first := opts
	first.Progress = func(p helpers.Progress) {
		if p.PartsDone == 3 {
			stop() // the program is interrupted after three parts
		}
	}
	_, err = client.UploadFile(ctx, path, first)
	var upErr *helpers.UploadError
	fmt.Println(errors.As(err, &upErr) && upErr.Resumable)

	before := srv.Stats().PartsStored
	up, err := client.UploadFile(context.Background(), path, opts)
	if err != nil {
		panic(err)
	}
	fmt.Println(up.Status, up.ID == upErr.UploadID, srv.Stats().PartsStored-before < 8)
	// Output:
	// true
	// completed true true
}
