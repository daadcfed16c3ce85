package conformance

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// FaultKind is a way a request can fail.
type FaultKind string

// The fault kinds the reference server can inject. Each applies to the operations named by
// Faults.Operations (by default addUploadPart only).
const (
	// Fault500 answers 500 after reading the request body; the operation is not carried out.
	Fault500 FaultKind = "500"
	// Fault503 answers 503 after reading the request body; the operation is not carried out.
	Fault503 FaultKind = "503"
	// Fault429 answers 429 with Retry-After and retry-after-ms after reading the request body;
	// the operation is not carried out.
	Fault429 FaultKind = "429"
	// FaultReset reads at most 16 KiB of the request body, then resets the connection (TCP RST).
	FaultReset FaultKind = "reset"
	// FaultLostResponse carries the operation out (the Upload is created, the part stored, the
	// Upload completed, …), then closes the connection without answering: the client cannot
	// know the work was done. A part stored this way is never listed by the client.
	FaultLostResponse FaultKind = "lost-response"
	// Fault503Early answers 503 at once, before reading any of the request body, and closes the
	// connection, as a proxy or load balancer that sheds load does; the client is typically still
	// sending the body when the answer arrives.
	Fault503Early FaultKind = "503-early"
	// FaultStall freezes the exchange, keeping the connection open: the server reads at most the
	// first 16 KiB of the request body and then neither reads on nor answers, so the operation is
	// not carried out. For downloadFile, whose answer is a stream, it sends the headers and the
	// first 16 KiB (at most half) of the content, then freezes. The connection is released when
	// the client closes it (seen only when the whole request was read), after Faults.StallFor,
	// or when the server is closed.
	FaultStall FaultKind = "stall"
	// FaultSlowRequest reads the request body at Faults.SlowRate bytes per second, a little at a
	// time: slow, but moving. The operation is then carried out and answered normally.
	FaultSlowRequest FaultKind = "slow-request"
	// FaultSlowResponse carries the operation out and writes the answer's body at
	// Faults.SlowRate bytes per second, a little at a time, flushing each piece.
	FaultSlowResponse FaultKind = "slow-response"
)

// DefaultFaultKinds are the kinds injected when Faults.Kinds is nil: the server's answers and
// broken connections. The network's slower failures (stall, slow bodies) and 503-early are
// asked for by name, since a client needs short timeouts to get through a stall quickly.
var DefaultFaultKinds = []FaultKind{Fault500, Fault503, Fault429, FaultReset, FaultLostResponse}

// AllFaultKinds lists every fault kind.
var AllFaultKinds = []FaultKind{Fault500, Fault503, Fault429, FaultReset, FaultLostResponse,
	Fault503Early, FaultStall, FaultSlowRequest, FaultSlowResponse}

// AllOperations lists the API's operations by operationId, as Faults.Operations names them.
var AllOperations = []string{"createUpload", "addUploadPart", "completeUpload", "cancelUpload",
	"createFile", "listFiles", "retrieveFile", "deleteFile", "downloadFile"}

// DefaultFaultOperations are the operations faults are injected into when Faults.Operations
// is nil: part requests.
var DefaultFaultOperations = []string{"addUploadPart"}

// Defaults of [Faults].
const (
	// DefaultFaultRetryAfter is the delay an injected 429 asks for when Faults.RetryAfter is 0.
	DefaultFaultRetryAfter = 50 * time.Millisecond
	// DefaultSlowRate is the pace of slow-request and slow-response when Faults.SlowRate is 0:
	// 256 KiB/s.
	DefaultSlowRate = 256 << 10
)

// Faults configures fault injection. The zero value injects none. Faults are chosen per
// request, in the order requests arrive, from one seeded sequence.
type Faults struct {
	// Rate is the fraction of the chosen operations' requests that fail, from 0 (none) to 1 (all).
	Rate float64
	// Kinds are the faults to choose from, uniformly; nil means DefaultFaultKinds.
	Kinds []FaultKind
	// Operations are the operationIds faults are injected into (see AllOperations); nil means
	// DefaultFaultOperations (addUploadPart).
	Operations []string
	// Seed makes the sequence of faults reproducible for a given order of requests.
	Seed uint64
	// Limit, when positive, is the most faults injected; after that every request is served.
	// With Rate 1 and Limit 1, exactly the first request of the chosen operations fails.
	Limit int64
	// RetryAfter is the delay an injected 429 asks for: retry-after-ms carries it, Retry-After
	// carries it rounded up to whole seconds. 0 means DefaultFaultRetryAfter.
	RetryAfter time.Duration
	// StallFor, when positive, is how long a stall holds the connection before closing it; 0
	// means until the client closes it (when the server can tell) or the server is closed.
	StallFor time.Duration
	// SlowRate is the pace of slow-request and slow-response in bytes per second; 0 means
	// DefaultSlowRate.
	SlowRate int64
}

// faultInjector chooses the faults and keeps what a stall holds until it is released.
type faultInjector struct {
	rate       float64
	kinds      []FaultKind
	ops        map[string]bool
	limit      int64
	retryAfter time.Duration
	stallFor   time.Duration
	slowRate   int64

	mu       sync.Mutex
	rng      *rand.Rand
	injected int64
	counts   map[string]map[FaultKind]int64 // by operation, then kind

	// closed is closed by close: stalls are released and slow bodies stop waiting.
	closed   chan struct{}
	isClosed bool
	held     sync.WaitGroup
}

func newFaultInjector(f Faults) (*faultInjector, error) {
	if f.Rate < 0 || f.Rate > 1 {
		return nil, fmt.Errorf("conformance: Faults.Rate %v is outside 0..1", f.Rate)
	}
	kinds := f.Kinds
	if len(kinds) == 0 {
		kinds = DefaultFaultKinds
	}
	for _, k := range kinds {
		if !slices.Contains(AllFaultKinds, k) {
			return nil, fmt.Errorf("conformance: unknown fault kind %q (known: %v)", k, AllFaultKinds)
		}
	}
	ops := f.Operations
	if len(ops) == 0 {
		ops = DefaultFaultOperations
	}
	opSet := map[string]bool{}
	for _, op := range ops {
		if !slices.Contains(AllOperations, op) {
			return nil, fmt.Errorf("conformance: unknown operation %q in Faults.Operations (known: %v)", op, AllOperations)
		}
		opSet[op] = true
	}
	switch {
	case f.Limit < 0:
		return nil, fmt.Errorf("conformance: Faults.Limit %d is negative", f.Limit)
	case f.StallFor < 0:
		return nil, fmt.Errorf("conformance: Faults.StallFor %v is negative", f.StallFor)
	case f.SlowRate < 0:
		return nil, fmt.Errorf("conformance: Faults.SlowRate %d is negative", f.SlowRate)
	}
	retryAfter := f.RetryAfter
	if retryAfter <= 0 {
		retryAfter = DefaultFaultRetryAfter
	}
	slowRate := f.SlowRate
	if slowRate == 0 {
		slowRate = DefaultSlowRate
	}
	return &faultInjector{
		rng:  rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15)),
		rate: f.Rate, kinds: kinds, ops: opSet, limit: f.Limit, retryAfter: retryAfter,
		stallFor: f.StallFor, slowRate: slowRate,
		counts: map[string]map[FaultKind]int64{}, closed: make(chan struct{}),
	}, nil
}

// next returns the fault for the next request to op, or "" for none, and counts it.
func (f *faultInjector) next(op string) FaultKind {
	if f.rate == 0 || !f.ops[op] {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limit > 0 && f.injected >= f.limit {
		return ""
	}
	if f.rng.Float64() >= f.rate {
		return ""
	}
	k := f.kinds[f.rng.IntN(len(f.kinds))]
	f.injected++
	if f.counts[op] == nil {
		f.counts[op] = map[FaultKind]int64{}
	}
	f.counts[op][k]++
	return k
}

// InjectedFaults returns how many faults of each kind were injected into each operation, by
// operationId. (Stats().Faults has the totals by kind.)
func (s *Server) InjectedFaults() map[string]map[FaultKind]int64 {
	f := s.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]map[FaultKind]int64, len(f.counts))
	for op, byKind := range f.counts {
		out[op] = make(map[FaultKind]int64, len(byKind))
		for k, n := range byKind {
			out[op][k] = n
		}
	}
	return out
}

// hold registers a stall being held; it returns false once the injector is closed.
func (f *faultInjector) hold() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.isClosed {
		return false
	}
	f.held.Add(1)
	return true
}

// close releases every stall and waits for them to let go of their connections.
func (f *faultInjector) close() {
	f.mu.Lock()
	if !f.isClosed {
		f.isClosed = true
		close(f.closed)
	}
	f.mu.Unlock()
	f.held.Wait()
}
