package conformance

import (
	"fmt"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// SweepResult says what one sweep did.
type SweepResult struct {
	// UploadsExpired is the pending Uploads found past their expires_at, now expired.
	UploadsExpired int
	// UploadsForgotten is the finished Uploads (completed, cancelled, expired) forgotten after
	// ServerOptions.Retention: their ids now answer 404.
	UploadsForgotten int
	// FilesExpired is the Files found past their expires_at, now deleted.
	FilesExpired int
	// PartsFreed is the parts whose bytes were freed: of Uploads that expired now, or that
	// expired earlier, when a request found them so.
	PartsFreed int
	// BytesFreed is the bytes of the parts and Files freed (a blob a download is still reading
	// is removed when the download ends).
	BytesFreed int64
}

func (r SweepResult) changed() bool {
	return r.UploadsExpired+r.UploadsForgotten+r.FilesExpired+r.PartsFreed > 0
}

// startSweeper runs Sweep every SweepInterval until Close.
func (s *Server) startSweeper() {
	interval := s.opts.SweepInterval
	if interval < 0 {
		return
	}
	if interval == 0 {
		interval = DefaultSweepInterval
	}
	s.sweepDone.Add(1)
	go func() {
		defer s.sweepDone.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.sweepStop:
				return
			case <-t.C:
				res, err := s.Sweep()
				if log := s.opts.SweepLog; log != nil && (res.changed() || err != nil) {
					log(res, err)
				}
			}
		}
	}()
}

// Sweep applies the lifecycle at the server clock's current time: pending Uploads past their
// expires_at expire and their parts' bytes are freed; finished Uploads are forgotten once
// ServerOptions.Retention has passed since they finished (an expired Upload finished at its
// expires_at); Files past their expires_at are deleted with their bytes. The sweeper calls it
// every ServerOptions.SweepInterval; tests with an injected clock call it directly.
//
// Its changes to the state are one transaction: if recording them fails (an error from the
// storage directory's database), nothing changed and the error is returned.
func (s *Server) Sweep() (SweepResult, error) {
	s.stats.sweeps.Add(1)
	var res SweepResult
	var freed []blob
	s.mu.Lock()
	now := s.now().Unix()
	var expire, forget []*upload
	for _, u := range s.uploads {
		switch {
		case u.expiredAt(now):
			expire = append(expire, u)
		case u.Status != generated.UploadStatusPending && now >= u.finishedAt+int64(s.keep/time.Second):
			forget = append(forget, u)
		}
	}
	var gone []*file
	for _, f := range s.files {
		if f.expired(now) {
			gone = append(gone, f)
		}
	}
	err := s.journal.update(func(tx journalTx) error {
		for _, u := range expire {
			if err := u.putExpired(tx); err != nil {
				return err
			}
		}
		for _, u := range forget {
			if err := tx.deleteUpload(u.ID); err != nil {
				return err
			}
		}
		for _, f := range gone {
			if err := tx.deleteFile(f.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.mu.Unlock()
		return SweepResult{}, fmt.Errorf("conformance: sweep: %w", err)
	}
	for _, u := range expire {
		res.PartsFreed += len(u.parts)
		freed = append(freed, u.expire()...)
	}
	for _, u := range forget {
		delete(s.uploads, u.ID)
	}
	for _, f := range gone {
		delete(s.files, f.ID)
		freed = append(freed, f.blobs...)
	}
	res.UploadsExpired, res.UploadsForgotten, res.FilesExpired = len(expire), len(forget), len(gone)
	s.compact()
	s.mu.Unlock()
	res.BytesFreed = s.blobs.free(freed...)
	return res, nil
}

// compact rebuilds a map that lost most of its entries since it was last built: Go maps never
// give their buckets back, so without this a server that saw 50,000 Uploads would keep their
// map's memory after forgetting them. Callers hold s.mu.
func (s *Server) compact() {
	s.uploads, s.uploadsPeak = shrunk(s.uploads, s.uploadsPeak)
	s.files, s.filesPeak = shrunk(s.files, s.filesPeak)
}

// minShrinkPeak is the size a map must have reached before shrunk rebuilds it.
const minShrinkPeak = 1024

// shrunk returns m and its peak (its largest size since it was made), or, when m grew to at least
// minShrinkPeak entries and has since lost three quarters or more of them, a new map with the
// same entries and its size as the new peak. Go maps never give their buckets back; a copy made
// with make and a loop is sized to its entries (maps.Clone may keep the old size).
func shrunk[K comparable, V any](m map[K]V, peak int) (map[K]V, int) {
	if peak < minShrinkPeak || len(m)*4 > peak {
		return m, peak
	}
	n := make(map[K]V, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n, len(n)
}

// expiredAt says whether a pending Upload has passed its expires_at (an Upload being completed
// finishes first).
func (u *upload) expiredAt(now int64) bool {
	return u.Status == generated.UploadStatusPending && !u.completing && now >= u.ExpiresAt
}

func (f *file) expired(now int64) bool { return f.ExpiresAt != nil && now >= *f.ExpiresAt }

// putExpired records the Upload as expired, without its parts.
func (u *upload) putExpired(tx journalTx) error {
	rec := *u
	rec.Status, rec.finishedAt = generated.UploadStatusExpired, u.ExpiresAt
	if err := tx.putUpload(&rec); err != nil {
		return err
	}
	return tx.deleteParts(u.ID)
}

// expire marks the Upload expired and takes its parts, whose blobs it returns to be freed.
func (u *upload) expire() []blob {
	u.Status, u.finishedAt = generated.UploadStatusExpired, u.ExpiresAt
	return u.takeParts()
}

// refresh expires a pending Upload whose time has passed, now rather than at the next sweep.
// Callers hold s.mu.
func (s *Server) refresh(u *upload) error {
	if !u.expiredAt(s.now().Unix()) {
		return nil
	}
	if err := s.journal.update(u.putExpired); err != nil {
		return recordError(err)
	}
	s.blobs.free(u.expire()...)
	return nil
}

// addPart adds a part to the Upload's accounts.
func (u *upload) addPart(p *part) {
	u.parts[p.id] = p
	u.storedBytes += p.data.size
	c := content{size: p.data.size, sum: p.sum}
	if u.contents[c] == 0 {
		u.distinctBytes += p.data.size
	}
	u.contents[c]++
}

// takeParts empties the Upload of its parts and returns their blobs.
func (u *upload) takeParts() []blob {
	blobs := make([]blob, 0, len(u.parts))
	for _, p := range u.parts {
		blobs = append(blobs, p.data)
	}
	u.parts, u.contents = map[string]*part{}, map[content]int{}
	u.storedBytes, u.distinctBytes = 0, 0
	return blobs
}

// trackUpload registers a new Upload. Callers hold s.mu.
func (s *Server) trackUpload(u *upload) {
	s.uploads[u.ID] = u
	s.uploadsPeak = max(s.uploadsPeak, len(s.uploads))
}

// addFile registers a file. Callers hold s.mu.
func (s *Server) addFile(f *file) {
	s.files[f.ID] = f
	s.filesPeak = max(s.filesPeak, len(s.files))
}
