package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/openai-uploads/uploads/helpers"
)

// progressView shows an upload's progress; update is never called concurrently (the helper
// promises it), finish once at the end.
type progressView interface {
	update(p helpers.Progress)
	finish(ok bool)
}

// plainInterval is the most often plain progress lines are printed.
const plainInterval = time.Second

// newProgressView picks the view: none with --quiet, a bar when stderr is a terminal (or when
// forced, for tests), plain lines otherwise.
func (a *app) newProgressView(quiet bool, label string) progressView {
	switch {
	case quiet:
		return noProgress{}
	case a.forceBar || a.stderrTerminal:
		return newBarView(a.stderr, label)
	default:
		return &lineView{w: a.stderr, label: label, now: time.Now}
	}
}

// isTerminal reports whether w is a character device (a terminal), without a dependency.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

type noProgress struct{}

func (noProgress) update(helpers.Progress) {}
func (noProgress) finish(bool)             {}

// barView is an mpb progress bar: bytes, rate, ETA and parts done.
type barView struct {
	p     *mpb.Progress
	bar   *mpb.Bar
	once  sync.Once
	last  time.Time
	parts string
	mu    sync.Mutex // guards parts, read by the decorator from mpb's goroutine
}

func newBarView(w io.Writer, label string) *barView {
	v := &barView{last: time.Now()}
	v.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(120), mpb.WithAutoRefresh())
	return v.withLabel(label)
}

func (v *barView) withLabel(label string) *barView {
	v.parts = "parts 0/0"
	partsDecor := decor.Any(func(decor.Statistics) string {
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.parts
	}, decor.WCSyncSpaceR)
	v.bar = v.p.AddBar(0, mpb.BarWidth(30),
		mpb.PrependDecorators(
			decor.Name(label, decor.WCSyncSpaceR),
			partsDecor,
			decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpaceR),
		),
		mpb.AppendDecorators(
			decor.Percentage(decor.WCSyncSpace),
			decor.EwmaSpeed(decor.SizeB1024(0), "% .1f", 30, decor.WCSyncSpace),
			decor.OnComplete(decor.EwmaETA(decor.ET_STYLE_GO, 30, decor.WCSyncSpace), "done"),
		),
	)
	return v
}

func (v *barView) update(p helpers.Progress) {
	v.once.Do(func() { v.bar.SetTotal(p.TotalBytes, false) })
	v.mu.Lock()
	v.parts = fmt.Sprintf("parts %d/%d", p.PartsDone, p.TotalParts)
	v.mu.Unlock()
	now := time.Now()
	v.bar.EwmaSetCurrent(p.BytesSent, now.Sub(v.last))
	v.last = now
}

func (v *barView) finish(ok bool) {
	if ok {
		v.bar.SetTotal(-1, true)
	} else {
		v.bar.Abort(false)
	}
	v.p.Wait()
}

// lineView prints a plain progress line at most once per plainInterval, and a last one at the
// end.
type lineView struct {
	w       io.Writer
	label   string
	now     func() time.Time
	start   time.Time
	printed time.Time
	last    helpers.Progress
	dirty   bool // last holds an update not printed yet
}

func (v *lineView) update(p helpers.Progress) {
	now := v.now()
	if v.start.IsZero() {
		v.start = now
	}
	v.last, v.dirty = p, true
	if now.Sub(v.printed) >= plainInterval {
		v.printed = now
		v.print(now)
	}
}

func (v *lineView) print(now time.Time) {
	v.dirty = false
	p := v.last
	pct := 0.0
	if p.TotalBytes > 0 {
		pct = 100 * float64(p.BytesSent) / float64(p.TotalBytes)
	}
	rate := ""
	if d := now.Sub(v.start).Seconds(); d > 0 {
		rate = fmt.Sprintf(", %s/s", humanBytes(int64(float64(p.BytesSent)/d)))
	}
	fmt.Fprintf(v.w, "%s %s: %s / %s (%.0f%%), parts %d/%d%s\n", v.label, p.UploadID,
		humanBytes(p.BytesSent), humanBytes(p.TotalBytes), pct, p.PartsDone, p.TotalParts, rate)
}

func (v *lineView) finish(bool) {
	if v.dirty {
		v.print(v.now())
	}
}

// humanBytes formats a byte count in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
