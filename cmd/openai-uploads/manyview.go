package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/openai-uploads/uploads/helpers"
)

// The progress of several files (upload PATH...). On a terminal a live block: a line per file
// in flight (at most maxShownFiles, then a line saying how many more) and a total line; each
// file's final line is printed above the block as the file ends, so the screen holds at most one
// line per file plus the total, and 400 files never take 400 live lines. Otherwise plain lines:
// each file's final line as it ends, and a total at most once a second. Notices are held and
// printed at the end, tagged with their path, but for those about an Upload whose fate the
// file's error already tells (as for one file).

// maxShownFiles is the most files in flight the live block shows a line for.
const maxShownFiles = 8

type manyView interface {
	update(p helpers.FileProgress)
	notice(index int, path, msg string)
	finish(results []helpers.FileResult, err error)
}

func (a *app) newManyView(quiet bool, paths []string, sizes []int64) manyView {
	b := newBatch(paths, sizes)
	switch {
	case quiet:
		return quietMany{}
	case a.console.terminal():
		return &liveMany{con: a.console, b: b, now: time.Now}
	default:
		return &plainMany{con: a.console, b: b, now: time.Now}
	}
}

type quietMany struct{}

func (quietMany) update(helpers.FileProgress)        {}
func (quietMany) notice(int, string, string)         {}
func (quietMany) finish([]helpers.FileResult, error) {}

// batch is the state of several transfers and their total.
type batch struct {
	files  []transfer
	sizes  []int64
	ended  []bool
	flight []int // files started and not ended, in the order of paths
	held   [][]string
	total  transfer
	sum    int64
	done   int
	failed int
	seen   bool
	last   helpers.Progress // the latest report of any file (its Streams is the shared window)
}

func newBatch(paths []string, sizes []int64) *batch {
	b := &batch{files: make([]transfer, len(paths)), sizes: sizes, ended: make([]bool, len(paths)), held: make([][]string, len(paths)),
		total: transfer{label: "total"}}
	for i, p := range paths {
		b.files[i] = transfer{label: printable(p, ""), shared: true}
		b.sum += sizes[i]
	}
	return b
}

// observe takes a file's report; it says whether the file just ended.
func (b *batch) observe(fp helpers.FileProgress, now time.Time) bool {
	i := fp.Index
	t := &b.files[i]
	if !t.seen { // in flight, kept in the order of paths
		k := len(b.flight)
		for k > 0 && b.flight[k-1] > i {
			k--
		}
		b.flight = append(b.flight[:k], append([]int{i}, b.flight[k:]...)...)
	}
	t.observe(fp.Progress, now)
	b.last, b.seen = fp.Progress, true
	ended := final(fp.Phase) && !b.ended[i]
	if ended {
		b.ended[i] = true
		for k, j := range b.flight {
			if j == i {
				b.flight = append(b.flight[:k], b.flight[k+1:]...)
				break
			}
		}
		if fp.Phase == helpers.PhaseDone {
			b.done++
		} else {
			b.failed++
		}
	}
	b.total.observe(b.totalProgress(), now)
	return ended
}

// totalProgress is the batch as one Progress: the bytes sent of every file, of them all.
func (b *batch) totalProgress() helpers.Progress {
	p := helpers.Progress{Phase: helpers.PhaseSending, TotalBytes: b.sum, Streams: b.last.Streams}
	for i := range b.files {
		p.BytesSent += b.files[i].p.BytesSent
		p.Retries += b.files[i].p.Retries
		p.Throttled += b.files[i].p.Throttled
	}
	return p
}

// lines is the live block: the files in flight and the total.
func (b *batch) lines(width int, now time.Time) []string {
	var out []string
	for k, i := range b.flight {
		if k == maxShownFiles {
			out = append(out, fitWidth(fmt.Sprintf("… and %d more files in flight", len(b.flight)-k), width))
			break
		}
		out = append(out, b.files[i].line(width, now))
	}
	return append(out, b.totalLine(width, now))
}

func (b *batch) countText() string {
	return fmt.Sprintf("%d/%d files", b.done, len(b.files))
}

func (b *batch) failedPiece(prio int) piece {
	if b.failed == 0 {
		return piece{}
	}
	return text(prio, fmt.Sprintf("%d failed", b.failed))
}

// totalLine is the total's live line.
func (b *batch) totalLine(width int, now time.Time) string {
	t := &b.total
	p := t.p
	pieces := []piece{
		text(0, "total"),
		{bar: true, prio: 1},
		text(1, fmt.Sprintf("%3d%%", t.percent())),
		text(2, b.countText()),
		b.failedPiece(2),
		text(6, sizeOfTotal(p.BytesSent, p.TotalBytes)),
		text(5, fmt.Sprintf("%10s", rateText(t, now))),
		text(3, fmt.Sprintf("%-9s", etaText(t, now))),
		retriesPiece(7, p.Retries),
		streamsText(4, p.Streams),
	}
	return layout(width, pieces, func(w int) string { return barOf(w, p.BytesSent, p.TotalBytes) })
}

// totalFinal is the total's final line, within width columns.
func (b *batch) totalFinal(width int, now time.Time) string {
	elapsed := now.Sub(b.total.start)
	var sent int64
	for i := range b.files {
		if b.files[i].p.Phase == helpers.PhaseDone {
			sent += b.files[i].p.TotalBytes
		}
	}
	avg := ""
	if sec := elapsed.Seconds(); sec > 0 {
		avg = fmt.Sprintf("(%s/s)", formatSize(int64(float64(sent)/sec)))
	}
	count := func(n int, what string) piece {
		if n == 0 {
			return piece{}
		}
		return text(1, fmt.Sprintf(", %d %s", n, what))
	}
	p := b.total.p
	pieces := []piece{
		text(0, fmt.Sprintf("total: %d of %d files done", b.done, len(b.files))),
		count(b.failed, "failed"),
		count(len(b.files)-b.done-b.failed, "not started"),
		text(3, "; "+formatSize(sent)),
		text(2, "in "+formatElapsed(elapsed)),
		text(4, avg),
		text(5, afterRetries(p.Retries)),
		throttledPiece(6, p.Throttled),
	}
	line := layout(width, pieces, nil)
	return strings.NewReplacer(" ,", ",", " ;", ";").Replace(line) // the separators before , and ;
}

// totalPlain is the total's plain line.
func (b *batch) totalPlain(now time.Time) string {
	t := &b.total
	p := t.p
	var s strings.Builder
	fmt.Fprintf(&s, "total: %d%% (%s of %s), %s done", t.percent(), formatSize(p.BytesSent), formatSize(p.TotalBytes), b.countText())
	if b.failed > 0 {
		fmt.Fprintf(&s, ", %d failed", b.failed)
	}
	if r, ok := t.rate(now); ok {
		fmt.Fprintf(&s, ", %s/s", formatSize(int64(r)))
	}
	if d, ok := t.eta(now); ok {
		fmt.Fprintf(&s, ", ETA %s", formatElapsed(d))
	}
	fmt.Fprintf(&s, ", %d streams", p.Streams)
	return s.String()
}

// release prints the held notices, tagged with their path, but for those about an Upload whose
// fate the file's error already tells.
func (b *batch) release(con *console, results []helpers.FileResult) {
	for i, msgs := range b.held {
		var upErr *helpers.UploadError
		told := ""
		if i < len(results) && results[i].Err != nil && errors.As(results[i].Err, &upErr) {
			told = upErr.UploadID
		}
		for _, m := range msgs {
			if told == "" || !strings.Contains(m, told) {
				con.println(b.files[i].label + ": " + m)
			}
		}
	}
}

// liveMany is the live block on a terminal.
type liveMany struct {
	con  *console
	now  func() time.Time
	mu   sync.Mutex
	b    *batch
	loop *redrawLoop
}

func (v *liveMany) update(fp helpers.FileProgress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	first := !v.b.seen
	if v.b.observe(fp, now) {
		// The block first loses the file's line, then its final line goes above: the file is
		// never named twice on the screen.
		w := v.con.columns() - 1
		v.con.show(v.b.lines(w, now))
		v.con.println(v.b.files[fp.Index].finalLine(w, now))
	}
	if first {
		v.loop = startRedraw(v.redraw)
	}
}

func (v *liveMany) redraw() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.loop == nil || v.b == nil {
		return
	}
	v.con.show(v.b.lines(v.con.columns()-1, v.now()))
}

func (v *liveMany) notice(i int, _, msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.b.held[i] = append(v.b.held[i], msg)
}

func (v *liveMany) finish(results []helpers.FileResult, _ error) {
	v.mu.Lock()
	loop := v.loop
	v.mu.Unlock()
	if loop == nil { // nothing was started: the inputs were refused
		return
	}
	loop.halt()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.con.finish([]string{v.b.totalFinal(v.con.columns()-1, v.now())})
	v.b.release(v.con, results)
}

// plainMany prints plain lines when stderr is not a terminal.
type plainMany struct {
	mu      sync.Mutex
	con     *console
	now     func() time.Time
	b       *batch
	printed time.Time
}

func (v *plainMany) update(fp helpers.FileProgress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	first := !v.b.seen
	if v.b.observe(fp, now) {
		v.con.println(v.b.files[fp.Index].plain(now))
	}
	if first || now.Sub(v.printed) >= plainInterval {
		v.printed = now
		v.con.println(v.b.totalPlain(now))
	}
}

func (v *plainMany) notice(i int, _, msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.b.held[i] = append(v.b.held[i], msg)
}

func (v *plainMany) finish(results []helpers.FileResult, _ error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.b.seen {
		return
	}
	v.con.println(v.b.totalFinal(1<<16, v.now()))
	v.b.release(v.con, results)
}
