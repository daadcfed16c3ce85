package conformance

import (
	"sync"
	"sync/atomic"

	"github.com/openai-uploads/uploads/generated"
)

// Stats counts what the server saw, for tests and benchmarks.
type Stats struct {
	// Requests is every request received, including refused ones.
	Requests int64
	// Unauthorized is the requests refused with 401.
	Unauthorized int64
	// Operations counts requests that reached an operation, by operationId.
	Operations map[string]int64
	// PartsStored and PartBytesStored count parts accepted and kept.
	PartsStored     int64
	PartBytesStored int64
	// Faults counts injected faults by kind.
	Faults map[FaultKind]int64
	// RateLimited counts the part requests answered 429 because MaxPartsInFlight were in flight
	// (they count in Operations too); PeakPartsInFlight is the most part requests served at once.
	RateLimited, PeakPartsInFlight int64

	// Uploads and Files are how many the server knows now (finished Uploads until they are
	// forgotten; Files until they are deleted or expire).
	Uploads, Files int
	// StoredBytes and StoredBlobs are what the storage holds now: the bytes and the number of
	// the parts and Files kept (a blob whose removal waits for a download still counts).
	StoredBytes int64
	StoredBlobs int64
	// Stalled counts transfers cut off by StallTimeout or MinTransferRate.
	Stalled int64
	// Sweeps counts the sweeps run, by the sweeper or by [Server.Sweep].
	Sweeps int64
}

type serverStats struct {
	requests, unauthorized atomic.Int64
	partsStored, partBytes atomic.Int64
	stalled, sweeps        atomic.Int64
	mu                     sync.Mutex
	operations             map[string]int64
	faults                 map[FaultKind]int64
}

func (st *serverStats) op(name string) {
	st.mu.Lock()
	if st.operations == nil {
		st.operations = map[string]int64{}
	}
	st.operations[name]++
	st.mu.Unlock()
}

func (st *serverStats) fault(k FaultKind) {
	st.mu.Lock()
	if st.faults == nil {
		st.faults = map[FaultKind]int64{}
	}
	st.faults[k]++
	st.mu.Unlock()
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	uploads, files := len(s.uploads), len(s.files)
	s.mu.Unlock()
	held, count := s.blobs.held()
	st := &s.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	out := Stats{
		Requests: st.requests.Load(), Unauthorized: st.unauthorized.Load(),
		PartsStored: st.partsStored.Load(), PartBytesStored: st.partBytes.Load(),
		Operations: map[string]int64{}, Faults: map[FaultKind]int64{},
		Uploads: uploads, Files: files, StoredBytes: held, StoredBlobs: count,
		Stalled: st.stalled.Load(), Sweeps: st.sweeps.Load(),
		RateLimited: s.parts.refused.Load(), PeakPartsInFlight: s.parts.peak.Load(),
	}
	for k, v := range st.operations {
		out.Operations[k] = v
	}
	for k, v := range st.faults {
		out.Faults[k] = v
	}
	return out
}

// Upload returns the current state of an Upload (expired if its time has passed), for tests;
// OpenAI's API has no operation to read an Upload back. A forgotten Upload is not found.
func (s *Server) Upload(id string) (generated.Upload, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[id]
	if !ok {
		return generated.Upload{}, false
	}
	_ = s.refresh(u)
	return u.snapshot(), true
}

// UploadParts returns the number of parts an Upload holds, for tests.
func (s *Server) UploadParts(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.uploads[id]; ok {
		return len(u.parts)
	}
	return 0
}

// Uploads returns the ids of every Upload the server knows, for tests.
func (s *Server) Uploads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.uploads))
	for id := range s.uploads {
		ids = append(ids, id)
	}
	return ids
}

func (u *upload) snapshot() generated.Upload {
	out := u.Upload
	if u.File != nil {
		f := *u.File
		out.File = &f
	}
	return out
}
