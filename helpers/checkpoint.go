package helpers

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// The checkpoint file: its format, how an existing file is recognised, and how it is kept on
// disk. What is done with it (safety checks, lock, resume) is in resume.go and lock.go.

// checkpointFormat marks a checkpoint written by this SDK: a file at UploadOptions.Checkpoint
// without it is not overwritten.
const checkpointFormat = "openai-uploads-checkpoint"

// checkpointVersion is the format version written in every checkpoint. Version 1 (no format
// marker, no part md5s) is still recognised, to be replaced; a higher version is refused.
const checkpointVersion = 2

// maxCheckpointBytes caps what is read of a checkpoint (10,000 parts take about 1 MB).
const maxCheckpointBytes = 64 << 20

// checkpoint is what a resumable upload records: the Upload, the file it is of (size and
// modification time), the plan (part size and settings) and each finished part with the md5 of
// the bytes its request carried.
type checkpoint struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	UploadID  string `json:"upload_id"`
	CreatedAt int64  `json:"created_at"`
	ExpiresAt int64  `json:"expires_at"`
	Size      int64  `json:"size"`
	ModTimeNs int64  `json:"mtime_ns"`
	PartSize  int64  `json:"part_size"`
	Purpose   string `json:"purpose"`
	Filename  string `json:"filename"`
	MIMEType  string `json:"mime_type"`
	// Parts are the finished parts, by index in the plan.
	Parts []checkpointPart `json:"parts"`
}

type checkpointPart struct {
	Index int    `json:"index"`
	ID    string `json:"id"`
	// MD5 is the md5 (hex) of the bytes the part's request carried.
	MD5 string `json:"md5"`
}

// checkpointV1 is the format of version 1, recognised only to be replaced: its parts carry no
// md5, so they cannot be verified against the file.
type checkpointV1 struct {
	Version   int    `json:"version"`
	UploadID  string `json:"upload_id"`
	ExpiresAt int64  `json:"expires_at"`
	Size      int64  `json:"size"`
	ModTimeNs int64  `json:"mtime_ns"`
	PartSize  int64  `json:"part_size"`
	Purpose   string `json:"purpose"`
	Filename  string `json:"filename"`
	MIMEType  string `json:"mime_type"`
	Parts     []struct {
		Index int    `json:"index"`
		ID    string `json:"id"`
	} `json:"parts"`
}

// existingCheckpoint is what a file found at the checkpoint path turned out to be.
type existingCheckpoint struct {
	// cp is a checkpoint of this version, valid.
	cp *checkpoint
	// stale says why a file that is a checkpoint of this SDK cannot be resumed (an earlier
	// format, or damaged); oldID is the Upload it names, if it names one.
	stale, oldID string
}

// errNotCheckpoint and errNewerCheckpoint are why a file at the checkpoint path is refused.
var (
	errNotCheckpoint   = errors.New("not a checkpoint of openai-uploads")
	errNewerCheckpoint = errors.New("written by a newer version of openai-uploads")
)

// classifyCheckpoint tells what data, the content of a file at the checkpoint path, is: a
// checkpoint of this version, one of this SDK that is stale (version 1, or damaged: it carries
// the format marker but does not decode), or an error wrapping errNotCheckpoint (anything else,
// even empty) or errNewerCheckpoint.
func classifyCheckpoint(data []byte) (*existingCheckpoint, error) {
	var head struct {
		Format   string `json:"format"`
		Version  int    `json:"version"`
		UploadID string `json:"upload_id"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Format != checkpointFormat {
		if v1, err := decodeCheckpointV1(data); err == nil {
			return &existingCheckpoint{stale: "it was written by an earlier version of openai-uploads, whose checkpoints hold no part checksums, so its parts cannot be checked against the file", oldID: v1.UploadID}, nil
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, fmt.Errorf("%w (it is empty)", errNotCheckpoint)
		}
		return nil, errNotCheckpoint
	}
	if head.Version > checkpointVersion {
		return nil, fmt.Errorf("%w (format version %d; this version reads %d)", errNewerCheckpoint, head.Version, checkpointVersion)
	}
	cp, err := decodeCheckpoint(data)
	if err != nil {
		return &existingCheckpoint{stale: fmt.Sprintf("it is damaged (%v)", err), oldID: head.UploadID}, nil
	}
	return &existingCheckpoint{cp: cp}, nil
}

// decodeCheckpoint parses and checks a checkpoint of this version: the marker and version, a
// positive size within the Upload limit, a part size within the part limit, and part indexes
// that exist in the plan, each once, with non-empty ids and md5s.
func decodeCheckpoint(data []byte) (*checkpoint, error) {
	if len(data) > maxCheckpointBytes {
		return nil, fmt.Errorf("checkpoint: larger than %d bytes", maxCheckpointBytes)
	}
	var cp checkpoint
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cp); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	switch {
	case cp.Format != checkpointFormat:
		return nil, fmt.Errorf("checkpoint: format %q, want %q", cp.Format, checkpointFormat)
	case cp.Version != checkpointVersion:
		return nil, fmt.Errorf("checkpoint: version %d, want %d", cp.Version, checkpointVersion)
	case cp.UploadID == "":
		return nil, errors.New("checkpoint: upload_id is empty")
	}
	if err := checkPlan(cp.Size, cp.PartSize); err != nil {
		return nil, err
	}
	n := partCount(cp.Size, cp.PartSize)
	seen := make(map[int]bool, len(cp.Parts))
	for _, p := range cp.Parts {
		switch {
		case p.Index < 0 || int64(p.Index) >= n:
			return nil, fmt.Errorf("checkpoint: part index %d is outside 0..%d", p.Index, n-1)
		case seen[p.Index]:
			return nil, fmt.Errorf("checkpoint: part index %d appears twice", p.Index)
		case p.ID == "":
			return nil, fmt.Errorf("checkpoint: part %d has no id", p.Index)
		}
		if b, err := hex.DecodeString(p.MD5); err != nil || len(b) != 16 {
			return nil, fmt.Errorf("checkpoint: part %d: md5 %q is not 32 hexadecimal digits", p.Index, p.MD5)
		}
		seen[p.Index] = true
	}
	return &cp, nil
}

// decodeCheckpointV1 recognises a version-1 checkpoint: exactly its fields, version 1, an Upload
// id and a plan within the limits.
func decodeCheckpointV1(data []byte) (*checkpointV1, error) {
	var cp checkpointV1
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cp); err != nil {
		return nil, err
	}
	if cp.Version != 1 || cp.UploadID == "" {
		return nil, errors.New("not a version-1 checkpoint")
	}
	return &cp, checkPlan(cp.Size, cp.PartSize)
}

func checkPlan(size, partSize int64) error {
	switch {
	case size <= 0 || size > MaxUploadSize:
		return fmt.Errorf("checkpoint: size %d is outside 1..%d", size, int64(MaxUploadSize))
	case partSize <= 0 || partSize > MaxPartSize:
		return fmt.Errorf("checkpoint: part_size %d is outside 1..%d", partSize, int64(MaxPartSize))
	}
	return nil
}

// checkpointFile keeps a checkpoint on disk, rewriting it durably (write, fsync, rename) after
// each finished part. It is safe for concurrent use.
type checkpointFile struct {
	path string
	mu   sync.Mutex
	cp   checkpoint
}

// record adds a finished part, or replaces the record of a part sent again, and saves.
func (f *checkpointFile) record(index int, id, md5 string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cp.Parts = slices.DeleteFunc(f.cp.Parts, func(p checkpointPart) bool { return p.Index == index })
	f.cp.Parts = append(f.cp.Parts, checkpointPart{Index: index, ID: id, MD5: md5})
	return f.saveLocked()
}

// reset replaces the checkpoint with cp and saves.
func (f *checkpointFile) reset(cp checkpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cp = cp
	return f.saveLocked()
}

func (f *checkpointFile) saveLocked() error {
	slices.SortFunc(f.cp.Parts, func(a, b checkpointPart) int { return a.Index - b.Index })
	data, err := json.MarshalIndent(f.cp, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(f.path, append(data, '\n'))
}

func (f *checkpointFile) remove() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the old or the new
// content: write a temporary file beside it, fsync, rename over, fsync the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
