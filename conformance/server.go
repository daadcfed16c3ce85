package conformance

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
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
	// UploadTTL is how long an Upload stays pending by default: OpenAI's hour. Upload.expires_at
	// is created_at plus ServerOptions.UploadTTL (this, when 0).
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
	// bytes in all (counted in whole chunks); past that a request fails with 507. Nothing
	// survives the server.
	MemoryStorage StorageKind = iota
	// DiskStorage keeps each part and file in its own file under ServerOptions.StorageDir, and
	// the state (Uploads, parts, Files and their metadata) in a bbolt database beside them,
	// state.db: a server started again on the same directory carries on where the last one
	// stopped (see [ServerOptions.StorageDir]).
	DiskStorage
)

// ServerOptions configures a reference [Server]. The zero value is a server with memory storage
// that accepts any non-empty Bearer key, uses the wall clock and injects no faults.
type ServerOptions struct {
	// APIKey, when set, is the only key accepted; otherwise any non-empty Bearer key is.
	APIKey string
	// Now is the server's clock; nil means time.Now. It decides when Uploads and Files expire
	// and when finished Uploads are forgotten; the timeouts of connections use the wall clock.
	Now func() time.Time
	// UploadTTL is how long an Upload stays pending after it is created; 0 means [UploadTTL]
	// (one hour, as OpenAI). Upload.expires_at is created_at plus this.
	UploadTTL time.Duration
	// Retention is how long a finished Upload (completed, cancelled or expired) is remembered
	// after it finished; after that the server forgets it and its id answers 404. 0 means
	// [DefaultRetention].
	Retention time.Duration
	// SweepInterval is how often the sweeper runs [Server.Sweep], which frees the parts of
	// expired Uploads, forgets finished Uploads past Retention and deletes expired Files with
	// their bytes. 0 means [DefaultSweepInterval]; a negative value runs no sweeper (call Sweep
	// yourself). Expiry is also applied whenever a request looks an Upload or File up, so the
	// API's answers never depend on when the sweeper last ran.
	SweepInterval time.Duration
	// Storage says where bytes are kept (default MemoryStorage).
	Storage StorageKind
	// StorageDir is DiskStorage's directory. "" means a new temporary directory, removed by
	// Close, whose state does not survive. A directory given here is the server's: it holds
	// state.db and one <key>.blob file per part or File. Started on a directory that holds
	// state, the server restores every Upload, part and File (see [Server.Restored]) and
	// removes the .blob files no record refers to (left by a crash). Only one server at a time
	// may use a directory: a second gets an error wrapping [ErrStorageLocked].
	StorageDir string
	// SyncWrites makes DiskStorage in a StorageDir flush each part's and File's bytes to the
	// disk (fsync, then the directory's) before it records them. Without it, the records are
	// still flushed (state.db is never left corrupt) and a crash of the server process loses
	// nothing it answered 200 for, but a crash of the machine (power loss) may lose the bytes of
	// the last seconds; the next start then finds them missing or short and drops their records
	// (Restored.Lost). With it, nothing the server answered 200 for is lost, at a cost in
	// throughput (see the README).
	SyncWrites bool
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
	// StallTimeout cuts off a transfer that makes no progress: a request body of which no byte
	// arrives, or a response of which the client accepts no byte, for this long. 0 means
	// [DefaultStallTimeout]; negative disables it (and MinTransferRate).
	StallTimeout time.Duration
	// MinTransferRate, in bytes per second, cuts off a transfer that falls further behind this
	// rate than StallTimeout allows: a transfer that has moved n bytes must move its next byte
	// within StallTimeout + n/MinTransferRate of its start. It stops a body trickled at a few
	// bytes a second, which StallTimeout alone would let hold a connection forever. 0 means
	// [DefaultMinTransferRate]; negative disables it. With Bandwidth set, the floor is at most
	// half of Bandwidth, so the server's own pacing never trips it.
	MinTransferRate int64
	// MaxConnections caps the connections served at once by Start and Listen; past it new
	// connections wait to be accepted until one closes. With each connection holding at most
	// one stored file open, it bounds the server's file descriptors. 0 means
	// [DefaultMaxConnections]; negative means no cap.
	MaxConnections int
	// Bandwidth caps each connection's throughput, in bytes per second in each direction
	// (0: no cap). It needs the connections, so it applies when the server is run by [Start] or
	// [Listen], not when it is mounted as a plain http.Handler.
	Bandwidth int64
	// TotalBandwidth caps the throughput of all connections together, in bytes per second in
	// each direction (0: no cap): a link of that capacity shared by every connection, beside
	// Bandwidth, the cap of each (as over the internet, where one TCP stream rarely fills the
	// pipe). Like Bandwidth, it applies when the server is run by [Start] or [Listen].
	TotalBandwidth int64
	// MaxPartsInFlight, when positive, is the most part requests (addUploadPart) served at once:
	// one more is answered 429 at once, before its body is read (the connection is then
	// closed), with retry-after-ms and Retry-After asking for PartsRetryAfter, in OpenAI's
	// rate-limit envelope (type requests, code rate_limit_exceeded), as an API that limits
	// requests in flight does. Stats counts them (RateLimited) and the peak of part requests
	// served at once (PeakPartsInFlight).
	MaxPartsInFlight int
	// PartsRetryAfter is the delay the 429s of MaxPartsInFlight ask for; 0 means
	// [DefaultPartsRetryAfter] (100 ms).
	PartsRetryAfter time.Duration
	// RequestLog, when set, is called once for every request, after it was answered (or its
	// connection was cut), with what a log line needs. It never carries a header's value, so
	// never the key. It is called from the requests' goroutines, possibly at once.
	RequestLog func(RequestRecord)
	// SweepLog, when set, is called after each sweep of the sweeper that freed or forgot
	// anything, or failed.
	SweepLog func(SweepResult, error)
}

// Defaults of [ServerOptions].
const (
	// DefaultRetention is how long a finished Upload is remembered.
	DefaultRetention = time.Hour
	// DefaultSweepInterval is how often the sweeper runs.
	DefaultSweepInterval = 10 * time.Second
	// DefaultStallTimeout cuts off a request body or a response that makes no progress.
	DefaultStallTimeout = 30 * time.Second
	// DefaultMinTransferRate is the slowest a transfer may go once StallTimeout has passed: 1 KiB/s.
	DefaultMinTransferRate = 1 << 10
	// DefaultMaxConnections caps the connections served at once.
	DefaultMaxConnections = 512
)

// Server is a reference implementation of OpenAI's Uploads and Files API: an http.Handler
// serving the nine operations under /v1 with OpenAI's semantics and limits. It is safe for
// concurrent clients. Every error it sends is in OpenAI's envelope
// {"error": {"message", "type", "param", "code"}}: 4xx for what the client got wrong, 5xx
// (500, or 507 when the storage is full) for what the server could not do.
//
// It accepts what OpenAI's own clients send: any part filename (openai-go sends
// "anonymous_file"), createFile's expires_after as the form fields expires_after[anchor] and
// expires_after[seconds], and extra headers such as X-Stainless-*.
//
// A server from NewServer runs a sweeper goroutine (see [ServerOptions.SweepInterval]) until
// Close.
type Server struct {
	opts    ServerOptions
	now     func() time.Time
	ttl     time.Duration
	keep    time.Duration
	blobs   *blobStore
	journal journal
	faults  *faultInjector
	parts   partLimiter
	handler http.Handler

	mu      sync.Mutex
	uploads map[string]*upload
	files   map[string]*file
	fileSeq int64
	// peaks of the maps' sizes since they were last rebuilt: Go maps never shrink, so the
	// sweeper copies a map that has lost most of its entries.
	uploadsPeak, filesPeak int

	restored  Restored
	sweepStop chan struct{}
	sweepDone sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	stats serverStats
}

type upload struct {
	generated.Upload
	mimeType     string
	expiresAfter *generated.FileExpirationAfter
	parts        map[string]*part
	storedBytes  int64 // every part's bytes, retries included; at most MaxUploadBytes
	// contents counts the parts held by content (size and CRC-32C): a Part whose bytes repeat
	// a held one (a retry after a lost answer) adds nothing to distinctBytes, which may not
	// exceed the Upload's declared bytes.
	contents      map[content]int
	distinctBytes int64
	completing    bool
	finishedAt    int64 // when it was completed, cancelled or expired (Unix seconds); 0 while pending
}

type part struct {
	id        string
	createdAt int64
	data      blob
	sum       uint32 // CRC-32C of the bytes
}

// content identifies a part's bytes for counting repeats.
type content struct {
	size int64
	sum  uint32
}

type file struct {
	generated.OpenAIFile
	seq   int64
	blobs []blob
}

// NewServer returns a reference server; Close stops its sweeper and releases its storage.
func NewServer(opts ServerOptions) (*Server, error) {
	s := &Server{opts: opts, now: opts.Now, uploads: map[string]*upload{}, files: map[string]*file{}, sweepStop: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.UploadTTL < 0 || opts.Retention < 0 {
		return nil, fmt.Errorf("conformance: UploadTTL %v and Retention %v must not be negative", opts.UploadTTL, opts.Retention)
	}
	if opts.UploadTTL != 0 && opts.UploadTTL < time.Second {
		return nil, fmt.Errorf("conformance: UploadTTL %v is below one second, the resolution of expires_at", opts.UploadTTL)
	}
	s.ttl = orDefault(opts.UploadTTL, UploadTTL)
	s.keep = orDefault(opts.Retention, DefaultRetention)
	faults, err := newFaultInjector(opts.Faults)
	if err != nil {
		return nil, err
	}
	s.faults = faults
	switch opts.Storage {
	case MemoryStorage:
		limit := opts.MemoryLimit
		if limit == 0 {
			limit = DefaultMemoryLimit
		}
		s.blobs = newBlobStore(newMemStorage(limit))
		s.journal = noJournal{}
	case DiskStorage:
		if err := s.openDisk(opts.StorageDir, opts.SyncWrites); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("conformance: unknown storage kind %d", opts.Storage)
	}
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
	if opts.MaxPartsInFlight < 0 || opts.PartsRetryAfter < 0 {
		return nil, fmt.Errorf("conformance: MaxPartsInFlight %d and PartsRetryAfter %v must not be negative", opts.MaxPartsInFlight, opts.PartsRetryAfter)
	}
	s.parts = partLimiter{limit: int64(opts.MaxPartsInFlight), retryAfter: orDefault(opts.PartsRetryAfter, DefaultPartsRetryAfter)}
	s.handler = s.withFaults(mux) // fault injection over every operation (faults_inject.go)
	s.startSweeper()
	return s, nil
}

// Close stops the sweeper, releases the connections injected stalls hold, and releases the
// server's storage: a temporary directory it made is removed; a StorageDir is closed with its
// state kept for the next server. Call it once the server no longer serves requests. Only the
// first call has an effect.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.sweepStop)
		s.sweepDone.Wait()
		s.faults.close()
		s.closeErr = errors.Join(s.journal.close(), s.blobs.close())
	})
	return s.closeErr
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.stats.requests.Add(1)
	w, r, done := s.track(w, r)
	defer done()
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
	// The limit of part requests in flight (limits.go) counts a request from its arrival.
	leave, ok := s.admitPart(w, r)
	if !ok {
		return
	}
	defer leave()
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

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
