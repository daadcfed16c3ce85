package helpers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/openai-uploads/uploads/generated"
)

// recordOf returns ctx carrying a record of the call's attempts: the caller's, if it set one.
func recordOf(ctx context.Context) (context.Context, *callRecord) {
	co := callOptionsFrom(ctx)
	if co.rec == nil {
		co.rec = &callRecord{}
		ctx = withCall(ctx, co)
	}
	return ctx, co.rec
}

// lostMeaning says what a request that is not idempotent may have done when its reply was lost.
var lostMeaning = map[string]string{
	"createUpload":   "a pending Upload may have been created; it expires within the hour",
	"addUploadPart":  "the part may have been stored; only the parts complete lists count",
	"completeUpload": "the Upload may have been completed",
	"createFile":     "a File may have been created; check files list before sending it again",
}

// call turns a generated call's outcome into (value, error), as callResult does; when the call
// failed after an attempt of a request that is not idempotent got no reply, the error wraps
// ErrReplyLost and says what may have happened.
func call[T any, R interface{ GetJSON200() *T }](c *Client, op string, rec *callRecord, resp *http.Response, err error, parse func(*http.Response) (R, error)) (*T, error) {
	v, err := callResult(c, op, resp, err, parse)
	if err != nil && rec.lostCount() > 0 && lostMeaning[op] != "" {
		err = fmt.Errorf("%w (%s): %w", ErrReplyLost, lostMeaning[op], err)
	}
	return v, err
}

// callResult: a transport error is wrapped with the operation's name; a non-2xx answer becomes
// an *APIError whatever its body (a proxy's HTML page included); a 2xx answer is parsed by the
// generated parser, and one without the result (no id) is an error, never an empty result.
func callResult[T any, R interface{ GetJSON200() *T }](c *Client, op string, resp *http.Response, err error, parse func(*http.Response) (R, error)) (*T, error) {
	if err != nil {
		// Scrubbed here too: net/http's own errors name the request's URL, which a server may
		// have made hold the key (a redirect's Location echoing it).
		return nil, scrubError(fmt.Errorf("%s: %w", op, err), c.key)
	}
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		return nil, c.apiError(op, resp, body)
	}
	parsed, err := parse(resp)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer: %w", op, err)
	}
	if v := parsed.GetJSON200(); v != nil {
		return v, nil
	}
	return nil, fmt.Errorf("%s: %d %w", op, resp.StatusCode, errNoResult)
}

func (c *Client) apiError(op string, hr *http.Response, body []byte) *APIError {
	var env generated.ErrorResponse
	if json.Unmarshal(body, &env) == nil && (env.Error.Message != "" || env.Error.Type != "") {
		return c.newAPIError(op, hr, body, &env)
	}
	return c.newAPIError(op, hr, body, nil)
}

// CreateUpload creates an Upload (status pending, expiring in an hour) that accepts parts. It is
// retried like any request (ClientOptions.MaxRetries), also after an attempt whose reply was
// lost: the Upload that attempt may have created is then left pending (it expires within the
// hour), and the debug output says so. After such an attempt, an error wraps ErrReplyLost.
func (c *Client) CreateUpload(ctx context.Context, req generated.CreateUploadRequest) (*generated.Upload, error) {
	ctx, rec := recordOf(ctx)
	resp, err := c.raw.CreateUpload(ctx, req)
	up, err := call(c, "createUpload", rec, resp, err, generated.ParseCreateUploadHTTPResponse)
	if n := rec.lostCount(); err == nil && n > 0 {
		c.tr.logf("openai-uploads: createUpload: created %s after %d attempt(s) got no reply; each may have left a pending Upload behind (it expires within the hour)\n", up.ID, n)
	}
	return up, err
}

// AddUploadPart sends one part of at most 64 MB. The bytes stream from data to the connection
// (multipart framing around them, never a copy of them); size is their length, or -1 if unknown
// (then the request is sent chunked). Part requests are not retried here, since data cannot be
// replayed; [Client.UploadFile] retries parts from their source. The request has no deadline
// but is abandoned with ErrStalled when no byte of data is taken by the connection and no
// answer comes for ClientOptions.StallTimeout. data is not read after AddUploadPart returns,
// even when the server answered before reading it all (a Read under way is waited for).
func (c *Client) AddUploadPart(ctx context.Context, uploadID string, data io.Reader, size int64) (*generated.UploadPart, error) {
	if uploadID == "" {
		return nil, fmt.Errorf("addUploadPart: uploadID is empty")
	}
	if size > MaxPartSize {
		return nil, fmt.Errorf("addUploadPart: size %d is above the part limit of %d bytes (64 MiB)", size, int64(MaxPartSize))
	}
	form := newStreamingForm()
	body, length, err := form.file("data", "part", data, size)
	if err != nil {
		return nil, fmt.Errorf("addUploadPart: %w", err)
	}
	ctx, rec := recordOf(ctx)
	resp, err := c.raw.AddUploadPartWithBody(ctx, uploadID, form.contentType(), body, withContentLength(length))
	return call(c, "addUploadPart", rec, resp, err, generated.ParseAddUploadPartHTTPResponse)
}

// CompleteUpload completes an Upload with its part ids in file order and, unless md5 is empty,
// the md5 (32 hex digits) of the whole file, which the server checks. The returned Upload holds
// the File. It is retried like any request, also after an attempt whose reply was lost; if that
// attempt completed the Upload, the retry is refused (the Upload is already completed) and the
// error wraps ErrReplyLost: find the File with ListFiles. [Client.UploadFile] does that itself.
func (c *Client) CompleteUpload(ctx context.Context, uploadID string, partIDs []string, md5 string) (*generated.Upload, error) {
	req := generated.CompleteUploadRequest{PartIDs: partIDs}
	if req.PartIDs == nil {
		req.PartIDs = []string{}
	}
	if md5 != "" {
		if err := checkMD5("md5", md5); err != nil {
			return nil, fmt.Errorf("completeUpload: %w", err)
		}
		req.MD5 = &md5
	}
	ctx, rec := recordOf(ctx)
	resp, err := c.raw.CompleteUpload(ctx, uploadID, req)
	return call(c, "completeUpload", rec, resp, err, generated.ParseCompleteUploadHTTPResponse)
}

// CancelUpload cancels a pending Upload; no parts may be added afterwards.
func (c *Client) CancelUpload(ctx context.Context, uploadID string) (*generated.Upload, error) {
	ctx, rec := recordOf(ctx)
	resp, err := c.raw.CancelUpload(ctx, uploadID)
	return call(c, "cancelUpload", rec, resp, err, generated.ParseCancelUploadHTTPResponse)
}

// CreateFile uploads a file of up to 512 MB in one request (POST /files), streaming it from
// file; size is its length or -1 if unknown. expiresAfter may be nil. Like a part, the request
// has no deadline but is abandoned with ErrStalled when nothing moves for
// ClientOptions.StallTimeout, and file is not read after CreateFile returns. It is never
// retried (file cannot be replayed): when the file was sent in full but no reply came, the
// error wraps ErrReplyLost, since a File may have been created; look for it with ListFiles
// before sending it again. (The SDK does not look for it itself: without a server timestamp of
// the request it could not tell the File from an identical one made earlier.)
func (c *Client) CreateFile(ctx context.Context, file io.Reader, size int64, filename string, purpose generated.CreateFileRequestPurpose, expiresAfter *generated.FileExpirationAfter) (*generated.OpenAIFile, error) {
	if strings.TrimSpace(filename) == "" {
		return nil, fmt.Errorf("createFile: filename is empty")
	}
	if !purpose.Valid() {
		return nil, fmt.Errorf("createFile: purpose %q is not one of %s", purpose, strings.Join(purposeNames(), ", "))
	}
	form := newStreamingForm()
	form.field("purpose", string(purpose))
	if expiresAfter != nil {
		if err := checkExpiresAfter("expiresAfter", expiresAfter); err != nil {
			return nil, fmt.Errorf("createFile: %w", err)
		}
		form.field("expires_after[anchor]", string(expiresAfter.Anchor))
		form.field("expires_after[seconds]", strconv.FormatInt(expiresAfter.Seconds, 10))
	}
	body, length, err := form.file("file", filename, file, size)
	if err != nil {
		return nil, fmt.Errorf("createFile: %w", err)
	}
	ctx, rec := recordOf(ctx)
	resp, err := c.raw.CreateFileWithBody(ctx, form.contentType(), body, withContentLength(length))
	return call(c, "createFile", rec, resp, err, generated.ParseCreateFileHTTPResponse)
}

// ListFiles returns one page of files; params may be nil.
func (c *Client) ListFiles(ctx context.Context, params *generated.ListFilesParams) (*generated.ListFilesResponse, error) {
	resp, err := c.raw.ListFiles(ctx, params)
	return callResult(c, "listFiles", resp, err, generated.ParseListFilesHTTPResponse)
}

// RetrieveFile returns a file's metadata.
func (c *Client) RetrieveFile(ctx context.Context, fileID string) (*generated.OpenAIFile, error) {
	resp, err := c.raw.RetrieveFile(ctx, fileID)
	return callResult(c, "retrieveFile", resp, err, generated.ParseRetrieveFileHTTPResponse)
}

// DeleteFile deletes a file. It is retried like any request; when an attempt got no reply and
// the retry finds no such File (404), that attempt deleted it, and DeleteFile reports the File
// as deleted.
func (c *Client) DeleteFile(ctx context.Context, fileID string) (*generated.DeleteFileResponse, error) {
	ctx, rec := recordOf(ctx)
	resp, err := c.raw.DeleteFile(ctx, fileID)
	del, err := call(c, "deleteFile", rec, resp, err, generated.ParseDeleteFileHTTPResponse)
	var apiErr *APIError
	if err != nil && rec.lostCount() > 0 && errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		c.tr.logf("openai-uploads: deleteFile: %s: an attempt got no reply and the retry found no such File: that attempt deleted it\n", fileID)
		return &generated.DeleteFileResponse{ID: fileID, Object: generated.DeleteFileResponseObjectFile, Deleted: true}, nil
	}
	return del, err
}

// DownloadFile returns a stream of the file's bytes; the caller closes it. The request is
// retried until the answer's headers arrive, each attempt within ClientOptions.Timeout; the
// bytes then have no deadline (8 GB may take longer than any sensible one) but a Read that gets
// no byte for ClientOptions.StallTimeout fails with ErrStalled. Time the caller spends between
// Reads does not count. A download that fails midway is not resumed.
func (c *Client) DownloadFile(ctx context.Context, fileID string) (io.ReadCloser, error) {
	resp, err := c.raw.DownloadFile(ctx, fileID)
	if err != nil {
		return nil, scrubError(fmt.Errorf("downloadFile: %w", err), c.key)
	}
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		return nil, c.apiError("downloadFile", resp, body)
	}
	return resp.Body, nil
}

// withContentLength sets the request's length when it is known, so that a streamed body is not
// sent chunked.
func withContentLength(n int64) generated.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if n >= 0 {
			req.ContentLength = n
		}
		return nil
	}
}

// streamingForm builds a multipart/form-data body whose file content streams from a reader:
// multipart.Writer writes the framing (small buffers), io.MultiReader joins it with the content.
type streamingForm struct {
	head bytes.Buffer
	mw   *multipart.Writer
}

func newStreamingForm() *streamingForm {
	f := &streamingForm{}
	f.mw = multipart.NewWriter(&f.head)
	return f
}

func (f *streamingForm) contentType() string { return f.mw.FormDataContentType() }

func (f *streamingForm) field(name, value string) {
	_ = f.mw.WriteField(name, value) // writes to a bytes.Buffer: cannot fail
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "%0D", "\n", "%0A")

// file ends the form with a file field whose bytes come from data (size bytes, or -1 if
// unknown); it returns the whole body and its length (-1 if unknown).
func (f *streamingForm) file(name, filename string, data io.Reader, size int64) (io.Reader, int64, error) {
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscaper.Replace(name), quoteEscaper.Replace(filename)))
	h.Set("Content-Type", "application/octet-stream")
	if _, err := f.mw.CreatePart(h); err != nil {
		return nil, 0, err
	}
	head := bytes.Clone(f.head.Bytes())
	f.head.Reset()
	if err := f.mw.Close(); err != nil {
		return nil, 0, err
	}
	tail := bytes.Clone(f.head.Bytes())
	length := int64(-1)
	if size >= 0 {
		length = int64(len(head)) + size + int64(len(tail))
	}
	return io.MultiReader(bytes.NewReader(head), data, bytes.NewReader(tail)), length, nil
}
