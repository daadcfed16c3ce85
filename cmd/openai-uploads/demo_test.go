package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/helpers"
)

// TestDemoAtItsLimits: the smallest values each flag takes are accepted (a 64-byte sample, parts
// of 1 byte, one part at a time), and so is the most parts in flight.
func TestDemoAtItsLimits(t *testing.T) {
	for _, args := range [][]string{
		{"--size", fmt.Sprint(demoMinSize), "--part-size", "1", "--concurrency", "1"},
		{"--size", fmt.Sprint(demoMinSize), "--part-size", "16", "--concurrency", fmt.Sprint(helpers.MaxConcurrency)},
	} {
		r := runCLI(t, "", append([]string{"demo", "-q"}, args...)...)
		if r.code != exitOK || !strings.Contains(r.stdout, "bytes:   64 (") || !strings.Contains(r.stdout, "md5:     ok") {
			t.Errorf("demo %v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestDemoTakesASampleAtTheUploadLimit: --size 8GiB, the largest Upload, is accepted: the demo
// starts writing the sample (the run is cancelled from the start, so it stops at the first
// buffer instead of writing 8 GiB).
func TestDemoTakesASampleAtTheUploadLimit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := runCLIContext(t, ctx, "", "demo", "--size", "8GiB")
	if r.code == exitUsage || !strings.Contains(r.stderr, "demo: writing a 8.00 GiB sample") {
		t.Errorf("exit %d, stderr %q; want the sample started", r.code, r.stderr)
	}
}

// TestDemoRateIsTheBytesOverTheSeconds: the summary's MB/s is its bytes (in millions) over its
// seconds, within the rounding of the two figures shown (no assertion on the time itself).
func TestDemoRateIsTheBytesOverTheSeconds(t *testing.T) {
	r := runCLI(t, "", "demo", "-q", "--size", "16MiB")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var bytes int64
	var seconds, mbps float64
	for _, l := range strings.Split(r.stdout, "\n") {
		switch {
		case strings.HasPrefix(l, "bytes:"):
			_, _ = fmt.Sscanf(l, "bytes: %d", &bytes)
		case strings.HasPrefix(l, "seconds:"):
			_, _ = fmt.Sscanf(l, "seconds: %g", &seconds)
		case strings.HasPrefix(l, "MB/s:"):
			_, _ = fmt.Sscanf(l, "MB/s: %g", &mbps)
		}
	}
	if bytes != 16<<20 {
		t.Fatalf("bytes %d in\n%s", bytes, r.stdout)
	}
	// seconds is rounded to 0.01 and MB/s to 0.1: the true time is within 0.005 of seconds.
	low := float64(bytes)/1e6/(seconds+0.005) - 0.05
	if mbps < low {
		t.Errorf("MB/s %.1f is below %d bytes over %.2f seconds (at least %.2f)", mbps, bytes, seconds, low)
	}
	if seconds > 0.005 {
		if high := float64(bytes)/1e6/(seconds-0.005) + 0.05; mbps > high {
			t.Errorf("MB/s %.1f is above %d bytes over %.2f seconds (at most %.2f)", mbps, bytes, seconds, high)
		}
	}
}

// TestSampleLinesCountAndAreTrue: the sample's chat lines are numbered from 0 up, one more each
// line (no two alike), and each answer is right; the last line pads.
func TestSampleLinesCountAndAreTrue(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleLines(&buf, 4096); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines[:len(lines)-1] {
		var chat struct {
			Messages []struct{ Role, Content string }
		}
		if err := json.Unmarshal([]byte(l), &chat); err != nil || len(chat.Messages) != 2 {
			t.Fatalf("line %d: %q", i, l)
		}
		var q, a, product int
		if _, err := fmt.Sscanf(chat.Messages[0].Content, "What is %d times 7?", &q); err != nil || q != i {
			t.Errorf("line %d asks %q", i, chat.Messages[0].Content)
		}
		if _, err := fmt.Sscanf(chat.Messages[1].Content, "%d times 7 is %d.", &a, &product); err != nil || a != q || product != q*7 {
			t.Errorf("line %d answers %q to %q", i, chat.Messages[1].Content, chat.Messages[0].Content)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, `{"pad":"`) {
		t.Errorf("last line %q", last)
	}
}
