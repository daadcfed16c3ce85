package helpers

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// progressTracker counts progress and calls the callback, never concurrently. Byte counts
// come from the part readers; a report is made at least every progressStep bytes and at each
// part's end.
type progressTracker struct {
	cb         func(Progress)
	total      int64
	totalParts int
	// streams is the number of part requests allowed in flight now (the budget's window).
	streams           func() int
	uploadID          string // under mu
	phase             Phase  // written before parts start and after they end, under mu
	sent, lastReport  atomic.Int64
	partsDone, nRetry atomic.Int64
	nThrottled        atomic.Int64
	mu                *sync.Mutex // held while cb runs; UploadFiles shares one among its files
	onPanic           func(error)
	panicErr          atomic.Pointer[error]
}

// newProgressTracker reports to cb (which may be nil); mu, when set, is held while cb runs
// (several trackers that share it never call back at once).
func newProgressTracker(cb func(Progress), total int64, totalParts int, streams func() int, mu *sync.Mutex) *progressTracker {
	if mu == nil {
		mu = &sync.Mutex{}
	}
	return &progressTracker{cb: cb, total: total, totalParts: totalParts, streams: streams, mu: mu}
}

const progressStep = 256 << 10

func (p *progressTracker) add(n int64) {
	if n == 0 {
		return
	}
	sent := p.sent.Add(n)
	if sent-p.lastReport.Load() >= progressStep {
		p.report(false)
	}
}

// errProgressPanic is wrapped by the error of an upload whose Progress callback panicked.
var errProgressPanic = errors.New("the Progress callback panicked")

func (p *progressTracker) rewind(n int64) { p.sent.Add(-n) }
func (p *progressTracker) retried()       { p.nRetry.Add(1) }
func (p *progressTracker) throttle()      { p.nThrottled.Add(1) }

// partDone counts a finished part; reused (checkpointed) parts also count their bytes.
func (p *progressTracker) partDone(reusedBytes int64) {
	p.sent.Add(reusedBytes)
	p.partsDone.Add(1)
}

// undo takes a part counted as done (reused from a checkpoint) out of the counts, to be sent
// again.
func (p *progressTracker) undo(reusedBytes int64) {
	p.sent.Add(-reusedBytes)
	p.partsDone.Add(-1)
}

// reset zeroes the counts of bytes and parts, for a new Upload.
func (p *progressTracker) reset() {
	p.sent.Store(0)
	p.lastReport.Store(0)
	p.partsDone.Store(0)
}

// setUpload records the Upload's id and reports it.
func (p *progressTracker) setUpload(id string) {
	p.mu.Lock()
	p.uploadID = id
	p.mu.Unlock()
	p.report(true)
}

// setPhase records the upload's phase and reports it.
func (p *progressTracker) setPhase(ph Phase) {
	p.mu.Lock()
	p.phase = ph
	p.mu.Unlock()
	p.report(true)
}

// report calls the callback: always when force is set, otherwise only if no call is under way.
func (p *progressTracker) report(force bool) {
	if p.cb == nil || p.panicErr.Load() != nil {
		return
	}
	if force {
		p.mu.Lock()
	} else if !p.mu.TryLock() {
		return
	}
	defer p.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("%w: %v", errProgressPanic, r)
			if p.panicErr.CompareAndSwap(nil, &err) && p.onPanic != nil {
				p.onPanic(err)
			}
		}
	}()
	sent := p.sent.Load()
	p.lastReport.Store(sent)
	streams := 0
	if p.streams != nil {
		streams = p.streams()
	}
	p.cb(Progress{
		Phase: p.phase, Streams: streams, UploadID: p.uploadID, BytesSent: sent, TotalBytes: p.total,
		PartsDone: int(p.partsDone.Load()), TotalParts: p.totalParts, Retries: int(p.nRetry.Load()),
		Throttled: int(p.nThrottled.Load()),
	})
}
