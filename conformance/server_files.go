package conformance

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"

	"github.com/openai-uploads/uploads/generated"
)

// CreateFile handles POST /files: multipart with file, purpose and optionally
// expires_after[anchor] and expires_after[seconds]; the file streams to storage.
func (a api) CreateFile(w http.ResponseWriter, r *http.Request) {
	s := a.s
	s.stats.op("createFile")
	var (
		stored   *blob
		filename string
		fields   = map[string]string{}
	)
	defer func() {
		if stored != nil {
			s.blobs.free(*stored)
		}
	}()
	err := readForm(r, "", func(p *multipart.Part) error {
		switch name := p.FormName(); name {
		case "file":
			if stored != nil {
				return badRequest("file", "invalid_multipart", "Exactly one 'file' field is allowed.")
			}
			b, _, err := s.receive(p, MaxFileBytes, func() *apiError {
				return badRequest("file", "file_too_large", "File is too large: at most %d bytes are allowed.", int64(MaxFileBytes))
			}, "file", "File")
			if err != nil {
				return err
			}
			stored = &b
			filename = p.FileName()
			if filename == "" {
				filename = "file"
			}
		case "purpose", "expires_after[anchor]", "expires_after[seconds]":
			v, err := smallField(p)
			if err != nil {
				return err
			}
			fields[name] = v
		default:
			return badRequest(name, "unknown_parameter", "Unrecognized request argument supplied: %s", name)
		}
		return nil
	})
	if err != nil {
		fail(w, err)
		return
	}
	if stored == nil {
		fail(w, badRequest("file", "missing_required_parameter", "Missing required parameter: 'file'."))
		return
	}
	purpose, ok := fields["purpose"]
	if !ok {
		fail(w, badRequest("purpose", "missing_required_parameter", "Missing required parameter: 'purpose'."))
		return
	}
	if err := checkPurpose(purpose); err != nil {
		fail(w, err)
		return
	}
	var after *generated.FileExpirationAfter
	anchor, hasAnchor := fields["expires_after[anchor]"]
	secondsText, hasSeconds := fields["expires_after[seconds]"]
	if hasAnchor || hasSeconds {
		if !hasAnchor || !hasSeconds {
			fail(w, badRequest("expires_after", "missing_required_parameter", "expires_after needs both expires_after[anchor] and expires_after[seconds]."))
			return
		}
		seconds, err := strconv.ParseInt(secondsText, 10, 64)
		if err != nil {
			fail(w, badRequest("expires_after[seconds]", "invalid_type", "Invalid type for 'expires_after[seconds]': expected an integer, got %q.", secondsText))
			return
		}
		if err := checkExpiresAfter("expires_after", anchor, seconds); err != nil {
			fail(w, err)
			return
		}
		after = &generated.FileExpirationAfter{Anchor: generated.FileExpirationAfterAnchor(anchor), Seconds: seconds}
	}

	now := s.now().Unix()
	f := &file{
		OpenAIFile: generated.OpenAIFile{
			ID: "file-" + randomID(22), Object: generated.OpenAIFileObjectFile, Bytes: stored.size, CreatedAt: now,
			ExpiresAt: fileExpiry(now, purpose, after), Filename: filename,
			Purpose: generated.OpenAIFilePurpose(purpose), Status: generated.OpenAIFileStatusProcessed,
		},
		blobs: []blob{*stored},
	}
	s.mu.Lock()
	f.seq = s.fileSeq + 1
	if err := s.journal.update(func(tx journalTx) error { return tx.putFile(f) }); err != nil {
		s.mu.Unlock()
		fail(w, recordError(err))
		return
	}
	s.fileSeq++
	s.addFile(f)
	stored = nil // kept
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, f.OpenAIFile)
}

// ListFiles handles GET /files. Files past their expires_at are not listed.
func (a api) ListFiles(w http.ResponseWriter, r *http.Request, params generated.ListFilesParams) {
	s := a.s
	s.stats.op("listFiles")
	limit := int64(10000)
	if params.Limit != nil {
		limit = *params.Limit
	}
	if limit < 1 || limit > 10000 {
		fail(w, badRequest("limit", "invalid_value", "Invalid 'limit': %d. It must be between 1 and 10000.", limit))
		return
	}
	desc := true
	if params.Order != nil {
		switch *params.Order {
		case generated.ListFilesParamsOrderAsc:
			desc = false
		case generated.ListFilesParamsOrderDesc:
		default:
			fail(w, badRequest("order", "invalid_value", "Invalid value for 'order': %q. Supported values are: asc, desc.", *params.Order))
			return
		}
	}

	s.mu.Lock()
	now := s.now().Unix()
	var all []*file
	for _, f := range s.files {
		if !f.expired(now) && (params.Purpose == nil || string(f.Purpose) == *params.Purpose) {
			all = append(all, f)
		}
	}
	var cursor *file
	if params.After != nil {
		cursor = s.files[*params.After]
	}
	s.mu.Unlock()
	if params.After != nil && cursor == nil {
		fail(w, badRequest("after", "invalid_value", "Invalid 'after': no file '%s'.", *params.After))
		return
	}
	sort.Slice(all, func(i, j int) bool {
		if desc {
			return all[i].seq > all[j].seq
		}
		return all[i].seq < all[j].seq
	})
	if cursor != nil {
		i := sort.Search(len(all), func(i int) bool {
			if desc {
				return all[i].seq < cursor.seq
			}
			return all[i].seq > cursor.seq
		})
		all = all[i:]
	}
	page := generated.ListFilesResponse{Object: generated.ListFilesResponseObjectList, Data: []generated.OpenAIFile{}}
	for i, f := range all {
		if int64(i) == limit {
			page.HasMore = true
			break
		}
		page.Data = append(page.Data, f.OpenAIFile)
	}
	if n := len(page.Data); n > 0 {
		first, last := page.Data[0].ID, page.Data[n-1].ID
		page.FirstID, page.LastID = &first, &last
	}
	writeJSON(w, http.StatusOK, page)
}

// lookupFile returns a File that exists and has not expired. Callers hold s.mu.
func (s *Server) lookupFile(id string) (*file, error) {
	f, ok := s.files[id]
	if !ok || f.expired(s.now().Unix()) {
		return nil, notFound("file_id", "No such File object: %s", id)
	}
	return f, nil
}

// RetrieveFile handles GET /files/{file_id}.
func (a api) RetrieveFile(w http.ResponseWriter, r *http.Request, fileID generated.FileID) {
	s := a.s
	s.stats.op("retrieveFile")
	s.mu.Lock()
	f, err := s.lookupFile(fileID)
	s.mu.Unlock()
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, f.OpenAIFile)
}

// DeleteFile handles DELETE /files/{file_id}. A download under way finishes with every byte:
// the File's bytes are removed when it ends.
func (a api) DeleteFile(w http.ResponseWriter, r *http.Request, fileID generated.FileID) {
	s := a.s
	s.stats.op("deleteFile")
	s.mu.Lock()
	f, err := s.lookupFile(fileID)
	if err == nil {
		if jerr := s.journal.update(func(tx journalTx) error { return tx.deleteFile(fileID) }); jerr != nil {
			err = recordError(jerr)
		} else {
			delete(s.files, fileID)
		}
	}
	s.mu.Unlock()
	if err != nil {
		fail(w, err)
		return
	}
	s.blobs.free(f.blobs...)
	writeJSON(w, http.StatusOK, generated.DeleteFileResponse{ID: fileID, Object: generated.DeleteFileResponseObjectFile, Deleted: true})
}

// DownloadFile handles GET /files/{file_id}/content: the exact bytes, streamed, one stored
// part at a time.
func (a api) DownloadFile(w http.ResponseWriter, r *http.Request, fileID generated.FileID) {
	s := a.s
	s.stats.op("downloadFile")
	s.mu.Lock()
	f, err := s.lookupFile(fileID)
	if err == nil {
		// Pinned under the lock: a concurrent delete cannot remove the bytes before the
		// download has read them.
		s.blobs.pin(f.blobs)
	}
	s.mu.Unlock()
	if err != nil {
		fail(w, err)
		return
	}
	rd := s.blobs.reader(f.blobs)
	defer rd.Close()
	if err := rd.open(); err != nil {
		fail(w, storageError(err))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(f.Bytes, 10))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename}))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, rd)
}
