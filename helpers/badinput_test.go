package helpers_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// zeros is an io.ReaderAt of any size that holds no memory.
type zeros struct{}

func (zeros) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

// TestUploadRejectsBadInputBeforeAnyRequest: every bad input is refused with an error naming the
// field and the limit, and the server sees no request at all.
func TestUploadRejectsBadInputBeforeAnyRequest(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	ctx := context.Background()
	dir := t.TempDir()
	good := writeFile(t, "train.jsonl", pattern(1000))
	many := writeFile(t, "many.jsonl", pattern(20001))
	empty := writeFile(t, "empty.jsonl", nil)
	huge := filepath.Join(dir, "huge.jsonl")
	if f, err := os.Create(huge); err != nil {
		t.Fatal(err)
	} else {
		if err := f.Truncate(helpers.MaxUploadSize + 1); err != nil { // sparse: no disk used
			t.Fatal(err)
		}
		f.Close()
	}
	unknownExt := writeFile(t, "model.weights", pattern(10))
	opts := func(mod func(*helpers.UploadOptions)) helpers.UploadOptions {
		o := helpers.UploadOptions{Purpose: "fine-tune"}
		if mod != nil {
			mod(&o)
		}
		return o
	}
	file := func(path string, o helpers.UploadOptions) func() error {
		return func() error { _, err := c.UploadFile(ctx, path, o); return err }
	}

	for _, tc := range []struct {
		name  string
		call  func() error
		wants []string // the field, and the limit or the reason
	}{
		{"missing purpose", file(good, helpers.UploadOptions{}), []string{"Purpose", "required", "fine-tune"}},
		{"unknown purpose", file(good, opts(func(o *helpers.UploadOptions) { o.Purpose = "training" })), []string{"Purpose", "training", "assistants, batch, fine-tune, vision, user_data, evals"}},
		{"empty file", file(empty, opts(nil)), []string{"size", "empty", "at least 1 byte"}},
		{"file above 8 GB", file(huge, opts(nil)), []string{"size", "8589934592", "8 GB"}},
		{"reader-at above 8 GB", func() error {
			_, err := c.UploadReaderAt(ctx, zeros{}, helpers.MaxUploadSize+1, opts(func(o *helpers.UploadOptions) { o.Filename = "a.jsonl" }))
			return err
		}, []string{"size", "8589934592"}},
		{"negative size", func() error {
			_, err := c.UploadReader(ctx, strings.NewReader("x"), -1, opts(func(o *helpers.UploadOptions) { o.Filename = "a.jsonl" }))
			return err
		}, []string{"size", "negative"}},
		{"negative part size", file(good, opts(func(o *helpers.UploadOptions) { o.PartSize = -1 })), []string{"PartSize", "positive", "67108864"}},
		{"part size above 64 MiB", file(good, opts(func(o *helpers.UploadOptions) { o.PartSize = 64<<20 + 1 })), []string{"PartSize", "67108864", "64 MiB"}},
		{"too many parts", file(many, opts(func(o *helpers.UploadOptions) { o.PartSize = 1 })), []string{"PartSize", "20001 parts", "at least 3 bytes"}},
		{"too many parts, a multiple of the maximum", func() error {
			_, err := c.UploadReaderAt(ctx, zeros{}, 2*helpers.MaxParts, opts(func(o *helpers.UploadOptions) { o.Filename = "a.jsonl"; o.PartSize = 1 }))
			return err
		}, []string{"PartSize", "20000 parts", "at least 2 bytes"}},
		{"too many parts of a big file", func() error {
			_, err := c.UploadReaderAt(ctx, zeros{}, 8<<30, opts(func(o *helpers.UploadOptions) { o.Filename = "a.jsonl"; o.PartSize = 64 << 10 }))
			return err
		}, []string{"PartSize", "131072 parts", "maximum of 10000", "858994"}},
		{"negative concurrency", file(good, opts(func(o *helpers.UploadOptions) { o.Concurrency = -2 })), []string{"Concurrency", "at least 1"}},
		{"concurrency above the maximum", file(good, opts(func(o *helpers.UploadOptions) { o.Concurrency = 1000 })), []string{"Concurrency", "32"}},
		{"empty filename", func() error {
			_, err := c.UploadReaderAt(ctx, bytes.NewReader([]byte("x")), 1, opts(nil))
			return err
		}, []string{"Filename", "empty"}},
		{"blank filename", file(good, opts(func(o *helpers.UploadOptions) { o.Filename = "  " })), []string{"Filename", "empty"}},
		{"unknown MIME type", file(unknownExt, opts(nil)), []string{"MIMEType", "model.weights", "extension"}},
		{"malformed MIME type", file(good, opts(func(o *helpers.UploadOptions) { o.MIMEType = "jsonl" })), []string{"MIMEType", "jsonl", "type/subtype"}},
		{"expires_after below an hour", file(good, opts(func(o *helpers.UploadOptions) {
			o.ExpiresAfter = &generated.FileExpirationAfter{Anchor: "created_at", Seconds: 60}
		})), []string{"UploadOptions.ExpiresAfter.Seconds", "3600..2592000"}},
		{"expires_after above 30 days", file(good, opts(func(o *helpers.UploadOptions) {
			o.ExpiresAfter = &generated.FileExpirationAfter{Anchor: "created_at", Seconds: 2592001}
		})), []string{"UploadOptions.ExpiresAfter.Seconds", "3600..2592000"}},
		{"expires_after anchor", file(good, opts(func(o *helpers.UploadOptions) {
			o.ExpiresAfter = &generated.FileExpirationAfter{Anchor: "last_used", Seconds: 3600}
		})), []string{"UploadOptions.ExpiresAfter.Anchor", "created_at"}},
		{"malformed md5", file(good, opts(func(o *helpers.UploadOptions) { o.MD5 = "abc" })), []string{"MD5", "32 hexadecimal digits"}},
		{"md5 with SkipMD5", file(good, opts(func(o *helpers.UploadOptions) { o.MD5 = md5hex(nil); o.SkipMD5 = true })), []string{"MD5", "SkipMD5"}},
		{"size does not match the source", func() error {
			_, err := c.UploadReaderAt(ctx, bytes.NewReader(pattern(100)), 99, opts(func(o *helpers.UploadOptions) { o.Filename = "a.jsonl" }))
			return err
		}, []string{"size", "99", "100"}},
		{"checkpoint with a reader", func() error {
			_, err := c.UploadReader(ctx, strings.NewReader("x"), 1, opts(func(o *helpers.UploadOptions) { o.Filename = "a.jsonl"; o.Checkpoint = "cp" }))
			return err
		}, []string{"Checkpoint", "UploadFile"}},
		{"negative stall timeout", file(good, opts(func(o *helpers.UploadOptions) { o.StallTimeout = -time.Second })), []string{"UploadOptions.StallTimeout", "-1s", "positive"}},
		{"a directory", file(dir, opts(nil)), []string{dir, "not a regular file"}},
		{"a missing file", file(filepath.Join(dir, "nope.jsonl"), opts(nil)), []string{"nope.jsonl", "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("accepted")
			}
			var inErr *helpers.InputError
			if tc.name != "a missing file" && !errors.As(err, &inErr) {
				t.Errorf("%v (%T) is not an *InputError", err, err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("the server saw %d requests, want none", n)
	}
}
