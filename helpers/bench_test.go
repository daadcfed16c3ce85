package helpers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// BenchmarkUploadFile uploads a 256 MiB file over loopback to the reference server for two part
// sizes, md5 on and off: MB/s, and bytes allocated per upload (client and server together; the
// server stores to disk, so its share is small), which must not grow with the part size. The
// link simulation, 1 GiB and peak RSS are in cmd/uploads-bench.
func BenchmarkUploadFile(b *testing.B) {
	const size = 256 << 20
	path := filepath.Join(b.TempDir(), "data.jsonl")
	if err := os.WriteFile(path, pattern(size), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, md5 := range []bool{true, false} {
		for _, partSize := range []int64{8 << 20, 64 << 20} {
			for _, ckpt := range []bool{false, true} {
				if ckpt && partSize != 8<<20 {
					continue
				}
				name := fmt.Sprintf("md5=%v/part=%dMiB", md5, partSize>>20)
				if ckpt {
					name += "/checkpoint" // each part's md5 as it is sent, and the checkpoint saved
				}
				benchmarkUpload(b, name, path, size, helpers.UploadOptions{Purpose: "batch", PartSize: partSize, SkipMD5: !md5}, ckpt)
			}
		}
	}
}

func benchmarkUpload(b *testing.B, name, path string, size int64, opts helpers.UploadOptions, ckpt bool) {
	b.Run(name, func(b *testing.B) {
		srv := startServer(b, conformance.ServerOptions{Storage: conformance.DiskStorage})
		c := newClient(b, srv.URL, func(o *helpers.ClientOptions) { o.HTTPClient = nil })
		if ckpt {
			opts.Checkpoint = filepath.Join(b.TempDir(), "cp.json")
		}
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			up, err := c.UploadFile(context.Background(), path, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := c.DeleteFile(context.Background(), up.File.ID); err != nil { // keep the storage small
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}
