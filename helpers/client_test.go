package helpers_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// scripted is a fake API that answers requests from a script, in order, and records them.
type scripted struct {
	*httptest.Server
	mu       sync.Mutex
	answers  []answer
	requests []*http.Request
	bodies   []string
}

type answer struct {
	status int
	header map[string]string
	body   string
}

func newScripted(t *testing.T, answers ...answer) *scripted {
	t.Helper()
	s := &scripted{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, r)
		s.bodies = append(s.bodies, string(body))
		a := answer{status: 500, body: `{"error":{"message":"script exhausted","type":"server_error","param":null,"code":null}}`}
		if len(s.answers) > 0 {
			a, s.answers = s.answers[0], s.answers[1:]
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

const uploadBody = `{"id":"upload_1","object":"upload","bytes":10,"created_at":1,"expires_at":3601,"filename":"a.jsonl","purpose":"batch","status":"pending"}`

func errBody(msg, code string) string {
	return `{"error":{"message":"` + msg + `","type":"invalid_request_error","param":"bytes","code":"` + code + `"}}`
}

func rawClient(t *testing.T, url string, opts ...func(*helpers.ClientOptions)) *helpers.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	o := helpers.ClientOptions{APIKey: testKey, BaseURL: url + "/v1", HTTPClient: &http.Client{Transport: tr}, InitialRetryDelay: time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	c, err := helpers.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var createReq = generated.CreateUploadRequest{Bytes: 10, Filename: "a.jsonl", MimeType: "application/jsonl", Purpose: "batch"}

func TestClientSendsHeaders(t *testing.T) {
	api := newScripted(t, answer{status: 200, body: uploadBody})
	c := rawClient(t, api.URL, func(o *helpers.ClientOptions) { o.Organization, o.Project = "org-1", "proj_2" })
	if _, err := c.CreateUpload(context.Background(), createReq); err != nil {
		t.Fatal(err)
	}
	r := api.requests[0]
	for h, want := range map[string]string{
		"Authorization":       "Bearer " + testKey,
		"OpenAI-Organization": "org-1",
		"OpenAI-Project":      "proj_2",
		"Content-Type":        "application/json",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "openai-uploads/"+helpers.Version+" ") {
		t.Errorf("User-Agent %q does not name the SDK and version", ua)
	}
	if r.URL.Path != "/v1/uploads" {
		t.Errorf("path %s", r.URL.Path)
	}
}

func TestClientReadsTheEnvironment(t *testing.T) {
	api := newScripted(t, answer{status: 200, body: uploadBody})
	t.Setenv(helpers.EnvAPIKey, "sk-from-env")
	t.Setenv(helpers.EnvBaseURL, api.URL+"/v1")
	t.Setenv(helpers.EnvOrganization, "org-env")
	t.Setenv(helpers.EnvProject, "proj-env")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c, err := helpers.NewClient(helpers.ClientOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUpload(context.Background(), createReq); err != nil {
		t.Fatal(err)
	}
	r := api.requests[0]
	if r.Header.Get("Authorization") != "Bearer sk-from-env" || r.Header.Get("OpenAI-Organization") != "org-env" || r.Header.Get("OpenAI-Project") != "proj-env" {
		t.Errorf("headers %v do not come from the environment", r.Header)
	}
	if c.BaseURL() != api.URL+"/v1" {
		t.Errorf("base URL %s", c.BaseURL())
	}

	// Options win over the environment.
	c2, err := helpers.NewClient(helpers.ClientOptions{APIKey: "sk-option", BaseURL: "https://example.invalid/v1"})
	if err != nil || c2.BaseURL() != "https://example.invalid/v1" {
		t.Errorf("options did not win: %v %s", err, c2.BaseURL())
	}
}

func TestNewClientRefusesBadSetup(t *testing.T) {
	t.Setenv(helpers.EnvAPIKey, "")
	t.Setenv(helpers.EnvBaseURL, "")
	if _, err := helpers.NewClient(helpers.ClientOptions{}); err == nil || !strings.Contains(err.Error(), "APIKey") || !strings.Contains(err.Error(), helpers.EnvAPIKey) {
		t.Errorf("no key: err = %v, want one naming APIKey and %s", err, helpers.EnvAPIKey)
	}
	for _, base := range []string{"ftp://x/v1", "not a url", "/v1"} {
		if _, err := helpers.NewClient(helpers.ClientOptions{APIKey: "k", BaseURL: base}); err == nil || !strings.Contains(err.Error(), "BaseURL") {
			t.Errorf("base %q: err = %v", base, err)
		}
	}
	for _, base := range []string{"https://h/v1?key=sk-secret-in-query", "https://h/v1#frag", "https://h/v1?"} {
		_, err := helpers.NewClient(helpers.ClientOptions{APIKey: "k", BaseURL: base})
		var in *helpers.InputError
		if !errors.As(err, &in) || in.Field != "ClientOptions.BaseURL" || !strings.Contains(err.Error(), "query or fragment") || strings.Contains(err.Error(), "sk-secret") {
			t.Errorf("base %q: err = %v, want an InputError saying it has a query, without the query", base, err)
		}
	}
	for field, o := range map[string]helpers.ClientOptions{
		"ClientOptions.Timeout":      {APIKey: "k", Timeout: -time.Second},
		"ClientOptions.StallTimeout": {APIKey: "k", StallTimeout: -time.Millisecond},
	} {
		_, err := helpers.NewClient(o)
		var in *helpers.InputError
		if !errors.As(err, &in) || in.Field != field || !strings.Contains(err.Error(), "negative") {
			t.Errorf("%s negative: err = %v, want an InputError naming it", field, err)
		}
	}
	c, err := helpers.NewClient(helpers.ClientOptions{APIKey: "k"})
	if err != nil || c.BaseURL() != helpers.DefaultBaseURL {
		t.Errorf("default base URL: %v %s", err, c.BaseURL())
	}
}

func TestClientRetries(t *testing.T) {
	ctx := context.Background()
	t.Run("429 then 503 then success", func(t *testing.T) {
		api := newScripted(t,
			answer{status: 429, header: map[string]string{"retry-after-ms": "5", "Retry-After": "30"}, body: errBody("slow down", "rate_limit_exceeded")},
			answer{status: 503, body: errBody("busy", "")},
			answer{status: 200, body: uploadBody})
		c := rawClient(t, api.URL)
		up, err := c.CreateUpload(ctx, createReq)
		if err != nil || up.ID != "upload_1" {
			t.Fatalf("%v %+v", err, up)
		}
		if api.count() != 3 {
			t.Errorf("%d requests, want 3", api.count())
		}
		if api.bodies[0] != api.bodies[2] || api.bodies[0] == "" {
			t.Errorf("the retried body differs: %q vs %q", api.bodies[0], api.bodies[2])
		}
	})
	for _, status := range []int{408, 409, 500, 502} {
		t.Run("retries "+http.StatusText(status), func(t *testing.T) {
			api := newScripted(t, answer{status: status, body: errBody("x", "")}, answer{status: 200, body: uploadBody})
			if _, err := rawClient(t, api.URL).CreateUpload(ctx, createReq); err != nil || api.count() != 2 {
				t.Errorf("err %v after %d requests, want success after 2", err, api.count())
			}
		})
	}
	for _, status := range []int{400, 401, 403, 404, 422} {
		t.Run("no retry on "+http.StatusText(status), func(t *testing.T) {
			api := newScripted(t, answer{status: status, body: errBody("no", "nope")}, answer{status: 200, body: uploadBody})
			_, err := rawClient(t, api.URL).CreateUpload(ctx, createReq)
			var apiErr *helpers.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != status || api.count() != 1 {
				t.Errorf("err %v after %d requests, want a %d after 1", err, api.count(), status)
			}
		})
	}
	t.Run("gives up after MaxRetries", func(t *testing.T) {
		api := newScripted(t)
		_, err := rawClient(t, api.URL, func(o *helpers.ClientOptions) { o.MaxRetries = 3 }).CreateUpload(ctx, createReq)
		var apiErr *helpers.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || api.count() != 4 {
			t.Errorf("err %v after %d requests, want a 500 after 4", err, api.count())
		}
	})
	t.Run("negative MaxRetries means none", func(t *testing.T) {
		api := newScripted(t)
		_, _ = rawClient(t, api.URL, func(o *helpers.ClientOptions) { o.MaxRetries = -1 }).CreateUpload(ctx, createReq)
		if api.count() != 1 {
			t.Errorf("%d requests, want 1", api.count())
		}
	})
	t.Run("x-should-retry false wins", func(t *testing.T) {
		api := newScripted(t, answer{status: 500, header: map[string]string{"x-should-retry": "false"}, body: errBody("x", "")})
		_, _ = rawClient(t, api.URL).CreateUpload(ctx, createReq)
		if api.count() != 1 {
			t.Errorf("%d requests, want 1", api.count())
		}
	})
	t.Run("connection refused is retried", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		var debug bytes.Buffer
		_, err = rawClient(t, "http://"+addr, func(o *helpers.ClientOptions) { o.Debug = &debug }).CreateUpload(ctx, createReq)
		if err == nil || !strings.Contains(err.Error(), "createUpload") {
			t.Fatalf("err = %v", err)
		}
		if n := strings.Count(debug.String(), "> POST"); n != 1+helpers.DefaultMaxRetries {
			t.Errorf("%d attempts, want %d:\n%s", n, 1+helpers.DefaultMaxRetries, debug.String())
		}
	})
}

// TestClientAPIError: a non-2xx becomes an *APIError with every field, and the key is scrubbed
// from a message that echoes it.
func TestClientAPIError(t *testing.T) {
	api := newScripted(t, answer{
		status: 401, header: map[string]string{"x-request-id": "req_abc"},
		body: `{"error":{"message":"Incorrect API key provided: ` + testKey + `.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
	})
	_, err := rawClient(t, api.URL).CreateUpload(context.Background(), createReq)
	var apiErr *helpers.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v (%T), want *APIError", err, err)
	}
	if apiErr.StatusCode != 401 || apiErr.Type != "invalid_request_error" || apiErr.Code != "invalid_api_key" || apiErr.Param != "" ||
		apiErr.RequestID != "req_abc" || apiErr.Operation != "createUpload" {
		t.Errorf("%+v", apiErr)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("the error shows the key: %v", err)
	}
	if !strings.Contains(err.Error(), "[redacted]") || !strings.Contains(err.Error(), "req_abc") {
		t.Errorf("error %q lacks the redaction or the request id", err)
	}
	if !strings.Contains(err.Error(), "(invalid_request_error, code invalid_api_key)") {
		t.Errorf("error %q does not give the type and code alone (the param is null)", err)
	}

	// A body that is not the envelope still makes an error with the status.
	api2 := newScripted(t, answer{status: 502, body: "<html>bad gateway</html>"})
	_, err = rawClient(t, api2.URL, func(o *helpers.ClientOptions) { o.MaxRetries = -1 }).CreateUpload(context.Background(), createReq)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || !strings.Contains(apiErr.Message, "bad gateway") {
		t.Errorf("err = %v", err)
	}
}

func TestClientDebugRedactsTheKey(t *testing.T) {
	api := newScripted(t, answer{status: 200, body: uploadBody})
	var debug bytes.Buffer
	c := rawClient(t, api.URL, func(o *helpers.ClientOptions) { o.Debug = &debug })
	if _, err := c.CreateUpload(context.Background(), createReq); err != nil {
		t.Fatal(err)
	}
	out := debug.String()
	if strings.Contains(out, testKey) || !strings.Contains(out, "Authorization: [redacted]") || !strings.Contains(out, "200 OK") {
		t.Errorf("debug output:\n%s", out)
	}
	if !strings.Contains(out, "> POST "+api.URL+"/v1/uploads (attempt 1) ") || strings.Contains(out, "got no reply") {
		t.Errorf("the debug output does not number the first attempt 1, or speaks of a lost reply:\n%s", out)
	}
}

// TestClientOperations runs each typed method against the reference server.
func TestClientOperations(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	ctx := context.Background()
	up, err := c.CreateUpload(ctx, generated.CreateUploadRequest{Bytes: 6, Filename: "a.txt", MimeType: "text/plain", Purpose: "assistants"})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := c.AddUploadPart(ctx, up.ID, strings.NewReader("abc"), 3)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.AddUploadPart(ctx, up.ID, strings.NewReader("def"), -1) // unknown length: chunked
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.CompleteUpload(ctx, up.ID, []string{p1.ID, p2.ID}, md5hex([]byte("abcdef")))
	if err != nil || done.File == nil {
		t.Fatalf("complete: %v", err)
	}
	f, err := c.CreateFile(ctx, strings.NewReader("{}\n"), 3, "b.jsonl", "batch", &generated.FileExpirationAfter{Anchor: "created_at", Seconds: 7200})
	if err != nil || f.ExpiresAt == nil || *f.ExpiresAt != f.CreatedAt+7200 {
		t.Fatalf("createFile: %v %+v", err, f)
	}
	page, err := c.ListFiles(ctx, nil)
	if err != nil || len(page.Data) != 2 {
		t.Fatalf("list: %v %+v", err, page)
	}
	if got, err := c.RetrieveFile(ctx, f.ID); err != nil || got.ID != f.ID {
		t.Fatalf("retrieve: %v", err)
	}
	if got := download(t, c, done.File.ID); string(got) != "abcdef" {
		t.Fatalf("content %q", got)
	}
	if del, err := c.DeleteFile(ctx, f.ID); err != nil || !del.Deleted {
		t.Fatalf("delete: %v", err)
	}
	_, err = c.DownloadFile(ctx, f.ID)
	var apiErr *helpers.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Operation != "downloadFile" {
		t.Fatalf("download after delete: %v", err)
	}
	other, _ := c.CreateUpload(ctx, generated.CreateUploadRequest{Bytes: 1, Filename: "c.txt", MimeType: "text/plain", Purpose: "assistants"})
	if got, err := c.CancelUpload(ctx, other.ID); err != nil || got.Status != generated.UploadStatusCancelled {
		t.Fatalf("cancel: %v", err)
	}
}

// TestClientScrubsAnEchoedKey: a server that echoes the key. In a body that is not OpenAI's
// envelope, the key straddling the 200-character cut is scrubbed before the cut, so no part of
// it survives; in any response header --debug prints (WWW-Authenticate, say); and a key too
// short to be one (3 characters) does not blank its letters wherever they appear.
func TestClientScrubsAnEchoedKey(t *testing.T) {
	const key = "sk-proj-ECHOED-0123456789abcdefghijklmnopqrstuvwxyz"
	t.Run("straddling the cut", func(t *testing.T) {
		for _, at := range []int{190, 195, 199, 200} {
			body := strings.Repeat("x", at) + key + " and more"
			api := newScripted(t, answer{status: 400, body: body})
			_, err := rawClient(t, api.URL, func(o *helpers.ClientOptions) { o.APIKey = key }).CreateUpload(context.Background(), createReq)
			if err == nil {
				t.Fatal("a 400 succeeded")
			}
			for i := 0; i+6 <= len(key); i++ {
				if strings.Contains(err.Error(), key[i:i+6]) {
					t.Fatalf("key at %d: the error shows %q of the key: %v", at, key[i:i+6], err)
				}
			}
		}
	})
	t.Run("echoed in headers, shown by debug", func(t *testing.T) {
		api := newScripted(t, answer{status: 401, header: map[string]string{
			"WWW-Authenticate": `Bearer realm="api", error="invalid_token", error_description="the key ` + key + ` is not valid"`,
			"X-Echo-" + key:    key,
			key + "-Echo":      "x", // a header named from the key's first letter on
		}, body: errBody("Incorrect API key provided: "+key, "invalid_api_key")})
		var debug bytes.Buffer
		_, err := rawClient(t, api.URL, func(o *helpers.ClientOptions) { o.APIKey = key; o.Debug = &debug }).CreateUpload(context.Background(), createReq)
		if err == nil {
			t.Fatal("a 401 succeeded")
		}
		out := debug.String() + err.Error()
		if strings.Contains(out, key) || strings.Contains(strings.ToLower(out), strings.ToLower(key)) {
			t.Fatalf("the key leaked:\n%s", out)
		}
		if !strings.Contains(debug.String(), `Www-Authenticate: Bearer realm="api"`) {
			t.Errorf("the debug output lost the rest of the header:\n%s", debug.String())
		}
	})
	t.Run("a 3-character key", func(t *testing.T) {
		const short = "abc"
		msg := "abc is not a key; see https://abc.example/abacus"
		api := newScripted(t, answer{status: 401, header: map[string]string{"WWW-Authenticate": `Bearer realm="abc"`}, body: errBody(msg, "invalid_api_key")})
		var debug bytes.Buffer
		_, err := rawClient(t, api.URL, func(o *helpers.ClientOptions) { o.APIKey = short; o.Debug = &debug }).CreateUpload(context.Background(), createReq)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("err = %v, want the message %q untouched", err, msg)
		}
		if !strings.Contains(debug.String(), `realm="abc"`) {
			t.Errorf("the debug output blanked a short key's letters:\n%s", debug.String())
		}
	})
}
