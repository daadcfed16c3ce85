package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/openai-uploads/uploads/helpers"
)

// transfer follows one upload for display: its last Progress, when its phase began, and the
// recent (time, bytes) samples behind a smoothed rate. It is the state of one progress line; a
// total line over several transfers can be built from the same pieces.
type transfer struct {
	label string
	// shared: one of several files, whose streams are shared (the total line shows them).
	shared     bool
	p          helpers.Progress
	seen       bool
	start      time.Time // first update
	phaseSince time.Time
	sendStart  time.Time
	end        time.Time // when it reached done, failed or cancelled
	// mostSent is the most bytes ever sent: when an upload stops, the parts in flight are
	// rewound out of BytesSent, yet the final line should say how far it got.
	mostSent int64
	samples  []rateSample
	// notCancelled: the upload stopped (PhaseCancelled) but its Upload was not cancelled: it was
	// left pending, resumable, or its fate is unknown (see outcome). The final line then says
	// "interrupted", not "cancelled".
	notCancelled bool
	// resumable: the upload stopped and its Upload was left pending for a resume (--checkpoint).
	resumable bool
}

// outcome records what became of the Upload, from the upload's error.
func (t *transfer) outcome(err error) {
	var up *helpers.UploadError
	isUp := errors.As(err, &up)
	t.resumable = isUp && up.Resumable
	t.notCancelled = err != nil && !(isUp && up.Cancelled)
}

// stopWord says how a transfer that did not finish ended.
func (t *transfer) stopWord() string {
	switch {
	case t.p.Phase == helpers.PhaseFailed:
		return "failed"
	case t.notCancelled:
		return "interrupted"
	}
	return "cancelled"
}

func (t *transfer) resumableText() string {
	if t.resumable {
		return "(resumable)"
	}
	return ""
}

type rateSample struct {
	t     time.Time
	bytes int64
}

const (
	// rateWindow is the span the rate is averaged over: long enough that parts finishing in a
	// burst, or the first megabytes vanishing into socket buffers, do not swing it.
	rateWindow = 10 * time.Second
	// rateWarmup is how long parts must have been sent before a rate (and an ETA) is shown.
	rateWarmup = 1500 * time.Millisecond
	// stallGrace is how long no bytes may arrive before the rate starts to fall.
	stallGrace = 3 * time.Second
)

func (t *transfer) observe(p helpers.Progress, now time.Time) {
	if !t.seen {
		t.seen, t.start = true, now
	}
	if p.Phase != t.p.Phase || t.phaseSince.IsZero() {
		t.phaseSince = now
	}
	if p.Phase == helpers.PhaseSending {
		if t.sendStart.IsZero() {
			t.sendStart = now
		}
		t.samples = append(t.samples, rateSample{now, p.BytesSent})
		for len(t.samples) > 2 && !t.samples[1].t.After(now.Add(-rateWindow)) {
			t.samples = t.samples[1:]
		}
	}
	if final(p.Phase) && t.end.IsZero() {
		t.end = now
	}
	t.mostSent = max(t.mostSent, p.BytesSent)
	t.p = p
}

func final(ph helpers.Phase) bool {
	return ph == helpers.PhaseDone || ph == helpers.PhaseFailed || ph == helpers.PhaseCancelled
}

// rate is the bytes per second over the last rateWindow, and false during the warm-up. It is
// measured between samples, so that parts finishing in bursts do not make it saw up and down
// between them; once nothing has moved for stallGrace it falls as the time without bytes grows.
func (t *transfer) rate(now time.Time) (float64, bool) {
	if len(t.samples) < 2 || now.Sub(t.sendStart) < rateWarmup {
		return 0, false
	}
	first, last := t.samples[0], t.samples[len(t.samples)-1]
	end := last.t
	if quiet := now.Add(-stallGrace); quiet.After(end) {
		end = quiet
	}
	d := end.Sub(first.t).Seconds()
	if d <= 0 {
		return 0, false
	}
	return max(0, float64(last.bytes-first.bytes)/d), true
}

// eta is the time left at the current rate.
func (t *transfer) eta(now time.Time) (time.Duration, bool) {
	r, ok := t.rate(now)
	if !ok || r < 1 {
		return 0, false
	}
	left := float64(t.p.TotalBytes - t.p.BytesSent)
	return time.Duration(left / r * float64(time.Second)), true
}

func (t *transfer) percent() int { return percentOf(t.p.BytesSent, t.p.TotalBytes) }

func percentOf(n, total int64) int {
	if total <= 0 {
		return 0
	}
	return int(100 * n / total)
}

// stopped says how far a failed or cancelled transfer got: the most it sent, and the parts
// done (which a resume keeps).
func (t *transfer) stopped() (at, of, parts string) {
	p := t.p
	return fmt.Sprintf("at %d%%", percentOf(t.mostSent, p.TotalBytes)),
		fmt.Sprintf("(%s of %s)", formatSize(t.mostSent), formatSize(p.TotalBytes)),
		fmt.Sprintf("parts %d/%d done", p.PartsDone, p.TotalParts)
}

// piece is a part of a progress line. The line keeps pieces by priority (lowest first) while they
// fit, and shows the kept ones in their order; alts are the piece's texts, longest first, of which
// the longest that fits is used; a bar piece is the bar, which takes barWidth(width) columns or
// more.
type piece struct {
	alts []string
	prio int
	bar  bool
}

const (
	barMin = 10
	// barShare: the bar takes at least a fifth of the line (up to 20 columns) before the
	// least useful figures (parts, streams) are shown.
	barShare = 5
	barMax   = 42
)

func text(prio int, alts ...string) piece { return piece{alts: alts, prio: prio} }

// layout lays pieces out within width columns, separated by single spaces. First the pieces
// are kept by priority, each at its shortest, while they fit; then, again by priority, each takes
// its longest text that fits; then the bar takes the columns left, up to barMax. Pieces of
// priority 0 are always kept (the line is cut to width at the end).
func layout(width int, pieces []piece, bar func(int) string) string {
	least := min(max(barMin, width/barShare), 20)
	order := make([]int, 0, len(pieces))
	for i, p := range pieces {
		if p.bar || (len(p.alts) > 0 && p.alts[0] != "") { // nothing to show: a rate during the warm-up, no retries
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return pieces[order[a]].prio < pieces[order[b]].prio })
	widthOf := func(i, alt int) int {
		if pieces[i].bar {
			return least
		}
		return runewidth.StringWidth(pieces[i].alts[alt])
	}
	chosen := make([]int, len(pieces)) // the alt shown
	kept := make([]bool, len(pieces))
	used := -1 // the separators: one fewer than the pieces
	for _, i := range order {
		shortest := max(0, len(pieces[i].alts)-1)
		if w := widthOf(i, shortest); used+1+w <= width || pieces[i].prio == 0 {
			kept[i], chosen[i], used = true, shortest, used+1+w
		}
	}
	for _, i := range order {
		for alt := 0; kept[i] && alt < chosen[i]; alt++ {
			if grow := widthOf(i, alt) - widthOf(i, chosen[i]); used+grow <= width {
				chosen[i], used = alt, used+grow
				break
			}
		}
	}
	var parts []string
	for i, p := range pieces {
		switch {
		case !kept[i]:
		case p.bar:
			parts = append(parts, bar(least+min(max(0, width-used), barMax-least)))
		default:
			parts = append(parts, p.alts[chosen[i]])
		}
	}
	return fitWidth(strings.Join(parts, " "), width)
}

// barOf draws a bar of w columns filled to the fraction done/total: [=======>      ].
func barOf(w int, done, total int64) string {
	inner := w - 2
	if inner < 1 {
		return ""
	}
	n := 0
	if total > 0 {
		n = int(int64(inner) * min(done, total) / total)
	}
	switch {
	case n >= inner:
		return "[" + strings.Repeat("=", inner) + "]"
	case n == 0:
		return "[" + strings.Repeat(" ", inner) + "]"
	}
	return "[" + strings.Repeat("=", n-1) + ">" + strings.Repeat(" ", inner-n) + "]"
}

// line is the transfer's progress line for a terminal of width columns.
func (t *transfer) line(width int, now time.Time) string {
	name := text(0, fitMiddle(t.label, max(8, width/3)))
	p := t.p
	retries := retriesPiece(2, p.Retries)
	switch p.Phase {
	case helpers.PhaseCreating:
		return layout(width, []piece{name, text(1, "creating the Upload…", "creating…"), text(2, formatElapsed(now.Sub(t.phaseSince)))}, nil)
	case helpers.PhaseSending:
		word := "sending"
		if t.shared && p.BytesSent == 0 {
			word = "waiting" // for a slot of the budget the files share
		}
		pieces := []piece{
			name,
			text(6, word),
			{bar: true, prio: 1},
			text(1, fmt.Sprintf("%3d%%", t.percent())),
			text(5, sizeOfTotal(p.BytesSent, p.TotalBytes)),
			text(4, fmt.Sprintf("%10s", rateText(t, now))),
			text(3, fmt.Sprintf("%-9s", etaText(t, now))),
			retries,
			throttledPiece(7, p.Throttled),
			text(8, fmt.Sprintf("parts %*d/%d", len(fmt.Sprint(p.TotalParts)), p.PartsDone, p.TotalParts)),
			t.streamsPiece(5),
		}
		return layout(width, pieces, func(w int) string { return barOf(w, p.BytesSent, p.TotalBytes) })
	case helpers.PhaseCompleting:
		return layout(width, []piece{name,
			text(1, "completing: the server assembles and checks the file", "completing: the server checks the file", "completing…"),
			text(3, formatElapsed(now.Sub(t.phaseSince))), retries}, nil)
	}
	return t.finalLine(width, now)
}

// finalLine is the one line left on screen when the transfer ends.
func (t *transfer) finalLine(width int, now time.Time) string {
	name := text(0, fitMiddle(t.label, max(8, width/3)))
	p := t.p
	end := t.end
	if end.IsZero() {
		end = now
	}
	elapsed := end.Sub(t.start)
	switch p.Phase {
	case helpers.PhaseDone:
		avg := ""
		if s := elapsed.Seconds(); s > 0 {
			avg = "(" + formatSize(int64(float64(p.TotalBytes)/s)) + "/s)"
		}
		return layout(width, []piece{name, text(0, "done"), text(2, formatSize(p.TotalBytes)), text(3, "in "+formatElapsed(elapsed)),
			text(4, avg), retriesPiece(1, p.Retries), throttledPiece(5, p.Throttled)}, nil)
	default:
		at, of, parts := t.stopped()
		return layout(width, []piece{name, text(0, t.stopWord()), text(1, at), text(3, of), text(4, parts),
			text(2, afterRetries(p.Retries)), text(1, t.resumableText())}, nil)
	}
}

// plain is the transfer's line when stderr is not a terminal: every figure, no bar.
func (t *transfer) plain(now time.Time) string {
	p := t.p
	var b strings.Builder
	b.WriteString(t.label + ": ")
	switch p.Phase {
	case helpers.PhaseCreating:
		b.WriteString("creating the Upload")
	case helpers.PhaseSending:
		fmt.Fprintf(&b, "sending %d%% (%s of %s)", t.percent(), formatSize(p.BytesSent), formatSize(p.TotalBytes))
		if r, ok := t.rate(now); ok {
			fmt.Fprintf(&b, ", %s/s", formatSize(int64(r)))
		}
		if d, ok := t.eta(now); ok {
			fmt.Fprintf(&b, ", ETA %s", formatElapsed(d))
		}
		fmt.Fprintf(&b, ", parts %d/%d", p.PartsDone, p.TotalParts)
		if !t.shared {
			fmt.Fprintf(&b, ", %d streams", p.Streams)
		}
	case helpers.PhaseCompleting:
		fmt.Fprintf(&b, "completing: the server assembles and checks the file (parts %d/%d)", p.PartsDone, p.TotalParts)
	case helpers.PhaseDone:
		elapsed := t.end.Sub(t.start)
		fmt.Fprintf(&b, "done, %s in %s", formatSize(p.TotalBytes), formatElapsed(elapsed))
		if s := elapsed.Seconds(); s > 0 {
			fmt.Fprintf(&b, " (%s/s)", formatSize(int64(float64(p.TotalBytes)/s)))
		}
		fmt.Fprintf(&b, ", parts %d/%d", p.PartsDone, p.TotalParts)
	default: // failed or cancelled
		at, of, parts := t.stopped()
		fmt.Fprintf(&b, "%s %s %s, %s", t.stopWord(), at, of, parts)
		if t.resumable {
			b.WriteString(", resumable")
		}
	}
	if p.Retries > 0 {
		fmt.Fprintf(&b, ", %s", retriesText(p.Retries))
	}
	if p.Throttled > 0 {
		fmt.Fprintf(&b, ", %d rate-limited (429, sent again)", p.Throttled)
	}
	return b.String()
}

// throttledPiece counts the part requests answered 429 and put back in the queue.
func throttledPiece(prio, n int) piece {
	if n == 0 {
		return piece{}
	}
	return text(prio, fmt.Sprintf("%d rate-limited", n), fmt.Sprintf("%d×429", n))
}

// streamsPiece shows the streams (×N when short of room), but for one of several files (the
// total shows them).
func (t *transfer) streamsPiece(prio int) piece {
	if t.shared {
		return piece{}
	}
	return streamsText(prio, t.p.Streams)
}

func streamsText(prio, n int) piece {
	return text(prio, fmt.Sprintf("%d streams", n), fmt.Sprintf("×%d", n))
}

func retriesPiece(prio, n int) piece {
	if n == 0 {
		return piece{}
	}
	return text(prio, retriesText(n))
}

// sizeOfTotal writes " 80.0/200 MiB", or "512 KiB/1.00 GiB" when the units differ, the
// first number padded to four columns so that the line does not shift as it grows.
func sizeOfTotal(done, total int64) string {
	d, t := formatSize(done), formatSize(total)
	if i, j := strings.LastIndexByte(d, ' '), strings.LastIndexByte(t, ' '); i > 0 && j > 0 && d[i:] == t[j:] {
		return fmt.Sprintf("%4s/%s", d[:i], t)
	}
	return fmt.Sprintf("%8s/%s", d, t)
}

func retriesText(n int) string {
	if n == 1 {
		return "1 retry"
	}
	return fmt.Sprintf("%d retries", n)
}

func afterRetries(n int) string {
	if n == 0 {
		return ""
	}
	return "after " + retriesText(n)
}

// rateText is the rate, or a placeholder of the same kind while it is not known yet.
func rateText(t *transfer, now time.Time) string {
	if r, ok := t.rate(now); ok {
		return formatSize(int64(r)) + "/s"
	}
	return "-- B/s"
}

func etaText(t *transfer, now time.Time) string {
	if d, ok := t.eta(now); ok {
		return "ETA " + formatElapsed(d)
	}
	return "ETA --"
}

// formatElapsed writes a duration to the second: 9s, 1m05s, 2h03m.
func formatElapsed(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
}
