package helpers_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// TestUploadReaderThatFails: a plain reader fails in its second part. The upload fails with the
// reader's error, naming the part and its bytes; the Upload is cancelled and no File is made.
func TestUploadReaderThatFails(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	errDisk := errors.New("disk on fire")
	data := pattern(3 * testPartSize)
	r := io.MultiReader(bytes.NewReader(data[:testPartSize+10]), iotest.ErrReader(errDisk))
	_, err := c.UploadReader(hangGuard(t), r, int64(len(data)), helpers.UploadOptions{Purpose: "batch", Filename: "train.jsonl", PartSize: testPartSize})
	if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "reading part 1 (bytes 65536-131071)") {
		t.Fatalf("err = %v, want the reader's error, naming part 1 and its bytes", err)
	}
	var upErr *helpers.UploadError
	if !errors.As(err, &upErr) || !upErr.Cancelled {
		t.Fatalf("err = %v, want the Upload cancelled", err)
	}
	if u, _ := srv.Upload(upErr.UploadID); u.Status != generated.UploadStatusCancelled || fileCount(t, c) != 0 {
		t.Errorf("the Upload is %q with %d File(s), want cancelled and none", u.Status, fileCount(t, c))
	}
}

// TestUploadReaderAtThatEndsEarly: an io.ReaderAt that holds fewer bytes than the size given
// (one whose size cannot be asked; here parts are sent one at a time, without the md5 pass)
// fails in the part where it ends, with ErrSourceChanged naming that part and its bytes; no
// File is made.
func TestUploadReaderAtThatEndsEarly(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	data := pattern(testPartSize + 10)
	_, err := c.UploadReaderAt(hangGuard(t), struct{ io.ReaderAt }{bytes.NewReader(data)}, 3*testPartSize, helpers.UploadOptions{
		Purpose: "batch", Filename: "train.jsonl", PartSize: testPartSize, Concurrency: 1, SkipMD5: true})
	if !errors.Is(err, helpers.ErrSourceChanged) || !strings.Contains(err.Error(), "part 1 (bytes 65536-131071): the source ended 65526 bytes early") {
		t.Fatalf("err = %v, want ErrSourceChanged naming part 1, its bytes and how many were missing", err)
	}
	if fileCount(t, c) != 0 {
		t.Error("a File was made")
	}
}
