package helpers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// watchdog fires when no progress was marked for d. Marking progress is an atomic store, so the
// hot path (every Read of a part body) costs no timer reset; the timer re-arms itself for the
// time left when it wakes up early. While paused (a download between the caller's Reads) idle
// time does not count: only the network is watched, never the caller.
//
// With a probe (the bytes a request's socket holds unacknowledged, see watchSocket), the timer
// also wakes every d/probeSamples and counts a fall of that number as progress: once a body
// has been handed whole to the socket, its Reads stop, but on a slow link the socket's send
// buffer (megabytes) still drains for a long while, and a transfer that keeps moving must not
// be taken for a stall.
type watchdog struct {
	d      time.Duration
	fire   func()
	base   time.Time
	last   atomic.Int64 // time of the last progress, in ns since base
	paused atomic.Bool

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	probe   func() (int, bool)
	queued  int // the probe's last reading; -1 before the first
}

// probeSamples is how many times per stall timeout a probe is read.
const probeSamples = 4

// startWatchdog arms a watchdog that calls fire, once, after d without progress.
func startWatchdog(d time.Duration, fire func()) *watchdog {
	w := &watchdog{d: d, fire: fire, base: time.Now(), queued: -1}
	w.mu.Lock()
	w.timer = time.AfterFunc(d, w.check)
	w.mu.Unlock()
	return w
}

// touch marks progress.
func (w *watchdog) touch() { w.last.Store(int64(time.Since(w.base))) }

// pause stops counting idle time (after marking progress); resume starts again from now.
func (w *watchdog) pause()  { w.touch(); w.paused.Store(true) }
func (w *watchdog) resume() { w.touch(); w.paused.Store(false) }

// watchSocket makes the watchdog read probe, the bytes a socket holds unacknowledged, every
// d/probeSamples, and take a fall of that number for progress.
func (w *watchdog) watchSocket(probe func() (int, bool)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.probe = probe
	if !w.stopped {
		w.timer.Reset(w.d / probeSamples)
	}
}

func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if w.probe != nil {
		if q, ok := w.probe(); ok {
			if q < w.queued {
				w.touch() // the peer acknowledged bytes since the last reading
			}
			w.queued = q
		}
	}
	idle := time.Since(w.base) - time.Duration(w.last.Load())
	if w.paused.Load() {
		idle = 0
	}
	if idle >= w.d {
		w.stopped = true
		w.fire()
		return
	}
	next := w.d - idle
	if w.probe != nil {
		next = min(next, w.d/probeSamples)
	}
	w.timer.Reset(next)
}

// stop disarms the watchdog; it never fires afterwards.
func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.timer.Stop()
}

// stalledError is the cause an attempt is cancelled with when its watchdog fires.
func stalledError(d time.Duration) error {
	return fmt.Errorf("%w for %v (stall timeout)", ErrStalled, d)
}

// timeoutError is the cause an attempt is cancelled with when its deadline passes.
func timeoutError(d time.Duration) error {
	return fmt.Errorf("%w: the attempt took longer than %v (ClientOptions.Timeout)", ErrTimeout, d)
}

// guardedBody is a request body the transport reads, in its own goroutine, while an attempt
// lasts: each Read marks progress, and once the attempt is over (stop) further Reads fail
// without touching the source. stop waits for a Read under way, so that after it nothing reads
// the source any more: its buffers can be reused, its counters read.
type guardedBody struct {
	mu    sync.Mutex
	rc    io.ReadCloser
	touch func()
	over  bool
}

func (g *guardedBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.over {
		return 0, errAttemptOver
	}
	n, err := g.rc.Read(p)
	if n > 0 {
		g.touch()
	}
	return n, err
}

func (g *guardedBody) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.over = true
	return g.rc.Close()
}

func (g *guardedBody) stop() {
	g.mu.Lock()
	g.over = true
	g.mu.Unlock()
}

// watchedBody is a response body whose attempt lasts until it is closed. With a watchdog (a
// download), each Read is watched for a stall; without one, the attempt's deadline covers the
// reads. A Read failing because the attempt was cut reports why (ErrStalled, ErrTimeout).
type watchedBody struct {
	rc           io.ReadCloser
	wd           *watchdog // nil: the deadline applies
	parent, actx context.Context
	end          func()
	once         sync.Once
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.wd != nil {
		b.wd.resume()
		defer b.wd.pause()
	}
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = attemptCause(b.parent, b.actx, err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.rc.Close()
	b.once.Do(b.end)
	return err
}

// attemptCause returns err wrapped in the reason this package cut the attempt (a stall or the
// deadline), if it did; when the caller's context (parent) ended, or nothing was cut, err.
func attemptCause(parent, actx context.Context, err error) error {
	if parent.Err() != nil {
		return err
	}
	if cause := context.Cause(actx); errors.Is(cause, ErrStalled) || errors.Is(cause, ErrTimeout) {
		if errors.Is(err, ErrStalled) || errors.Is(err, ErrTimeout) {
			return err // net/http reports the cause itself
		}
		return fmt.Errorf("%w (%v)", cause, err)
	}
	return err
}
