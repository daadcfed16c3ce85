package conformance

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// api implements the generated server interface; routing and parameter binding are generated,
// bodies are read here so that parts stream to storage.
type api struct{ s *Server }

var _ generated.ServerInterface = api{}

func (s *Server) api() api { return api{s} }

// apiError is a 4xx/5xx answer in OpenAI's envelope.
type apiError struct {
	status           int
	typ, param, code string
	message          string
	closeConn        bool
}

func (e *apiError) Error() string { return e.message }

func badRequest(param, code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", param: param, code: code, message: fmt.Sprintf(format, args...)}
}

func notFound(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusNotFound, typ: "invalid_request_error", param: param, message: fmt.Sprintf(format, args...)}
}

func storageError(err error) *apiError {
	if errors.Is(err, errStorageFull) {
		return &apiError{status: http.StatusInsufficientStorage, typ: "server_error", message: err.Error(), closeConn: true}
	}
	return &apiError{status: http.StatusInternalServerError, typ: "server_error", message: "storing the bytes failed"}
}

func fail(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: http.StatusInternalServerError, typ: "server_error", message: "internal error"}
	}
	if ae.closeConn {
		// Answer without reading the rest of the body: the connection is closed afterwards.
		w.Header().Set("Connection", "close")
	}
	writeError(w, ae.status, ae.typ, ae.param, ae.code, ae.message)
}

// decodeJSON reads a JSON request body into v, refusing unknown fields and wrong types with
// OpenAI-style messages that name the parameter.
func decodeJSON(r *http.Request, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return badRequest("", "invalid_content_type", "Expected Content-Type application/json, got %q.", r.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxJSONRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var maxErr *http.MaxBytesError
		switch {
		case errors.As(err, &typeErr):
			return badRequest(typeErr.Field, "invalid_type", "Invalid type for '%s': expected %s, but got a JSON %s instead.", typeErr.Field, jsonKind(typeErr.Type.String()), typeErr.Value)
		case errors.As(err, &maxErr):
			return badRequest("", "request_too_large", "The request body is larger than %d bytes.", maxJSONRequestBytes)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return badRequest(field, "unknown_parameter", "Unrecognized request argument supplied: %s", field)
		default:
			return badRequest("", "invalid_json", "We could not parse the JSON body of your request: %v", err)
		}
	}
	if dec.More() {
		return badRequest("", "invalid_json", "We could not parse the JSON body of your request: extra data after the JSON value.")
	}
	return nil
}

func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "int"):
		return "an integer"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	default:
		return "an object"
	}
}

func checkPurpose(purpose string) error {
	if !slices.Contains(UploadPurposes, purpose) {
		return badRequest("purpose", "invalid_value", "Invalid value for 'purpose': %q. Supported values are: %s.", purpose, strings.Join(UploadPurposes, ", "))
	}
	return nil
}

func checkExpiresAfter(param, anchor string, seconds int64) error {
	if anchor != string(generated.FileExpirationAfterAnchorCreatedAt) {
		return badRequest(param+".anchor", "invalid_value", "Invalid value for '%s.anchor': %q. Supported values are: created_at.", param, anchor)
	}
	if seconds < MinExpiresAfterSeconds || seconds > MaxExpiresAfterSeconds {
		return badRequest(param+".seconds", "invalid_value", "Invalid '%s.seconds': %d. It must be between %d (1 hour) and %d (30 days).", param, seconds, MinExpiresAfterSeconds, MaxExpiresAfterSeconds)
	}
	return nil
}

// fileExpiry is when a file created now expires: expires_after if given, 30 days for batch files,
// never otherwise.
func fileExpiry(created int64, purpose string, after *generated.FileExpirationAfter) *int64 {
	var at int64
	switch {
	case after != nil:
		at = created + after.Seconds
	case purpose == "batch":
		at = created + int64(BatchFileTTL/time.Second)
	default:
		return nil
	}
	return &at
}

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
			CreatedAt: now, ExpiresAt: now + int64(UploadTTL/time.Second), Filename: *req.Filename,
			Purpose: *req.Purpose, Status: generated.UploadStatusPending,
		},
		mimeType: *req.MimeType, expiresAfter: after, parts: map[string]*part{},
	}
	s.mu.Lock()
	s.uploads[u.ID] = u
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
	s.refresh(u)
	switch {
	case u.Status == generated.UploadStatusPending && u.completing:
		return nil, badRequest("upload_id", "upload_completing", "Cannot %s: Upload '%s' is being completed.", action, id)
	case u.Status != generated.UploadStatusPending:
		return nil, badRequest("upload_id", "upload_"+string(u.Status), "Cannot %s: Upload '%s' is %s.", action, id, u.Status)
	}
	return u, nil
}

// AddUploadPart handles POST /uploads/{upload_id}/parts. The part's bytes stream from the
// request to storage; a part above MaxPartBytes is cut off with a 400.
func (a api) AddUploadPart(w http.ResponseWriter, r *http.Request, uploadID generated.UploadID) {
	s := a.s
	s.stats.op("addUploadPart")
	s.mu.Lock()
	_, err := s.lookupPending(uploadID, "add a Part")
	s.mu.Unlock()
	if err != nil {
		fail(w, err)
		return
	}
	var stored *blob
	defer func() {
		if stored != nil {
			s.store.remove(*stored)
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
		b, err := s.receive(p, MaxPartBytes, "data", "Part")
		if err == nil {
			stored = &b
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
	u, err := s.lookupPending(uploadID, "add a Part")
	if err == nil && u.storedBytes+stored.size > MaxUploadBytes {
		err = badRequest("data", "upload_too_large", "This Part would take Upload '%s' past its maximum of %d bytes (8 GB).", uploadID, int64(MaxUploadBytes))
	}
	if err != nil {
		s.mu.Unlock()
		fail(w, err)
		return
	}
	p := &part{id: "part_" + randomID(24), createdAt: s.now().Unix(), data: *stored}
	u.parts[p.id] = p
	u.storedBytes += stored.size
	stored = nil // kept
	s.mu.Unlock()
	s.stats.partsStored.Add(1)
	s.stats.partBytes.Add(p.data.size)

	writeJSON(w, http.StatusOK, generated.UploadPart{ID: p.id, Object: generated.UploadPartObjectUploadPart, CreatedAt: p.createdAt, UploadID: uploadID})
}

// readForm streams a multipart/form-data request's fields, in order, to handle; the first error
// ends it. A body that is not such a form, or breaks off, is a 400 naming param.
func readForm(r *http.Request, param string, handle func(*multipart.Part) error) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return badRequest("", "invalid_content_type", "Expected Content-Type multipart/form-data with a boundary, got %q.", r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return badRequest(param, "invalid_multipart", "The multipart body could not be read: %v", err)
		}
		if err := handle(p); err != nil {
			return err
		}
	}
}

// smallField reads a field that is not a file: at most maxFormFieldBytes, refusing a larger one
// without reading the rest of it.
func smallField(p *multipart.Part) (string, error) {
	v, err := io.ReadAll(io.LimitReader(p, maxFormFieldBytes+1))
	if err != nil {
		return "", badRequest(p.FormName(), "invalid_multipart", "The multipart body could not be read: %v", err)
	}
	if len(v) > maxFormFieldBytes {
		e := badRequest(p.FormName(), "invalid_value", "Invalid '%s': at most %d bytes.", p.FormName(), maxFormFieldBytes)
		e.closeConn = true
		return "", e
	}
	return string(v), nil
}

// receive streams one multipart field into a new blob, refusing more than limit bytes without
// reading past limit+1.
func (s *Server) receive(src io.Reader, limit int64, param, what string) (blob, error) {
	bw, err := s.store.create()
	if err != nil {
		return blob{}, storageError(err)
	}
	n, err := io.Copy(bw, io.LimitReader(src, limit+1))
	if err != nil {
		bw.abort()
		if errors.Is(err, errStorageFull) {
			return blob{}, storageError(err)
		}
		return blob{}, badRequest(param, "invalid_multipart", "The %s's bytes could not be read: %v", what, err)
	}
	if n > limit {
		bw.abort()
		e := badRequest(param, "file_too_large", "%s is too large: at most %d bytes are allowed.", what, limit)
		e.closeConn = true
		return blob{}, e
	}
	b, err := bw.commit()
	if err != nil {
		return blob{}, storageError(err)
	}
	return b, nil
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
		sum, err := s.md5Of(blobs)
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
		blobs: blobs,
	}
	s.addFile(f)
	s.dropParts(u, listed) // parts uploaded but not listed are ignored
	u.parts = map[string]*part{}
	u.storedBytes = 0
	u.Status = generated.UploadStatusCompleted
	fo := f.OpenAIFile
	u.File = &fo
	snap := u.snapshot()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, snap)
}

func (s *Server) md5Of(blobs []blob) (string, error) {
	rd, closeAll, err := openBlobs(s.store, blobs)
	if err != nil {
		return "", storageError(err)
	}
	defer closeAll()
	h := md5.New()
	if _, err := io.Copy(h, rd); err != nil {
		return "", storageError(err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
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
	s.refresh(u)
	var err error
	switch {
	case u.completing:
		err = badRequest("upload_id", "upload_completing", "Cannot cancel: Upload '%s' is being completed.", uploadID)
	case u.Status == generated.UploadStatusPending:
		u.Status = generated.UploadStatusCancelled
		s.dropParts(u, nil)
		u.storedBytes = 0
	case u.Status == generated.UploadStatusCancelled:
	default:
		err = badRequest("upload_id", "upload_"+string(u.Status), "Cannot cancel: Upload '%s' is already %s.", uploadID, u.Status)
	}
	snap := u.snapshot()
	s.mu.Unlock()
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, snap)
}

// addFile registers a file. Callers hold s.mu.
func (s *Server) addFile(f *file) {
	s.fileSeq++
	f.seq = s.fileSeq
	s.files[f.ID] = f
}

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
			s.store.remove(*stored)
		}
	}()
	err := readForm(r, "", func(p *multipart.Part) error {
		switch name := p.FormName(); name {
		case "file":
			if stored != nil {
				return badRequest("file", "invalid_multipart", "Exactly one 'file' field is allowed.")
			}
			b, err := s.receive(p, MaxFileBytes, "file", "File")
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
	stored = nil
	s.mu.Lock()
	s.addFile(f)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, f.OpenAIFile)
}

// ListFiles handles GET /files.
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
	var all []*file
	for _, f := range s.files {
		if params.Purpose == nil || string(f.Purpose) == *params.Purpose {
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

func (s *Server) lookupFile(id string) (*file, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	if !ok {
		return nil, notFound("file_id", "No such File object: %s", id)
	}
	return f, nil
}

// RetrieveFile handles GET /files/{file_id}.
func (a api) RetrieveFile(w http.ResponseWriter, r *http.Request, fileID generated.FileID) {
	a.s.stats.op("retrieveFile")
	f, err := a.s.lookupFile(fileID)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, f.OpenAIFile)
}

// DeleteFile handles DELETE /files/{file_id}.
func (a api) DeleteFile(w http.ResponseWriter, r *http.Request, fileID generated.FileID) {
	s := a.s
	s.stats.op("deleteFile")
	s.mu.Lock()
	f, ok := s.files[fileID]
	if ok {
		delete(s.files, fileID)
		for _, b := range f.blobs {
			s.store.remove(b)
		}
	}
	s.mu.Unlock()
	if !ok {
		fail(w, notFound("file_id", "No such File object: %s", fileID))
		return
	}
	writeJSON(w, http.StatusOK, generated.DeleteFileResponse{ID: fileID, Object: generated.DeleteFileResponseObjectFile, Deleted: true})
}

// DownloadFile handles GET /files/{file_id}/content: the exact bytes, streamed.
func (a api) DownloadFile(w http.ResponseWriter, r *http.Request, fileID generated.FileID) {
	s := a.s
	s.stats.op("downloadFile")
	s.mu.Lock()
	f, ok := s.files[fileID]
	var rd io.Reader
	var closeAll func()
	var err error
	if ok {
		// Opened under the lock, so a concurrent delete cannot remove the blobs first.
		rd, closeAll, err = openBlobs(s.store, f.blobs)
	}
	s.mu.Unlock()
	if !ok {
		fail(w, notFound("file_id", "No such File object: %s", fileID))
		return
	}
	if err != nil {
		fail(w, storageError(err))
		return
	}
	defer closeAll()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(f.Bytes, 10))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename}))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, rd)
}
