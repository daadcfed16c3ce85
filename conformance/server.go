package conformance

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// OpenAI's limits, as the reference server enforces them.
const (
	// MaxUploadBytes is the most an Upload may hold: 8 GB.
	MaxUploadBytes = 8 << 30
	// MaxPartBytes is the most one Part may hold: 64 MB. A larger part is cut off with a 400
	// without reading the rest.
	MaxPartBytes = 64 << 20
	// MaxFileBytes is the most POST /files accepts: 512 MB.
	MaxFileBytes = 512 << 20
	// UploadTTL is how long an Upload stays pending: it expires one hour after creation.
	UploadTTL = time.Hour
	// BatchFileTTL is the default expiry of files with purpose batch: 30 days.
	BatchFileTTL = 30 * 24 * time.Hour
	// MinExpiresAfterSeconds and MaxExpiresAfterSeconds bound expires_after.seconds.
	MinExpiresAfterSeconds = 3600
	MaxExpiresAfterSeconds = 2592000
	// DefaultMemoryLimit caps memory storage when ServerOptions.MemoryLimit is 0.
	DefaultMemoryLimit = 1 << 30
	// maxJSONRequestBytes caps JSON request bodies (createUpload, completeUpload).
	maxJSONRequestBytes = 1 << 20
	// maxFormFieldBytes caps a non-file multipart field (purpose, expires_after[…]).
	maxFormFieldBytes = 1 << 10
)

// UploadPurposes are the purposes createUpload and createFile accept.
var UploadPurposes = []string{"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}

// StorageKind says where the reference server keeps part and file bytes.
type StorageKind int

const (
	// MemoryStorage keeps bytes in memory, in 1 MiB chunks, at most ServerOptions.MemoryLimit
	// bytes in all (counted in whole chunks); past that a request fails with 507.
	MemoryStorage StorageKind = iota
	// DiskStorage keeps each part and file in its own file under ServerOptions.StorageDir.
	DiskStorage
)

// ServerOptions configures a reference [Server]. The zero value is a server with memory storage
// that accepts any non-empty Bearer key, uses the wall clock and injects no faults.
type ServerOptions struct {
	// APIKey, when set, is the only key accepted; otherwise any non-empty Bearer key is.
	APIKey string
	// Now is the server's clock; nil means time.Now. Uploads expire UploadTTL after creation.
	Now func() time.Time
	// Storage says where bytes are kept (default MemoryStorage).
	Storage StorageKind
	// StorageDir is DiskStorage's directory; "" means a new temporary directory, removed by
	// Close. The server names its files itself, never after anything in a request.
	StorageDir string
	// MemoryLimit caps MemoryStorage; 0 means DefaultMemoryLimit.
	MemoryLimit int64
	// Faults are injected into the requests of the operations Faults.Operations names (by
	// default part requests, POST /uploads/{id}/parts).
	Faults Faults
	// Latency is added before every request is handled.
	Latency time.Duration
	// TrustMD5 skips checking the md5 a complete request carries (its form is still checked).
	// Off by default; benchmarks set it to time a client without the server's own md5 pass
	// over the whole file, which on one machine competes with the client for the CPU.
	TrustMD5 bool
	// ReadHeaderTimeout and IdleTimeout configure the HTTP server run by Start and Listen: how
	// long a client may take to send a request's headers, and how long a keep-alive connection
	// may stay idle. 0 means the package's ReadHeaderTimeout and IdleTimeout.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// Bandwidth caps each connection's throughput, in bytes per second in each direction
	// (0: no cap). It needs the connections, so it applies when the server is run by [Start] or
	// [Listen], not when it is mounted as a plain http.Handler.
	Bandwidth int64
}

// Server is a reference implementation of OpenAI's Uploads and Files API: an http.Handler
// serving the nine operations under /v1 with OpenAI's semantics and limits. It is safe for
// concurrent clients. Every error it sends is in OpenAI's envelope
// {"error": {"message", "type", "param", "code"}}.
//
// It accepts what OpenAI's own clients send: any part filename (openai-go sends
// "anonymous_file"), createFile's expires_after as the form fields expires_after[anchor] and
// expires_after[seconds], and extra headers such as X-Stainless-*.
type Server struct {
	opts    ServerOptions
	now     func() time.Time
	store   storage
	faults  *faultInjector
	handler http.Handler

	mu      sync.Mutex
	uploads map[string]*upload
	files   map[string]*file
	fileSeq int64

	stats serverStats
}

type upload struct {
	generated.Upload
	mimeType     string
	expiresAfter *generated.FileExpirationAfter
	parts        map[string]*part
	storedBytes  int64
	completing   bool
}

type part struct {
	id        string
	createdAt int64
	data      blob
}

type file struct {
	generated.OpenAIFile
	seq   int64
	blobs []blob
}

// NewServer returns a reference server; Close releases its storage.
func NewServer(opts ServerOptions) (*Server, error) {
	s := &Server{opts: opts, now: opts.Now, uploads: map[string]*upload{}, files: map[string]*file{}}
	if s.now == nil {
		s.now = time.Now
	}
	switch opts.Storage {
	case MemoryStorage:
		limit := opts.MemoryLimit
		if limit == 0 {
			limit = DefaultMemoryLimit
		}
		s.store = newMemStorage(limit)
	case DiskStorage:
		st, err := newDirStorage(opts.StorageDir)
		if err != nil {
			return nil, fmt.Errorf("conformance: storage: %w", err)
		}
		s.store = st
	default:
		return nil, fmt.Errorf("conformance: unknown storage kind %d", opts.Storage)
	}
	faults, err := newFaultInjector(opts.Faults)
	if err != nil {
		return nil, err
	}
	s.faults = faults
	mux := http.NewServeMux()
	generated.HandlerWithOptions(s.api(), generated.StdHTTPServerOptions{
		BaseURL:    "/v1",
		BaseRouter: mux,
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			param := ""
			var pe *generated.InvalidParamFormatError
			if errors.As(err, &pe) {
				param = pe.ParamName
			}
			writeError(w, http.StatusBadRequest, "invalid_request_error", param, "invalid_value", err.Error())
		},
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "", "unknown_url",
			fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.EscapedPath()))
	})
	s.handler = s.withFaults(mux) // fault injection over every operation (faults_inject.go)
	return s, nil
}

// Close releases the server's storage (a temporary directory it made is removed).
func (s *Server) Close() error {
	s.faults.close() // releases the connections stalls hold
	return s.store.close()
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.stats.requests.Add(1)
	w.Header().Set("x-request-id", "req_"+randomID(24))

	// A path with a dot segment, once decoded, is refused here: the mux would otherwise clean
	// it and redirect to another endpoint (an upload id of "..%2Ffiles" must stay an id).
	for _, seg := range strings.Split(r.URL.Path, "/") {
		if seg == "." || seg == ".." {
			writeError(w, http.StatusNotFound, "invalid_request_error", "", "unknown_url",
				fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.EscapedPath()))
			return
		}
	}
	if !s.authorized(w, r) {
		return
	}
	if d := s.opts.Latency; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	s.handler.ServeHTTP(w, r)
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(auth, " ")
	key = strings.TrimSpace(key)
	switch {
	case auth == "":
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "", "",
			"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
	case !ok || !strings.EqualFold(scheme, "Bearer") || key == "":
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "", "",
			"The Authorization header is malformed: it must be \"Bearer YOUR_KEY\".")
	case s.opts.APIKey != "" && key != s.opts.APIKey:
		// The key is never echoed, not even masked.
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "", "invalid_api_key", "Incorrect API key provided.")
	default:
		return true
	}
	s.stats.unauthorized.Add(1)
	return false
}

// writeError sends OpenAI's error envelope; an empty param or code is sent as null.
func writeError(w http.ResponseWriter, status int, typ, param, code, message string) {
	var p, c *string
	if param != "" {
		p = &param
	}
	if code != "" {
		c = &code
	}
	writeJSON(w, status, generated.ErrorResponse{Error: generated.Error{Message: message, Type: typ, Param: p, Code: c}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"message":"encoding the response failed","type":"server_error","param":null,"code":null}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

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
}

type serverStats struct {
	requests, unauthorized atomic.Int64
	partsStored, partBytes atomic.Int64
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
	st := &s.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	out := Stats{
		Requests: st.requests.Load(), Unauthorized: st.unauthorized.Load(),
		PartsStored: st.partsStored.Load(), PartBytesStored: st.partBytes.Load(),
		Operations: map[string]int64{}, Faults: map[FaultKind]int64{},
	}
	for k, v := range st.operations {
		out.Operations[k] = v
	}
	for k, v := range st.faults {
		out.Faults[k] = v
	}
	return out
}

// Upload returns the current state of an Upload (expired if its hour has passed), for tests;
// OpenAI's API has no operation to read an Upload back.
func (s *Server) Upload(id string) (generated.Upload, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[id]
	if !ok {
		return generated.Upload{}, false
	}
	s.refresh(u)
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

// refresh expires a pending Upload whose hour has passed. Callers hold s.mu.
func (s *Server) refresh(u *upload) {
	if u.Status == generated.UploadStatusPending && !u.completing && s.now().Unix() >= u.ExpiresAt {
		u.Status = generated.UploadStatusExpired
		s.dropParts(u, nil)
	}
}

// dropParts removes an Upload's parts except those in keep. Callers hold s.mu.
func (s *Server) dropParts(u *upload, keep map[string]bool) {
	for id, p := range u.parts {
		if !keep[id] {
			s.store.remove(p.data)
			delete(u.parts, id)
		}
	}
}
