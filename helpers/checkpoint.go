package helpers

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// checkpointVersion is the format version written in every checkpoint.
const checkpointVersion = 1

// maxCheckpointBytes caps what decodeCheckpoint reads (8 GiB in 1-byte parts would be far
// larger, but no sane plan comes near: 131,072 parts of 64 KiB is a few MB).
const maxCheckpointBytes = 64 << 20

// checkpoint is what a resumable upload records: the Upload, the file it is of (size and
// modification time), the plan (part size) and each finished part.
type checkpoint struct {
	Version   int    `json:"version"`
	UploadID  string `json:"upload_id"`
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
}

// decodeCheckpoint parses and checks a checkpoint: the version, a positive size within the
// Upload limit, a part size within the part limit, and part indexes that exist in the plan,
// each once, with non-empty ids.
func decodeCheckpoint(data []byte) (*checkpoint, error) {
	if len(data) > maxCheckpointBytes {
		return nil, fmt.Errorf("checkpoint: larger than %d bytes", maxCheckpointBytes)
	}
	var cp checkpoint
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cp); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	switch {
	case cp.Version != checkpointVersion:
		return nil, fmt.Errorf("checkpoint: version %d, want %d", cp.Version, checkpointVersion)
	case cp.UploadID == "":
		return nil, errors.New("checkpoint: upload_id is empty")
	case cp.Size <= 0 || cp.Size > MaxUploadSize:
		return nil, fmt.Errorf("checkpoint: size %d is outside 1..%d", cp.Size, int64(MaxUploadSize))
	case cp.PartSize <= 0 || cp.PartSize > MaxPartSize:
		return nil, fmt.Errorf("checkpoint: part_size %d is outside 1..%d", cp.PartSize, int64(MaxPartSize))
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
		seen[p.Index] = true
	}
	return &cp, nil
}

// checkpointFile keeps a checkpoint on disk, rewriting it durably (write, fsync, rename) after
// each finished part. It is safe for concurrent use.
type checkpointFile struct {
	path string
	mu   sync.Mutex
	cp   checkpoint
}

func loadCheckpoint(path string) (*checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeCheckpoint(data)
}

// record adds a finished part and saves.
func (f *checkpointFile) record(index int, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cp.Parts = append(f.cp.Parts, checkpointPart{Index: index, ID: id})
	return f.saveLocked()
}

func (f *checkpointFile) save() error {
	f.mu.Lock()
	defer f.mu.Unlock()
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
