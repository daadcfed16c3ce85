package conformance

import (
	"crypto/md5"
	"encoding/hex"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// api implements the generated server interface; routing and parameter binding are generated,
// bodies are read here so that parts stream to storage. The Files operations are in
// server_files.go.
type api struct{ s *Server }

var _ generated.ServerInterface = api{}

func (s *Server) api() api { return api{s} }

// CreateUpload handles POST /uploads.
func (a api) CreateUpload(w http.ResponseWriter, r *http.Request) {
	s := a.s
	s.stats.op("createUpload")
	var req struct {
		Bytes        *int64  `json:"bytes"`
		Filename     *string `json:"filename"`
		MimeType     *string `json:"mime_type"`
		Purpose      *string `json:"purpose"`
		ExpiresAfter *struct {
			Anchor  *string `json:"anchor"`
			Seconds *int64  `json:"seconds"`
		} `json:"expires_after"`
	}
	if err := decodeJSON(r, &req); err != nil {
		fail(w, err)
		return
	}
	for _, m := range []struct {
		name    string
		missing bool
	}{{"bytes", req.Bytes == nil}, {"filename", req.Filename == nil}, {"mime_type", req.MimeType == nil}, {"purpose", req.Purpose == nil}} {
		if m.missing {
			fail(w, badRequest(m.name, "missing_required_parameter", "Missing required parameter: '%s'.", m.name))
			return
		}
	}
	var after *generated.FileExpirationAfter
	if ea := req.ExpiresAfter; ea != nil {
		if ea.Anchor == nil || ea.Seconds == nil {
			fail(w, badRequest("expires_after", "missing_required_parameter", "expires_after needs both 'anchor' and 'seconds'."))
			return
		}
		if err := checkExpiresAfter("expires_after", *ea.Anchor, *ea.Seconds); err != nil {
			fail(w, err)
			return
		}
		after = &generated.FileExpirationAfter{Anchor: generated.FileExpirationAfterAnchor(*ea.Anchor), Seconds: *ea.Seconds}
	}
	switch {
	case *req.Bytes < 0 || *req.Bytes > MaxUploadBytes:
		fail(w, badRequest("bytes", "invalid_value", "Invalid 'bytes': %d. An Upload can hold at most %d bytes (8 GB).", *req.Bytes, int64(MaxUploadBytes)))
		return
	case strings.TrimSpace(*req.Filename) == "":
		fail(w, badRequest("filename", "invalid_value", "Invalid 'filename': it must not be empty."))
		return
	case strings.TrimSpace(*req.MimeType) == "":
		fail(w, badRequest("mime_type", "invalid_value", "Invalid 'mime_type': it must not be empty."))
		return
	}
	if _, _, err := mime.ParseMediaType(*req.MimeType); err != nil {
		fail(w, badRequest("mime_type", "invalid_value", "Invalid 'mime_type': %q is not a MIME type.", *req.MimeType))
		return
	}
	if err := checkPurpose(*req.Purpose); err != nil {
		fail(w, err)
		return
	}

	now := s.now().Unix()
	u := &upload{
		Upload: generated.Upload{
			ID: "upload_" + randomID(24), Object: generated.UploadObjectUpload, Bytes: *req.Bytes,
			CreatedAt: now, ExpiresAt: now + int64(s.ttl/time.Second), Filename: *req.Filename,
			Purpose: *req.Purpose, Status: generated.UploadStatusPending,
		},
		mimeType: *req.MimeType, expiresAfter: after, parts: map[string]*part{}, contents: map[content]int{},
	}
	s.mu.Lock()
	if err := s.journal.update(func(tx journalTx) error { return tx.putUpload(u) }); err != nil {
		s.mu.Unlock()
		fail(w, recordError(err))
		return
	}
	s.trackUpload(u)
	snap := u.snapshot()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, snap)
}

// lookupPending returns an Upload that can take parts or be completed. Callers hold s.mu.
func (s *Server) lookupPending(id, action string) (*upload, error) {
	u, ok := s.uploads[id]
	if !ok {
		return nil, notFound("upload_id", "No such upload: '%s'.", id)
	}
	if err := s.refresh(u); err != nil {
		return nil, err
	}
	switch {
	case u.Status == generated.UploadStatusPending && u.completing:
		return nil, badRequest("upload_id", "upload_completing", "Cannot %s: Upload '%s' is being completed.", action, id)
	case u.Status != generated.UploadStatusPending:
		return nil, badRequest("upload_id", "upload_"+string(u.Status), "Cannot %s: Upload '%s' is %s.", action, id, u.Status)
	}
	return u, nil
}

// AddUploadPart handles POST /uploads/{upload_id}/parts. The part's bytes stream from the
// request to storage; a part above MaxPartBytes, or above the Upload's declared bytes, is cut
// off with a 400.
func (a api) AddUploadPart(w http.ResponseWriter, r *http.Request, uploadID generated.UploadID) {
	s := a.s
	s.stats.op("addUploadPart")
	s.mu.Lock()
	u, err := s.lookupPending(uploadID, "add a Part")
	var declared int64
	if err == nil {
		declared = u.Bytes
	}
	s.mu.Unlock()
	if err != nil {
		fail(w, err)
		return
	}
	var stored *blob
	var sum uint32
	defer func() {
		if stored != nil {
			s.blobs.free(*stored)
		}
	}()
	err = readForm(r, "data", func(p *multipart.Part) error {
		if p.FormName() != "data" {
			_, err := smallField(p) // other fields are ignored, as OpenAI ignores them
			return err
		}
		if stored != nil {
			return badRequest("data", "invalid_multipart", "A Part has exactly one 'data' field.")
		}
		b, crc, err := s.receivePart(p, uploadID, declared)
		if err == nil {
			stored, sum = &b, crc
		}
		return err
	})
	if err != nil {
		fail(w, err)
		return
	}
	if stored == nil {
		fail(w, badRequest("data", "missing_required_parameter", "Missing required parameter: 'data'."))
		return
	}
	s.mu.Lock()
	p := &part{id: "part_" + randomID(24), createdAt: s.now().Unix(), data: *stored, sum: sum}
	u, err = s.lookupPending(uploadID, "add a Part")
	if err == nil {
		err = u.admit(p)
	}
	if err == nil {
		if jerr := s.journal.update(func(tx journalTx) error { return tx.putPart(uploadID, p) }); jerr != nil {
			err = recordError(jerr)
		}
	}
	if err != nil {
		s.mu.Unlock()
		fail(w, err)
		return
	}
	u.addPart(p)
	stored = nil // kept
	s.mu.Unlock()
	s.stats.partsStored.Add(1)
	s.stats.partBytes.Add(p.data.size)

	writeJSON(w, http.StatusOK, generated.UploadPart{ID: p.id, Object: generated.UploadPartObjectUploadPart, CreatedAt: p.createdAt, UploadID: uploadID})
}

// CompleteUpload handles POST /uploads/{upload_id}/complete.
func (a api) CompleteUpload(w http.ResponseWriter, r *http.Request, uploadID generated.UploadID) {
	s := a.s
	s.stats.op("completeUpload")
	var req struct {
		PartIDs *[]string `json:"part_ids"`
		MD5     *string   `json:"md5"`
	}
	if err := decodeJSON(r, &req); err != nil {
		fail(w, err)
		return
	}
	if req.PartIDs == nil {
		fail(w, badRequest("part_ids", "missing_required_parameter", "Missing required parameter: 'part_ids'."))
		return
	}
	if req.MD5 != nil {
		if b, err := hex.DecodeString(*req.MD5); err != nil || len(b) != md5.Size {
			fail(w, badRequest("md5", "invalid_value", "Invalid 'md5': %q is not 32 hexadecimal digits.", *req.MD5))
			return
		}
	}

	s.mu.Lock()
	u, err := s.lookupPending(uploadID, "complete")
	if err != nil {
		s.mu.Unlock()
		fail(w, err)
		return
	}
	listed := map[string]bool{}
	var blobs []blob
	var total int64
	for _, id := range *req.PartIDs {
		p, ok := u.parts[id]
		switch {
		case !ok:
			err = badRequest("part_ids", "invalid_part", "Part '%s' does not belong to Upload '%s'.", id, uploadID)
		case listed[id]:
			err = badRequest("part_ids", "duplicate_part", "Part '%s' is listed more than once.", id)
		}
		if err != nil {
			s.mu.Unlock()
			fail(w, err)
			return
		}
		listed[id] = true
		blobs = append(blobs, p.data)
		total += p.data.size
	}
	if total != u.Bytes {
		s.mu.Unlock()
		fail(w, badRequest("part_ids", "bytes_mismatch", "The listed Parts add up to %d bytes, but Upload '%s' was created with bytes=%d.", total, uploadID, u.Bytes))
		return
	}
	u.completing = true
	s.mu.Unlock()

	if req.MD5 != nil && !s.opts.TrustMD5 {
		sum, err := s.md5Of(r.Context(), blobs)
		if err == nil && !strings.EqualFold(sum, *req.MD5) {
			err = badRequest("md5", "md5_mismatch", "md5 mismatch: the listed Parts, in the order given, hash to %s, but md5 is %s.", sum, *req.MD5)
		}
		if err != nil {
			s.mu.Lock()
			u.completing = false
			s.mu.Unlock()
			fail(w, err)
			return
		}
	}

	s.mu.Lock()
	u.completing = false
	now := s.now().Unix()
	f := &file{
		OpenAIFile: generated.OpenAIFile{
			ID: "file-" + randomID(22), Object: generated.OpenAIFileObjectFile, Bytes: total, CreatedAt: now,
			ExpiresAt: fileExpiry(now, u.Purpose, u.expiresAfter), Filename: u.Filename,
			Purpose: generated.OpenAIFilePurpose(u.Purpose), Status: generated.OpenAIFileStatusProcessed,
		},
		seq: s.fileSeq + 1, blobs: blobs,
	}
	fo := f.OpenAIFile
	done := *u
	done.Status, done.finishedAt, done.File = generated.UploadStatusCompleted, now, &fo
	// One transaction: the File, the completed Upload, and no more part records (the listed
	// parts' bytes now belong to the File; the others are freed below).
	err = s.journal.update(func(tx journalTx) error {
		if err := tx.putFile(f); err != nil {
			return err
		}
		if err := tx.putUpload(&done); err != nil {
			return err
		}
		return tx.deleteParts(u.ID)
	})
	if err != nil {
		s.mu.Unlock()
		fail(w, recordError(err))
		return
	}
	s.fileSeq++
	s.addFile(f)
	var unlisted []blob // parts uploaded but not listed are ignored
	for id, p := range u.parts {
		if !listed[id] {
			unlisted = append(unlisted, p.data)
		}
	}
	u.takeParts()
	u.Status, u.finishedAt, u.File = generated.UploadStatusCompleted, now, &fo
	snap := u.snapshot()
	s.mu.Unlock()
	s.blobs.free(unlisted...)
	writeJSON(w, http.StatusOK, snap)
}

// CancelUpload handles POST /uploads/{upload_id}/cancel. Cancelling a cancelled Upload returns it
// unchanged; a completed or expired one cannot be cancelled.
func (a api) CancelUpload(w http.ResponseWriter, r *http.Request, uploadID generated.UploadID) {
	s := a.s
	s.stats.op("cancelUpload")
	s.mu.Lock()
	u, ok := s.uploads[uploadID]
	if !ok {
		s.mu.Unlock()
		fail(w, notFound("upload_id", "No such upload: '%s'.", uploadID))
		return
	}
	err := s.refresh(u)
	var freed []blob
	switch {
	case err != nil:
	case u.completing:
		err = badRequest("upload_id", "upload_completing", "Cannot cancel: Upload '%s' is being completed.", uploadID)
	case u.Status == generated.UploadStatusPending:
		now := s.now().Unix()
		done := *u
		done.Status, done.finishedAt = generated.UploadStatusCancelled, now
		err = s.journal.update(func(tx journalTx) error {
			if err := tx.putUpload(&done); err != nil {
				return err
			}
			return tx.deleteParts(u.ID)
		})
		if err != nil {
			err = recordError(err)
			break
		}
		u.Status, u.finishedAt = generated.UploadStatusCancelled, now
		freed = u.takeParts()
	case u.Status == generated.UploadStatusCancelled:
	default:
		err = badRequest("upload_id", "upload_"+string(u.Status), "Cannot cancel: Upload '%s' is already %s.", uploadID, u.Status)
	}
	snap := u.snapshot()
	s.mu.Unlock()
	s.blobs.free(freed...)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, snap)
}
