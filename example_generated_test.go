package uploads_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// The generated client, one call per operation, in the order a program makes them: an Upload
// created, a part sent, the Upload completed; another Upload cancelled; a File created in one
// request, listed page by page, retrieved, downloaded, then deleted. It runs against the
// reference server; against OpenAI only baseURL and apiKey differ. README.md quotes it.
func Example_generatedClient() {
	srv, err := conformance.Start(conformance.ServerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "training_examples.jsonl")
	if err := os.WriteFile(path, []byte(strings.Repeat(`{"prompt":"hi","completion":"hello"}`+"\n", 1000)), 0o600); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	baseURL, apiKey := srv.URL, "sk-example" // against OpenAI: "https://api.openai.com/v1", os.Getenv("OPENAI_API_KEY")
	bearer := generated.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+apiKey)
		return nil
	})
	c, err := generated.NewClientWithResponses(baseURL, bearer)
	if err != nil {
		log.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		log.Fatal(err)
	}
	up, err := c.CreateUploadWithResponse(ctx, generated.CreateUploadRequest{
		Bytes:    info.Size(),
		Filename: "training_examples.jsonl",
		MimeType: "application/jsonl",
		Purpose:  generated.CreateUploadRequestPurposeFineTune,
		// optional: ExpiresAfter: &generated.FileExpirationAfter{Anchor: generated.FileExpirationAfterAnchorCreatedAt, Seconds: 86400},
	})
	if err != nil {
		log.Fatal(err) // a transport error
	}
	if up.JSON200 == nil {
		log.Fatalf("createUpload: %d %s", up.StatusCode(), up.Body) // an API error: up.JSON400, up.JSON401, …
	}
	uploadID := up.JSON200.ID // "upload_…", status pending, expires one hour after creation

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		w, err := mw.CreateFormFile("data", "part-0")
		if err == nil {
			_, err = io.Copy(w, io.NewSectionReader(f, 0, info.Size())) // one part: at most 64 MB
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	part, err := c.AddUploadPartWithBodyWithResponse(ctx, uploadID, mw.FormDataContentType(), pr)
	if err != nil {
		log.Fatal(err)
	}
	if part.JSON200 == nil {
		log.Fatalf("addUploadPart: %d %s", part.StatusCode(), part.Body)
	}
	partID := part.JSON200.ID // "part_…"

	h := md5.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, info.Size())); err != nil {
		log.Fatal(err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	done, err := c.CompleteUploadWithResponse(ctx, uploadID, generated.CompleteUploadRequest{
		PartIDs: []string{partID}, // every part, in file order
		MD5:     &sum,             // optional: the server checks it
	})
	if err != nil {
		log.Fatal(err)
	}
	if done.JSON200 == nil {
		log.Fatalf("completeUpload: %d %s", done.StatusCode(), done.Body)
	}
	fileID := done.JSON200.File.ID // the File, ready to use
	fmt.Println(done.JSON200.Status, done.JSON200.File.Bytes)

	other, err := c.CreateUploadWithResponse(ctx, generated.CreateUploadRequest{
		Bytes: 1, Filename: "unused.txt", MimeType: "text/plain", Purpose: generated.CreateUploadRequestPurposeAssistants,
	})
	if err != nil {
		log.Fatal(err)
	}
	if other.JSON200 == nil {
		log.Fatalf("createUpload: %d %s", other.StatusCode(), other.Body)
	}
	cancelled, err := c.CancelUploadWithResponse(ctx, other.JSON200.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cancelled.JSON200.Status) // "cancelled"

	body, bodyWriter := io.Pipe()
	form := multipart.NewWriter(bodyWriter)
	go func() {
		err := form.WriteField("purpose", "batch")
		for _, kv := range [][2]string{{"expires_after[anchor]", "created_at"}, {"expires_after[seconds]", "2592000"}} {
			if err == nil {
				err = form.WriteField(kv[0], kv[1])
			}
		}
		var w io.Writer
		if err == nil {
			w, err = form.CreateFormFile("file", "mydata.jsonl")
		}
		if err == nil {
			_, err = io.Copy(w, io.NewSectionReader(f, 0, info.Size())) // a file of at most 512 MB
		}
		if err == nil {
			err = form.Close()
		}
		bodyWriter.CloseWithError(err)
	}()
	created, err := c.CreateFileWithBodyWithResponse(ctx, form.FormDataContentType(), body)
	if err != nil {
		log.Fatal(err)
	}
	if created.JSON200 == nil {
		log.Fatalf("createFile: %d %s", created.StatusCode(), created.Body)
	}
	fmt.Println(created.JSON200.Filename, created.JSON200.Purpose)

	limit, order := int64(100), generated.ListFilesParamsOrderAsc
	params := &generated.ListFilesParams{Limit: &limit, Order: &order}
	for {
		page, err := c.ListFilesWithResponse(ctx, params)
		if err != nil {
			log.Fatal(err)
		}
		if page.JSON200 == nil {
			log.Fatalf("listFiles: %d %s", page.StatusCode(), page.Body)
		}
		for _, file := range page.JSON200.Data {
			fmt.Println(file.Filename, file.Bytes)
		}
		if !page.JSON200.HasMore {
			break
		}
		params.After = page.JSON200.LastID // the next page starts after the last file of this one
	}

	retrieved, err := c.RetrieveFileWithResponse(ctx, fileID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(retrieved.JSON200.Filename, retrieved.JSON200.Purpose)

	raw, err := generated.NewClient(baseURL, bearer)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := raw.DownloadFile(ctx, fileID)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := os.Create(filepath.Join(dir, "copy.jsonl"))
	if err != nil {
		log.Fatal(err)
	}
	defer out.Close()
	n, err := io.Copy(out, resp.Body) // streamed, never held whole
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, n)

	del, err := c.DeleteFileWithResponse(ctx, fileID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(del.JSON200.Deleted)
	// Output:
	// completed 37000
	// cancelled
	// mydata.jsonl batch
	// training_examples.jsonl 37000
	// mydata.jsonl 37000
	// training_examples.jsonl fine-tune
	// 200 37000
	// true
}
