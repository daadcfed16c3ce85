package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/openai-uploads/uploads/generated"
)

// ErrStorageLocked is wrapped by the error NewServer, Start and Listen return when another
// reference server already uses the StorageDir.
var ErrStorageLocked = errors.New("the storage directory is in use by another reference server")

// journal records the server's state as it changes, so that a server started on the same
// storage directory restores it. Each update is one atomic transaction: a crash leaves the state
// of before or of after it, never half of it. Memory storage has nothing to keep (noJournal).
type journal interface {
	update(fn func(tx journalTx) error) error
	close() error
}

// journalTx is one transaction's view of the state.
type journalTx interface {
	putUpload(u *upload) error
	putPart(uploadID string, p *part) error
	// deleteParts deletes every part record of an Upload (its blobs are freed after the commit,
	// or now belong to a File).
	deleteParts(uploadID string) error
	deleteUpload(id string) error
	putFile(f *file) error
	deleteFile(id string) error
}

type noJournal struct{}

func (noJournal) update(fn func(journalTx) error) error { return fn(noTx{}) }
func (noJournal) close() error                          { return nil }

type noTx struct{}

func (noTx) putUpload(*upload) error     { return nil }
func (noTx) putPart(string, *part) error { return nil }
func (noTx) deleteParts(string) error    { return nil }
func (noTx) deleteUpload(string) error   { return nil }
func (noTx) putFile(*file) error         { return nil }
func (noTx) deleteFile(string) error     { return nil }

// The database: state.db in the storage directory.
const (
	stateFile     = "state.db"
	stateFormat   = "1"
	stateLockWait = 200 * time.Millisecond
)

var (
	bucketMeta    = []byte("meta")
	bucketUploads = []byte("uploads") // upload id → uploadRecord
	bucketParts   = []byte("parts")   // upload id → a bucket of part id → partRecord
	bucketFiles   = []byte("files")   // file id → fileRecord
	keyFormat     = []byte("format")
)

// The records, in JSON. Blob keys name files in the storage directory.
type uploadRecord struct {
	Upload       generated.Upload               `json:"upload"`
	MimeType     string                         `json:"mime_type"`
	ExpiresAfter *generated.FileExpirationAfter `json:"expires_after,omitempty"`
	FinishedAt   int64                          `json:"finished_at,omitempty"`
}

type partRecord struct {
	ID        string `json:"id"`
	CreatedAt int64  `json:"created_at"`
	Blob      string `json:"blob"`
	Size      int64  `json:"size"`
	CRC32C    uint32 `json:"crc32c"`
}

type fileRecord struct {
	File  generated.OpenAIFile `json:"file"`
	Seq   int64                `json:"seq"`
	Blobs []blobRecord         `json:"blobs"`
}

type blobRecord struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

type boltJournal struct{ db *bolt.DB }

// openBolt opens (or creates) dir/state.db. It holds the file's lock until close, so a second
// server on the same directory fails at once with ErrStorageLocked. durable false skips the
// fsync of each commit (a temporary directory, whose state does not outlive the server): bbolt
// then may leave the file corrupt after a crash of the machine.
func openBolt(dir string, durable bool) (*boltJournal, error) {
	path := filepath.Join(dir, stateFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: stateLockWait, NoSync: !durable})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is locked", ErrStorageLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketUploads, bucketParts, bucketFiles} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keyFormat); {
		case v == nil:
			return meta.Put(keyFormat, []byte(stateFormat))
		case string(v) != stateFormat:
			return fmt.Errorf("%s has state format %q; this server reads format %s", path, v, stateFormat)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &boltJournal{db: db}, nil
}

func (j *boltJournal) update(fn func(journalTx) error) error {
	return j.db.Update(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (j *boltJournal) close() error { return j.db.Close() }

type boltTx struct{ tx *bolt.Tx }

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

func (t boltTx) putUpload(u *upload) error {
	return putJSON(t.tx.Bucket(bucketUploads), u.ID, uploadRecord{
		Upload: u.snapshot(), MimeType: u.mimeType, ExpiresAfter: u.expiresAfter, FinishedAt: u.finishedAt,
	})
}

func (t boltTx) putPart(uploadID string, p *part) error {
	b, err := t.tx.Bucket(bucketParts).CreateBucketIfNotExists([]byte(uploadID))
	if err != nil {
		return err
	}
	return putJSON(b, p.id, partRecord{ID: p.id, CreatedAt: p.createdAt, Blob: p.data.key, Size: p.data.size, CRC32C: p.sum})
}

func (t boltTx) deleteParts(uploadID string) error {
	err := t.tx.Bucket(bucketParts).DeleteBucket([]byte(uploadID))
	if errors.Is(err, bolterrors.ErrBucketNotFound) {
		return nil
	}
	return err
}

func (t boltTx) deleteUpload(id string) error {
	if err := t.deleteParts(id); err != nil {
		return err
	}
	return t.tx.Bucket(bucketUploads).Delete([]byte(id))
}

func (t boltTx) putFile(f *file) error {
	rec := fileRecord{File: f.OpenAIFile, Seq: f.seq, Blobs: make([]blobRecord, len(f.blobs))}
	for i, b := range f.blobs {
		rec.Blobs[i] = blobRecord{Key: b.key, Size: b.size}
	}
	return putJSON(t.tx.Bucket(bucketFiles), f.ID, rec)
}

func (t boltTx) deleteFile(id string) error { return t.tx.Bucket(bucketFiles).Delete([]byte(id)) }

// savedState is what a storage directory's database holds.
type savedState struct {
	uploads []uploadRecord
	parts   map[string][]partRecord // by upload id
	files   []fileRecord
}

func (j *boltJournal) load() (*savedState, error) {
	st := &savedState{parts: map[string][]partRecord{}}
	err := j.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketUploads).ForEach(func(k, v []byte) error {
			var rec uploadRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("upload %s: %w", k, err)
			}
			st.uploads = append(st.uploads, rec)
			return nil
		})
		if err != nil {
			return err
		}
		parts := tx.Bucket(bucketParts)
		err = parts.ForEachBucket(func(uploadID []byte) error {
			return parts.Bucket(uploadID).ForEach(func(k, v []byte) error {
				var rec partRecord
				if err := json.Unmarshal(v, &rec); err != nil {
					return fmt.Errorf("part %s of %s: %w", k, uploadID, err)
				}
				st.parts[string(uploadID)] = append(st.parts[string(uploadID)], rec)
				return nil
			})
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketFiles).ForEach(func(k, v []byte) error {
			var rec fileRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("file %s: %w", k, err)
			}
			st.files = append(st.files, rec)
			return nil
		})
	})
	return st, err
}
