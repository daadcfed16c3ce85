package helpers

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gofrs/flock"
)

// ErrCheckpointInUse is wrapped by the error of an upload whose checkpoint another upload, in
// this process or another, holds right now. Nothing was sent and nothing was changed; try again
// once that upload has ended.
var ErrCheckpointInUse = errors.New("the checkpoint is in use by another upload")

// lockSuffix names the lock file beside a checkpoint: <checkpoint>.lock.
const lockSuffix = ".lock"

// lockMarker is the content of a lock file this SDK creates. Only a file holding exactly this
// (or nothing) is used as the lock; only one holding this is removed.
const lockMarker = "openai-uploads: lock of the checkpoint beside this file; removed when the upload ends (a file left by a killed run is harmless)\n"

// lockAttempts bounds the tries to lock a lock file that other runs create and remove meanwhile.
const lockAttempts = 8

// checkpointLock is the lock an upload holds on its checkpoint for the whole call: an OS file
// lock (flock(2) on Unix, LockFileEx on Windows, through gofrs/flock) on <checkpoint>.lock. The
// checkpoint itself cannot carry the lock: every save replaces it by a rename, and a lock
// belongs to the file replaced.
//
// The lock file's lifetime: created (holding lockMarker) when missing, locked without waiting
// (a second upload fails at once with ErrCheckpointInUse), and removed at the end while still
// locked. The OS drops the lock of a killed process, so a lock file left behind blocks nobody:
// the next run locks and removes it. Removing a lock file races with a run that opened it just
// before: that run then holds a lock on a file no longer at the path, so after locking, a run
// checks that the path still names the file it locked, and starts over otherwise. (On Windows,
// where an open file cannot be removed, the lock file stays.)
type checkpointLock struct {
	fl   *flock.Flock
	path string
	// ours: the lock file holds lockMarker; it is removed at the end.
	ours bool
}

// lockCheckpoint takes the lock of the checkpoint at path, for an upload of src. A lock file
// that is not one of this SDK's (other content, not a regular file, the source itself) is
// refused with an *InputError and left alone.
func lockCheckpoint(path string, src fs.FileInfo) (*checkpointLock, error) {
	lockPath := path + lockSuffix
	for range lockAttempts {
		info, ours, err := prepareLockFile(lockPath, src)
		if errors.Is(err, fs.ErrExist) || errors.Is(err, fs.ErrNotExist) {
			continue // another run created or removed it meanwhile
		}
		if err != nil {
			return nil, err
		}
		fl := flock.New(lockPath, flock.SetFlag(os.O_RDONLY)) // never creates: a vanished file starts over
		locked, err := fl.TryLock()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, inputErrorf(checkpointField, "%s: cannot lock its lock file %s: %v", path, lockPath, pathReason(err))
		case !locked:
			return nil, &inUseError{fmt.Sprintf("checkpoint %s is in use by another upload running now (it holds %s); wait until that upload ends, or choose another checkpoint", path, lockPath)}
		}
		if !stillAtPath(fl, lockPath, info) {
			_ = fl.Unlock()
			continue
		}
		return &checkpointLock{fl: fl, path: lockPath, ours: ours}, nil
	}
	return nil, &inUseError{fmt.Sprintf("checkpoint %s is in use by other uploads: its lock file %s kept being created and removed; try again", path, lockPath)}
}

// inUseError is ErrCheckpointInUse with a message naming the checkpoint.
type inUseError struct{ msg string }

func (e *inUseError) Error() string        { return e.msg }
func (e *inUseError) Is(target error) bool { return target == ErrCheckpointInUse }

// stillAtPath reports whether the file fl locked is the one at lockPath now, and the one checked
// before (info): not removed or replaced since it was checked or opened.
func stillAtPath(fl *flock.Flock, lockPath string, info fs.FileInfo) bool {
	held, herr := fl.Stat()
	now, nerr := os.Lstat(lockPath)
	return herr == nil && nerr == nil && os.SameFile(held, now) && os.SameFile(held, info)
}

// prepareLockFile makes sure the lock file exists and may be used: it creates it holding
// lockMarker, or checks the one found. It returns the file's info and whether it holds the
// marker; fs.ErrExist or fs.ErrNotExist when another run created or removed it meanwhile.
func prepareLockFile(lockPath string, src fs.FileInfo) (fs.FileInfo, bool, error) {
	info, err := os.Lstat(lockPath)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createLockFile(lockPath); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return nil, false, err
			}
			return nil, false, inputErrorf(checkpointField, "%s: its directory %s cannot be written (creating the lock file %s: %v)", strings.TrimSuffix(lockPath, lockSuffix), filepath.Dir(lockPath), filepath.Base(lockPath), pathReason(err))
		}
		info, err = os.Lstat(lockPath)
		return info, true, err // fs.ErrNotExist if another run removed it already
	}
	if err != nil {
		return nil, false, inputErrorf(checkpointField, "cannot read its lock file %s: %v", lockPath, pathReason(err))
	}
	if err := checkLockFile(lockPath, src); err != nil {
		return nil, false, err
	}
	data, err := readCapped(lockPath, int64(len(lockMarker)+1))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, err
	case err != nil, len(data) == 0:
		// A read error: on Windows a lock held by another process makes the file unreadable,
		// and the lock tells. Empty: created by a run killed before it wrote the marker; it is
		// used, and kept.
		return info, false, nil
	}
	return info, true, nil
}

// checkLockFile refuses, with an *InputError, a lock file that is there and is not one of this
// SDK's: not a regular file, the source itself, or holding anything but lockMarker. It only
// reads.
func checkLockFile(lockPath string, src fs.FileInfo) error {
	info, err := os.Lstat(lockPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return inputErrorf(checkpointField, "cannot read its lock file %s: %v", lockPath, pathReason(err))
	case !info.Mode().IsRegular():
		return inputErrorf(checkpointField, "its lock file %s exists and is not a regular file; remove it or choose another checkpoint", lockPath)
	case src != nil && os.SameFile(info, src):
		return inputErrorf(checkpointField, "its lock file %s is the file being uploaded; choose another checkpoint", lockPath)
	}
	data, err := readCapped(lockPath, int64(len(lockMarker)+1))
	if err == nil && len(data) > 0 && string(data) != lockMarker {
		return inputErrorf(checkpointField, "%s exists and is not a lock file of openai-uploads; it is not touched: remove it or choose another checkpoint", lockPath)
	}
	return nil // unreadable (on Windows, locked by its holder) or empty: the lock tells
}

// createLockFile creates the lock file holding lockMarker, or fails with fs.ErrExist if it is
// there. It appears whole: written to a temporary file, then linked to its name (a link fails
// if the name exists). Where the filesystem has no hard links it is created in place instead,
// and is empty for an instant.
func createLockFile(lockPath string) error {
	tmp, err := os.CreateTemp(filepath.Dir(lockPath), filepath.Base(lockPath)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, werr := io.WriteString(tmp, lockMarker)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	err = os.Link(tmp.Name(), lockPath)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	f, err := os.OpenFile(lockPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr = io.WriteString(f, lockMarker)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(lockPath)
	}
	return werr
}

// release removes the lock file if it is this SDK's, while still holding the lock, then
// unlocks: a run that opened it meanwhile finds it gone and starts over.
func (l *checkpointLock) release() {
	if l.ours {
		_ = os.Remove(l.path) // fails on Windows (the file is open): it stays, harmless
	}
	_ = l.fl.Unlock()
}

// readCapped reads at most limit bytes of the file at path.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// pathReason is an error about a file without the system call's name ("permission denied").
func pathReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
