package main

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/helpers"
)

// shown is the block the console shows now.
func (c *console) shown() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.live...)
}

// TestLiveViewDrawsAPhaseChangeAtOnce: when the phase changes the line is redrawn before
// update returns, not at the next tick; it is laid out for the terminal's columns less one (not
// laid out wider and then cut), and so is the final line.
func TestLiveViewDrawsAPhaseChangeAtOnce(t *testing.T) {
	var buf bytes.Buffer
	// the view's clock, read by its redraw goroutine too
	var clock atomic.Int64
	clock.Store(time.Unix(1_700_000_000, 0).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	con := newConsole(&buf, func() int { return 40 })
	v := &liveView{con: con, t: transfer{label: "train.jsonl"}, now: now}
	v.update(helpers.Progress{Phase: helpers.PhaseCreating, TotalBytes: 3 << 20, TotalParts: 3, Streams: 2, Retries: 2})
	for len(con.shown()) == 0 { // the redraw loop's first draw
		sleepBriefly()
	}
	v.update(helpers.Progress{Phase: helpers.PhaseSending, BytesSent: 1 << 20, TotalBytes: 3 << 20, PartsDone: 1, TotalParts: 3, Streams: 2, Retries: 2})
	if got, want := con.shown(), v.t.line(39, now()); len(got) != 1 || got[0] != want {
		t.Errorf("shown %q right after the phase changed, want %q", got, want)
	}
	clock.Add(int64(2 * time.Second))
	v.update(helpers.Progress{Phase: helpers.PhaseDone, BytesSent: 3 << 20, TotalBytes: 3 << 20, PartsDone: 3, TotalParts: 3, Streams: 2, Retries: 2})
	v.finish(nil)
	if want := "train.jsonl done 3.00 MiB 2 retries\n"; !bytes.HasSuffix(buf.Bytes(), []byte("\x1b[J"+want)) {
		t.Errorf("output ends %q, want the final line %q", buf.String()[max(0, buf.Len()-60):], want)
	}
}

// TestPhaseTimeCountsFromThePhaseStart: the time a creating or completing line shows is the
// time since that phase began, not since the last report nor since the upload began.
func TestPhaseTimeCountsFromThePhaseStart(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tr := transfer{label: "a.jsonl"}
	tr.observe(helpers.Progress{Phase: helpers.PhaseCreating, TotalBytes: 10}, start)
	tr.observe(helpers.Progress{Phase: helpers.PhaseCreating, TotalBytes: 10}, start.Add(2*time.Second))
	if got, want := tr.line(79, start.Add(4*time.Second)), "a.jsonl creating the Upload… 4s"; got != want {
		t.Errorf("creating: %q, want %q", got, want)
	}
	tr.observe(helpers.Progress{Phase: helpers.PhaseSending, BytesSent: 10, TotalBytes: 10}, start.Add(5*time.Second))
	tr.observe(helpers.Progress{Phase: helpers.PhaseCompleting, BytesSent: 10, TotalBytes: 10}, start.Add(20*time.Second))
	if got, want := tr.line(79, start.Add(23*time.Second)), "a.jsonl completing: the server assembles and checks the file 3s"; got != want {
		t.Errorf("completing: %q, want %q", got, want)
	}
}
