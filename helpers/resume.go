package helpers

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// Resume: an upload with UploadOptions.Checkpoint records its Upload and each finished part, with
// the md5 of the bytes the part's request carried, in a checkpoint file (checkpoint.go), under a
// lock (lock.go). A later call with the same checkpoint continues the Upload: the md5 pass checks
// every recorded part against the file, and the parts whose bytes changed are sent again.

// checkpointField names the option in the errors about the checkpoint.
const checkpointField = "UploadOptions.Checkpoint"

// openCheckpoint checks the checkpoint path before any request, and locks it. It refuses, with an
// *InputError and touching nothing: a path that exists and is not a checkpoint of this SDK (or is
// one of a newer version), a symbolic link, anything but a regular file, the source itself
// (however it is named), a path whose directory does not exist or cannot be written, and a
// lock file beside it that is not this SDK's (see checkpointLock). The checks that only read come
// first; then the lock (a checkpoint in use changes nothing); then, under the lock, the
// directory is probed by creating and removing a temporary file in it. A
// checkpoint another upload holds fails with ErrCheckpointInUse. The checkpoint found, if any,
// is read again under the lock and kept in u.found.
func (u *upload) openCheckpoint() error {
	path := u.opts.Checkpoint
	if _, err := u.inspectCheckpoint(path); err != nil {
		return err
	}
	if err := checkLockFile(path+lockSuffix, u.src.info); err != nil {
		return err
	}
	lock, err := lockCheckpoint(path, u.src.info)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	probe, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*") // what every save does
	if err != nil {
		lock.release()
		return inputErrorf(checkpointField, "%s: its directory %s cannot be written: %v", path, dir, pathReason(err))
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	found, err := u.inspectCheckpoint(path) // another run may have changed it before the lock
	if err != nil {
		lock.release()
		return err
	}
	removeLeftovers(path)
	u.lock, u.found = lock, found
	u.ckpt = &checkpointFile{path: path}
	return nil
}

// inspectCheckpoint checks the checkpoint path and returns what it holds (nil: nothing yet).
func (u *upload) inspectCheckpoint(path string) (*existingCheckpoint, error) {
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); err != nil {
		return nil, inputErrorf(checkpointField, "%s: its directory %s does not exist", path, dir)
	} else if !info.IsDir() {
		return nil, inputErrorf(checkpointField, "%s: %s is not a directory", path, dir)
	}
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, inputErrorf(checkpointField, "%s cannot be read: %v", path, pathReason(err))
	case info.Mode()&fs.ModeSymlink != 0:
		if target, err := os.Stat(path); err == nil && os.SameFile(target, u.src.info) {
			return nil, inputErrorf(checkpointField, "%s is a symbolic link to the file being uploaded; a checkpoint must be a file of its own", path)
		}
		return nil, inputErrorf(checkpointField, "%s is a symbolic link; give the path of the checkpoint itself", path)
	case !info.Mode().IsRegular():
		return nil, inputErrorf(checkpointField, "%s exists and is not a regular file; choose another path", path)
	case os.SameFile(info, u.src.info):
		return nil, inputErrorf(checkpointField, "%s is the file being uploaded; a checkpoint must be a file of its own", path)
	}
	data, err := readCapped(path, maxCheckpointBytes+1)
	if err != nil {
		return nil, inputErrorf(checkpointField, "%s cannot be read: %v", path, pathReason(err))
	}
	found, err := classifyCheckpoint(data)
	switch {
	case errors.Is(err, errNewerCheckpoint):
		return nil, inputErrorf(checkpointField, "%s was %v; it is not touched: resume with that version, or remove it", path, err)
	case err != nil:
		return nil, inputErrorf(checkpointField, "%s exists and is %v; it is not overwritten: remove it or choose another path", path, err)
	}
	return found, nil
}

// removeLeftovers removes the temporary files that runs killed while saving left beside the
// checkpoint: <checkpoint>.tmp-<digits> (os.CreateTemp's names), empty or holding this SDK's
// format marker, and <checkpoint>.lock.tmp-<digits>, empty or holding the lock's marker. It runs
// under the lock, when no run of this checkpoint is saving. (A run creating the lock file at
// this instant, which would find its temporary file gone, creates the lock file in place.)
func removeLeftovers(path string) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	ours := map[string]func([]byte) bool{
		base + ".tmp-":              func(b []byte) bool { return bytes.Contains(b, []byte(`"`+checkpointFormat+`"`)) },
		base + lockSuffix + ".tmp-": func(b []byte) bool { return string(b) == lockMarker },
	}
	for _, e := range entries {
		for prefix, marked := range ours {
			digits, ok := strings.CutPrefix(e.Name(), prefix)
			if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" || !e.Type().IsRegular() {
				continue
			}
			name := filepath.Join(dir, e.Name())
			if data, err := readCapped(name, maxCheckpointBytes); err == nil && (len(data) == 0 || marked(data)) {
				_ = os.Remove(name)
			}
		}
	}
}

// closeCheckpoint releases the lock.
func (u *upload) closeCheckpoint() {
	if u.lock != nil {
		u.lock.release()
	}
}

// newCheckpoint is the checkpoint of this upload for the Upload up, with no part yet.
func (u *upload) newCheckpoint(up *generated.Upload) checkpoint {
	cp := checkpoint{
		Format: checkpointFormat, Version: checkpointVersion,
		UploadID: up.ID, CreatedAt: up.CreatedAt, ExpiresAt: up.ExpiresAt,
		Size: u.src.size, PartSize: u.opts.PartSize, Purpose: string(u.opts.Purpose),
		Filename: u.opts.Filename, MIMEType: u.opts.MIMEType, Parts: []checkpointPart{},
	}
	if u.src.info != nil {
		cp.ModTimeNs = u.src.info.ModTime().UnixNano()
	}
	return cp
}

// resume continues the checkpointed Upload when the checkpoint is of a file of this size, with
// the same settings, and its Upload has not expired. Otherwise it says why, cancels the old
// Upload where it may still be pending, and returns false: a new Upload is made. Whether the
// Upload is still pending is learnt from its first request (the API cannot be asked): if it is
// not, run starts a new one (restartable).
func (u *upload) resume(ctx context.Context) (resumed bool) {
	found, path := u.found, u.ckpt.path
	u.found = nil
	if found == nil {
		return false
	}
	defer func() {
		if !resumed { // it names an Upload that is no more: gone, even if no new one is made
			_ = u.ckpt.remove()
		}
	}()
	if found.cp == nil {
		if found.oldID != "" {
			u.notify("checkpoint %s is not resumed: %s; cancelling upload %s and starting a new one", path, found.stale, found.oldID)
			u.cancelQuietly(ctx, found.oldID)
		} else {
			u.notify("checkpoint %s is not resumed: %s; starting a new upload", path, found.stale)
		}
		return false
	}
	cp := found.cp
	switch {
	case cp.Size != u.src.size:
		u.notify("the file changed since checkpoint %s: it had %d bytes, now %d; cancelling upload %s and starting a new one", path, cp.Size, u.src.size, cp.UploadID)
		u.cancelQuietly(ctx, cp.UploadID)
		return false
	case cp.PartSize != u.opts.PartSize || cp.Purpose != string(u.opts.Purpose) || cp.Filename != u.opts.Filename || cp.MIMEType != u.opts.MIMEType:
		u.notify("checkpoint %s was made with other settings (part size, purpose, filename or MIME type); cancelling upload %s and starting a new one", path, cp.UploadID)
		u.cancelQuietly(ctx, cp.UploadID)
		return false
	case u.expiresSoon(ctx, cp.ExpiresAt):
		if u.c.apiNow().Unix() < cp.ExpiresAt { // still pending for a few seconds: not left behind
			u.notify("upload %s from checkpoint %s expires within %s; cancelling it and starting a new upload", cp.UploadID, path, ResumeMargin)
			u.cancelQuietly(ctx, cp.UploadID)
			return false
		}
		u.notify("upload %s from checkpoint %s has expired; starting a new upload", cp.UploadID, path)
		return false
	}
	u.up = &generated.Upload{
		ID: cp.UploadID, CreatedAt: cp.CreatedAt, ExpiresAt: cp.ExpiresAt, Bytes: cp.Size, Filename: cp.Filename,
		Purpose: cp.Purpose, Status: generated.UploadStatusPending, Object: generated.UploadObjectUpload,
	}
	u.resumed = true
	u.recorded = make([]string, len(u.parts))
	for _, p := range cp.Parts {
		u.ids[p.Index] = p.ID
		u.recorded[p.Index], u.sent[p.Index] = p.MD5, p.MD5
		u.prog.partDone(u.parts[p.Index].length)
	}
	u.ckpt.cp = *cp
	u.ckptCurrent = true
	modified := ""
	if u.src.info != nil && cp.ModTimeNs != u.src.info.ModTime().UnixNano() {
		modified = " (the file was modified since the checkpoint was written)"
		u.ckpt.cp.ModTimeNs = u.src.info.ModTime().UnixNano()
	}
	u.notify("resuming upload %s from checkpoint %s: %d of %d parts already sent, each checked against the file%s", cp.UploadID, path, len(cp.Parts), len(u.parts), modified)
	return true
}

// expiresSoon reports whether an Upload expiring at expiresAt (the API's time) expires within
// ResumeMargin. When this machine's clock says so before any answer told the API's time, one
// list request (a page of one File) learns it first: a clock ahead of the API's must not make a
// pending Upload look expired.
func (u *upload) expiresSoon(ctx context.Context, expiresAt int64) bool {
	soon := func() bool { return time.Unix(expiresAt, 0).Sub(u.c.apiNow()) < ResumeMargin }
	if !soon() {
		return false
	}
	if _, known := u.c.tr.serverNow(); !known {
		one := int64(1)
		_, _ = u.c.ListFiles(ctx, &generated.ListFilesParams{Limit: &one}) // for its Date
	}
	return soon()
}

func (u *upload) cancelQuietly(ctx context.Context, id string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CancelTimeout)
	defer cancel()
	_, _ = u.c.CancelUpload(cctx, id)
}

// partSent records a part the API accepted: its id, the md5 of the bytes its request carried
// (with a checkpoint), the progress, and the checkpoint.
func (u *upload) partSent(span partSpan, id, sum string) error {
	u.ids[span.index] = id
	u.prog.partDone(0)
	if u.ckpt != nil {
		u.sent[span.index] = sum
		if err := u.ckpt.record(span.index, id, sum); err != nil {
			return fmt.Errorf("writing checkpoint %s: %w", u.ckpt.path, err)
		}
	}
	u.prog.report(true)
	return nil
}

// partRead is told by the md5 pass of each part's md5 as read from the file. A part recorded in
// the checkpoint whose bytes changed since is sent again (requeue).
func (u *upload) partRead(index int, sum string) {
	u.read[index] = sum
	if u.recorded != nil && u.recorded[index] != "" && u.recorded[index] != sum {
		u.requeue(u.parts[index])
	}
}

// The requeue hook, between the md5 pass and the scheduler (sendParts):
//   - requeue(span) hands the scheduler a part to send (again): a part recorded in the
//     checkpoint whose bytes changed since. It never blocks; the md5 pass calls it, at most once
//     per part, while sendParts runs.
//   - requeued(ctx) yields those parts, in the order given, until the md5 pass is over (or ctx
//     ends). sendParts ranges over it after the planned parts and sends each like any part; it
//     must not end before requeued does, or a changed part would be left out.
//
// redo is nil when no part can be requeued (nothing recorded to check).

// requeue hands span to the scheduler, and takes it out of the progress: it counts again as it
// is sent.
func (u *upload) requeue(span partSpan) {
	u.prog.undo(span.length)
	u.redo <- span // buffered for every part: never blocks
}

// requeued yields the parts handed to requeue; see requeue.
func (u *upload) requeued(ctx context.Context) iter.Seq[partSpan] {
	return func(yield func(partSpan) bool) {
		if u.redo == nil {
			return
		}
		for {
			select {
			case span, ok := <-u.redo:
				if !ok || !yield(span) {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}
}

// checkSource makes sure the file did not change while it was being uploaded, before complete:
// its size and modification time as they were when it was opened, and, with a checkpoint, each
// part's md5 as the md5 pass read it (the parts it hashes: see startPass) equal to the md5 of
// the bytes its request carried. (A
// change that keeps the size and restores the modification time after both reads of a part is
// not seen; the File then holds the bytes as they were read.)
func (u *upload) checkSource() error {
	if u.src.file == nil {
		return nil
	}
	if err := statChanged(u.src.name, u.src.file, u.src.info); err != nil {
		return err
	}
	if u.read == nil {
		return nil
	}
	for i, span := range u.parts {
		if u.read[i] != "" && u.sent[i] != u.read[i] { // read: the parts the md5 pass hashed
			return u.changed("part %d (bytes %d-%d) read differently when it was sent and when its md5 was computed", i, span.offset, span.offset+span.length-1)
		}
	}
	return nil
}

// changed is the error of a file that changed while it was being uploaded.
func (u *upload) changed(format string, args ...any) error {
	return changedError(u.src.name, format, args...)
}

func changedError(name, format string, args ...any) error {
	return &sourceChanged{msg: name + " changed while it was being uploaded: " + fmt.Sprintf(format, args...)}
}

// statChanged checks that the open file f (name, in messages) still has the size and
// modification time it had when it was opened (opened), and otherwise says what changed.
func statChanged(name string, f *os.File, opened fs.FileInfo) error {
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("checking %s after sending it: %w", name, err)
	}
	switch {
	case info.Size() != opened.Size():
		return changedError(name, "its size went from %d to %d bytes", opened.Size(), info.Size())
	case !info.ModTime().Equal(opened.ModTime()):
		return changedError(name, "it was modified at %s, after the upload started", info.ModTime().UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// sourceChanged is the error of a file that changed while it was being uploaded: it is
// ErrSourceChanged, and its message says so.
type sourceChanged struct {
	msg   string
	cause error
}

func (e *sourceChanged) Error() string        { return e.msg }
func (e *sourceChanged) Is(target error) bool { return target == ErrSourceChanged }
func (e *sourceChanged) Unwrap() error        { return e.cause }

// phraseChanged says, of a file's ErrSourceChanged (it ended early), or of an md5 the server
// found not to match, that the file changed while it was being uploaded.
func (u *upload) phraseChanged(err error) error {
	if u.src.file == nil || errors.As(err, new(*sourceChanged)) {
		return err
	}
	var apiErr *APIError
	switch {
	case errors.Is(err, ErrSourceChanged):
		return &sourceChanged{msg: fmt.Sprintf("%s changed while it was being uploaded: %v", u.src.name, err), cause: err}
	case errors.As(err, &apiErr) && apiErr.Code == "md5_mismatch":
		return &sourceChanged{msg: fmt.Sprintf("%s changed while it was being uploaded: the md5 of the parts the server received is not the file's md5 (%v)", u.src.name, err), cause: err}
	}
	return err
}

// partHash is the hash of a part attempt's bytes: an md5 with a checkpoint, none otherwise.
func (u *upload) partHash() hash.Hash {
	if u.ckpt == nil {
		return nil
	}
	return md5.New()
}
