package conformance_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	uploads "github.com/openai-uploads/uploads"
	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

func validator(t *testing.T) *conformance.Validator {
	t.Helper()
	v, err := conformance.DefaultValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func jsonRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	return req
}

func formRequest(t *testing.T, url string, write func(mw *multipart.Writer) error) *http.Request {
	t.Helper()
	ct, body := formBody(write)
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+testKey)
	return req
}

// validateAndSend validates req and then reads its body to the end, as a sender would; it
// returns the first error either step gives and what the sender received.
func validateAndSend(t *testing.T, v *conformance.Validator, req *http.Request) ([]byte, error) {
	t.Helper()
	if err := v.ValidateRequest(req); err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

func asViolation(t *testing.T, err error) *conformance.Violation {
	t.Helper()
	var viol *conformance.Violation
	if !errors.As(err, &viol) {
		t.Fatalf("error %v (%T) is not a *conformance.Violation", err, err)
	}
	return viol
}

const createBody = `{"bytes":1024,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`

// TestValidatorRoutesAnchoredAtTheBasePath: whatever the host, a request routes only when its
// path is the base path (/v1, from the spec's servers URL) followed by one of the spec's paths.
func TestValidatorRoutesAnchoredAtTheBasePath(t *testing.T) {
	v := validator(t)
	for _, tc := range []struct{ method, url, op string }{
		{"POST", "http://127.0.0.1:41234/v1/uploads", "createUpload"},
		{"POST", "https://api.openai.com/v1/uploads", "createUpload"},
		{"POST", "http://127.0.0.1:1/v1/uploads/upload_abc/parts", "addUploadPart"},
		{"POST", "http://127.0.0.1:1/v1/uploads/upload_abc/complete", "completeUpload"},
		{"POST", "http://127.0.0.1:1/v1/uploads/a%2Fb/cancel", "cancelUpload"},
		{"GET", "http://127.0.0.1:1/v1/files", "listFiles"},
		{"POST", "http://127.0.0.1:1/v1/files", "createFile"},
		{"GET", "http://127.0.0.1:1/v1/files/file-abc", "retrieveFile"},
		{"DELETE", "http://127.0.0.1:1/v1/files/file-abc", "deleteFile"},
		{"GET", "http://127.0.0.1:1/v1/files/file-abc/content", "downloadFile"},
		{"GET", "http://127.0.0.1:1/v1/files/content", "retrieveFile"}, // an id that reads "content"
		{"GET", "http://127.0.0.1:1/v1/models", ""},
		{"PUT", "http://127.0.0.1:1/v1/uploads", ""},
	} {
		req, err := http.NewRequest(tc.method, tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Operation(req); got != tc.op {
			t.Errorf("%s %s routes to %q, want %q", tc.method, tc.url, got, tc.op)
		}
	}
}

// TestValidatorRefusesPathsOffTheBasePath: a doubled base path (a classic client bug), a missing
// one, another prefix, a spec path inside another, a trailing slash or an empty id route to no
// operation.
func TestValidatorRefusesPathsOffTheBasePath(t *testing.T) {
	v := validator(t)
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/v1/v1/uploads", "/v1/uploads is not one of the spec's paths"},
		{"POST", "/uploads", "not under the base path /v1"},
		{"POST", "/api/v1/uploads", "not under the base path /v1"},
		{"POST", "/v1/files/file-abc/uploads", "/files/file-abc/uploads is not one of the spec's paths"},
		{"POST", "/v1/uploads/", "/uploads/ is not one of the spec's paths"},
		{"GET", "/v1/files//content", "is not one of the spec's paths"},
		{"POST", "/v1uploads", "not under the base path /v1"},
		{"GET", "/", "not under the base path /v1"},
	} {
		req := jsonRequest(t, tc.method, "http://127.0.0.1:9"+tc.path, createBody)
		_, err := validateAndSend(t, v, req)
		if err == nil {
			t.Errorf("%s %s was accepted", tc.method, tc.path)
			continue
		}
		viol := asViolation(t, err)
		if viol.Operation != "" || !strings.Contains(err.Error(), "no operation at this path") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want no operation, saying %q", tc.method, tc.path, err, tc.want)
		}
	}
}

// TestValidatorBasePathOption: under another prefix, routes follow ValidatorOptions.BasePath.
func TestValidatorBasePathOption(t *testing.T) {
	for _, tc := range []struct {
		base, path, op string
	}{
		{"/openai/v1", "/openai/v1/uploads/upload_abc/parts", "addUploadPart"},
		{"/openai/v1/", "/openai/v1/files", "listFiles"},
		{"/openai/v1", "/v1/uploads/upload_abc/parts", ""},
		{"/", "/uploads", "createUpload"},
		{"/", "/v1/uploads", ""},
	} {
		v, err := conformance.NewValidatorWithOptions(uploads.Spec, conformance.ValidatorOptions{BasePath: tc.base})
		if err != nil {
			t.Fatal(err)
		}
		method := "POST"
		if strings.HasSuffix(tc.path, "/files") {
			method = "GET"
		}
		req, _ := http.NewRequest(method, "http://127.0.0.1:9"+tc.path, nil)
		if got := v.Operation(req); got != tc.op {
			t.Errorf("BasePath %q: %s routes to %q, want %q", tc.base, tc.path, got, tc.op)
		}
	}
	if _, err := conformance.NewValidatorWithOptions(uploads.Spec, conformance.ValidatorOptions{BasePath: "v1"}); err == nil {
		t.Error("a BasePath without a leading slash was accepted")
	}
	if v := validator(t); v.BasePath() != "/v1" {
		t.Errorf("the default base path is %q, want /v1 (the spec's servers URL)", v.BasePath())
	}
}

// TestValidatorRejectsMalformedRequests: each malformed request is refused, naming the field.
func TestValidatorRejectsMalformedRequests(t *testing.T) {
	v := validator(t)
	base := "http://127.0.0.1:9/v1"
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		op   string
		want string
	}{
		{"missing purpose", func() *http.Request {
			return jsonRequest(t, "POST", base+"/uploads", `{"bytes":1,"filename":"a","mime_type":"text/plain"}`)
		}, "createUpload", `/purpose: property "purpose" is missing`},
		{"unknown purpose", func() *http.Request {
			return jsonRequest(t, "POST", base+"/uploads", strings.Replace(createBody, `"batch"`, `"training"`, 1))
		}, "createUpload", "/purpose: value is not one of the allowed values"},
		{"bytes as a string", func() *http.Request {
			return jsonRequest(t, "POST", base+"/uploads", strings.Replace(createBody, `1024`, `"1024"`, 1))
		}, "createUpload", "/bytes: value must be an integer"},
		{"bytes above 8 GB", func() *http.Request {
			return jsonRequest(t, "POST", base+"/uploads", strings.Replace(createBody, `1024`, `8589934593`, 1))
		}, "createUpload", "/bytes: number must be at most"},
		{"expires_after seconds out of range", func() *http.Request {
			return jsonRequest(t, "POST", base+"/uploads", strings.Replace(createBody, `}`, `,"expires_after":{"anchor":"created_at","seconds":60}}`, 1))
		}, "createUpload", "/expires_after/seconds: number must be at least 3600"},
		{"createFile expires_after[seconds] out of range", func() *http.Request {
			return formRequest(t, base+"/files", func(mw *multipart.Writer) error {
				w, _ := mw.CreateFormFile("file", "a.jsonl")
				_, _ = w.Write([]byte("{}\n"))
				_ = mw.WriteField("purpose", "batch")
				_ = mw.WriteField("expires_after[anchor]", "created_at")
				return mw.WriteField("expires_after[seconds]", "99999999")
			})
		}, "createFile", "/expires_after[seconds]: number must be at most"},
		{"wrong content type", func() *http.Request {
			req := jsonRequest(t, "POST", base+"/uploads", createBody)
			req.Header.Set("Content-Type", "text/plain")
			return req
		}, "createUpload", `body: header Content-Type has unexpected value "text/plain"`},
		{"missing data part", func() *http.Request {
			return formRequest(t, base+"/uploads/upload_abc/parts", func(mw *multipart.Writer) error {
				return nil
			})
		}, "addUploadPart", `/data: property "data" is missing`},
		{"part with an undeclared field", func() *http.Request {
			return formRequest(t, base+"/uploads/upload_abc/parts", func(mw *multipart.Writer) error {
				w, _ := mw.CreateFormFile("data", "blob")
				_, _ = w.Write([]byte("bytes"))
				return mw.WriteField("chunk", "2")
			})
		}, "addUploadPart", "part chunk: undefined"},
		{"multipart part without boundary", func() *http.Request {
			req := jsonRequest(t, "POST", base+"/uploads/upload_abc/parts", "x")
			req.Header.Set("Content-Type", "multipart/form-data")
			return req
		}, "addUploadPart", "no boundary"},
		{"limit above 10000", func() *http.Request {
			return jsonRequest(t, "GET", base+"/files?limit=10001", "")
		}, "listFiles", "query parameter limit: number must be at most 10000"},
		{"unknown order", func() *http.Request {
			return jsonRequest(t, "GET", base+"/files?order=sideways", "")
		}, "listFiles", "query parameter order: value is not one of the allowed values"},
		{"no Authorization", func() *http.Request {
			req := jsonRequest(t, "POST", base+"/uploads", createBody)
			req.Header.Del("Authorization")
			return req
		}, "createUpload", "security: the Authorization header is not"},
		{"unknown path", func() *http.Request {
			return jsonRequest(t, "GET", base+"/models", "")
		}, "", "no operation at this path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := validateAndSend(t, v, tc.req())
			if err == nil {
				t.Fatal("accepted")
			}
			t.Log(err)
			viol := asViolation(t, err)
			if viol.Operation != tc.op || viol.Direction != conformance.DirectionRequest {
				t.Errorf("violation of %q %s, want %q request", viol.Operation, viol.Direction, tc.op)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q does not say %q", err, tc.want)
			}
			if tc.op != "" && !strings.HasPrefix(err.Error(), tc.op+" request: ") {
				t.Errorf("%q does not start with the operation and direction", err)
			}
		})
	}
}

func TestValidatorAcceptsWellFormedRequestsWithoutConsumingThem(t *testing.T) {
	v := validator(t)
	req := jsonRequest(t, "POST", "http://127.0.0.1:9/v1/uploads", createBody)
	got, err := validateAndSend(t, v, req)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != createBody {
		t.Errorf("after validation the body reads %q, want %q", got, createBody)
	}

	part := pattern(1 << 20)
	req = formRequest(t, "http://127.0.0.1:9/v1/uploads/upload_abc/parts", func(mw *multipart.Writer) error {
		w, err := mw.CreateFormFile("data", "anonymous_file")
		if err == nil {
			_, err = w.Write(part)
		}
		return err
	})
	ct := req.Header.Get("Content-Type")
	got, err = validateAndSend(t, v, req)
	if err != nil {
		t.Fatal(err)
	}
	fields := readForm(t, ct, got)
	if !bytes.Equal(fields["data"], part) {
		t.Errorf("the part's bytes did not pass through intact (%d bytes, want %d)", len(fields["data"]), len(part))
	}
}

func readForm(t *testing.T, contentType string, body []byte) map[string][]byte {
	t.Helper()
	req, _ := http.NewRequest("POST", "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	mr, err := req.MultipartReader()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("the form is incomplete: %v", err)
		}
		out[p.FormName()], _ = io.ReadAll(p)
	}
}

// TestValidatorWithholdsTheEndOfAnInvalidForm: a multipart violation is found while the bytes
// stream, and the form's closing boundary is never handed to the sender.
func TestValidatorWithholdsTheEndOfAnInvalidForm(t *testing.T) {
	v := validator(t)
	req := formRequest(t, "http://127.0.0.1:9/v1/uploads/upload_abc/parts", func(mw *multipart.Writer) error {
		w, _ := mw.CreateFormFile("data", "blob")
		_, _ = w.Write(pattern(100 << 10))
		return mw.WriteField("chunk", "2")
	})
	boundary := strings.TrimPrefix(req.Header.Get("Content-Type"), "multipart/form-data; boundary=")
	if err := v.ValidateRequest(req); err != nil {
		t.Fatalf("headers and route are fine, yet: %v", err)
	}
	sent, err := io.ReadAll(req.Body)
	req.Body.Close()
	viol := asViolation(t, err)
	if !strings.Contains(viol.Error(), "part chunk: undefined") {
		t.Errorf("violation %q does not name the field", viol)
	}
	if bytes.Contains(sent, []byte("--"+boundary+"--")) {
		t.Error("the closing boundary was sent although the form broke the spec")
	}
	if len(sent) < 90<<10 {
		t.Errorf("only %d bytes were released before the end; the part should stream", len(sent))
	}
}

// TestValidatorStreamsLargePartsInBoundedMemory: validating a 64 MiB part allocates a small,
// fixed amount, not the part.
func TestValidatorStreamsLargePartsInBoundedMemory(t *testing.T) {
	v := validator(t)
	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	req := formRequest(t, "http://127.0.0.1:9/v1/uploads/upload_abc/parts", func(mw *multipart.Writer) error {
		w, err := mw.CreateFormFile("data", "blob")
		if err == nil {
			_, err = io.Copy(w, &countingReader{left: size})
		}
		return err
	})
	n, err := func() (int64, error) {
		if err := v.ValidateRequest(req); err != nil {
			return 0, err
		}
		defer req.Body.Close()
		return io.Copy(io.Discard, req.Body)
	}()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if n < size {
		t.Fatalf("streamed %d bytes, want more than %d", n, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("validating a %d MiB part allocated %d bytes; it must not hold the part", size>>20, alloc)
	}
}

// fakeResponder answers every request with a canned status, content type and body.
func fakeResponder(t *testing.T, status int, contentType, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

const goodUpload = `{"id":"upload_abc","object":"upload","bytes":1,"created_at":1,"expires_at":3601,"filename":"a","purpose":"batch","status":"pending"}`

// TestValidatorRejectsMalformedResponses: each malformed response is refused, naming the field.
func TestValidatorRejectsMalformedResponses(t *testing.T) {
	for _, tc := range []struct {
		name, body, contentType string
		status                  int
		want                    string
	}{
		{"missing id", strings.Replace(goodUpload, `"id":"upload_abc",`, "", 1), "application/json", 200, `/id: property "id" is missing`},
		{"wrong object", strings.Replace(goodUpload, `"object":"upload"`, `"object":"file"`, 1), "application/json", 200, "/object: value is not one of the allowed values"},
		{"unknown status", strings.Replace(goodUpload, `"pending"`, `"paused"`, 1), "application/json", 200, "/status: value is not one of the allowed values"},
		{"bytes as a string", strings.Replace(goodUpload, `"bytes":1`, `"bytes":"1"`, 1), "application/json", 200, "/bytes: value must be an integer"},
		{"error without envelope", `{"message":"nope"}`, "application/json", 400, `/error: property "error" is missing`},
		{"error code not a string", `{"error":{"message":"m","type":"t","param":null,"code":5}}`, "application/json", 500, "/error/code: value must be a string"},
		{"html error page", "<html>bad gateway</html>", "text/html", 502, `response header Content-Type has unexpected value: "text/html"`},
		{"file not an object", strings.Replace(goodUpload, `}`, `,"file":"file-abc"}`, 1), "application/json", 200, "/file: doesn't match all schemas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := fakeResponder(t, tc.status, tc.contentType, tc.body)
			c := clientWith(t, url, &conformance.Transport{Base: newBase(t)})
			_, err := c.CreateUploadWithResponse(context.Background(), generated.CreateUploadRequest{
				Bytes: 1, Filename: "a", MimeType: "text/plain", Purpose: generated.CreateUploadRequestPurposeBatch,
			})
			if err == nil {
				t.Fatal("accepted")
			}
			t.Log(err)
			viol := asViolation(t, err)
			if viol.Operation != "createUpload" || viol.Direction != conformance.DirectionResponse || viol.Status != tc.status {
				t.Errorf("violation %q %s %d", viol.Operation, viol.Direction, viol.Status)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q does not say %q", err, tc.want)
			}
		})
	}
}

func TestValidatorAcceptsNullableFields(t *testing.T) {
	v := validator(t)
	req := jsonRequest(t, "POST", "http://127.0.0.1:9/v1/uploads/upload_abc/cancel", "")
	req.Body = http.NoBody
	for _, body := range []string{
		strings.Replace(goodUpload, `}`, `,"file":null}`, 1),
		strings.Replace(goodUpload, `"pending"}`, `"completed","file":{"id":"file-1","object":"file","bytes":1,"created_at":2,"expires_at":null,"filename":"a","purpose":"evals","status":"processed","status_details":null}}`, 1),
	} {
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
		if err := v.ValidateResponse(req, resp); err != nil {
			t.Errorf("%s: %v", body, err)
		}
		if got, _ := io.ReadAll(resp.Body); string(got) != body {
			t.Errorf("the response body was consumed: %q", got)
		}
	}
}

// TestTransportReportMode: with a Report, violations are recorded and traffic is untouched.
func TestTransportReportMode(t *testing.T) {
	url := fakeResponder(t, 200, "application/json", strings.Replace(goodUpload, `"pending"`, `"paused"`, 1))
	report := &conformance.Report{}
	c := clientWith(t, url, &conformance.Transport{Base: newBase(t), Report: report})
	resp, err := c.CreateUploadWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(`{"bytes":"x"}`))
	if err != nil {
		t.Fatalf("report mode failed the round trip: %v", err)
	}
	if resp.JSON200 == nil || resp.JSON200.Status != "paused" {
		t.Errorf("the response was not passed through: %s", resp.Body)
	}
	viols := report.Violations()
	if len(viols) != 2 || viols[0].Direction != conformance.DirectionRequest || viols[1].Direction != conformance.DirectionResponse {
		t.Fatalf("recorded %v, want one request and one response violation", viols)
	}
	if !strings.Contains(report.Err().Error(), "/bytes") || !strings.Contains(report.Err().Error(), "/status") {
		t.Errorf("report %q does not name the fields", report.Err())
	}
}

// TestTransportRefusesToSendInvalidRequests: in the default mode an invalid JSON request never
// reaches the server, and an invalid form is never completed.
func TestTransportRefusesToSendInvalidRequests(t *testing.T) {
	srv := start(t, conformance.ServerOptions{})
	c := validatingClient(t, srv.URL)
	ctx := context.Background()
	_, err := c.CreateUploadWithBodyWithResponse(ctx, "application/json", strings.NewReader(`{"bytes":-5}`))
	if viol := asViolation(t, err); !strings.Contains(viol.Error(), "/bytes") {
		t.Errorf("violation %q", viol)
	}
	if got := srv.Stats().Requests; got != 0 {
		t.Errorf("the server saw %d requests, want 0", got)
	}

	up := createUpload(t, c, 3)
	ct, body := formBody(func(mw *multipart.Writer) error {
		w, _ := mw.CreateFormFile("data", "blob")
		_, _ = w.Write([]byte("abc"))
		return mw.WriteField("index", "1")
	})
	_, err = c.AddUploadPartWithBodyWithResponse(ctx, up.ID, ct, body)
	if viol := asViolation(t, err); viol.Operation != "addUploadPart" || !strings.Contains(viol.Error(), "part index: undefined") {
		t.Errorf("violation %q", viol)
	}
	if n := srv.UploadParts(up.ID); n != 0 {
		t.Errorf("the server stored %d parts from a form that was never completed", n)
	}
}

// bigJSON is a JSON document of more than MaxJSONBodyBytes.
func bigJSON() string {
	return `{"pad":"` + strings.Repeat("a", conformance.MaxJSONBodyBytes) + `"}`
}

// TestReportModeNeverCutsABody: in Report mode a body too large to validate, request or
// response, is passed on whole and recorded as not validated (not as a violation); by default
// it fails the round trip as a violation.
func TestReportModeNeverCutsABody(t *testing.T) {
	big := bigJSON()
	var received atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		received.Store(n)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, big)
	}))
	t.Cleanup(srv.Close)

	report := &conformance.Report{}
	hc := &http.Client{Transport: &conformance.Transport{Base: newBase(t), Report: report}}
	req := jsonRequest(t, "POST", srv.URL+"/v1/uploads", big)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("report mode failed the round trip: %v", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(got) != len(big) {
		t.Errorf("the response reached the client with %d bytes (%v), want all %d", len(got), err, len(big))
	}
	if n := received.Load(); n != int64(len(big)) {
		t.Errorf("the server received %d bytes of the request, want all %d", n, len(big))
	}
	if v := report.Violations(); len(v) != 0 {
		t.Errorf("recorded violations %v, want none", v)
	}
	un := report.Unvalidated()
	if len(un) != 2 || un[0].Direction != conformance.DirectionRequest || un[1].Direction != conformance.DirectionResponse ||
		un[1].Operation != "createUpload" || un[1].Status != 200 || !strings.Contains(un[1].Reason, "not validated") {
		t.Fatalf("unvalidated records %+v, want the request and the response of createUpload", un)
	}
	if err := report.Err(); err == nil || !strings.Contains(err.Error(), "passed on whole, not validated") {
		t.Errorf("Report.Err() = %v, want the unvalidated bodies", err)
	}

	// By default, the request is refused (not sent) and so is the response.
	strict := &http.Client{Transport: &conformance.Transport{Base: newBase(t)}}
	received.Store(0)
	_, err = strict.Do(jsonRequest(t, "POST", srv.URL+"/v1/uploads", big))
	if viol := asViolation(t, err); viol.Direction != conformance.DirectionRequest || !strings.Contains(viol.Error(), "not validated") {
		t.Errorf("default mode: %v", err)
	}
	if received.Load() != 0 {
		t.Error("default mode sent a request it could not validate")
	}
	small := jsonRequest(t, "GET", srv.URL+"/v1/files", "")
	small.Body, small.ContentLength = http.NoBody, 0
	_, err = strict.Do(small)
	if viol := asViolation(t, err); viol.Direction != conformance.DirectionResponse || !strings.Contains(viol.Error(), "not validated") {
		t.Errorf("default mode, large response: %v", err)
	}

	// ValidateResponse puts a large body back whole.
	v := validator(t)
	r := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(big))}
	if err := v.ValidateResponse(small, r); err == nil {
		t.Error("ValidateResponse passed a body it did not read")
	}
	if got, _ := io.ReadAll(r.Body); len(got) != len(big) {
		t.Errorf("ValidateResponse left %d bytes of %d", len(got), len(big))
	}
}
