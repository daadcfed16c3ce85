package helpers_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// The examples run against the reference server on 127.0.0.1, as a program runs against
// OpenAI: only the key and the base URL differ. (README.md quotes them; a test keeps it so.)

// exampleServer starts a reference server and returns it with a client of it. The example must
// close the server when it ends: until then a guard bounds it (guardExample).
func exampleServer() (guardedServer, *helpers.Client) {
	srv, err := conformance.Start(conformance.ServerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	client, err := helpers.NewClient(helpers.ClientOptions{APIKey: "sk-example", BaseURL: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	return guardExample(srv), client
}

// Upload a file in parallel parts: the md5 is computed on the way, parts are retried, the Upload
// is cancelled if it fails.
func ExampleClient_UploadFile() {
	srv, err := conformance.Start(conformance.ServerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.jsonl")
	_ = os.WriteFile(path, []byte(strings.Repeat(`{"prompt":"hi","completion":"hello"}`+"\n", 100000)), 0o600)

	// With the zero ClientOptions the key comes from OPENAI_API_KEY and the base URL is
	// OpenAI's (or OPENAI_BASE_URL); here they point at the reference server.
	client, err := helpers.NewClient(helpers.ClientOptions{APIKey: "sk-example", BaseURL: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	up, err := client.UploadFile(context.Background(), path, helpers.UploadOptions{
		Purpose:  "fine-tune",
		PartSize: 1 << 20, // 1 MiB parts for the example; the default is 64 MiB
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(up.Status, up.File.ID != "", up.File.Bytes, up.File.Filename, up.File.Purpose)
	// Output: completed true 3700000 train.jsonl fine-tune
}

// Resume: with a checkpoint, a failed upload stays pending, and the next call with the same
// checkpoint sends only the parts that are missing.
func ExampleUploadOptions_checkpoint() {
	srv, client := exampleServer()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "batch.jsonl")
	_ = os.WriteFile(path, make([]byte, 8<<20), 0o600)

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
	_, err := client.UploadFile(ctx, path, first)
	var upErr *helpers.UploadError
	fmt.Println(errors.As(err, &upErr) && upErr.Resumable)

	before := srv.Stats().PartsStored
	up, err := client.UploadFile(context.Background(), path, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(up.Status, up.ID == upErr.UploadID, srv.Stats().PartsStored-before < 8)
	// Output:
	// true
	// completed true true
}

// Upload from any io.ReaderAt (here bytes in memory): parts are sections of it, streamed, never
// copied.
func ExampleClient_UploadReaderAt() {
	srv, client := exampleServer()
	defer srv.Close()

	data := bytes.Repeat([]byte(`{"custom_id":"r1","method":"POST","url":"/v1/chat/completions","body":{}}`+"\n"), 40000)
	up, err := client.UploadReaderAt(context.Background(), bytes.NewReader(data), int64(len(data)), helpers.UploadOptions{
		Purpose:  "batch",
		Filename: "requests.jsonl", // required: a reader has no name
		PartSize: 1 << 20,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(up.Status, up.File.Bytes, up.File.Filename)
	// Output: completed 2960000 requests.jsonl
}

// Upload from a plain io.Reader of known size (stdin, a pipe, a network stream): parts are read
// in order into at most Concurrency+1 buffers.
func ExampleClient_UploadReader() {
	srv, client := exampleServer()
	defer srv.Close()

	line := `{"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}]}` + "\n"
	const lines = 30000
	pr, pw := io.Pipe()
	go func() { // a producer writing as the upload reads
		for range lines {
			if _, err := io.WriteString(pw, line); err != nil {
				return
			}
		}
		pw.Close()
	}()
	up, err := client.UploadReader(context.Background(), pr, int64(lines*len(line)), helpers.UploadOptions{
		Purpose:     "fine-tune",
		Filename:    "chat.jsonl",
		PartSize:    1 << 20,
		Concurrency: 2, // with PartSize, the memory bound: (2+1) buffers of 1 MiB
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(up.Status, up.File.Bytes, up.File.Filename)
	// Output: completed 2490000 chat.jsonl
}

// Wait until OpenAI has processed a new File before using it (a fine-tuning job refuses a File
// still being processed). The reference server processes Files at once.
func ExampleClient_WaitForProcessing() {
	srv, client := exampleServer()
	defer srv.Close()
	ctx := context.Background()
	file, err := client.CreateFile(ctx, strings.NewReader(`{"prompt":"a","completion":"b"}`+"\n"), 32, "train.jsonl", "fine-tune", nil)
	if err != nil {
		log.Fatal(err)
	}

	processed, err := client.WaitForProcessing(ctx, file.ID, helpers.WaitOptions{}) // polls with backoff, 30 min at most
	var failed *helpers.ProcessingError
	var timedOut *helpers.WaitTimeoutError
	switch {
	case errors.As(err, &failed):
		log.Fatalf("%s was refused: %v", file.ID, err) // failed.File.StatusDetails says why
	case errors.As(err, &timedOut):
		log.Fatalf("still %s after %s", timedOut.Status, timedOut.Timeout)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println(processed.Status)
	// Output: processed
}

// List every file, page after page (has_more, after), as a range loop.
func ExampleClient_ListAllFiles() {
	srv, client := exampleServer()
	defer srv.Close()
	ctx := context.Background()
	for _, name := range []string{"a.jsonl", "b.jsonl", "c.jsonl"} {
		if _, err := client.CreateFile(ctx, strings.NewReader("{}\n"), 3, name, "batch", nil); err != nil {
			log.Fatal(err)
		}
	}

	pageSize, order := int64(2), generated.ListFilesParamsOrderAsc
	for f, err := range client.ListAllFiles(ctx, &generated.ListFilesParams{Limit: &pageSize, Order: &order}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(f.Filename, f.Purpose)
	}
	// Output:
	// a.jsonl batch
	// b.jsonl batch
	// c.jsonl batch
}

// One call per API operation, with typed results and errors.
func ExampleClient_operations() {
	srv, client := exampleServer()
	defer srv.Close()
	ctx := context.Background()
	data := []byte(strings.Repeat(`{"a":1}`+"\n", 1000))
	sum := md5.Sum(data)
	md5hex := hex.EncodeToString(sum[:])

	up, err := client.CreateUpload(ctx, generated.CreateUploadRequest{
		Bytes: int64(len(data)), Filename: "a.jsonl", MimeType: "application/jsonl", Purpose: "batch",
	})
	if err != nil {
		log.Fatal(err)
	}
	part, err := client.AddUploadPart(ctx, up.ID, bytes.NewReader(data), int64(len(data))) // streamed
	if err != nil {
		log.Fatal(err)
	}
	done, err := client.CompleteUpload(ctx, up.ID, []string{part.ID}, md5hex) // the server checks the md5
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(done.Status, done.File.Bytes)

	other, err := client.CreateUpload(ctx, generated.CreateUploadRequest{Bytes: 1, Filename: "b.txt", MimeType: "text/plain", Purpose: "assistants"})
	if err != nil {
		log.Fatal(err)
	}
	cancelled, err := client.CancelUpload(ctx, other.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cancelled.Status)

	file, err := client.CreateFile(ctx, bytes.NewReader(data), int64(len(data)), "b.jsonl", "batch", nil) // POST /files, up to 512 MB
	if err != nil {
		log.Fatal(err)
	}
	page, err := client.ListFiles(ctx, &generated.ListFilesParams{})
	if err != nil {
		log.Fatal(err)
	}
	info, err := client.RetrieveFile(ctx, file.ID)
	if err != nil {
		log.Fatal(err)
	}
	body, err := client.DownloadFile(ctx, file.ID) // an io.ReadCloser of the bytes
	if err != nil {
		log.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, body)
	body.Close()
	del, err := client.DeleteFile(ctx, file.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(page.Data), info.Filename, n, del.Deleted)

	_, err = client.RetrieveFile(ctx, file.ID)
	var apiErr *helpers.APIError // any non-2xx: StatusCode, Type, Code, Param, Message, RequestID, RetryAfter
	if errors.As(err, &apiErr) && apiErr.StatusCode == 404 {
		fmt.Println(apiErr.StatusCode, apiErr.Param)
	}
	// Output:
	// completed 8000
	// cancelled
	// 2 b.jsonl 8000 true
	// 404 file_id
}
