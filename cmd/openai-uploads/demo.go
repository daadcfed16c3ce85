package main

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// Defaults of the demo.
const (
	demoDefaultSize = 256 << 20
	demoMinSize     = 64
	demoKey         = "sk-demo-local-reference-server" // the embedded server accepts any key
)

func (a *app) demoCommand() *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "upload a file through the embedded reference server on 127.0.0.1 and check it came back intact (no key, no network)",
		ArgsUsage: "[PATH] (default: a generated sample JSONL file of --size bytes)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "size", Value: "256MiB", Usage: "size of the generated sample (when no PATH is given), a size such as 1GiB or 500MB"},
			&cli.StringFlag{Name: "part-size", Value: "64MiB", Usage: "bytes per part, a size of at most 64MiB"},
			&cli.IntFlag{Name: "concurrency", HideDefault: true, Usage: "parts in flight, 1..32 (default: adaptive, from 4 up to 32)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress on stderr"},
		},
		Action: a.demo,
	}
}

func (a *app) demo(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() > 1 {
		return usagef("demo takes at most one PATH, got %d arguments", cmd.Args().Len())
	}
	partSize, err := parseSize(cmd.String("part-size"))
	if err != nil {
		return usagef("--part-size: %v", err)
	}
	if partSize < 1 || partSize > helpers.MaxPartSize {
		return usagef("--part-size must be between 1 byte and 64MiB, got %q", cmd.String("part-size"))
	}
	if c := cmd.Int("concurrency"); cmd.IsSet("concurrency") && (c < 1 || c > helpers.MaxConcurrency) {
		return usagef("--concurrency must be between 1 and %d, got %d", helpers.MaxConcurrency, c)
	}

	dir, err := os.MkdirTemp("", "openai-uploads-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	path := cmd.Args().First()
	var wantMD5 string
	if path == "" {
		size, err := parseSize(cmd.String("size"))
		if err != nil {
			return usagef("--size: %v", err)
		}
		if size < demoMinSize || size > helpers.MaxUploadSize {
			return usagef("--size must be between %d bytes and 8GiB, got %q", demoMinSize, cmd.String("size"))
		}
		path = filepath.Join(dir, "sample.jsonl")
		fmt.Fprintf(a.stderr, "demo: writing a %s sample JSONL file\n", humanBytes(size))
		if wantMD5, err = writeSample(ctx, path, size); err != nil {
			return stopped{while: "while writing the sample file; nothing was uploaded", err: err}
		}
	} else if _, err := os.Stat(path); err != nil {
		return usagef("PATH: %s", fileProblem(err))
	}

	srv, err := conformance.Start(conformance.ServerOptions{Storage: conformance.DiskStorage, StorageDir: filepath.Join(dir, "server")})
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(a.stderr, "demo: reference server at %s\n", srv.URL)

	c, err := helpers.NewClient(helpers.ClientOptions{APIKey: demoKey, BaseURL: srv.URL, HTTPClient: a.httpClient})
	if err != nil {
		return err
	}
	view := a.newProgressView(cmd.Bool("quiet"), filepath.Base(path))
	start := time.Now()
	streams := 0 // the most parts in flight allowed (the adaptive window's peak)
	up, err := c.UploadFile(ctx, path, helpers.UploadOptions{
		Purpose: "fine-tune", MIMEType: "application/jsonl", PartSize: partSize, Concurrency: cmd.Int("concurrency"),
		Progress: func(p helpers.Progress) { streams = max(streams, p.Streams); view.update(p) }, Notify: view.notice,
	})
	elapsed := time.Since(start)
	view.finish(err)
	if err != nil {
		return failure(err)
	}

	if wantMD5 == "" {
		if wantMD5, err = md5File(ctx, path); err != nil {
			return stopped{while: "while computing the md5 of " + path + " (the upload is done)", err: err}
		}
	}
	body, err := c.DownloadFile(ctx, up.File.ID)
	if err != nil {
		return err
	}
	h := md5.New()
	n, err := io.Copy(h, body)
	body.Close()
	if err != nil {
		return fmt.Errorf("downloading the File back: %w", err)
	}
	gotMD5 := hex.EncodeToString(h.Sum(nil))

	parts := (up.File.Bytes + partSize - 1) / partSize
	mbps := float64(up.File.Bytes) / 1e6 / elapsed.Seconds()
	ok := gotMD5 == wantMD5 && n == up.File.Bytes
	fmt.Fprintf(a.stdout, "bytes:   %d (%s)\n", up.File.Bytes, humanBytes(up.File.Bytes))
	inFlight := fmt.Sprintf("%d in flight", streams)
	if !cmd.IsSet("concurrency") {
		inFlight = fmt.Sprintf("adaptive, up to %d in flight", streams)
	}
	fmt.Fprintf(a.stdout, "parts:   %d of %s, %s\n", parts, humanBytes(partSize), inFlight)
	fmt.Fprintf(a.stdout, "seconds: %.2f\n", elapsed.Seconds())
	fmt.Fprintf(a.stdout, "MB/s:    %.1f\n", mbps)
	fmt.Fprintf(a.stdout, "upload:  %s -> file %s\n", up.ID, up.File.ID)
	if !ok {
		fmt.Fprintf(a.stdout, "md5:     MISMATCH: sent %s, got back %s (%d bytes)\n", wantMD5, gotMD5, n)
		return fmt.Errorf("the File's content differs from the file uploaded")
	}
	fmt.Fprintf(a.stdout, "md5:     ok (%s)\n", gotMD5)
	return nil
}

// writeSample writes a JSONL file of exactly size bytes (fine-tuning chat lines) and returns its
// md5. It stops when ctx ends (a sample of gigabytes takes seconds).
func writeSample(ctx context.Context, path string, size int64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := md5.New()
	w := bufio.NewWriterSize(ctxWriter{ctx, io.MultiWriter(f, h)}, 1<<20)
	err = sampleLines(w, size)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sampleLines writes size bytes of JSON lines; the last line is padded to land exactly on size.
func sampleLines(w io.Writer, size int64) error {
	var written int64
	for i := 0; ; i++ {
		line := fmt.Sprintf(`{"messages":[{"role":"user","content":"What is %d times 7?"},{"role":"assistant","content":"%d times 7 is %d."}]}`+"\n", i, i, i*7)
		left := size - written
		if left < int64(len(line))+demoMinSize {
			pad := left - int64(len(`{"pad":""}`+"\n"))
			_, err := io.WriteString(w, `{"pad":"`+strings.Repeat("x", int(pad))+`"}`+"\n")
			return err
		}
		if _, err := io.WriteString(w, line); err != nil {
			return err
		}
		written += int64(len(line))
	}
}

// md5File returns the md5 of the file at path; it stops when ctx ends.
func md5File(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var h hash.Hash = md5.New()
	if _, err := io.Copy(ctxWriter{ctx, h}, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ctxWriter fails once ctx has ended, with its cause: a long write or copy through it stops at
// the next buffer.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.w.Write(p)
}
