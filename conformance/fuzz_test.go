package conformance_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

var fuzzPaths = []string{
	"/v1/uploads", "/v1/uploads/upload_1/parts", "/v1/uploads/upload_1/complete", "/v1/uploads/upload_1/cancel",
	"/v1/files", "/v1/files/file-1", "/v1/files/file-1/content", "/v1/models", "/v1/uploads/..%2Ffiles/parts",
}

func multipartSeed(fields ...string) (string, []byte) {
	var buf bytes.Buffer
	buf.WriteString("--B\r\n")
	for i := 0; i+1 < len(fields); i += 2 {
		if i > 0 {
			buf.WriteString("\r\n--B\r\n")
		}
		buf.WriteString(`Content-Disposition: form-data; name="` + fields[i] + `"; filename="f"` + "\r\n\r\n" + fields[i+1])
	}
	buf.WriteString("\r\n--B--\r\n")
	return "multipart/form-data; boundary=B", buf.Bytes()
}

// FuzzValidateRequest: the validator never panics on any request; what it refuses is a
// *Violation; a body it streams can still be read to its end.
func FuzzValidateRequest(f *testing.F) {
	ct, form := multipartSeed("data", "bytes")
	f.Add("POST", 1, ct, form)
	f.Add("POST", 0, "application/json", []byte(`{"bytes":1,"filename":"a","mime_type":"text/plain","purpose":"batch"}`))
	f.Add("POST", 0, "application/json", []byte(`{"bytes":"1"}`))
	f.Add("POST", 2, "application/json", []byte(`{"part_ids":["a"],"md5":"zz"}`))
	f.Add("POST", 4, ct, form)
	f.Add("GET", 4, "", []byte{})
	f.Add("DELETE", 5, "", []byte{})
	f.Add("PUT", 7, "text/plain", []byte("x"))
	f.Add("POST", 1, "multipart/form-data; boundary=", []byte("--\r\n"))
	v, err := conformance.DefaultValidator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method string, path int, contentType string, body []byte) {
		p := fuzzPaths[uint(path)%uint(len(fuzzPaths))]
		req, err := http.NewRequest(method, "http://127.0.0.1:9"+p, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer sk-fuzz")
		var viol *conformance.Violation
		if err := v.ValidateRequest(req); err != nil {
			if !errors.As(err, &viol) {
				t.Fatalf("%T %v is not a *Violation", err, err)
			}
			return
		}
		if req.Body != nil {
			_, err := io.ReadAll(req.Body)
			req.Body.Close()
			if err != nil && !errors.As(err, &viol) {
				t.Fatalf("reading the validated body: %T %v", err, err)
			}
		}
	})
}

// FuzzValidateResponse: the validator never panics on any response, refuses with a *Violation,
// and leaves the body readable.
func FuzzValidateResponse(f *testing.F) {
	f.Add(0, 200, "application/json", []byte(goodUpload))
	f.Add(1, 200, "application/json", []byte(`{"id":"part_1","object":"upload.part","created_at":1,"upload_id":"u"}`))
	f.Add(4, 400, "application/json", []byte(`{"error":{"message":"m","type":"t","param":null,"code":null}}`))
	f.Add(6, 200, "application/octet-stream", []byte("raw"))
	f.Add(5, 503, "text/html", []byte("<html>"))
	f.Add(0, 200, "application/json", []byte(`{"id":`))
	v, err := conformance.DefaultValidator()
	if err != nil {
		f.Fatal(err)
	}
	methods := []string{"POST", "POST", "POST", "POST", "GET", "GET", "GET", "GET", "POST"}
	f.Fuzz(func(t *testing.T, path, status int, contentType string, body []byte) {
		i := int(uint(path) % uint(len(fuzzPaths)))
		req, _ := http.NewRequest(methods[i], "http://127.0.0.1:9"+fuzzPaths[i], nil)
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}}, Body: io.NopCloser(bytes.NewReader(body))}
		if err := v.ValidateResponse(req, resp); err != nil {
			var viol *conformance.Violation
			if !errors.As(err, &viol) {
				t.Fatalf("%T %v is not a *Violation", err, err)
			}
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("the body was consumed or changed: %v", err)
		}
	})
}

// fuzzServer is one reference server per fuzz target, with one pending Upload to aim at.
func fuzzServer(f *testing.F) (*conformance.Server, string) {
	s, err := conformance.NewServer(conformance.ServerOptions{MemoryLimit: 256 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	rec := serve(s, "POST", "/v1/uploads", "application/json", []byte(`{"bytes":1000000,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`))
	var up struct{ ID string }
	if err := json.Unmarshal(rec.Body.Bytes(), &up); err != nil || up.ID == "" {
		f.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	return s, up.ID
}

func serve(h http.Handler, method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://127.0.0.1"+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer sk-fuzz")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// checkAnswer: a 2xx conforms to the spec; anything else is OpenAI's envelope, and conforms too.
func checkAnswer(t *testing.T, v *conformance.Validator, method, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 300 {
		var env struct {
			Error *struct {
				Message *string `json:"message"`
				Type    *string `json:"type"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error == nil || env.Error.Message == nil || env.Error.Type == nil {
			t.Fatalf("%s %s: %d without OpenAI's envelope: %s", method, path, rec.Code, rec.Body)
		}
	}
	req, _ := http.NewRequest(method, "http://127.0.0.1"+path, nil)
	if err := v.ValidateResponse(req, rec.Result()); err != nil {
		t.Fatalf("%s %s: the answer breaks the spec: %v", method, path, err)
	}
}

// FuzzServerJSON: the reference server's JSON operations never panic on any body and always
// answer with the spec's result or OpenAI's error envelope.
func FuzzServerJSON(f *testing.F) {
	for _, s := range []string{
		`{"bytes":1,"filename":"a","mime_type":"text/plain","purpose":"batch"}`, `{"bytes":-1}`, `{"bytes":"x"}`, `{}`, `[]`, `null`, ``,
		`{"bytes":1,"filename":"a","mime_type":"text/plain","purpose":"batch","expires_after":{"anchor":"created_at","seconds":3600}}`,
		`{"part_ids":[]}`, `{"part_ids":["part_x"],"md5":"00000000000000000000000000000000"}`, `{"part_ids":null}`, `{"md5":5}`, `{"a":1}{"b":2}`,
	} {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
	}
	s, uploadID := fuzzServer(f)
	v, _ := conformance.DefaultValidator()
	f.Fuzz(func(t *testing.T, complete bool, body []byte) {
		path := "/v1/uploads"
		if complete {
			path = "/v1/uploads/" + uploadID + "/complete"
		}
		checkAnswer(t, v, "POST", path, serve(s, "POST", path, "application/json", body))
	})
}

// FuzzServerMultipart: the reference server's multipart operations (parts, files) never panic on
// any body or boundary and always answer with the spec's result or OpenAI's error envelope.
func FuzzServerMultipart(f *testing.F) {
	ct, form := multipartSeed("data", "some bytes")
	f.Add(false, strings.TrimPrefix(ct, "multipart/form-data; boundary="), form)
	_, form = multipartSeed("file", "{}", "purpose", "batch", "expires_after[anchor]", "created_at", "expires_after[seconds]", "3600")
	f.Add(true, "B", form)
	_, form = multipartSeed("purpose", "batch")
	f.Add(true, "B", form)
	f.Add(false, "B", []byte("--B--\r\n"))
	f.Add(false, "", []byte("garbage"))
	f.Add(true, "B", []byte("--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc"))
	s, uploadID := fuzzServer(f)
	v, _ := conformance.DefaultValidator()
	f.Fuzz(func(t *testing.T, files bool, boundary string, body []byte) {
		path := "/v1/uploads/" + uploadID + "/parts"
		if files {
			path = "/v1/files"
		}
		rec := serve(s, "POST", path, "multipart/form-data; boundary="+boundary, body)
		checkAnswer(t, v, "POST", path, rec)
	})
}
