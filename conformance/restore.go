package conformance

import (
	"fmt"

	"github.com/openai-uploads/uploads/generated"
)

// Restored says what a server started on a storage directory found there (all zero for memory
// storage and for a new directory).
type Restored struct {
	// Uploads, Parts and Files are the records restored. PendingUploads of the Uploads were
	// still pending when the server stopped: they take parts and complete as before, until
	// their expires_at.
	Uploads, PendingUploads, Parts, Files int
	// Bytes is what the restored parts and Files hold.
	Bytes int64
	// OrphansRemoved and OrphanBytes count the .blob files that no record referred to, which
	// were removed at start: the bytes of a request that a crash cut short, or of a deletion a
	// crash interrupted.
	OrphansRemoved int
	OrphanBytes    int64
	// Lost counts the parts and Files whose bytes were missing or short, whose records were
	// dropped (the directory was changed by hand, or a crash lost a file the system had not
	// written out).
	Lost int
}

// Restored returns what the server restored from its storage directory when it started.
func (s *Server) Restored() Restored { return s.restored }

// openDisk opens DiskStorage in dir: the blobs, and the database, whose state it restores.
func (s *Server) openDisk(dir string, syncWrites bool) error {
	ds, err := newDirStorage(dir)
	if err != nil {
		return fmt.Errorf("conformance: storage: %w", err)
	}
	ds.durable = syncWrites && !ds.owned
	j, err := openBolt(ds.dir, !ds.owned)
	if err != nil {
		_ = ds.close()
		return fmt.Errorf("conformance: storage: %w", err)
	}
	s.blobs, s.journal = newBlobStore(ds), j
	if err := s.restore(j, ds); err != nil {
		_ = j.close()
		_ = ds.close()
		return fmt.Errorf("conformance: restore the state in %s: %w", ds.dir, err)
	}
	return nil
}

// restore loads the database's records, checks that their bytes are there, drops the records
// whose bytes are not, and removes the blob files no record refers to. Records are read before
// the directory is listed, and the database's lock is held: no other server writes here.
func (s *Server) restore(j *boltJournal, ds *dirStorage) error {
	saved, err := j.load()
	if err != nil {
		return err
	}
	present, err := ds.list()
	if err != nil {
		return err
	}
	r := &s.restored
	referenced := map[string]bool{}
	usable := func(key string, size int64) bool {
		got, ok := present[key]
		return ok && got == size && !referenced[key]
	}
	keep := func(b blob) {
		referenced[b.key] = true
		s.blobs.adopt(b)
		r.Bytes += b.size
	}

	var lostFiles []string
	lostParts := map[string]bool{} // upload ids whose part records are rewritten
	for _, rec := range saved.files {
		f := &file{OpenAIFile: rec.File, seq: rec.Seq}
		ok := true
		for _, b := range rec.Blobs {
			if !usable(b.Key, b.Size) {
				ok = false
				break
			}
		}
		if !ok {
			r.Lost++
			lostFiles = append(lostFiles, f.ID)
			continue
		}
		for _, b := range rec.Blobs {
			f.blobs = append(f.blobs, blob{key: b.Key, size: b.Size})
			keep(blob{key: b.Key, size: b.Size})
		}
		s.files[f.ID] = f
		s.fileSeq = max(s.fileSeq, f.seq)
		r.Files++
	}
	for _, rec := range saved.uploads {
		u := &upload{
			Upload: rec.Upload, mimeType: rec.MimeType, expiresAfter: rec.ExpiresAfter, finishedAt: rec.FinishedAt,
			parts: map[string]*part{}, contents: map[content]int{},
		}
		for _, pr := range saved.parts[u.ID] {
			b := blob{key: pr.Blob, size: pr.Size}
			if u.Status != generated.UploadStatusPending || !usable(b.key, b.size) {
				if u.Status == generated.UploadStatusPending {
					r.Lost++
				}
				lostParts[u.ID] = true
				continue
			}
			keep(b)
			u.addPart(&part{id: pr.ID, createdAt: pr.CreatedAt, data: b, sum: pr.CRC32C})
			r.Parts++
		}
		s.uploads[u.ID] = u
		r.Uploads++
		if u.Status == generated.UploadStatusPending {
			r.PendingUploads++
		}
	}
	for id := range saved.parts {
		if s.uploads[id] == nil {
			lostParts[id] = true // part records of an Upload without a record
		}
	}
	s.uploadsPeak, s.filesPeak = len(s.uploads), len(s.files)

	if len(lostFiles) > 0 || len(lostParts) > 0 {
		err := j.update(func(tx journalTx) error {
			for _, id := range lostFiles {
				if err := tx.deleteFile(id); err != nil {
					return err
				}
			}
			for id := range lostParts {
				if err := tx.deleteParts(id); err != nil {
					return err
				}
				if u := s.uploads[id]; u != nil {
					for _, p := range u.parts {
						if err := tx.putPart(id, p); err != nil {
							return err
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for key, size := range present {
		if !referenced[key] {
			ds.remove(blob{key: key})
			r.OrphansRemoved++
			r.OrphanBytes += size
		}
	}
	return nil
}
