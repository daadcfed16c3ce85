package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// states are progress snapshots of every phase, with long, wide and plain names, retries and
// large counts: what a line may have to show.
func states() []transfer {
	start := time.Unix(1_700_000_000, 0)
	var out []transfer
	for _, label := range []string{"a.jsonl", "training_examples_2024_final_v3_really_final.jsonl", "数据集-训练-二〇二四年版本.jsonl", "x"} {
		for _, ph := range []helpers.Phase{helpers.PhaseCreating, helpers.PhaseSending, helpers.PhaseCompleting, helpers.PhaseDone, helpers.PhaseFailed, helpers.PhaseCancelled} {
			for _, retries := range []int{0, 1, 1234} {
				t := transfer{label: label}
				total := int64(8 << 30)
				t.observe(helpers.Progress{Phase: helpers.PhaseCreating, TotalBytes: total, TotalParts: 128, Streams: 64}, start)
				t.observe(helpers.Progress{Phase: helpers.PhaseSending, TotalBytes: total, TotalParts: 128, Streams: 64}, start.Add(time.Second))
				p := helpers.Progress{Phase: ph, UploadID: "upload_abc", BytesSent: total / 3, TotalBytes: total, PartsDone: 42, TotalParts: 128, Retries: retries, Streams: 64}
				t.observe(p, start.Add(90*time.Minute))
				out = append(out, t)
			}
		}
	}
	return out
}

// TestProgressLineFitsEveryWidth: at any width, a line never holds more columns than it is given,
// and from 40 columns up it always says the file, the phase and how far it got.
func TestProgressLineFitsEveryWidth(t *testing.T) {
	now := time.Unix(1_700_000_000, 0).Add(91 * time.Minute)
	for _, st := range states() {
		for width := 1; width <= 200; width++ {
			line := st.line(width, now)
			if w := runewidth.StringWidth(line); w > width {
				t.Fatalf("%s at %d columns: %q is %d wide", st.p.Phase, width, line, w)
			}
			if width < 40 {
				continue
			}
			if !strings.Contains(line, strings.SplitN(fitMiddle(st.label, max(8, width/3)), "…", 2)[0]) {
				t.Errorf("%d columns: %q does not name the file %q", width, line, st.label)
			}
			var must []string
			switch st.p.Phase {
			case helpers.PhaseCreating:
				must = []string{"creating"}
			case helpers.PhaseSending:
				must = []string{"33%", "["}
			case helpers.PhaseCompleting:
				must = []string{"completing"}
			case helpers.PhaseDone:
				must = []string{"done"}
			case helpers.PhaseFailed:
				must = []string{"failed", "33%"}
			case helpers.PhaseCancelled:
				must = []string{"cancelled", "33%"}
			}
			if st.p.Retries > 0 && st.p.Phase != helpers.PhaseCreating && width >= 60 {
				must = append(must, fmt.Sprint(st.p.Retries))
			}
			for _, m := range must {
				if !strings.Contains(line, m) {
					t.Errorf("%s at %d columns: %q lacks %q", st.p.Phase, width, line, m)
				}
			}
		}
	}
}

// TestProgressLineAt80And40 pins what a sending line shows at the two widths people use.
func TestProgressLineAt80And40(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tr := transfer{label: "train.jsonl"}
	tr.observe(helpers.Progress{Phase: helpers.PhaseCreating, TotalBytes: 200 << 20, TotalParts: 4, Streams: 4}, start)
	for s := 0; s <= 10; s++ {
		tr.observe(helpers.Progress{Phase: helpers.PhaseSending, BytesSent: int64(s) * 8 << 20, TotalBytes: 200 << 20, PartsDone: s / 8, TotalParts: 4, Retries: 2, Streams: 4}, start.Add(time.Duration(s)*time.Second))
	}
	now := start.Add(10 * time.Second)
	wide, narrow := tr.line(79, now), tr.line(39, now)
	for _, want := range []string{"train.jsonl", "[", "40%", "80.0/200 MiB", "8.00 MiB/s", "ETA 15s", "2 retries", "×4"} {
		if !strings.Contains(wide, want) {
			t.Errorf("80 columns: %q lacks %q", wide, want)
		}
	}
	for _, want := range []string{"train.jsonl", "[", "40%", "2 retries"} {
		if !strings.Contains(narrow, want) {
			t.Errorf("40 columns: %q lacks %q", narrow, want)
		}
	}
	tr.p.Retries = 0
	if line := tr.line(79, now); !strings.Contains(line, "train.jsonl sending [") || !strings.Contains(line, "×4") {
		t.Errorf("80 columns, no retries: %q does not say sending, or the streams", line)
	}
	t.Logf("80: %s", wide)
	t.Logf("40: %s", narrow)
}

// TestRateIsSmoothed: parts that finish in bursts (four at once, then nothing) and a first burst
// into socket buffers do not swing the rate shown: redrawn every 150 ms it never moves by more
// than 10% from one redraw to the next, and after the window fills it is within 10% of the true
// rate. The ETA follows.
func TestRateIsSmoothed(t *testing.T) {
	const trueRate = 10 << 20 // bytes per second
	start := time.Unix(1_700_000_000, 0)
	tr := transfer{label: "a"}
	total := int64(2 << 30)
	tr.observe(helpers.Progress{Phase: helpers.PhaseSending, BytesSent: 16 << 20, TotalBytes: total}, start) // buffers fill at once
	var prev float64
	next := start
	for ms := 0; ms <= 60_000; ms += 10 {
		now := start.Add(time.Duration(ms) * time.Millisecond)
		if ms%2000 == 0 && ms > 0 { // every 2 s, 20 MiB arrive in one burst (parts done together)
			tr.observe(helpers.Progress{Phase: helpers.PhaseSending, BytesSent: 16<<20 + int64(ms/1000)*trueRate, TotalBytes: total}, now)
		}
		if now.Before(next) {
			continue
		}
		next = now.Add(redrawInterval)
		r, ok := tr.rate(now)
		if !ok {
			if now.Sub(start) >= 2*rateWarmup {
				t.Fatalf("no rate after %s", now.Sub(start))
			}
			continue
		}
		if prev > 0 && (r > prev*1.10 || r < prev*0.90) {
			t.Fatalf("at %s the rate jumps from %.0f to %.0f", now.Sub(start), prev, r)
		}
		prev = r
		if now.Sub(start) > rateWindow+2*time.Second && (r < 0.9*trueRate || r > 1.1*trueRate) {
			t.Fatalf("at %s the rate is %.1f MiB/s, want about 10", now.Sub(start), r/(1<<20))
		}
	}
	if _, ok := tr.eta(start.Add(time.Minute)); !ok {
		t.Errorf("no ETA with a rate")
	}
}

// screenWriter feeds every write to a vt of the given width and checks, after each, that the
// screen holds at most one row naming the file and that no line ran past the last column.
type screenWriter struct {
	mu    sync.Mutex
	t     *testing.T
	vt    *vt
	label string
	raw   bytes.Buffer
	worst int
}

func (s *screenWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw.Write(p)
	s.vt.write(p)
	if n := s.vt.count(s.label); n > s.worst {
		s.worst = n
	}
	return len(p), nil
}

// TestProgressOnATerminal runs an upload with stderr a terminal of 80 and of 40 columns: the
// progress is one line, redrawn in place, and the screen ends with exactly one line per outcome.
func TestProgressOnATerminal(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{Latency: 30 * time.Millisecond})
	path := tempFile(t, "train.jsonl", sample(2<<20))
	for _, width := range []int{80, 40} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			a := validatingApp(t, "")
			a.terminalWidth = func() int { return width }
			screen := &screenWriter{t: t, vt: newVT(width), label: "train.jsonl"}
			var stdout bytes.Buffer
			a.stdout, a.stderr = &stdout, screen
			code := runWatched(t, context.Background(), a, []string{"openai-uploads", "upload", path, "--purpose", "batch",
				"--part-size", "256KiB", "--concurrency", "2", "--api-key", cliKey, "--base-url", srv.URL})
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, screen.raw.String())
			}
			if screen.worst != 1 || screen.vt.wraps != 0 {
				t.Errorf("the screen held up to %d lines naming the file and %d lines wrapped:\n%q", screen.worst, screen.vt.wraps, screen.raw.String())
			}
			if got := screen.vt.screen(); !uploadIDThenDone(got, screen.vt.lines(), width-1) {
				t.Errorf("final screen %q, want the Upload's id, then the one line saying done", got)
			}
			if !strings.Contains(screen.raw.String(), "sending") && !strings.Contains(screen.raw.String(), "%") {
				t.Errorf("no sending line was ever drawn: %q", screen.raw.String())
			}
		})
	}
}

// TestProgressFinalLineOnFailure: a failed or interrupted upload leaves one line saying so, then
// the error once, and no progress after it; nothing is drawn for an upload refused before it
// started.
func TestProgressFinalLineOnFailure(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{Latency: 20 * time.Millisecond})
	path := tempFile(t, "train.jsonl", sample(4<<20))
	for _, terminal := range []bool{true, false} {
		t.Run(fmt.Sprintf("terminal=%v", terminal), func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			before, partsBefore := len(srv.Uploads()), srv.Stats().PartsStored
			go func() {
				for len(srv.Uploads()) == before || srv.Stats().PartsStored == partsBefore {
					if ctx.Err() != nil {
						return
					}
					sleepBriefly()
				}
				cancel(interrupted{os.Interrupt})
			}()
			a := validatingApp(t, "")
			screen := &screenWriter{t: t, vt: newVT(200), label: "train.jsonl"} // the error line is long
			if terminal {
				a.terminalWidth = func() int { return 80 }
			}
			var stdout bytes.Buffer
			a.stdout, a.stderr = &stdout, screen
			code := runWatched(t, ctx, a, []string{"openai-uploads", "upload", path, "--purpose", "batch", "--part-size", "256KiB",
				"--concurrency", "1", "--api-key", cliKey, "--base-url", srv.URL})
			if code != 130 {
				t.Fatalf("exit %d, want 130: %s", code, screen.raw.String())
			}
			got := screen.vt.screen()
			last := got[len(got)-2:]
			if !strings.HasPrefix(last[0], "train.jsonl") || !strings.Contains(last[0], "cancelled") {
				t.Errorf("the line before the error is %q, want the upload's final line", last[0])
			}
			if !strings.HasPrefix(last[1], "openai-uploads: ") || !strings.Contains(last[1], "was cancelled") || !strings.Contains(last[1], "interrupted by SIGINT") {
				t.Errorf("the last line is %q, want the error", last[1])
			}
			if n := strings.Count(screen.raw.String(), "was cancelled"); n != 1 {
				t.Errorf("the outcome is told %d times:\n%s", n, strings.Join(got, "\n"))
			}
			if n := screen.vt.count("cancelled at"); n != 1 {
				t.Errorf("%d final lines:\n%s", n, strings.Join(got, "\n"))
			}
		})
	}

	// Refused before any request: no progress at all.
	a := validatingApp(t, "")
	a.terminalWidth = func() int { return 80 }
	r := runApp(t, context.Background(), a, "upload", path, "--purpose", "batch", "--part-size", "1B", "--api-key", cliKey, "--base-url", srv.URL)
	if r.code != exitUsage || strings.Contains(r.stderr, "train.jsonl") || strings.Contains(r.stderr, "\x1b[") {
		t.Errorf("exit %d, stderr %q: want a usage error and no progress drawn", r.code, r.stderr)
	}
}

// TestPlainProgressAtMostOncePerSecond: without a terminal the lines come at most once per
// plainInterval (by the view's clock), and one final line ends them.
func TestPlainProgressAtMostOncePerSecond(t *testing.T) {
	var buf bytes.Buffer
	con := newConsole(&buf, nil)
	clock := time.Unix(1_700_000_000, 0)
	v := &plainView{con: con, t: transfer{label: "a.jsonl"}, now: func() time.Time { return clock }}
	v.update(helpers.Progress{Phase: helpers.PhaseCreating, TotalBytes: 100 << 20, TotalParts: 100, Streams: 4})
	v.notice("resuming upload upload_x from checkpoint c: 3 of 100 parts already sent")
	for i := 1; i <= 100; i++ {
		clock = clock.Add(100 * time.Millisecond) // ten updates a second, for ten seconds
		v.update(helpers.Progress{Phase: helpers.PhaseSending, UploadID: "upload_x", BytesSent: int64(i) << 20, TotalBytes: 100 << 20, PartsDone: i, TotalParts: 100, Streams: 4})
	}
	v.notice("a notice held until the end")
	v.update(helpers.Progress{Phase: helpers.PhaseDone, UploadID: "upload_x", BytesSent: 100 << 20, TotalBytes: 100 << 20, PartsDone: 100, TotalParts: 100, Streams: 4})
	v.finish(nil)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1+1+10+1+1 { // creating, the resume notice, one a second for 10 s, done, the notice
		t.Errorf("%d lines, want 14:\n%s", len(lines), buf.String())
	}
	if !strings.HasPrefix(lines[1], "resuming upload") || !strings.Contains(lines[2], "sending") {
		t.Errorf("the notice made while creating is not shown when sending starts:\n%s", buf.String())
	}
	if !strings.HasPrefix(lines[len(lines)-2], "a.jsonl: done, 100 MiB in 10s") || lines[len(lines)-1] != "a notice held until the end" {
		t.Errorf("the last lines are %q", lines[len(lines)-2:])
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Errorf("escape sequences without a terminal: %q", buf.String())
	}

	// A failure that says what became of the Upload: its notice is not repeated, even when it
	// came while the Upload was created; other notices are kept.
	buf.Reset()
	v = &plainView{con: con, t: transfer{label: "a.jsonl"}, now: func() time.Time { return clock }}
	v.update(helpers.Progress{Phase: helpers.PhaseCreating, TotalBytes: 10, TotalParts: 1})
	v.notice("the file changed since checkpoint c; cancelling upload upload_old and starting a new one")
	v.notice("upload upload_x failed and was cancelled")
	v.update(helpers.Progress{Phase: helpers.PhaseCancelled, TotalBytes: 10, TotalParts: 1})
	v.finish(&helpers.UploadError{UploadID: "upload_x", Cancelled: true, Err: context.Canceled})
	if strings.Contains(buf.String(), "upload_x failed") || !strings.Contains(buf.String(), "upload_old and starting") || !strings.Contains(buf.String(), "a.jsonl: cancelled at") {
		t.Errorf("output %q", buf.String())
	}
	buf.Reset()
	v = &plainView{con: con, t: transfer{label: "a.jsonl"}, now: func() time.Time { return clock }}
	v.update(helpers.Progress{Phase: helpers.PhaseSending, TotalBytes: 10, TotalParts: 1})
	v.notice("upload upload_x failed and was cancelled")
	v.update(helpers.Progress{Phase: helpers.PhaseFailed, TotalBytes: 10, TotalParts: 1})
	v.finish(&helpers.UploadError{UploadID: "upload_x", Cancelled: true, Err: errors.New("boom")})
	if strings.Contains(buf.String(), "failed and was cancelled") || strings.Count(buf.String(), "a.jsonl: failed") != 1 {
		t.Errorf("output %q", buf.String())
	}
}

// TestConsoleWritesAboveTheBlock: what is written while a block is shown appears above it, whole
// lines only, and the block is drawn again below.
func TestConsoleWritesAboveTheBlock(t *testing.T) {
	v := newVT(40)
	w := &screenWriter{t: t, vt: v, label: "bar"}
	con := newConsole(w, func() int { return 40 })
	con.show([]string{"bar 1"})
	fmt.Fprint(con, "a debug line, ")
	con.show([]string{"bar 2"})
	fmt.Fprintln(con, "ended")
	fmt.Fprintln(con, "another")
	if got := strings.Join(v.screen(), "|"); got != "a debug line, ended|another|bar 2" {
		t.Errorf("screen %q", got)
	}
	con.finish([]string{"bar done"})
	con.println("after")
	if got := strings.Join(v.screen(), "|"); got != "a debug line, ended|another|bar done|after" {
		t.Errorf("screen %q", got)
	}
	if w.worst != 1 {
		t.Errorf("%d bars at once", w.worst)
	}
}

// TestConsoleAfterNarrowing: a terminal that reflows wraps the block's line when it narrows; the
// next draw erases every row of it.
func TestConsoleAfterNarrowing(t *testing.T) {
	v := newVT(80)
	w := &screenWriter{t: t, vt: v, label: "file.jsonl"}
	width := 80
	con := newConsole(w, func() int { return width })
	con.println("before")
	con.show([]string{"file.jsonl " + strings.Repeat("=", 60)})
	width = 40
	v.resize(40)
	con.show([]string{"file.jsonl " + strings.Repeat("-", 20)})
	if got := v.screen(); len(got) != 2 || got[0] != "before" || v.count("file.jsonl") != 1 {
		t.Errorf("screen %q", got)
	}
}

// TestDevNullIsNotATerminal: a character device that is not a terminal (/dev/null) gets plain
// lines, not a redrawn line (term.IsTerminal asks the terminal, not the file mode).
func TestDevNullIsNotATerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if info, _ := f.Stat(); info.Mode()&os.ModeCharDevice == 0 {
		t.Skip("/dev/null is not a character device here")
	}
	if newConsole(f, nil).terminal() {
		t.Errorf("/dev/null is taken for a terminal")
	}
	a := &app{console: newConsole(f, nil)}
	if _, ok := a.newProgressView(false, "a").(*plainView); !ok {
		t.Errorf("the view for /dev/null is not plain lines")
	}
}
