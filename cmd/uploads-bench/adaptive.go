package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// Scenarios (d), (e) and (f): adaptive concurrency and many files. Each round runs every
// variant once, in turn, so that a change in the machine's load touches them alike; the figures
// are the medians over the rounds.

const (
	benchLatency  = 40 * time.Millisecond
	benchPartSize = 16 << 20
)

// variant is one way to upload, timed in each round.
type variant struct {
	name string
	run  func() error
	// times are its durations; throttled and requests the server's 429s and part requests
	// during each run; failed counts runs that returned an error.
	times               []time.Duration
	throttled, requests []int64
	failed              int
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func runs(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%.2f", d.Seconds()))
	}
	return strings.Join(parts, " ")
}

// alternate runs the variants in turn for rounds rounds, with clean before each run.
func alternate(srv *conformance.Running, rounds int, clean func(), vs []*variant) {
	for r := range rounds {
		for _, v := range vs {
			clean()
			before := srv.Stats()
			start := time.Now()
			err := v.run()
			d := time.Since(start)
			after := srv.Stats()
			if err != nil {
				v.failed++
				fmt.Fprintf(os.Stderr, "    round %d, %s: %v\n", r+1, v.name, err)
			}
			v.times = append(v.times, d)
			v.throttled = append(v.throttled, after.RateLimited-before.RateLimited)
			v.requests = append(v.requests, after.Operations["addUploadPart"]-before.Operations["addUploadPart"])
		}
	}
}

func load() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// adaptiveLink is scenario (d).
func adaptiveLink(dir string, size int64, rounds int) {
	const perConn, total = 16 << 20, 128 << 20
	path := makeFile(dir, size)
	ctx := context.Background()
	srv := server(conformance.ServerOptions{Latency: benchLatency, Bandwidth: perConn, TotalBandwidth: total, TrustMD5: true}, size)
	defer srv.Close()
	c := client(srv.URL)
	fmt.Printf("(d) adaptive: %s in %s parts, %v per request, %s/s per connection, %s/s in all; md5 on, server trusting it; %d rounds (load before: %s)\n",
		human(size), human(benchPartSize), benchLatency, human(perConn), human(total), rounds, load())
	vs := []*variant{
		{name: "adaptive", run: func() error { return helperN(ctx, c, path, benchPartSize, 0, false) }},
		{name: "fixed 4", run: func() error { return helperN(ctx, c, path, benchPartSize, 4, false) }},
		{name: "sequential baseline", run: func() error { return baseline(ctx, c, path, benchPartSize) }},
	}
	alternate(srv, rounds, func() { check(deleting(ctx, c, func() error { return nil })) }, vs)
	base := median(vs[1].times)
	for _, v := range vs {
		m := median(v.times)
		fmt.Printf("    %-20s median %6.2f s  %6.1f MB/s  %.2fx fixed 4  (runs: %s; failed %d)\n", v.name, m.Seconds(), mbps(size, m), base.Seconds()/m.Seconds(), runs(v.times), v.failed)
	}
	fmt.Printf("    adaptive vs the sequential baseline: %.2fx  (load after: %s)\n\n", median(vs[2].times).Seconds()/median(vs[0].times).Seconds(), load())
}

// rateLimit is scenario (e).
func rateLimit(dir string, size int64, rounds int) {
	const perConn, total, limit = 16 << 20, 96 << 20, 6
	path := makeFile(dir, size)
	ctx := context.Background()
	srv := server(conformance.ServerOptions{Latency: benchLatency, Bandwidth: perConn, TotalBandwidth: total, MaxPartsInFlight: limit, TrustMD5: true}, size)
	defer srv.Close()
	c := client(srv.URL)
	fmt.Printf("(e) rate limit: %s in %s parts, %v per request, %s/s per connection, %s/s in all, 429 (retry-after-ms %d) beyond %d part requests in flight; %d rounds (load before: %s)\n",
		human(size), human(benchPartSize), benchLatency, human(perConn), human(total), conformance.DefaultPartsRetryAfter.Milliseconds(), limit, rounds, load())
	vs := []*variant{
		{name: "adaptive", run: func() error { return helperN(ctx, c, path, benchPartSize, 0, false) }},
		{name: "fixed 4", run: func() error { return helperN(ctx, c, path, benchPartSize, 4, false) }},
		{name: "fixed 8", run: func() error { return helperN(ctx, c, path, benchPartSize, 8, false) }},
	}
	alternate(srv, rounds, func() { check(deleting(ctx, c, func() error { return nil })) }, vs)
	base := median(vs[1].times)
	for _, v := range vs {
		m := median(v.times)
		var t, r int64
		for i := range v.throttled {
			t, r = t+v.throttled[i], r+v.requests[i]
		}
		fmt.Printf("    %-9s median %6.2f s  %6.1f MB/s  %.2fx fixed 4  429s %d of %d part requests (%.1f%%)  failed uploads %d  (runs: %s)\n",
			v.name, m.Seconds(), mbps(size, m), base.Seconds()/m.Seconds(), t, r, 100*float64(t)/float64(max(r, 1)), v.failed, runs(v.times))
	}
	fmt.Printf("    (load after: %s)\n\n", load())
}

// manyFiles is scenario (f).
func manyFiles(dir string, rounds int) {
	const n, each, perConn = 400, 256 << 10, 24 << 20
	fdir := filepath.Join(dir, "many")
	check(os.MkdirAll(fdir, 0o755))
	src := makeFile(dir, each)
	data, err := os.ReadFile(src)
	check(err)
	var paths []string
	for i := range n {
		p := filepath.Join(fdir, fmt.Sprintf("doc-%03d.jsonl", i))
		data[0] = byte(i)
		check(os.WriteFile(p, data, 0o600))
		paths = append(paths, p)
	}
	ctx := context.Background()
	fmt.Printf("(f) many files: %d files of %s, %v per request, %s/s per connection, a new server for each run; %d rounds (load before: %s)\n",
		n, human(each), benchLatency, human(perConn), rounds, load())
	// A new server for each run: deleting 400 Files at 40 ms a request would take longer than
	// the runs.
	fresh := func(f func(c *helpers.Client) error) func() error {
		return func() error {
			srv := server(conformance.ServerOptions{Latency: benchLatency, Bandwidth: perConn}, n*(1<<20))
			defer srv.Close()
			return f(client(srv.URL))
		}
	}
	vs := []*variant{
		{name: "UploadFiles", run: fresh(func(c *helpers.Client) error {
			_, err := c.UploadFiles(ctx, paths, helpers.UploadFilesOptions{Purpose: "assistants"})
			return err
		})},
		{name: "sequential POST /files", run: fresh(func(c *helpers.Client) error {
			for _, p := range paths {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				_, err = c.CreateFile(ctx, f, each, filepath.Base(p), "assistants", nil)
				f.Close()
				if err != nil {
					return err
				}
			}
			return nil
		})},
	}
	for range rounds {
		for _, v := range vs {
			start := time.Now()
			if err := v.run(); err != nil {
				v.failed++
				fmt.Fprintf(os.Stderr, "    %s: %v\n", v.name, err)
			}
			v.times = append(v.times, time.Since(start))
		}
	}
	seq := median(vs[1].times)
	for _, v := range vs {
		m := median(v.times)
		fmt.Printf("    %-23s median %6.2f s  %6.1f files/s  %.2fx the loop  (runs: %s; failed %d)\n", v.name, m.Seconds(), float64(n)/m.Seconds(), seq.Seconds()/m.Seconds(), runs(v.times), v.failed)
	}
	fmt.Printf("    (load after: %s)\n\n", load())
}
