package uploads_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/openai-uploads/uploads/generated"
)

const testKey = "sk-test-0123456789"

// request is what the fake server saw of one request.
type request struct {
	Method, EscapedPath, RawQuery, Authorization, ContentType string
	Body                                                      []byte
}

// fakeAPI is an httptest server on 127.0.0.1 that records every request and answers each with
// the same status, headers and body.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	status   int
	header   http.Header
	body     []byte
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{status: http.StatusOK, header: http.Header{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request body: %v", err)
		}
		f.mu.Lock()
		f.requests = append(f.requests, request{
			Method: r.Method, EscapedPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Authorization: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Body: body,
		})
		status, header, respBody := f.status, f.header, f.body
		f.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(respBody)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) respond(status int, contentType string, body string, header ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, []byte(body)
	f.header = http.Header{"Content-Type": {contentType}}
	for i := 0; i+1 < len(header); i += 2 {
		f.header.Set(header[i], header[i+1])
	}
}

func (f *fakeAPI) take() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.requests
	f.requests = nil
	return out
}

func (f *fakeAPI) client(t *testing.T) *generated.ClientWithResponses {
	t.Helper()
	c, err := generated.NewClientWithResponses(f.URL+"/v1", generated.WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+testKey)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	uploadJSON = `{"id":"upload_abc123","object":"upload","bytes":8589934592,"created_at":1719184911,
		"filename":"training_examples.jsonl","purpose":"fine-tune","status":"pending","expires_at":1719188511}`
	completedJSON = `{"id":"upload_abc123","object":"upload","bytes":8589934592,"created_at":1719184911,
		"filename":"training_examples.jsonl","purpose":"fine-tune","status":"completed","expires_at":1719188511,
		"file":{"id":"file-xyz321","object":"file","bytes":8589934592,"created_at":1719186911,"expires_at":null,
		"filename":"training_examples.jsonl","purpose":"fine-tune","status":"processed","status_details":null}}`
	partJSON = `{"id":"part_def456","object":"upload.part","created_at":1719185911,"upload_id":"upload_abc123"}`
	fileJSON = `{"id":"file-abc123","object":"file","bytes":120000,"created_at":1677610602,"expires_at":1680202602,
		"filename":"mydata.jsonl","purpose":"fine-tune","status":"processed"}`
	listJSON = `{"object":"list","data":[` + fileJSON + `],"first_id":"file-abc123","last_id":"file-abc123","has_more":true}`
	delJSON  = `{"id":"file-abc123","object":"file","deleted":true}`
)

// multipartFields decodes a multipart/form-data body into field name → (filename, content).
func multipartFields(t *testing.T, contentType string, body []byte) map[string][2]string {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		t.Fatalf("content type %q is not multipart/form-data with a boundary (%v)", contentType, err)
	}
	out := map[string][2]string{}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p.FormName()] = [2]string{p.FileName(), string(data)}
	}
}

func buildMultipart(t *testing.T, write func(mw *multipart.Writer) error) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := write(mw); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &buf
}

type operation struct {
	name       string
	call       func(t *testing.T, c *generated.ClientWithResponses) (any, error)
	method     string
	path       string
	checkReq   func(t *testing.T, r request)
	okBody     string
	okType     string
	checkOK    func(t *testing.T, resp any)
	errorCodes []int
}

func operations() []operation {
	ctx := context.Background()
	const partBytes = "part bytes \x00\x01\x02"
	return []operation{
		{
			name: "createUpload", method: "POST", path: "/v1/uploads",
			call: func(t *testing.T, c *generated.ClientWithResponses) (any, error) {
				return c.CreateUploadWithResponse(ctx, generated.CreateUploadRequest{
					Bytes: 8 << 30, Filename: "training_examples.jsonl", MimeType: "application/jsonl",
					Purpose:      generated.CreateUploadRequestPurposeFineTune,
					ExpiresAfter: &generated.FileExpirationAfter{Anchor: generated.FileExpirationAfterAnchorCreatedAt, Seconds: 3600},
				})
			},
			checkReq: func(t *testing.T, r request) {
				if r.ContentType != "application/json" {
					t.Errorf("content type %q", r.ContentType)
				}
				assertJSON(t, r.Body, `{"bytes":8589934592,"filename":"training_examples.jsonl","mime_type":"application/jsonl",
					"purpose":"fine-tune","expires_after":{"anchor":"created_at","seconds":3600}}`)
			},
			okBody: uploadJSON,
			checkOK: func(t *testing.T, resp any) {
				u := resp.(*generated.CreateUploadHTTPResponse).JSON200
				if u.ID != "upload_abc123" || u.Bytes != 8<<30 || u.Status != generated.UploadStatusPending || u.Object != generated.UploadObjectUpload || u.ExpiresAt != 1719188511 || u.File != nil {
					t.Errorf("parsed %+v", u)
				}
			},
			errorCodes: []int{400, 401, 429, 500, 503},
		},
		{
			name: "addUploadPart", method: "POST", path: "/v1/uploads/upload_abc123/parts",
			call: func(t *testing.T, c *generated.ClientWithResponses) (any, error) {
				ct, body := buildMultipart(t, func(mw *multipart.Writer) error {
					w, err := mw.CreateFormFile("data", "part-0")
					if err == nil {
						_, err = io.WriteString(w, partBytes)
					}
					return err
				})
				return c.AddUploadPartWithBodyWithResponse(ctx, "upload_abc123", ct, body)
			},
			checkReq: func(t *testing.T, r request) {
				fields := multipartFields(t, r.ContentType, r.Body)
				if len(fields) != 1 || fields["data"][1] != partBytes {
					t.Errorf("multipart fields %q, want data=%q", fields, partBytes)
				}
			},
			okBody: partJSON,
			checkOK: func(t *testing.T, resp any) {
				p := resp.(*generated.AddUploadPartHTTPResponse).JSON200
				if p.ID != "part_def456" || p.UploadID != "upload_abc123" || p.Object != generated.UploadPartObjectUploadPart || p.CreatedAt != 1719185911 {
					t.Errorf("parsed %+v", p)
				}
			},
			errorCodes: []int{400, 401, 404, 429, 500, 503},
		},
		{
			name: "completeUpload", method: "POST", path: "/v1/uploads/upload_abc123/complete",
			call: func(t *testing.T, c *generated.ClientWithResponses) (any, error) {
				md5 := "d41d8cd98f00b204e9800998ecf8427e"
				return c.CompleteUploadWithResponse(ctx, "upload_abc123", generated.CompleteUploadRequest{
					PartIDs: []string{"part_b", "part_a", "part_c"}, MD5: &md5,
				})
			},
			checkReq: func(t *testing.T, r request) {
				if r.ContentType != "application/json" {
					t.Errorf("content type %q", r.ContentType)
				}
				assertJSON(t, r.Body, `{"part_ids":["part_b","part_a","part_c"],"md5":"d41d8cd98f00b204e9800998ecf8427e"}`)
			},
			okBody: completedJSON,
			checkOK: func(t *testing.T, resp any) {
				u := resp.(*generated.CompleteUploadHTTPResponse).JSON200
				if u.Status != generated.UploadStatusCompleted || u.File == nil || u.File.ID != "file-xyz321" || u.File.Bytes != 8<<30 ||
					u.File.ExpiresAt != nil || u.File.Status != generated.OpenAIFileStatusProcessed {
					t.Errorf("parsed %+v (file %+v)", u, u.File)
				}
			},
			errorCodes: []int{400, 401, 404, 429, 500, 503},
		},
		{
			name: "cancelUpload", method: "POST", path: "/v1/uploads/upload_abc123/cancel",
			call: func(t *testing.T, c *generated.ClientWithResponses) (any, error) {
				return c.CancelUploadWithResponse(ctx, "upload_abc123")
			},
			checkReq: func(t *testing.T, r request) {
				if len(r.Body) != 0 {
					t.Errorf("cancel sent a body: %q", r.Body)
				}
			},
			okBody: strings.Replace(uploadJSON, `"pending"`, `"cancelled"`, 1),
			checkOK: func(t *testing.T, resp any) {
				if u := resp.(*generated.CancelUploadHTTPResponse).JSON200; u.Status != generated.UploadStatusCancelled {
					t.Errorf("parsed %+v", u)
				}
			},
			errorCodes: []int{400, 401, 404, 429, 500, 503},
		},
		{
			name: "createFile", method: "POST", path: "/v1/files",
			call: func(t *testing.T, c *generated.ClientWithResponses) (any, error) {
				ct, body := buildMultipart(t, func(mw *multipart.Writer) error {
					w, err := mw.CreateFormFile("file", "mydata.jsonl")
					if err != nil {
						return err
					}
					if _, err := io.WriteString(w, "{}\n"); err != nil {
						return err
					}
					for _, kv := range [][2]string{{"purpose", "fine-tune"}, {"expires_after[anchor]", "created_at"}, {"expires_after[seconds]", "2592000"}} {
						if err := mw.WriteField(kv[0], kv[1]); err != nil {
							return err
						}
					}
					return nil
				})
				return c.CreateFileWithBodyWithResponse(ctx, ct, body)
			},
			checkReq: func(t *testing.T, r request) {
				fields := multipartFields(t, r.ContentType, r.Body)
				want := map[string][2]string{
					"file": {"mydata.jsonl", "{}\n"}, "purpose": {"", "fine-tune"},
					"expires_after[anchor]": {"", "created_at"}, "expires_after[seconds]": {"", "2592000"},
				}
				if !reflect.DeepEqual(fields, want) {
					t.Errorf("multipart fields %q, want %q", fields, want)
				}
			},
			okBody: fileJSON,
			checkOK: func(t *testing.T, resp any) {
				f := resp.(*generated.CreateFileHTTPResponse).JSON200
				if f.ID != "file-abc123" || f.Purpose != generated.OpenAIFilePurposeFineTune || f.ExpiresAt == nil || *f.ExpiresAt != 1680202602 {
					t.Errorf("parsed %+v", f)
				}
			},
			errorCodes: []int{400, 401, 429, 500, 503},
		},
		{
			name: "listFiles", method: "GET", path: "/v1/files",
			call: func(t *testing.T, c *generated.ClientWithResponses) (any, error) {
				purpose, limit, order, after := "fine-tune", int64(2), generated.ListFilesParamsOrderAsc, "file-abc000"
				return c.ListFilesWithResponse(ctx, &generated.ListFilesParams{Purpose: &purpose, Limit: &limit, Order: &order, After: &after})
			},
			checkReq: func(t *testing.T, r request) {
				if r.RawQuery == "" {
					t.Fatal("no query")
				}
				q := parseQuery(t, r.RawQuery)
				want := map[string]string{"purpose": "fine-tune", "limit": "2", "order": "asc", "after": "file-abc000"}
				if !reflect.DeepEqual(q, want) {
					t.Errorf("query %v, want %v", q, want)
				}
				if len(r.Body) != 0 {
					t.Errorf("GET sent a body")
				}
			},
			okBody: listJSON,
			checkOK: func(t *testing.T, resp any) {
				l := resp.(*generated.ListFilesHTTPResponse).JSON200
				if len(l.Data) != 1 || !l.HasMore || l.FirstID == nil || *l.FirstID != "file-abc123" || l.Object != generated.ListFilesResponseObjectList {
					t.Errorf("parsed %+v", l)
				}
			},
			errorCodes: []int{400, 401, 429, 500, 503},
		},
		{
			name: "retrieveFile", method: "GET", path: "/v1/files/file-abc123",
			call: func(t *testing.T, c *generated.ClientWithResponses) (any, error) {
				return c.RetrieveFileWithResponse(ctx, "file-abc123")
			},
			okBody: fileJSON,
			checkOK: func(t *testing.T, resp any) {
				if f := resp.(*generated.RetrieveFileHTTPResponse).JSON200; f.Bytes != 120000 || f.Filename != "mydata.jsonl" {
					t.Errorf("parsed %+v", f)
				}
			},
			errorCodes: []int{401, 404, 429, 500, 503},
		},
		{
			name: "deleteFile", method: "DELETE", path: "/v1/files/file-abc123",
			call: func(t *testing.T, c *generated.ClientWithResponses) (any, error) {
				return c.DeleteFileWithResponse(ctx, "file-abc123")
			},
			okBody: delJSON,
			checkOK: func(t *testing.T, resp any) {
				if d := resp.(*generated.DeleteFileHTTPResponse).JSON200; !d.Deleted || d.ID != "file-abc123" || d.Object != generated.DeleteFileResponseObjectFile {
					t.Errorf("parsed %+v", d)
				}
			},
			errorCodes: []int{401, 404, 429, 500, 503},
		},
		{
			name: "downloadFile", method: "GET", path: "/v1/files/file-abc123/content",
			call: func(t *testing.T, c *generated.ClientWithResponses) (any, error) {
				return c.DownloadFileWithResponse(ctx, "file-abc123")
			},
			okBody: "line 1\nline 2\x00\xff",
			okType: "application/octet-stream",
			checkOK: func(t *testing.T, resp any) {
				r := resp.(*generated.DownloadFileHTTPResponse)
				if string(r.Body) != "line 1\nline 2\x00\xff" || r.ContentType() != "application/octet-stream" {
					t.Errorf("body %q content type %q", r.Body, r.ContentType())
				}
			},
			errorCodes: []int{401, 404, 429, 500, 503},
		},
	}
}

func parseQuery(t *testing.T, raw string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body %s, want %s", got, want)
	}
}

// TestGeneratedClientOperations calls each of the nine operations of the generated client against
// a fake API and checks the request on the wire, the typed 200 response, and every declared error.
func TestGeneratedClientOperations(t *testing.T) {
	ops := operations()
	if len(ops) != len(wantOperations) {
		t.Fatalf("%d operations under test, the spec has %d", len(ops), len(wantOperations))
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			api := newFakeAPI(t)
			c := api.client(t)

			okType := op.okType
			if okType == "" {
				okType = "application/json"
			}
			api.respond(200, okType, op.okBody)
			resp, err := op.call(t, c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := api.take()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != op.method || r.EscapedPath != op.path {
				t.Errorf("sent %s %s, want %s %s", r.Method, r.EscapedPath, op.method, op.path)
			}
			if r.Authorization != "Bearer "+testKey {
				t.Errorf("Authorization %q", r.Authorization)
			}
			if op.checkReq != nil {
				op.checkReq(t, r)
			}
			if got := reflect.ValueOf(resp).Elem().FieldByName("JSON200"); got.IsValid() && got.IsNil() {
				t.Fatal("200 response not parsed into JSON200")
			}
			op.checkOK(t, resp)

			for _, status := range op.errorCodes {
				t.Run(strconv.Itoa(status), func(t *testing.T) {
					param := "bytes"
					body := fmt.Sprintf(`{"error":{"message":"status %d","type":"invalid_request_error","param":%q,"code":"code_%d"}}`, status, param, status)
					if status == 401 {
						body = `{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":null}}`
					}
					api.respond(status, "application/json", body, "Retry-After", "7", "retry-after-ms", "6500")
					resp, err := op.call(t, c)
					if err != nil {
						t.Fatalf("call: %v", err)
					}
					api.take()
					field := "JSON" + strconv.Itoa(status)
					if status == 503 {
						field = "JSONDefault"
					}
					v := reflect.ValueOf(resp).Elem()
					env, ok := v.FieldByName(field).Interface().(*generated.ErrorResponse)
					if !ok || env == nil {
						t.Fatalf("%d not parsed into %s", status, field)
					}
					if status == 401 {
						if env.Error.Param != nil || env.Error.Code != nil || env.Error.Message != "Incorrect API key provided." {
							t.Errorf("401 parsed %+v", env.Error)
						}
					} else if env.Error.Message != fmt.Sprintf("status %d", status) || env.Error.Type != "invalid_request_error" ||
						env.Error.Param == nil || *env.Error.Param != param || env.Error.Code == nil || *env.Error.Code != fmt.Sprintf("code_%d", status) {
						t.Errorf("%d parsed %+v", status, env.Error)
					}
					if status == 429 {
						h := v.FieldByName("Headers429")
						retryAfter := h.Elem().FieldByName("RetryAfter").Interface().(*string)
						retryAfterMs := h.Elem().FieldByName("RetryAfterMs").Interface().(*int64)
						if retryAfter == nil || *retryAfter != "7" || retryAfterMs == nil || *retryAfterMs != 6500 {
							t.Errorf("429 headers not parsed: Retry-After %v retry-after-ms %v", retryAfter, retryAfterMs)
						}
					}
				})
			}
		})
	}
}

// TestGeneratedClientDownloadStreams checks that the plain client hands the file's bytes over as
// an unread stream (ClientWithResponses reads bodies whole; Client does not).
func TestGeneratedClientDownloadStreams(t *testing.T) {
	api := newFakeAPI(t)
	content := strings.Repeat("0123456789abcdef", 1<<12)
	api.respond(200, "application/octet-stream", content)
	c, err := generated.NewClient(api.URL + "/v1")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.DownloadFile(context.Background(), "file-abc123")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got bytes.Buffer
	if _, err := io.Copy(&got, resp.Body); err != nil {
		t.Fatal(err)
	}
	if got.String() != content {
		t.Errorf("downloaded %d bytes, want %d", got.Len(), len(content))
	}
}

// TestGeneratedClientEscapesIDs checks that an ID holding "/", "?" or "#" stays one escaped path
// segment, and that one holding a dot segment ("..") is refused before anything is sent.
func TestGeneratedClientEscapesIDs(t *testing.T) {
	api := newFakeAPI(t)
	c := api.client(t)
	ctx := context.Background()
	api.respond(200, "application/json", uploadJSON)

	for _, tc := range []struct{ id, wantPath string }{
		{"a/b", "/v1/uploads/a%2Fb/cancel"},
		{"a/b?x=1", "/v1/uploads/a%2Fb%3Fx=1/cancel"},
		{"upload#frag", "/v1/uploads/upload%23frag/cancel"},
		{"..%2Ffiles", "/v1/uploads/..%252Ffiles/cancel"},
	} {
		if _, err := c.CancelUploadWithResponse(ctx, tc.id); err != nil {
			t.Errorf("%q: %v", tc.id, err)
			continue
		}
		reqs := api.take()
		if len(reqs) != 1 || reqs[0].EscapedPath != tc.wantPath || reqs[0].RawQuery != "" {
			t.Errorf("%q was sent as %+v, want path %s and no query", tc.id, reqs, tc.wantPath)
		}
	}

	calls := map[string]func(id string) error{
		"cancelUpload": func(id string) error { _, err := c.CancelUploadWithResponse(ctx, id); return err },
		"completeUpload": func(id string) error {
			_, err := c.CompleteUploadWithResponse(ctx, id, generated.CompleteUploadRequest{PartIDs: []string{}})
			return err
		},
		"addUploadPart": func(id string) error {
			_, err := c.AddUploadPartWithBodyWithResponse(ctx, id, "multipart/form-data; boundary=x", strings.NewReader("--x--"))
			return err
		},
		"retrieveFile": func(id string) error { _, err := c.RetrieveFileWithResponse(ctx, id); return err },
		"deleteFile":   func(id string) error { _, err := c.DeleteFileWithResponse(ctx, id); return err },
		"downloadFile": func(id string) error { _, err := c.DownloadFileWithResponse(ctx, id); return err },
	}
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, id := range []string{"..", ".", "../files", "a/../../files", `..\x`} {
			err := calls[name](id)
			if err == nil || !strings.Contains(err.Error(), "dot segment") {
				t.Errorf("%s(%q): err = %v, want a dot-segment error", name, id, err)
			}
		}
	}
	if reqs := api.take(); len(reqs) != 0 {
		t.Errorf("%d requests reached the server, want none: %+v", len(reqs), reqs)
	}
}
