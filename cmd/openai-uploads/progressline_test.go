package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/helpers"
)

// sending observes a sending report of sent bytes (of total) at start plus at.
func sending(tr *transfer, start time.Time, at time.Duration, sent, total int64) {
	tr.observe(helpers.Progress{Phase: helpers.PhaseSending, BytesSent: sent, TotalBytes: total}, start.Add(at))
}

// TestRateIsTheAverageOverTheWindow: the rate is the bytes over the time between the oldest and
// the newest sample of the last rateWindow, not over the last two samples (a burst after a steady
// run lifts it by its share of the window only), and samples older than the window are dropped.
func TestRateIsTheAverageOverTheWindow(t *testing.T) {
	const mib = 1 << 20
	start := time.Unix(1_700_000_000, 0)
	tr := transfer{label: "a"}
	for s := range 6 {
		sending(&tr, start, time.Duration(s)*time.Second, int64(s)*10*mib, 1<<30)
	}
	sending(&tr, start, 6*time.Second, 110*mib, 1<<30) // a burst: 60 MiB in the last second
	if r, ok := tr.rate(start.Add(6 * time.Second)); !ok || math.Abs(r-110*mib/6.0) > 1 {
		t.Errorf("rate after a burst %.0f (%v), want %.0f: 110 MiB over 6 s", r, ok, 110*mib/6.0)
	}
	for s := 7; s <= 30; s++ {
		sending(&tr, start, time.Duration(s)*time.Second, int64(110+(s-6)*10)*mib, 1<<30)
	}
	if r, ok := tr.rate(start.Add(30 * time.Second)); !ok || math.Abs(r-10*mib) > 1 {
		t.Errorf("rate after 24 s at 10 MiB/s %.0f (%v), want %d: the burst left the window", r, ok, 10*mib)
	}
}

// TestRateWarmupAndInstantReports: no rate is shown before rateWarmup of sending (from the
// moment it is reached, one is), and none when every sample came at the same instant.
func TestRateWarmupAndInstantReports(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tr := transfer{label: "a"}
	sending(&tr, start, 0, 0, 100)
	sending(&tr, start, time.Second, 10, 100)
	if _, ok := tr.rate(start.Add(rateWarmup - time.Millisecond)); ok {
		t.Errorf("a rate before the warm-up ends")
	}
	if r, ok := tr.rate(start.Add(rateWarmup)); !ok || r != 10 {
		t.Errorf("rate at the end of the warm-up %v (%v), want 10 B/s", r, ok)
	}

	instant := transfer{label: "b"}
	sending(&instant, start, 0, 0, 100)
	sending(&instant, start, 0, 10, 100)
	if r, ok := instant.rate(start.Add(2 * time.Second)); ok {
		t.Errorf("rate %v from samples all at one instant", r)
	}
}

// TestETAAtOneBytePerSecond: the ETA is the bytes left over the rate, down to a rate of 1 B/s.
func TestETAAtOneBytePerSecond(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tr := transfer{label: "a"}
	sending(&tr, start, 0, 0, 10)
	sending(&tr, start, 2*time.Second, 2, 10)
	if d, ok := tr.eta(start.Add(2 * time.Second)); !ok || d != 8*time.Second {
		t.Errorf("ETA %v (%v), want 8s: 8 bytes left at 1 B/s", d, ok)
	}
}

// TestPercentOf: the share done, rounded down; 0 of an empty total (an empty file) is 0%.
func TestPercentOf(t *testing.T) {
	for _, c := range []struct {
		n, total int64
		want     int
	}{{0, 0, 0}, {0, 3, 0}, {1, 3, 33}, {2, 3, 66}, {3, 3, 100}, {8 << 30, 8 << 30, 100}} {
		if got := percentOf(c.n, c.total); got != c.want {
			t.Errorf("percentOf(%d, %d) = %d, want %d", c.n, c.total, got, c.want)
		}
	}
}

// TestLayoutKeepsTheEarlierOfEqualPriority: of two pieces of the same priority of which only one
// fits, the one earlier in the line is kept.
func TestLayoutKeepsTheEarlierOfEqualPriority(t *testing.T) {
	pieces := []piece{text(0, "name"), text(1, "first"), text(1, "later")}
	for _, c := range []struct {
		width int
		want  string
	}{{10, "name first"}, {15, "name first"}, {16, "name first later"}} {
		if got := layout(c.width, pieces, nil); got != c.want {
			t.Errorf("at %d columns %q, want %q", c.width, got, c.want)
		}
	}
}

// TestLayoutTakesTheLongestTextThatFits: once the pieces are kept, each (by priority) takes its
// longest text that still fits, exactly at the width too, and what it takes is not left to the
// pieces after it.
func TestLayoutTakesTheLongestTextThatFits(t *testing.T) {
	one := []piece{text(0, "name"), text(1, "long text here", "short")}
	two := []piece{text(0, "name"), text(1, "aaaaaaaaaa", "a"), text(2, "bbbbbbbbbb", "b")}
	for _, c := range []struct {
		pieces []piece
		width  int
		want   string
	}{
		{one, 19, "name long text here"},
		{one, 18, "name short"},
		{two, 17, "name aaaaaaaaaa b"},
		{two, 25, "name aaaaaaaaaa b"},
		{two, 26, "name aaaaaaaaaa bbbbbbbbbb"},
	} {
		if got := layout(c.width, c.pieces, nil); got != c.want {
			t.Errorf("at %d columns %q, want %q", c.width, got, c.want)
		}
	}
}

// TestLayoutBarTakesTheColumnsLeft: the bar takes the columns the other pieces leave, up to
// barMax, so that the line is exactly as wide as the terminal allows (or barMax caps it).
func TestLayoutBarTakesTheColumnsLeft(t *testing.T) {
	pieces := []piece{text(0, "a.jsonl"), {bar: true, prio: 1}}
	half := func(w int) string { return barOf(w, 5, 10) }
	for _, c := range []struct {
		width int
		want  string
	}{
		{30, "a.jsonl [" + strings.Repeat("=", 9) + ">" + strings.Repeat(" ", 10) + "]"},  // 22 columns of bar
		{80, "a.jsonl [" + strings.Repeat("=", 19) + ">" + strings.Repeat(" ", 20) + "]"}, // barMax, 42
	} {
		if got := layout(c.width, pieces, half); got != c.want {
			t.Errorf("at %d columns\n%q, want\n%q", c.width, got, c.want)
		}
	}
}

// TestBarOf: a bar of w columns, brackets included, filled to done/total, an arrow at the front
// until full; no room inside (w < 3) is no bar; an empty total is an empty bar.
func TestBarOf(t *testing.T) {
	for _, c := range []struct {
		w           int
		done, total int64
		want        string
	}{
		{2, 1, 1, ""},
		{3, 0, 10, "[ ]"},
		{3, 10, 10, "[=]"},
		{12, 0, 10, "[          ]"},
		{12, 1, 10, "[>         ]"},
		{12, 5, 10, "[====>     ]"},
		{12, 10, 10, "[==========]"},
		{12, 20, 10, "[==========]"},
		{12, 0, 0, "[          ]"},
	} {
		if got := barOf(c.w, c.done, c.total); got != c.want {
			t.Errorf("barOf(%d, %d, %d) = %q, want %q", c.w, c.done, c.total, got, c.want)
		}
	}
}

// TestFormatElapsed: to the second, as seconds, minutes and seconds, or hours and minutes.
func TestFormatElapsed(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{1500 * time.Millisecond, "2s"},
		{59 * time.Second, "59s"},
		{65 * time.Second, "1m05s"},
		{3599 * time.Second, "59m59s"},
		{time.Hour, "1h00m"},
		{2*time.Hour + 3*time.Minute + 5*time.Second, "2h03m"},
		{27*time.Hour + 59*time.Minute, "27h59m"},
	} {
		if got := formatElapsed(c.d); got != c.want {
			t.Errorf("formatElapsed(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestDoneLinesSayTheAverageAndTheCounts: a finished upload's final and plain lines give its size
// over its time (none when it took no time at all) and its retries and 429s, only when there
// were some.
func TestDoneLinesSayTheAverageAndTheCounts(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	done := func(after time.Duration, retries, throttled int) transfer {
		tr := transfer{label: "a.jsonl"}
		tr.observe(helpers.Progress{Phase: helpers.PhaseSending, TotalBytes: 2 << 20, TotalParts: 2, Streams: 2}, start)
		tr.observe(helpers.Progress{Phase: helpers.PhaseDone, BytesSent: 2 << 20, TotalBytes: 2 << 20, PartsDone: 2, TotalParts: 2, Streams: 2,
			Retries: retries, Throttled: throttled}, start.Add(after))
		return tr
	}
	slow, instant := done(2*time.Second, 1, 2), done(0, 0, 0)
	for _, c := range []struct{ got, want string }{
		{slow.finalLine(200, start.Add(2*time.Second)), "a.jsonl done 2.00 MiB in 2s (1.00 MiB/s) 1 retry 2 rate-limited"},
		{slow.plain(start.Add(2 * time.Second)), "a.jsonl: done, 2.00 MiB in 2s (1.00 MiB/s), parts 2/2, 1 retry, 2 rate-limited (429, sent again)"},
		{instant.finalLine(200, start), "a.jsonl done 2.00 MiB in 0s"},
		{instant.plain(start), "a.jsonl: done, 2.00 MiB in 0s, parts 2/2"},
	} {
		if c.got != c.want {
			t.Errorf("got\n%q, want\n%q", c.got, c.want)
		}
	}
}

// TestSharedFileWaitsUntilItSends: one of several files says waiting (for a share of the
// streams) until its first bytes are sent, then sending.
func TestSharedFileWaitsUntilItSends(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tr := transfer{label: "a.jsonl", shared: true}
	sending(&tr, start, 0, 0, 1<<20)
	if line := tr.line(79, start); !strings.HasPrefix(line, "a.jsonl waiting [") {
		t.Errorf("before any byte: %q", line)
	}
	sending(&tr, start, time.Second, 1, 1<<20)
	if line := tr.line(79, start.Add(time.Second)); !strings.HasPrefix(line, "a.jsonl sending [") {
		t.Errorf("once sending: %q", line)
	}
}
