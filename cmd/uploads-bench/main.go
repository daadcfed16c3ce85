// Command uploads-bench measures the chunked upload of package helpers against the reference
// server on 127.0.0.1, and prints the figures the README quotes:
//
//	(a) link:      a sequential baseline shaped like OpenAI's SDKs (one part at a time, each part
//	               read into a []byte and its multipart body built in memory, no md5) vs the helper
//	               with 4 streams and adaptive, over a simulated link of 40 ms per request and
//	               24 MiB/s per connection;
//	(b) local:     1 GiB over loopback vs an md5-only pass over the same file;
//	(c) memory:    the peak RSS and the CPU time of a process that uploads 1 GiB, for several
//	               part sizes and streams (the client runs in a child process so that only its
//	               memory and CPU are counted);
//	(d) adaptive:  40 ms per request, 16 MiB/s per connection, 128 MiB/s in all, 512 MiB in 16 MiB
//	               parts: adaptive vs fixed 4 vs the sequential baseline (medians of alternating
//	               runs);
//	(e) ratelimit: the same link at 96 MiB/s in all, 429 beyond 6 part requests in flight:
//	               adaptive vs fixed 4 vs fixed 8, with the share of part requests answered 429;
//	(f) many:      400 files of 256 KiB, 40 ms per request, 24 MiB/s per connection: UploadFiles
//	               vs a sequential loop of one POST /files per file.
//
// Usage: go run ./cmd/uploads-bench [-scenario all|link|local|memory|adaptive|ratelimit|many]
// [-size BYTES] [-link-size BYTES] [-rounds N]
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

const key = "sk-bench"

func main() {
	scenario := flag.String("scenario", "all", "all, link, local, memory, adaptive, ratelimit or many")
	size := flag.Int64("size", 1<<30, "file size for local and memory")
	linkSize := flag.Int64("link-size", 512<<20, "file size for link, adaptive and ratelimit")
	rounds := flag.Int("rounds", 5, "rounds of alternating runs for adaptive, ratelimit and many")
	child := flag.String("child", "", "internal: run one upload as the measured client (base URL)")
	childPart := flag.Int64("child-part-size", helpers.DefaultPartSize, "internal")
	childFile := flag.String("child-file", "", "internal")
	childConc := flag.Int("child-concurrency", 4, "internal")
	flag.Parse()
	if *child != "" {
		if err := childUpload(*child, *childFile, *childPart, *childConc); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	dir, err := os.MkdirTemp("", "uploads-bench-")
	check(err)
	defer os.RemoveAll(dir)

	fmt.Printf("uploads-bench on %s: Go %s, %d CPUs\n\n", hostname(), strings.TrimPrefix(goVersion(), "go"), numCPU())
	if *scenario == "all" || *scenario == "link" {
		link(dir, *linkSize)
	}
	if *scenario == "all" || *scenario == "local" {
		local(dir, *size)
	}
	if *scenario == "all" || *scenario == "memory" {
		memory(dir, *size)
	}
	if *scenario == "all" || *scenario == "adaptive" {
		adaptiveLink(dir, *linkSize, *rounds)
	}
	if *scenario == "all" || *scenario == "ratelimit" {
		rateLimit(dir, *linkSize, *rounds)
	}
	if *scenario == "all" || *scenario == "many" {
		manyFiles(dir, *rounds)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "uploads-bench:", err)
		os.Exit(1)
	}
}

// makeFile writes size pseudo-random-looking bytes (cheap to make, not compressible by pattern)
// and returns the path.
func makeFile(dir string, size int64) string {
	path := filepath.Join(dir, fmt.Sprintf("data-%d.bin", size))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	f, err := os.Create(path)
	check(err)
	w := bufio.NewWriterSize(f, 1<<20)
	var x uint64 = 0x9e3779b97f4a7c15
	buf := make([]byte, 8)
	for n := int64(0); n < size; n += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for i := range buf {
			buf[i] = byte(x >> (8 * i))
		}
		_, err = w.Write(buf[:min(8, size-n)])
		check(err)
	}
	check(w.Flush())
	check(f.Close())
	return path
}

// server starts the reference server with memory storage (room for two files of size bytes), so
// that the client, not the server's disk, is measured.
func server(opts conformance.ServerOptions, size int64) *conformance.Running {
	opts.Storage = conformance.MemoryStorage
	opts.MemoryLimit = 2*size + 256<<20
	srv, err := conformance.Start(opts)
	check(err)
	return srv
}

func client(url string) *helpers.Client {
	c, err := helpers.NewClient(helpers.ClientOptions{APIKey: key, BaseURL: url})
	check(err)
	return c
}

func mbps(size int64, d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }

// baseline uploads like openai-python's upload_file_chunked and openai-go: one part at a time,
// each read into a []byte whose multipart body is then built in memory; no md5.
func baseline(ctx context.Context, c *helpers.Client, path string, partSize int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, _ := f.Stat()
	up, err := c.CreateUpload(ctx, generated.CreateUploadRequest{Bytes: info.Size(), Filename: "data.jsonl", MimeType: "application/jsonl", Purpose: "batch"})
	if err != nil {
		return err
	}
	var ids []string
	buf := make([]byte, partSize)
	for off := int64(0); off < info.Size(); off += partSize {
		n, err := f.ReadAt(buf[:min(partSize, info.Size()-off)], off)
		if err != nil && err != io.EOF {
			return err
		}
		var body bytes.Buffer // the whole multipart body, as openai-go's MarshalMultipart builds it
		mw := multipart.NewWriter(&body)
		w, _ := mw.CreateFormFile("data", "anonymous_file")
		_, _ = w.Write(buf[:n])
		_ = mw.Close()
		resp, err := c.Generated().AddUploadPartWithBodyWithResponse(ctx, up.ID, mw.FormDataContentType(), &body)
		if err != nil {
			return err
		}
		if resp.JSON200 == nil {
			return fmt.Errorf("part: %d %s", resp.StatusCode(), resp.Body)
		}
		ids = append(ids, resp.JSON200.ID)
	}
	_, err = c.CompleteUpload(ctx, up.ID, ids, "")
	return err
}

func helper(ctx context.Context, c *helpers.Client, path string, partSize int64, skipMD5 bool) error {
	return helperN(ctx, c, path, partSize, 4, skipMD5)
}

// helperN uploads with concurrency streams (0: adaptive).
func helperN(ctx context.Context, c *helpers.Client, path string, partSize int64, concurrency int, skipMD5 bool) error {
	_, err := c.UploadFile(ctx, path, helpers.UploadOptions{Purpose: "batch", MIMEType: "application/jsonl", PartSize: partSize, Concurrency: concurrency, SkipMD5: skipMD5})
	return err
}

func timeIt(f func() error) time.Duration {
	start := time.Now()
	check(f())
	return time.Since(start)
}

// link is scenario (a).
func link(dir string, size int64) {
	const latency, bandwidth = 40 * time.Millisecond, 24 << 20
	path := makeFile(dir, size)
	ctx := context.Background()
	fmt.Printf("(a) link: %s file, 64 MiB parts, %v per request, %s/s per connection\n", human(size), latency, human(bandwidth))
	var base time.Duration
	for _, trust := range []bool{false, true} {
		srv := server(conformance.ServerOptions{Latency: latency, Bandwidth: bandwidth, TrustMD5: trust}, size)
		c := client(srv.URL)
		if !trust {
			base = timeIt(func() error { return baseline(ctx, c, path, helpers.DefaultPartSize) })
			fmt.Printf("    sequential baseline (SDK-shaped, no md5):      %6.2f s  %6.1f MB/s\n", base.Seconds(), mbps(size, base))
		}
		h := timeIt(func() error { return helper(ctx, c, path, helpers.DefaultPartSize, false) })
		fmt.Printf("    helper, 4 streams, md5 on, server %-13s %6.2f s  %6.1f MB/s  %.2fx the baseline\n", verifies(trust), h.Seconds(), mbps(size, h), base.Seconds()/h.Seconds())
		check(deleting(ctx, c, func() error { return nil }))
		ha := timeIt(func() error { return helperN(ctx, c, path, helpers.DefaultPartSize, 0, false) })
		fmt.Printf("    helper, adaptive, md5 on, server %-14s %6.2f s  %6.1f MB/s  %.2fx the baseline\n", verifies(trust), ha.Seconds(), mbps(size, ha), base.Seconds()/ha.Seconds())
		check(deleting(ctx, c, func() error { return nil }))
		if trust {
			hn := timeIt(func() error { return helper(ctx, c, path, helpers.DefaultPartSize, true) })
			fmt.Printf("    helper, 4 streams, md5 off:                    %6.2f s  %6.1f MB/s  %.2fx the baseline\n", hn.Seconds(), mbps(size, hn), base.Seconds()/hn.Seconds())
		}
		check(srv.Close())
	}
	fmt.Println()
}

func verifies(trust bool) string {
	if trust {
		return "trusts it:"
	}
	return "verifies it:"
}

func md5Pass(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := md5.New()
	_, err = io.Copy(h, f)
	_ = hex.EncodeToString(h.Sum(nil))
	return err
}

// local is scenario (b).
func local(dir string, size int64) {
	path := makeFile(dir, size)
	ctx := context.Background()
	check(md5Pass(path)) // warm the page cache
	fmt.Printf("(b) local: %s over loopback, 64 MiB parts, 4 streams, server in the same process (best of 3)\n", human(size))
	m := best(3, func() error { return md5Pass(path) })
	fmt.Printf("    md5-only pass over the file:                   %6.2f s  %6.1f MB/s\n", m.Seconds(), mbps(size, m))
	for _, trust := range []bool{true, false} {
		srv := server(conformance.ServerOptions{TrustMD5: trust}, size)
		c := client(srv.URL)
		h := best(3, func() error {
			return deleting(ctx, c, func() error { return helper(ctx, c, path, helpers.DefaultPartSize, false) })
		})
		fmt.Printf("    helper, md5 on, server %-23s %6.2f s  %6.1f MB/s  %.2fx the md5 pass\n", verifies(trust), h.Seconds(), mbps(size, h), h.Seconds()/m.Seconds())
		if trust {
			hn := best(3, func() error {
				return deleting(ctx, c, func() error { return helper(ctx, c, path, helpers.DefaultPartSize, true) })
			})
			fmt.Printf("    helper, md5 off:                               %6.2f s  %6.1f MB/s  %.2fx the md5 pass\n", hn.Seconds(), mbps(size, hn), hn.Seconds()/m.Seconds())
		}
		check(srv.Close())
	}
	fmt.Println()
}

// deleting deletes every file, so that memory storage holds at most one upload, then runs f. (The
// deletions are timed too; they take microseconds.)
func deleting(ctx context.Context, c *helpers.Client, f func() error) error {
	page, err := c.ListFiles(ctx, nil)
	if err != nil {
		return err
	}
	for _, file := range page.Data {
		if _, err := c.DeleteFile(ctx, file.ID); err != nil {
			return err
		}
	}
	return f()
}

func best(n int, f func() error) time.Duration {
	var b time.Duration
	for i := 0; i < n; i++ {
		if d := timeIt(f); i == 0 || d < b {
			b = d
		}
	}
	return b
}

// memory is scenario (c): the client runs in a child process, which reports its own peak RSS
// (VmHWM in /proc/self/status: rusage's maxrss would also count the parent's memory at the
// moment of the fork) and the CPU time it used (user and system, from getrusage).
func memory(dir string, size int64) {
	path := makeFile(dir, size)
	srv := server(conformance.ServerOptions{}, size)
	defer srv.Close()
	self, err := os.Executable()
	check(err)
	fmt.Printf("(c) memory and CPU: a client process uploading %s, md5 on\n", human(size))
	c := client(srv.URL)
	for _, run := range []struct {
		part int64
		conc int
	}{{8 << 20, 4}, {16 << 20, 4}, {32 << 20, 4}, {64 << 20, 4}, {8 << 20, 32}, {8 << 20, 0}} {
		check(deleting(context.Background(), c, func() error { return nil }))
		cmd := exec.Command(self, "-child", srv.URL, "-child-file", path, "-child-part-size", strconv.FormatInt(run.part, 10),
			"-child-concurrency", strconv.Itoa(run.conc))
		cmd.Stderr = os.Stderr
		start := time.Now()
		out, err := cmd.Output()
		check(err)
		var kib int64
		var cpu float64
		_, err = fmt.Sscan(string(out), &kib, &cpu)
		check(err)
		streams := fmt.Sprintf("%d streams", run.conc)
		if run.conc == 0 {
			streams = "adaptive"
		}
		fmt.Printf("    part size %6s, %-10s: peak RSS %5.1f MiB, CPU %.2f s per GiB  (%.2f s)\n", human(run.part), streams,
			float64(kib)/1024, cpu/(float64(size)/(1<<30)), time.Since(start).Seconds())
	}
	fmt.Println()
}

// childUpload uploads the file and prints the process's peak RSS in KiB and its CPU seconds.
func childUpload(url, path string, partSize int64, concurrency int) error {
	c, err := helpers.NewClient(helpers.ClientOptions{APIKey: key, BaseURL: url})
	if err != nil {
		return err
	}
	if err := helperN(context.Background(), c, path, partSize, concurrency, false); err != nil {
		return err
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Println(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), cpuSeconds())
			return nil
		}
	}
	return fmt.Errorf("no VmHWM in /proc/self/status")
}

func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}
