package conformance_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-uploads/uploads/conformance"
)

// TestOpenAIGoAgainstReferenceServer drives OpenAI's own Go SDK (openai-go v3), unchanged,
// against the reference server through the validating transport: what openai-go sends and what
// the server answers must both conform to the spec.
func TestOpenAIGoAgainstReferenceServer(t *testing.T) {
	srv := start(t, conformance.ServerOptions{APIKey: testKey})
	report := &conformance.Report{}
	client := openai.NewClient(
		option.WithBaseURL(srv.URL+"/"),
		option.WithAPIKey(testKey),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: &conformance.Transport{Base: newBase(t), Report: report}}),
	)
	ctx := context.Background()
	data := pattern(2<<20 + 99)

	up, err := client.Uploads.New(ctx, openai.UploadNewParams{
		Bytes: int64(len(data)), Filename: "train.jsonl", MimeType: "application/jsonl", Purpose: openai.FilePurposeFineTune,
		ExpiresAfter: openai.UploadNewParamsExpiresAfter{Seconds: 86400},
	})
	if err != nil {
		t.Fatalf("uploads.new: %v", err)
	}
	var ids []string
	for _, chunk := range [][]byte{data[:1<<20], data[1<<20:]} {
		part, err := client.Uploads.Parts.New(ctx, up.ID, openai.UploadPartNewParams{Data: bytes.NewReader(chunk)})
		if err != nil {
			t.Fatalf("uploads.parts.new: %v", err)
		}
		ids = append(ids, part.ID)
	}
	done, err := client.Uploads.Complete(ctx, up.ID, openai.UploadCompleteParams{PartIDs: ids, Md5: openai.String(md5hex(data))})
	if err != nil {
		t.Fatalf("uploads.complete: %v", err)
	}
	if done.Status != "completed" || done.File.ID == "" || done.File.Bytes != int64(len(data)) || done.File.ExpiresAt != done.File.CreatedAt+86400 {
		t.Fatalf("completed %+v", done)
	}

	cancelled, err := client.Uploads.New(ctx, openai.UploadNewParams{Bytes: 1, Filename: "x", MimeType: "text/plain", Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := client.Uploads.Cancel(ctx, cancelled.ID); err != nil || c.Status != "cancelled" {
		t.Fatalf("uploads.cancel: %v %+v", err, c)
	}

	f, err := client.Files.New(ctx, openai.FileNewParams{
		File: strings.NewReader("{}\n"), Purpose: openai.FilePurposeEvals,
		ExpiresAfter: openai.FileNewParamsExpiresAfter{Seconds: 3600},
	})
	if err != nil {
		t.Fatalf("files.new: %v", err)
	}
	if f.Filename != "anonymous_file" || f.ExpiresAt != f.CreatedAt+3600 || f.Purpose != "evals" {
		t.Errorf("files.new returned %+v", f)
	}
	got, err := client.Files.Get(ctx, done.File.ID)
	if err != nil || got.Bytes != int64(len(data)) {
		t.Fatalf("files.get: %v %+v", err, got)
	}
	var listed int
	iter := client.Files.ListAutoPaging(ctx, openai.FileListParams{Limit: openai.Int(1)})
	for iter.Next() {
		listed++
		if listed > 2 {
			break // more Files than there are: a page repeats, and the paging would never end
		}
	}
	if err := iter.Err(); err != nil || listed != 2 {
		t.Fatalf("files.list paged through %d files (%v), want 2", listed, err)
	}
	resp, err := client.Files.Content(ctx, done.File.ID)
	if err != nil {
		t.Fatalf("files.content: %v", err)
	}
	content, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(content, data) {
		t.Fatalf("files.content: %d bytes (%v), want the %d uploaded, byte-exact", len(content), err, len(data))
	}
	if del, err := client.Files.Delete(ctx, f.ID); err != nil || !del.Deleted {
		t.Fatalf("files.delete: %v %+v", err, del)
	}
	_, err = client.Files.Get(ctx, f.ID)
	var apiErr *openai.Error
	if !asOpenAIError(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("files.get after delete: %v", err)
	}

	if err := report.Err(); err != nil {
		t.Errorf("openai-go's traffic broke the contract:\n%v", err)
	}
	if st := srv.Stats(); st.Unauthorized != 0 {
		t.Errorf("%d requests were refused for their key", st.Unauthorized)
	}
}

func asOpenAIError(err error, target **openai.Error) bool {
	return err != nil && errors.As(err, target)
}
