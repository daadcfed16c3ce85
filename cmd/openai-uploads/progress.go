package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/openai-uploads/uploads/helpers"
)

// progressView shows an upload's progress on stderr. update is called by the helpers (never
// concurrently), notice with the helpers' notices, finish once with the upload's outcome. Nothing
// is drawn before the first update, which the helpers make only once the inputs are valid, and
// finish leaves exactly one line per upload saying how it ended (done, failed or cancelled).
//
// The helpers' notices are held: those made while the Upload was created (resuming, starting
// afresh) are printed once parts are being sent, the others after the final line, except the
// ones about an Upload whose fate the error already tells (an *helpers.UploadError names it):
// the failure is said once.
type progressView interface {
	update(p helpers.Progress)
	notice(msg string)
	finish(err error)
}

const (
	// plainInterval is the most often a plain progress line is printed (stderr not a terminal).
	plainInterval = time.Second
	// redrawInterval is how often the terminal's progress line is redrawn (rate, ETA, elapsed
	// time, and a new width after the terminal was resized).
	redrawInterval = 150 * time.Millisecond
)

// newProgressView picks the view: none with --quiet, a line redrawn in place when stderr is a
// terminal, plain lines at most once a second otherwise.
func (a *app) newProgressView(quiet bool, label string) progressView {
	switch {
	case quiet:
		return quietView{}
	case a.console.terminal():
		return &liveView{con: a.console, t: transfer{label: printable(label, "")}, now: time.Now}
	default:
		return &plainView{con: a.console, t: transfer{label: printable(label, "")}, now: time.Now}
	}
}

type quietView struct{}

func (quietView) update(helpers.Progress) {}
func (quietView) notice(string)           {}
func (quietView) finish(error)            {}

// noticeGate holds the helpers' notices (see progressView).
type noticeGate struct {
	held []string
}

// hold holds msg.
func (g *noticeGate) hold(msg string) { g.held = append(g.held, msg) }

// started prints what was held while the Upload was created, once parts are being sent.
func (g *noticeGate) started(t *transfer, con *console) {
	if !t.seen || t.p.Phase == helpers.PhaseCreating || final(t.p.Phase) {
		return
	}
	for _, m := range g.held {
		con.println(m)
	}
	g.held = nil
}

// release prints the held notices at the end, but for those about an Upload the error already
// tells the fate of.
func (g *noticeGate) release(con *console, err error) {
	var upErr *helpers.UploadError
	told := ""
	if err != nil && errors.As(err, &upErr) {
		told = upErr.UploadID
	}
	for _, m := range g.held {
		if told == "" || !strings.Contains(m, told) {
			con.println(m)
		}
	}
	g.held = nil
}

// settle makes sure the transfer ended in a final phase, from err if the helpers did not say.
func settle(t *transfer, err error, now time.Time) {
	if final(t.p.Phase) {
		return
	}
	p := t.p
	switch {
	case err == nil:
		p.Phase = helpers.PhaseDone
	case errors.Is(err, context.Canceled):
		p.Phase = helpers.PhaseCancelled
	default:
		p.Phase = helpers.PhaseFailed
	}
	t.observe(p, now)
}

// liveView is the progress line on a terminal, redrawn in place at the terminal's width.
type liveView struct {
	con  *console
	now  func() time.Time
	mu   sync.Mutex // guards t and gate: updates and the redraw goroutine share them
	t    transfer
	gate noticeGate
	loop *redrawLoop
	last string // the line drawn last, not drawn again while it stays the same
}

func (v *liveView) update(p helpers.Progress) {
	v.mu.Lock()
	first := !v.t.seen
	changed := p.Phase != v.t.p.Phase
	v.t.observe(p, v.now())
	v.gate.started(&v.t, v.con)
	v.mu.Unlock()
	if first {
		v.loop = startRedraw(v.redraw)
	}
	if changed && !final(p.Phase) {
		v.redraw()
	}
}

// redrawLoop calls draw at once and then every redrawInterval until halted.
type redrawLoop struct {
	stop, done chan struct{}
}

func startRedraw(draw func()) *redrawLoop {
	l := &redrawLoop{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(redrawInterval)
		defer tick.Stop()
		for {
			draw()
			select {
			case <-tick.C:
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

// halt stops the loop and returns once no draw is under way.
func (l *redrawLoop) halt() {
	close(l.stop)
	<-l.done
}

func (v *liveView) redraw() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if final(v.t.p.Phase) {
		return // finish draws the last line
	}
	line := v.t.line(v.con.columns()-1, v.now())
	if line == v.last {
		return
	}
	v.last = line
	v.con.show([]string{line})
}

func (v *liveView) notice(msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gate.hold(msg)
}

func (v *liveView) finish(err error) {
	if v.loop == nil { // never started: the helpers refused the inputs before any request
		v.gate.release(v.con, err)
		return
	}
	v.loop.halt()
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	v.t.outcome(err)
	settle(&v.t, err, now)
	v.con.finish([]string{v.t.finalLine(v.con.columns()-1, now)})
	v.gate.release(v.con, err)
}

// plainView prints progress lines when stderr is not a terminal: at most one per plainInterval,
// and one final line.
type plainView struct {
	mu      sync.Mutex // notices may come from another goroutine than updates
	con     *console
	now     func() time.Time
	t       transfer
	gate    noticeGate
	printed time.Time
}

func (v *plainView) update(p helpers.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	first := !v.t.seen
	v.t.observe(p, now)
	if final(p.Phase) {
		return // finish prints the last line
	}
	v.gate.started(&v.t, v.con)
	if first || now.Sub(v.printed) >= plainInterval {
		v.printed = now
		v.con.println(v.t.plain(now))
	}
}

func (v *plainView) notice(msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gate.hold(msg)
}

func (v *plainView) finish(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.t.seen {
		v.gate.release(v.con, err)
		return
	}
	now := v.now()
	v.t.outcome(err)
	settle(&v.t, err, now)
	v.con.println(v.t.plain(now))
	v.gate.release(v.con, err)
}
