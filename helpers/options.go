package helpers

import (
	"encoding/hex"
	"fmt"
	"mime"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// Limits of OpenAI's Uploads API and the defaults of [UploadOptions].
const (
	// MaxUploadSize is the most one Upload may hold: 8 GB (8 GiB, as OpenAI counts it).
	MaxUploadSize = 8 << 30
	// MaxPartSize is the most one part may hold: 64 MB (64 MiB).
	MaxPartSize = 64 << 20
	// DefaultPartSize is the part size when UploadOptions.PartSize is 0.
	DefaultPartSize = MaxPartSize
	// MaxParts bounds the number of parts of one upload (size / PartSize). OpenAI states no such
	// limit; this SDK sets one so that a tiny part size on a big file is refused up front
	// instead of planning billions of requests.
	MaxParts = 10000
	// DefaultConcurrency is where the adaptive concurrency starts (UploadOptions.Concurrency 0):
	// 4 part requests in flight. It is also UploadReader's fixed number of parts in flight when
	// Concurrency is 0.
	DefaultConcurrency = 4
	// MaxConcurrency is the most part requests in flight: the cap of the adaptive window and the
	// largest fixed UploadOptions.Concurrency. (It was 64 for the fixed value alone before the
	// window became adaptive; past 32 parallel connections to one host the gain is nil on the
	// links measured, see the README's Performance, and the load on the API is not.)
	MaxConcurrency = 32
	// DefaultPartRetries is how often a failed request of an upload (create, a part, complete)
	// is retried when UploadOptions.MaxRetries is 0.
	DefaultPartRetries = 4
	// MinExpiresAfterSeconds and MaxExpiresAfterSeconds bound ExpiresAfter.Seconds
	// (1 hour to 30 days).
	MinExpiresAfterSeconds = 3600
	MaxExpiresAfterSeconds = 2592000
	// CancelTimeout bounds the request that cancels an Upload after a failure. It runs on a
	// fresh context: the caller's may be the very thing that was cancelled.
	CancelTimeout = 30 * time.Second
	// CreateGrace is how long a cancelled call still waits for an Upload being created, so
	// that it can cancel it rather than leave it pending unseen, and for the answer to a small
	// file's POST /files of UploadFiles, so that a File made meanwhile is returned.
	CreateGrace = 500 * time.Millisecond
	// ResumeMargin: a checkpointed Upload expiring sooner than this is not resumed.
	ResumeMargin = time.Minute
)

// UploadOptions configures a chunked upload. Only Purpose is required; every other field has a
// documented default.
type UploadOptions struct {
	// Purpose is the file's purpose: assistants, batch, fine-tune, vision, user_data or evals.
	Purpose generated.CreateUploadRequestPurpose
	// Filename is the name the File gets. UploadFile defaults it to the path's base name; the
	// reader entry points require it.
	Filename string
	// MIMEType is the file's MIME type; empty means from Filename's extension (.jsonl is
	// application/jsonl; see MIMETypeFor).
	MIMEType string
	// PartSize is the size of each part: 0 means DefaultPartSize (64 MiB), the maximum.
	PartSize int64
	// Concurrency is the number of part requests in flight. 0 means adaptive: it starts at
	// DefaultConcurrency (4), adds streams while the measured throughput grows (doubling at
	// first, then by a quarter), goes back when more streams stop paying (a plateau), halves the
	// window on 429 and 503 (AIMD, as TCP does) and never exceeds MaxConcurrency (32); see
	// Progress.Streams. A value from 1 to MaxConcurrency fixes it. A 429 puts the part back in
	// the queue after the delay the API asks for (retry-after-ms, Retry-After), without using up
	// a retry, whichever the mode. Memory does not grow with the number of streams (parts are
	// io.SectionReaders of the file), except for UploadReader, whose parts are buffered: there 0
	// means a fixed DefaultConcurrency.
	Concurrency int
	// MD5 is the expected md5 of the file (32 hex digits). The md5 is computed anyway while the
	// parts upload; when MD5 is set and differs, the upload fails before complete.
	MD5 string
	// SkipMD5 turns the md5 off: none is computed or sent. It cannot be combined with MD5.
	SkipMD5 bool
	// ExpiresAfter is the File's expiration policy; nil means OpenAI's default.
	ExpiresAfter *generated.FileExpirationAfter
	// Progress, when set, is called as bytes go out and parts finish; never concurrently.
	// A panic in it fails the upload.
	Progress func(Progress)
	// MaxRetries is how often each request of the upload is retried (create, each part,
	// complete) after a connection error, a stall, a timeout, an unreadable 2xx answer, 408, 409,
	// 429 or 5xx: 0 means DefaultPartRetries (4), a negative value none. A part answered 429 is
	// the exception: it goes back to the queue without using up a retry, and fails only when no
	// request of the upload has succeeded for ClientOptions.Timeout while it was refused (a 429
	// with code insufficient_quota is not retried at all).
	MaxRetries int
	// StallTimeout is how long a part's attempt may go with no byte of the part taken by the
	// connection and no answer arriving: it is then abandoned (ErrStalled) and retried like a
	// connection error. A slow part that keeps moving is never cut off, however long it takes.
	// The watchdog sees the part's bytes as the connection accepts them and, once the whole part
	// sits in the socket's send buffer (up to a few MB), as the peer acknowledges them (on Linux,
	// over HTTP/1: the socket's unacknowledged bytes, read four times per StallTimeout); where
	// that cannot be read, a link slower than the send buffer per StallTimeout (4 MiB per 60 s,
	// about 70 KB/s) can be taken for a stall at the end of a part, which is then sent again.
	// 0 means ClientOptions.StallTimeout (DefaultStallTimeout, 60 s, unless set); a negative
	// value is refused.
	StallTimeout time.Duration
	// Checkpoint, when set, is a file where UploadFile records the Upload and each finished part
	// with the md5 of the bytes its request carried, so that a later call with the same
	// Checkpoint sends only the parts that are missing or whose bytes changed since (each
	// recorded part is checked against the file by the md5 pass, also with SkipMD5). Only
	// UploadFile supports it.
	//
	// Before any request, a Checkpoint that is not safe is refused with an *InputError naming
	// this field, and nothing is touched: a path that exists and is not a checkpoint of this SDK
	// (or is one of a newer version), a symbolic link, anything but a regular file, the file
	// being uploaded however it is named, or a path whose directory does not exist or cannot be
	// written. A checkpoint of the earlier format (version 1) is replaced, saying why.
	//
	// One checkpoint, one upload: the call holds an OS lock on <Checkpoint>.lock for its whole
	// run (removed at the end; one left by a killed process is harmless), and a second call with
	// the same Checkpoint, in this process or another, fails at once with ErrCheckpointInUse.
	//
	// A failure whose cause may pass (the network, 408, 409, 429 or 5xx, a stall, a timeout, the
	// caller's cancel or deadline, 401 or 403, a file changed but of the same size, reading the
	// file, writing the checkpoint) leaves the Upload pending and the checkpoint, and the error
	// is Resumable; any other cancels the Upload (or finds it gone) and removes the checkpoint,
	// so that the next call starts afresh instead of failing the same way. On resume, an Upload
	// the API does not know (404), or that was cancelled or expired, is replaced by a new one;
	// a completed one (a run killed during complete) gives back its File, unless the file
	// changed since. Notify says which. The checkpoint is removed on success.
	Checkpoint string
	// Notify, when set, is told of decisions the upload takes on its own: resuming, starting
	// afresh (and why), cancelling after a failure, going on after a lost reply (create retried:
	// the new Upload's id, and that an earlier attempt may have left one pending; complete
	// recovered: the File's id). ClientOptions.Debug gets the same lines.
	Notify func(message string)

	// shared, when set (by UploadFiles), is the budget of requests in flight shared with other
	// uploads, and admission the slot it announced for this file; progressMu is held while
	// Progress runs, shared likewise.
	shared     *budget
	admission  *admission
	progressMu *sync.Mutex
	// claims, when set (by UploadFiles), are the Files the call's other files got: a File
	// recovered after a lost reply to complete is never one of them, and is claimed.
	claims *claimedFiles
}

// Phase is the stage of an upload that [Progress] reports.
type Phase string

// The phases of an upload, in order; it ends in exactly one of Done, Failed and Cancelled.
const (
	// PhaseCreating: the Upload is being created (or the checkpointed one resumed).
	PhaseCreating Phase = "creating"
	// PhaseSending: parts are being sent (and the md5 computed beside them).
	PhaseSending Phase = "sending"
	// PhaseCompleting: complete was sent; the server assembles and checks the file.
	PhaseCompleting Phase = "completing"
	// PhaseDone: the Upload is completed and holds its File.
	PhaseDone Phase = "done"
	// PhaseFailed: the upload failed (the error says what became of the Upload).
	PhaseFailed Phase = "failed"
	// PhaseCancelled: the caller's context was cancelled.
	PhaseCancelled Phase = "cancelled"
)

// Progress is a snapshot of an upload's progress.
type Progress struct {
	// Phase is the upload's stage.
	Phase Phase
	// UploadID is the Upload's id (empty until it is created).
	UploadID string
	// BytesSent counts part bytes handed to the connection. A retried part counts again from
	// zero, so BytesSent never exceeds TotalBytes and equals it when every part is done. Parts
	// reused from a checkpoint count as sent.
	BytesSent, TotalBytes int64
	// PartsDone and TotalParts count parts.
	PartsDone, TotalParts int
	// Retries counts part attempts that failed and were retried.
	Retries int
	// Throttled counts part attempts answered 429 (rate limited) and put back in the queue;
	// they do not count in Retries.
	Throttled int
	// Streams is the number of part requests allowed in flight now: the adaptive window (see
	// UploadOptions.Concurrency), shared by every file of an UploadFiles, or the fixed value.
	Streams int
}

// InputError is a bad argument or option, found before any request was sent. Field names it
// (for example "UploadOptions.PartSize" or "size"); the message says the limit.
type InputError struct {
	Field, Reason string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Reason }

func inputErrorf(field, format string, args ...any) error {
	return &InputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// normalize applies the defaults to o and checks every field, before any request. size is the
// file's size; reader says the source is a plain io.Reader.
func (o UploadOptions) normalize(size int64) (UploadOptions, error) {
	if !o.Purpose.Valid() {
		if o.Purpose == "" {
			return o, inputErrorf("UploadOptions.Purpose", "is required: one of %s", strings.Join(purposeNames(), ", "))
		}
		return o, inputErrorf("UploadOptions.Purpose", "%q is not one of %s", o.Purpose, strings.Join(purposeNames(), ", "))
	}
	switch {
	case size == 0:
		return o, inputErrorf("size", "the file is empty; an Upload needs at least 1 byte")
	case size < 0:
		return o, inputErrorf("size", "%d is negative", size)
	case size > MaxUploadSize:
		return o, inputErrorf("size", "%d bytes is above the Upload limit of %d bytes (8 GB)", size, int64(MaxUploadSize))
	}
	switch {
	case o.PartSize == 0:
		o.PartSize = DefaultPartSize
	case o.PartSize < 0:
		return o, inputErrorf("UploadOptions.PartSize", "%d must be positive (at most %d bytes, 64 MiB)", o.PartSize, int64(MaxPartSize))
	case o.PartSize > MaxPartSize:
		return o, inputErrorf("UploadOptions.PartSize", "%d is above the part limit of %d bytes (64 MiB)", o.PartSize, int64(MaxPartSize))
	}
	if n := partCount(size, o.PartSize); n > MaxParts {
		return o, inputErrorf("UploadOptions.PartSize", "%d bytes in parts of %d bytes make %d parts, above the maximum of %d; use parts of at least %d bytes", size, o.PartSize, n, MaxParts, (size+MaxParts-1)/MaxParts)
	}
	switch {
	case o.Concurrency == 0: // adaptive
	case o.Concurrency < 1:
		return o, inputErrorf("UploadOptions.Concurrency", "%d must be at least 1", o.Concurrency)
	case o.Concurrency > MaxConcurrency:
		return o, inputErrorf("UploadOptions.Concurrency", "%d is above the maximum of %d", o.Concurrency, MaxConcurrency)
	}
	if strings.TrimSpace(o.Filename) == "" {
		return o, inputErrorf("UploadOptions.Filename", "must not be empty")
	}
	if o.MIMEType == "" {
		mt, ok := MIMETypeFor(o.Filename)
		if !ok {
			return o, inputErrorf("UploadOptions.MIMEType", "cannot tell the MIME type of %q from its extension; set it", o.Filename)
		}
		o.MIMEType = mt
	} else if _, _, err := mime.ParseMediaType(o.MIMEType); err != nil || !strings.Contains(o.MIMEType, "/") {
		return o, inputErrorf("UploadOptions.MIMEType", "%q is not a MIME type (type/subtype)", o.MIMEType)
	}
	if o.MD5 != "" {
		if o.SkipMD5 {
			return o, inputErrorf("UploadOptions.MD5", "is set and SkipMD5 too: an expected md5 needs the md5")
		}
		if err := checkMD5("UploadOptions.MD5", o.MD5); err != nil {
			return o, err
		}
		o.MD5 = strings.ToLower(o.MD5)
	}
	if o.ExpiresAfter != nil {
		if err := checkExpiresAfter("UploadOptions.ExpiresAfter", o.ExpiresAfter); err != nil {
			return o, err
		}
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = DefaultPartRetries
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.StallTimeout < 0 {
		return o, inputErrorf("UploadOptions.StallTimeout", "%v is negative: it must be positive (0 means ClientOptions.StallTimeout, by default %v)", o.StallTimeout, DefaultStallTimeout)
	}
	return o, nil
}

func checkMD5(field, v string) error {
	if b, err := hex.DecodeString(v); err != nil || len(b) != 16 {
		return inputErrorf(field, "%q is not an md5 (32 hexadecimal digits)", v)
	}
	return nil
}

func checkExpiresAfter(field string, e *generated.FileExpirationAfter) error {
	if e.Anchor != generated.FileExpirationAfterAnchorCreatedAt {
		return inputErrorf(field+".Anchor", "%q is not %q", e.Anchor, generated.FileExpirationAfterAnchorCreatedAt)
	}
	if e.Seconds < MinExpiresAfterSeconds || e.Seconds > MaxExpiresAfterSeconds {
		return inputErrorf(field+".Seconds", "%d is outside %d..%d (1 hour to 30 days)", e.Seconds, MinExpiresAfterSeconds, MaxExpiresAfterSeconds)
	}
	return nil
}

func purposeNames() []string {
	return []string{
		string(generated.CreateUploadRequestPurposeAssistants), string(generated.CreateUploadRequestPurposeBatch),
		string(generated.CreateUploadRequestPurposeFineTune), string(generated.CreateUploadRequestPurposeVision),
		string(generated.CreateUploadRequestPurposeUserData), string(generated.CreateUploadRequestPurposeEvals),
	}
}

// mimeTypes maps the extensions of files OpenAI accepts to their MIME types. It is fixed, so
// the choice never depends on the machine's mime.types.
var mimeTypes = map[string]string{
	".jsonl": "application/jsonl",
	".json":  "application/json",
	".txt":   "text/plain",
	".md":    "text/markdown",
	".csv":   "text/csv",
	".tsv":   "text/tab-separated-values",
	".html":  "text/html",
	".htm":   "text/html",
	".xml":   "application/xml",
	".pdf":   "application/pdf",
	".doc":   "application/msword",
	".docx":  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".pptx":  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".xlsx":  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".jpeg":  "image/jpeg",
	".gif":   "image/gif",
	".webp":  "image/webp",
	".py":    "text/x-python",
	".go":    "text/x-golang",
	".c":     "text/x-c",
	".cpp":   "text/x-c++",
	".java":  "text/x-java",
	".js":    "text/javascript",
	".ts":    "application/typescript",
	".sh":    "application/x-sh",
	".tex":   "text/x-tex",
	".zip":   "application/zip",
}

// MIMETypeFor returns the MIME type for a file name's extension (case-insensitive), and false
// when the extension is unknown.
func MIMETypeFor(filename string) (string, bool) {
	mt, ok := mimeTypes[strings.ToLower(filepath.Ext(filename))]
	return mt, ok
}
