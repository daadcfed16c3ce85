package helpers_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/openai-uploads/uploads/helpers"
)

// Upload several files at once: one budget of requests in flight for all of them (adaptive by
// default), small files in one POST /files request each, larger ones through an Upload; one
// result per path, in order.
func ExampleClient_UploadFiles() {
	srv, client := exampleServer()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	var paths []string
	for i, n := range []int{100, 200, 300000} {
		p := filepath.Join(dir, fmt.Sprintf("doc-%d.jsonl", i))
		_ = os.WriteFile(p, []byte(strings.Repeat(`{"text":"a line of a document"}`+"\n", n)), 0o600)
		paths = append(paths, p)
	}

	results, err := client.UploadFiles(context.Background(), paths, helpers.UploadFilesOptions{
		Purpose: "assistants",
		// Files up to 8 MiB (the default) go in one POST /files; the last one, 9.6 MB, in parts.
		PartSize: 4 << 20,
	})
	if err != nil {
		log.Fatal(err) // a *helpers.FilesError when some failed: each result's Err says why
	}
	for _, r := range results {
		fmt.Println(filepath.Base(r.Path), r.File.Bytes, r.Upload != nil)
	}
	// Output:
	// doc-0.jsonl 3200 false
	// doc-1.jsonl 6400 false
	// doc-2.jsonl 9600000 true
}
