package helpers

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// The limits of UploadOptions at their exact edges: the last value accepted and the first
// refused, and the defaults normalize fills in. (badinput_test.go checks the messages, through
// the entry points, well past the edges.)

func TestNormalizeEdges(t *testing.T) {
	expires := func(s int64) *generated.FileExpirationAfter {
		return &generated.FileExpirationAfter{Anchor: generated.FileExpirationAfterAnchorCreatedAt, Seconds: s}
	}
	base := func() UploadOptions { return UploadOptions{Purpose: "batch", Filename: "a.jsonl"} }
	for _, tc := range []struct {
		name  string
		size  int64
		mod   func(*UploadOptions)
		field string // "" when accepted
	}{
		{"1 byte", 1, nil, ""},
		{"8 GiB exactly", MaxUploadSize, nil, ""},
		{"8 GiB and a byte", MaxUploadSize + 1, nil, "size"},
		{"part size 1", 1, func(o *UploadOptions) { o.PartSize = 1 }, ""},
		{"part size 64 MiB", MaxPartSize, func(o *UploadOptions) { o.PartSize = MaxPartSize }, ""},
		{"part size 64 MiB and a byte", MaxPartSize, func(o *UploadOptions) { o.PartSize = MaxPartSize + 1 }, "UploadOptions.PartSize"},
		{"part size -1", 1, func(o *UploadOptions) { o.PartSize = -1 }, "UploadOptions.PartSize"},
		{"10,000 parts exactly", MaxParts, func(o *UploadOptions) { o.PartSize = 1 }, ""},
		{"10,000 parts, the last short", 3*MaxParts - 2, func(o *UploadOptions) { o.PartSize = 3 }, ""},
		{"10,001 parts", MaxParts + 1, func(o *UploadOptions) { o.PartSize = 1 }, "UploadOptions.PartSize"},
		{"10,001 parts, the last of 1 byte", 3*MaxParts + 1, func(o *UploadOptions) { o.PartSize = 3 }, "UploadOptions.PartSize"},
		{"concurrency 1", 1, func(o *UploadOptions) { o.Concurrency = 1 }, ""},
		{"concurrency 32", 1, func(o *UploadOptions) { o.Concurrency = MaxConcurrency }, ""},
		{"concurrency 33", 1, func(o *UploadOptions) { o.Concurrency = MaxConcurrency + 1 }, "UploadOptions.Concurrency"},
		{"concurrency -1", 1, func(o *UploadOptions) { o.Concurrency = -1 }, "UploadOptions.Concurrency"},
		{"expires after 1 hour exactly", 1, func(o *UploadOptions) { o.ExpiresAfter = expires(MinExpiresAfterSeconds) }, ""},
		{"expires after 1 hour less a second", 1, func(o *UploadOptions) { o.ExpiresAfter = expires(MinExpiresAfterSeconds - 1) }, "UploadOptions.ExpiresAfter.Seconds"},
		{"expires after 30 days exactly", 1, func(o *UploadOptions) { o.ExpiresAfter = expires(MaxExpiresAfterSeconds) }, ""},
		{"expires after 30 days and a second", 1, func(o *UploadOptions) { o.ExpiresAfter = expires(MaxExpiresAfterSeconds + 1) }, "UploadOptions.ExpiresAfter.Seconds"},
		{"stall timeout 1ns", 1, func(o *UploadOptions) { o.StallTimeout = 1 }, ""},
		{"stall timeout -1ns", 1, func(o *UploadOptions) { o.StallTimeout = -1 }, "UploadOptions.StallTimeout"},
	} {
		o := base()
		if tc.mod != nil {
			tc.mod(&o)
		}
		_, err := o.normalize(tc.size)
		var inErr *InputError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &inErr) || inErr.Field != tc.field):
			t.Errorf("%s: err = %v, want an InputError on %s", tc.name, err, tc.field)
		}
	}
}

// TestNormalizeDefaults: what normalize fills in, and what it keeps as given.
func TestNormalizeDefaults(t *testing.T) {
	norm := func(t *testing.T, o UploadOptions) UploadOptions {
		t.Helper()
		o.Purpose = "batch"
		if o.Filename == "" {
			o.Filename = "a.jsonl"
		}
		n, err := o.normalize(10)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("MaxRetries", func(t *testing.T) {
		for in, want := range map[int]int{0: DefaultPartRetries, -1: 0, -3: 0, 1: 1, 9: 9} {
			if got := norm(t, UploadOptions{MaxRetries: in}).MaxRetries; got != want {
				t.Errorf("MaxRetries %d: %d, want %d", in, got, want)
			}
		}
	})
	t.Run("PartSize", func(t *testing.T) {
		if got := norm(t, UploadOptions{}).PartSize; got != DefaultPartSize {
			t.Errorf("PartSize 0: %d, want %d", got, DefaultPartSize)
		}
		if got := norm(t, UploadOptions{PartSize: 5}).PartSize; got != 5 {
			t.Errorf("PartSize 5: %d", got)
		}
	})
	t.Run("MIMEType", func(t *testing.T) {
		if got := norm(t, UploadOptions{}).MIMEType; got != "application/jsonl" {
			t.Errorf("from a.jsonl: %q, want application/jsonl", got)
		}
		if got := norm(t, UploadOptions{MIMEType: "text/plain"}).MIMEType; got != "text/plain" {
			t.Errorf("explicit text/plain on a.jsonl: %q, want it kept", got)
		}
		if got := norm(t, UploadOptions{Filename: "model.weights", MIMEType: "application/octet-stream"}).MIMEType; got != "application/octet-stream" {
			t.Errorf("explicit type on an unknown extension: %q", got)
		}
	})
	t.Run("MD5", func(t *testing.T) {
		if got := norm(t, UploadOptions{MD5: strings.ToUpper("0123456789abcdef0123456789abcdef")}).MD5; got != "0123456789abcdef0123456789abcdef" {
			t.Errorf("an upper-case md5 becomes %q, want lower case", got)
		}
	})
	t.Run("StallTimeout", func(t *testing.T) {
		if got := norm(t, UploadOptions{StallTimeout: time.Second}).StallTimeout; got != time.Second {
			t.Errorf("StallTimeout 1s: %v", got)
		}
	})
}

// TestPartCount: the number of parts at the edges of a part.
func TestPartCount(t *testing.T) {
	for _, tc := range []struct{ size, partSize, want int64 }{
		{1, 3, 1}, {3, 3, 1}, {4, 3, 2}, {6, 3, 2}, {7, 3, 3}, {MaxUploadSize, MaxPartSize, 128},
	} {
		if got := partCount(tc.size, tc.partSize); got != tc.want {
			t.Errorf("partCount(%d, %d) = %d, want %d", tc.size, tc.partSize, got, tc.want)
		}
	}
}
