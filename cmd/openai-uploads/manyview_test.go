package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/helpers"
)

// TestBatchShowsFilesInTheOrderGiven: the live block lists the files in flight in the order of
// the paths, whichever started first.
func TestBatchShowsFilesInTheOrderGiven(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	b := newBatch([]string{"a.jsonl", "b.jsonl", "c.jsonl"}, []int64{1 << 20, 1 << 20, 1 << 20})
	for _, i := range []int{2, 0, 1} {
		b.observe(helpers.FileProgress{Index: i, Progress: helpers.Progress{Phase: helpers.PhaseSending, TotalBytes: 1 << 20, Streams: 4}}, start)
	}
	lines := b.lines(79, start)
	if len(lines) != 4 {
		t.Fatalf("block %q, want three files and the total", lines)
	}
	for k, name := range []string{"a.jsonl", "b.jsonl", "c.jsonl", "total"} {
		if !strings.HasPrefix(lines[k], name+" ") {
			t.Errorf("line %d is %q, want %s's", k, lines[k], name)
		}
	}
}

// TestBatchFinalTotal: the total's final line counts the files done, failed and not started,
// the bytes of the files done only, and their average rate over the time the batch took; a batch
// that ended the instant it started has no rate to show.
func TestBatchFinalTotal(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	b := newBatch([]string{"a.jsonl", "b.jsonl", "c.jsonl"}, []int64{2 << 20, 1 << 20, 3 << 20})
	b.observe(helpers.FileProgress{Index: 0, Progress: helpers.Progress{Phase: helpers.PhaseSending, TotalBytes: 2 << 20}}, start)
	b.observe(helpers.FileProgress{Index: 1, Progress: helpers.Progress{Phase: helpers.PhaseSending, TotalBytes: 1 << 20}}, start)
	b.observe(helpers.FileProgress{Index: 1, Progress: helpers.Progress{Phase: helpers.PhaseFailed, BytesSent: 1 << 19, TotalBytes: 1 << 20}}, start.Add(time.Second))
	b.observe(helpers.FileProgress{Index: 0, Progress: helpers.Progress{Phase: helpers.PhaseDone, BytesSent: 2 << 20, TotalBytes: 2 << 20}}, start.Add(2*time.Second))
	want := "total: 1 of 3 files done, 1 failed, 1 not started; 2.00 MiB in 2s (1.00 MiB/s)"
	if got := b.totalFinal(1<<16, start.Add(2*time.Second)); got != want {
		t.Errorf("final total\n%q, want\n%q", got, want)
	}

	at := newBatch([]string{"a.jsonl"}, []int64{1 << 20})
	at.observe(helpers.FileProgress{Index: 0, Progress: helpers.Progress{Phase: helpers.PhaseDone, BytesSent: 1 << 20, TotalBytes: 1 << 20}}, start)
	want = "total: 1 of 1 files done; 1.00 MiB in 0s"
	if got := at.totalFinal(1<<16, start); got != want {
		t.Errorf("final total of an instant batch\n%q, want\n%q", got, want)
	}
}

// TestPlainManyTotalAtMostOncePerSecond: without a terminal the total comes with the first
// report and then at most once per plainInterval (by the view's clock): at 1 s, not at 0.5 s.
func TestPlainManyTotalAtMostOncePerSecond(t *testing.T) {
	var buf bytes.Buffer
	start := time.Unix(1_700_000_000, 0)
	clock := start
	v := &plainMany{con: newConsole(&buf, nil), b: newBatch([]string{"a.jsonl", "b.jsonl"}, []int64{1 << 20, 1 << 20}), now: func() time.Time { return clock }}
	for _, at := range []time.Duration{0, plainInterval / 2, plainInterval} {
		clock = start.Add(at)
		v.update(helpers.FileProgress{Index: 0, Progress: helpers.Progress{Phase: helpers.PhaseSending, TotalBytes: 1 << 20, Streams: 4}})
	}
	want := "total: 0% (0 B of 2.00 MiB), 0/2 files done, 4 streams\n"
	if buf.String() != want+want {
		t.Errorf("output\n%s\nwant the total at 0 s and at 1 s:\n%s", buf.String(), want+want)
	}

	buf.Reset()
	v.update(helpers.FileProgress{Index: 1, Progress: helpers.Progress{Phase: helpers.PhaseFailed, TotalBytes: 1 << 20, Streams: 4}})
	if got := v.b.totalPlain(clock); got != "total: 0% (0 B of 2.00 MiB), 0/2 files done, 1 failed, 4 streams" {
		t.Errorf("total with a file failed: %q", got)
	}
}

// TestBatchNoticesAreNotToldTwice: at the end the held notices are printed tagged with their
// path, but for those about an Upload whose fate the file's error already tells; with no results
// (nothing started) every notice is printed.
func TestBatchNoticesAreNotToldTwice(t *testing.T) {
	var buf bytes.Buffer
	con := newConsole(&buf, nil)
	b := newBatch([]string{"a.jsonl", "b.jsonl"}, []int64{1, 1})
	held := [][]string{{"upload upload_a failed and was cancelled", "retried part 3"}, {"resuming upload upload_b"}}
	copy(b.held, held)
	b.release(con, []helpers.FileResult{{Err: &helpers.UploadError{UploadID: "upload_a", Cancelled: true, Err: errors.New("boom")}}, {}})
	if want := "a.jsonl: retried part 3\nb.jsonl: resuming upload upload_b\n"; buf.String() != want {
		t.Errorf("released\n%q, want\n%q", buf.String(), want)
	}
	buf.Reset()
	copy(b.held, held)
	b.release(con, nil)
	if want := "a.jsonl: upload upload_a failed and was cancelled\na.jsonl: retried part 3\nb.jsonl: resuming upload upload_b\n"; buf.String() != want {
		t.Errorf("released without results\n%q, want\n%q", buf.String(), want)
	}
}

// TestBatchLiveTotalCountsFailures: the live total line says how many files failed, and says
// nothing of failures while none did.
func TestBatchLiveTotalCountsFailures(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b := newBatch([]string{"a.jsonl", "b.jsonl"}, []int64{1 << 20, 1 << 20})
	b.observe(helpers.FileProgress{Index: 0, Progress: helpers.Progress{Phase: helpers.PhaseSending, TotalBytes: 1 << 20}}, now)
	if got := b.totalLine(200, now); strings.Contains(got, "failed") {
		t.Errorf("total line with no file failed: %q", got)
	}
	b.observe(helpers.FileProgress{Index: 1, Progress: helpers.Progress{Phase: helpers.PhaseFailed, TotalBytes: 1 << 20}}, now)
	if got := b.totalLine(200, now); !strings.Contains(got, "1 failed") {
		t.Errorf("total line with one file failed: %q", got)
	}
}
