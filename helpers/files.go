package helpers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// DefaultSmallFileLimit is the size up to which UploadFiles sends a file in one POST /files
// request instead of an Upload, when UploadFilesOptions.SmallFileLimit is 0: 8 MiB.
//
// Why 8 MiB: an Upload costs at least three round trips (create, a part, complete) where POST
// /files costs one, and below a few MB those round trips, not the bytes, are most of the time
// (40 ms each on the benchmark's link, more to api.openai.com); a file this small is one part
// anyway, so the Upload's parallel parts would not help it. Above it the Upload's strengths win:
// parts in parallel, a part retried alone, and the md5 the API checks at complete, which POST
// /files does not carry.
const DefaultSmallFileLimit = 8 << 20

// ErrNotStarted is wrapped by the error of a file UploadFiles did not start because its context
// ended first (the error wraps the context's cause too).
var ErrNotStarted = errors.New("not started")

// maxFilesInFlight bounds the files UploadFiles has started and not finished (each holds an
// open file), whatever the budget allows.
const maxFilesInFlight = 2 * MaxConcurrency

// UploadFilesOptions configures [Client.UploadFiles]. Only Purpose is required; every other
// field has a documented default. The fields shared with [UploadOptions] mean the same for each
// file.
type UploadFilesOptions struct {
	// Purpose is every file's purpose.
	Purpose generated.CreateUploadRequestPurpose
	// MIMEType is every file's MIME type; empty means from each file name's extension.
	MIMEType string
	// PartSize is the size of each part of an Upload (0: DefaultPartSize).
	PartSize int64
	// Concurrency is the number of requests carrying file bytes (parts, and the POST /files of
	// small files) in flight across all the files: 0 means adaptive, one window for all (see
	// UploadOptions.Concurrency); 1 to MaxConcurrency fixes it.
	Concurrency int
	// SkipMD5 turns the md5 of the Uploads off.
	SkipMD5 bool
	// ExpiresAfter is every File's expiration policy; nil means OpenAI's default.
	ExpiresAfter *generated.FileExpirationAfter
	// MaxRetries and StallTimeout apply to each request as in UploadOptions.
	MaxRetries   int
	StallTimeout time.Duration
	// SmallFileLimit is the size up to which a file is sent in one POST /files request (no md5
	// is checked; see DefaultSmallFileLimit): 0 means DefaultSmallFileLimit, a negative value
	// sends every file through an Upload.
	SmallFileLimit int64
	// Progress, when set, is called with each file's progress, tagged with its index in paths;
	// never concurrently, for all the files together. A file not started yet has reported
	// nothing; each file's reports end in PhaseDone, PhaseFailed or PhaseCancelled. For a small
	// file (POST /files) there is no UploadID, and its one "part" is the whole file.
	Progress func(FileProgress)
	// Notify, when set, is told of the decisions taken for a file (see UploadOptions.Notify),
	// tagged with its index in paths and its path. It may be called from several goroutines.
	Notify func(index int, path, message string)
}

// FileProgress is one file's [Progress] in an UploadFiles.
type FileProgress struct {
	// Index is the file's index in paths, Path its path.
	Index int
	Path  string
	Progress
}

// FileResult is the outcome of one file of an UploadFiles.
type FileResult struct {
	// Path is the file's path, as given.
	Path string
	// Upload is the completed Upload, when the file went through the Uploads API; nil for a
	// small file sent with POST /files, or on failure.
	Upload *generated.Upload
	// File is the new File (Upload.File, or the answer to POST /files); nil on failure.
	File *generated.OpenAIFile
	// Err says why the file failed (an *UploadError once its Upload was created); nil on success.
	Err error
}

// FilesError is the error of an UploadFiles in which some files failed: each one's
// FileResult.Err says why, and Unwrap returns them (errors.Is and errors.As look into each).
type FilesError struct {
	// Failed and Total count the files.
	Failed, Total int
	// Errs are the failed files' errors, in the order of paths, each naming its path.
	Errs []error
}

func (e *FilesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d files failed", e.Failed, e.Total)
	for i, err := range e.Errs {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Errs)-i)
			break
		}
		b.WriteString("; " + err.Error())
	}
	return b.String()
}

func (e *FilesError) Unwrap() []error { return e.Errs }

// fileError names the path in a file's error.
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string { return e.path + ": " + e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

// UploadFiles uploads each path as its own File, several at once, and returns one FileResult
// per path, in the order of paths. Every request carrying file bytes (the parts of every
// Upload, and the POST /files of small files) holds a slot of one budget shared by all the
// files: adaptive by default (opts.Concurrency), so that many small files, or a few big ones,
// keep the link busy without more requests in flight than pay. A new file starts whenever a slot
// would otherwise stay idle: a folder of small files goes many at a time; big files overlap at
// their ends. Files up to opts.SmallFileLimit (DefaultSmallFileLimit, 8 MiB) are sent in one
// POST /files request each; larger ones through an Upload, as [Client.UploadFile] does
// (md5, retries, cancel on failure).
//
// The options and every path are checked before any request: each must be a regular file of 1
// byte to 8 GB whose MIME type is known (opts.MIMEType or its extension); otherwise
// UploadFiles uploads nothing and returns an *InputError naming the option or the path (Field
// "paths[i]"), or the *fs.PathError of a path it cannot read. After that a file that
// fails does not stop the others: its FileResult.Err says why, and UploadFiles returns a
// *FilesError. When ctx is cancelled, every Upload under way is cancelled, and the files not
// started fail with the context's error. A small file's request under way gets CreateGrace to
// be answered: a File made as ctx ended is returned; past that, the file's error wraps
// ErrReplyLost (a File may have been created) beside the context's error.
//
// Files sent through an Upload with the same base name and size (a/train.jsonl and
// b/train.jsonl) go one after the other: after a lost reply to complete the File is recognised
// by its name, size and purpose, and a twin's File made meanwhile could be taken for it. A File
// recovered after a lost reply is never one another file of the call got. (Small files need no
// turns: several candidates leave a lost POST /files unknown, see below.)
//
// POST /files is not idempotent, and its body streams from the file: a small file's request
// that fails without a reply from the server is sent again, but one sent in full whose reply
// was lost may have created the File. Then the files list is searched (twice, a backoff apart,
// as a list may lag) for a File of the same name, size and purpose created since the request
// was sent (by the server's clock, learnt from the Date of earlier answers, less 2 s; or, with
// no answer yet, by this machine's clock less 5 minutes) that no other file of this call took:
// one is taken as the file's File (Notify says so), none means the request did nothing and it is
// sent again, several leave the outcome unknown (the error names them; nothing is sent again).
//
// Memory: as for UploadFile, per request in flight a few KiB, plus 1 MiB per Upload's md5 pass.
func (c *Client) UploadFiles(ctx context.Context, paths []string, opts UploadFilesOptions) ([]FileResult, error) {
	plan, base, err := c.planFiles(paths, opts)
	if err != nil {
		return nil, err
	}
	b := base.shared
	results := make([]FileResult, len(plan))
	claims := &claimedFiles{ids: map[string]bool{}}
	inFlight := make(chan struct{}, maxFilesInFlight)
	var wg sync.WaitGroup
	for i, f := range plan {
		results[i].Path = f.path
		claim, err := b.admit(ctx)
		if err == nil {
			select {
			case inFlight <- struct{}{}:
			case <-ctx.Done():
				b.settle(claim)
				err = ctx.Err()
			}
		}
		if err != nil {
			for j := i; j < len(plan); j++ {
				results[j].Path = plan[j].path
				results[j].Err = &fileError{path: plan[j].path, err: fmt.Errorf("%w: %w", ErrNotStarted, context.Cause(ctx))}
			}
			break
		}
		wg.Go(func() {
			defer func() { <-inFlight }()
			defer b.settle(claim)
			if !f.small { // a small file's search takes no File it cannot tell from a twin's
				turn := claims.twins(f)
				if !turn.TryLock() {
					b.settle(claim) // its slot goes to others while it waits for its twin
					turn.Lock()
				}
				defer turn.Unlock()
			}
			results[i] = c.uploadOne(ctx, i, f, base, claim, claims, opts)
		})
	}
	wg.Wait()
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	if len(errs) > 0 {
		return results, &FilesError{Failed: len(errs), Total: len(results), Errs: errs}
	}
	return results, nil
}

// plannedFile is a checked path of an UploadFiles.
type plannedFile struct {
	path     string
	size     int64
	mimeType string
	small    bool
}

// planFiles checks the options and every path before any request, and returns the plan and the
// options every file's upload starts from (with the shared budget).
func (c *Client) planFiles(paths []string, opts UploadFilesOptions) ([]plannedFile, UploadOptions, error) {
	base := UploadOptions{
		Purpose: opts.Purpose, MIMEType: opts.MIMEType, PartSize: opts.PartSize, Concurrency: opts.Concurrency,
		SkipMD5: opts.SkipMD5, ExpiresAfter: opts.ExpiresAfter, MaxRetries: opts.MaxRetries, StallTimeout: opts.StallTimeout,
	}
	if len(paths) == 0 {
		return nil, base, inputErrorf("paths", "no file to upload")
	}
	limit := opts.SmallFileLimit
	switch {
	case limit == 0:
		limit = DefaultSmallFileLimit
	case limit < 0:
		limit = 0
	case limit > maxSmallFileLimit:
		return nil, base, inputErrorf("UploadFilesOptions.SmallFileLimit", "%d is above POST /files' limit of %d bytes (512 MB)", limit, int64(maxSmallFileLimit))
	}
	plan := make([]plannedFile, len(paths))
	for i, path := range paths {
		field := fmt.Sprintf("paths[%d]", i)
		info, err := os.Stat(path)
		switch {
		case err != nil:
			return nil, base, fmt.Errorf("%s: %w", field, err)
		case !info.Mode().IsRegular():
			return nil, base, inputErrorf(field, "%s is not a regular file", path)
		}
		o := base
		o.Filename = filepath.Base(path)
		checked, err := o.normalize(info.Size())
		if err != nil {
			var in *InputError
			if errors.As(err, &in) && (in.Field == "size" || in.Field == "UploadOptions.MIMEType" && opts.MIMEType == "") {
				return nil, base, inputErrorf(field, "%s: %s", path, strings.Replace(in.Reason, "; set it", "; set UploadFilesOptions.MIMEType", 1))
			}
			if errors.As(err, &in) {
				in.Field = strings.Replace(in.Field, "UploadOptions.", "UploadFilesOptions.", 1)
			}
			return nil, base, err
		}
		plan[i] = plannedFile{path: path, size: info.Size(), mimeType: checked.MIMEType, small: info.Size() <= limit}
	}
	base.shared = newBudget(opts.Concurrency)
	base.progressMu = &sync.Mutex{}
	return plan, base, nil
}

// maxSmallFileLimit is POST /files' limit: 512 MB.
const maxSmallFileLimit = 512 << 20

// uploadOne uploads one file of an UploadFiles.
func (c *Client) uploadOne(ctx context.Context, i int, f plannedFile, base UploadOptions, claim *admission, claims *claimedFiles, opts UploadFilesOptions) FileResult {
	res := FileResult{Path: f.path}
	o := base
	o.MIMEType = f.mimeType
	o.admission = claim
	o.claims = claims
	if opts.Progress != nil {
		o.Progress = func(p Progress) { opts.Progress(FileProgress{Index: i, Path: f.path, Progress: p}) }
	}
	if opts.Notify != nil {
		o.Notify = func(msg string) { opts.Notify(i, f.path, msg) }
	}
	if f.small {
		file, err := c.uploadSmall(ctx, f.path, o, claims)
		if err != nil {
			res.Err = &fileError{path: f.path, err: err}
			return res
		}
		res.File = file
		return res
	}
	up, err := c.UploadFile(ctx, f.path, o)
	if err != nil {
		res.Err = &fileError{path: f.path, err: err}
		return res
	}
	res.Upload, res.File = up, up.File
	if up.File != nil {
		claims.claim(up.File.ID)
	}
	return res
}

// claimedFiles are the Files an UploadFiles got, so that the search after a lost reply never
// takes one of them for another file's.
//
// Files of one call sent through Uploads with the same name and size ("twins": a/train.jsonl and
// b/train.jsonl) are uploaded one after the other (see twins): a File is recognised after a lost reply by its name,
// size and purpose, so a twin's File made meanwhile could be taken for it. One at a time, and
// skipping the Files already claimed, the search finds the file's own.
type claimedFiles struct {
	mu    sync.Mutex
	ids   map[string]bool
	turns map[string]*sync.Mutex
}

func (c *claimedFiles) claim(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids[id] = true
}

// taken reports whether another file of the call claimed the File id.
func (c *claimedFiles) taken(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[id]
}

// twins returns the lock that the files of the call sharing f's name and size take in turn.
func (c *claimedFiles) twins(f plannedFile) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := fmt.Sprintf("%d/%s", f.size, filepath.Base(f.path))
	if c.turns == nil {
		c.turns = map[string]*sync.Mutex{}
	}
	if c.turns[key] == nil {
		c.turns[key] = &sync.Mutex{}
	}
	return c.turns[key]
}
