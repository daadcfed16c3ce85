package conformance

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

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

// storageError is the answer to a failure of the storage while it stores or reads bytes: the
// server's fault, never the client's. A full storage (memory storage past its limit, a disk
// without space) is a 507, anything else a 500; the connection is closed, as the rest of the
// request body is not read.
func storageError(err error) *apiError {
	if errors.Is(err, errStorageFull) || errors.Is(err, syscall.ENOSPC) {
		return &apiError{status: http.StatusInsufficientStorage, typ: "server_error", message: "The reference server's storage is full: " + err.Error(), closeConn: true}
	}
	return &apiError{status: http.StatusInternalServerError, typ: "server_error", message: "The reference server could not store or read the bytes: " + err.Error(), closeConn: true}
}

// recordError is the answer to a failure to record a change in the storage directory's
// database; the change was not made.
func recordError(err error) *apiError {
	if errors.Is(err, syscall.ENOSPC) {
		return &apiError{status: http.StatusInsufficientStorage, typ: "server_error", message: "The reference server's storage is full: " + err.Error()}
	}
	return &apiError{status: http.StatusInternalServerError, typ: "server_error", message: "The reference server could not record the change: " + err.Error()}
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

// bodyError is the answer to a request body that could not be read: a 408 when it stalled
// (see ServerOptions.StallTimeout), otherwise a 400 naming param.
func bodyError(param, format string, err error) *apiError {
	var st *stallError
	if errors.As(err, &st) {
		return &apiError{status: http.StatusRequestTimeout, typ: "invalid_request_error", param: param, code: "request_timeout",
			message: "The request body " + st.reason + "; it was cut off.", closeConn: true}
	}
	return badRequest(param, "invalid_multipart", format, err)
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
		var stall *stallError
		switch {
		case errors.As(err, &typeErr):
			return badRequest(typeErr.Field, "invalid_type", "Invalid type for '%s': expected %s, but got a JSON %s instead.", typeErr.Field, jsonKind(typeErr.Type.String()), typeErr.Value)
		case errors.As(err, &maxErr):
			return badRequest("", "request_too_large", "The request body is larger than %d bytes.", maxJSONRequestBytes)
		case errors.As(err, &stall):
			return bodyError("", "", err)
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
			return bodyError(param, "The multipart body could not be read: %v", err)
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
		return "", bodyError(p.FormName(), "The multipart body could not be read: %v", err)
	}
	if len(v) > maxFormFieldBytes {
		e := badRequest(p.FormName(), "invalid_value", "Invalid '%s': at most %d bytes.", p.FormName(), maxFormFieldBytes)
		e.closeConn = true
		return "", e
	}
	return string(v), nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// storeWriteError marks an error of the storage while a body is copied into it, to tell it from
// an error reading the body.
type storeWriteError struct{ err error }

func (e *storeWriteError) Error() string { return e.err.Error() }
func (e *storeWriteError) Unwrap() error { return e.err }

type storeWriter struct{ w io.Writer }

func (s storeWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		err = &storeWriteError{err}
	}
	return n, err
}

// receive streams one multipart field into a new blob and returns it with the CRC-32C of its
// bytes. More than limit bytes are refused with tooLarge's error, without reading past limit+1.
// A failure to read the body is the client's (400, or 408 when it stalled); a failure to store
// it is the server's (500, or 507 when the storage is full).
func (s *Server) receive(src io.Reader, limit int64, tooLarge func() *apiError, param, what string) (blob, uint32, error) {
	bw, err := s.blobs.create()
	if err != nil {
		return blob{}, 0, storageError(err)
	}
	sum := crc32.New(castagnoli)
	n, err := io.Copy(io.MultiWriter(storeWriter{bw}, sum), io.LimitReader(src, limit+1))
	if err != nil {
		bw.abort()
		var we *storeWriteError
		if errors.As(err, &we) {
			return blob{}, 0, storageError(we.err)
		}
		return blob{}, 0, bodyError(param, "The "+what+"'s bytes could not be read: %v", err)
	}
	if n > limit {
		bw.abort()
		e := tooLarge()
		e.closeConn = true
		return blob{}, 0, e
	}
	b, err := bw.commit()
	if err != nil {
		return blob{}, 0, storageError(err)
	}
	return b, sum.Sum32(), nil
}

// receivePart stores a part's bytes: at most MaxPartBytes, and at most the Upload's declared
// bytes (no single part can be larger than the whole Upload).
func (s *Server) receivePart(src io.Reader, uploadID string, declared int64) (blob, uint32, error) {
	if declared < MaxPartBytes {
		return s.receive(src, declared, func() *apiError {
			return badRequest("data", "upload_bytes_exceeded", "This Part has more than %d bytes: it would take Upload '%s' past the %d bytes it was created with.", declared, uploadID, declared)
		}, "data", "Part")
	}
	return s.receive(src, MaxPartBytes, func() *apiError {
		return badRequest("data", "file_too_large", "Part is too large: at most %d bytes are allowed.", int64(MaxPartBytes))
	}, "data", "Part")
}

// admit checks that a part fits the Upload: all its parts together (retries included) within
// 8 GB, and its distinct bytes within the declared bytes. A part whose bytes repeat a part the
// Upload holds (a client's retry after a lost answer) adds no distinct bytes. Callers hold s.mu.
func (u *upload) admit(p *part) error {
	if u.storedBytes+p.data.size > MaxUploadBytes {
		return badRequest("data", "upload_too_large", "This Part would take Upload '%s' past its maximum of %d bytes (8 GB).", u.ID, int64(MaxUploadBytes))
	}
	if u.contents[content{size: p.data.size, sum: p.sum}] == 0 && u.distinctBytes+p.data.size > u.Bytes {
		return badRequest("data", "upload_bytes_exceeded", "This Part of %d bytes would take Upload '%s' to %d bytes, past the %d bytes it was created with.",
			p.data.size, u.ID, u.distinctBytes+p.data.size, u.Bytes)
	}
	return nil
}

// md5Of hashes blobs in order, reading one at a time. It stops when ctx ends (the client went
// away, or the server is being stopped).
func (s *Server) md5Of(ctx context.Context, blobs []blob) (string, error) {
	s.blobs.pin(blobs)
	rd := s.blobs.reader(blobs)
	defer rd.Close()
	h := md5.New()
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return "", &apiError{status: http.StatusServiceUnavailable, typ: "server_error", message: "The md5 check was interrupted: " + err.Error()}
		}
		n, err := rd.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", storageError(err)
		}
	}
}
