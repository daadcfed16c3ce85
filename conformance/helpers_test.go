package conformance_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// TestMain checks that no test leaves a goroutine behind. Under -failfast it runs the examples
// only once every test has passed (see examplesAfterTests).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(examplesAfterTests{m})
}

// examplesAfterTests runs the tests (and fuzz seeds), then the examples only if they all passed,
// when go test is run with -failfast and no -run, -skip or -list. go test -failfast starts no
// test after the first failure, but it still runs every example; a server left hung by the
// failure (a lock held after a panic in a handler, a fault that never lets go) then hangs the
// examples until go test's own timeout, and the named failure is lost in a timeout panic.
// The examples' run gets what is left of -timeout. Without -failfast, m.Run runs as usual.
type examplesAfterTests struct{ m *testing.M }

func (e examplesAfterTests) Run() int {
	flag.Parse()
	value := func(name string) string {
		if f := flag.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	if value("test.failfast") != "true" || value("test.run") != "" || value("test.skip") != "" || value("test.list") != "" {
		return e.m.Run()
	}
	began := time.Now()
	if err := flag.Set("test.run", "^(Test|Fuzz)"); err != nil {
		panic(err)
	}
	if code := e.m.Run(); code != 0 {
		return code
	}
	if timeout, err := time.ParseDuration(value("test.timeout")); err == nil && timeout > 0 {
		if err := flag.Set("test.timeout", max(timeout-time.Since(began), time.Millisecond).String()); err != nil {
			panic(err)
		}
	}
	if err := flag.Set("test.run", "^Example"); err != nil {
		panic(err)
	}
	return e.m.Run()
}

const testKey = "sk-conformance-test-key"

// failBound bounds a wait that only a failing test reaches (see conformance.FailBound).
const failBound = conformance.FailBound

// start runs a reference server for one test. Its cleanup closes it, failing the test if Close
// does not return within failBound (a handler that never returns keeps Close waiting).
func start(t testing.TB, opts conformance.ServerOptions) *conformance.Running {
	t.Helper()
	srv, err := conformance.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var err error
		if within(t, "the server's Close", func() { err = srv.Close() }) && err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return srv
}

// within fails the test if f does not return within failBound (see conformance.Within).
func within(t testing.TB, what string, f func()) bool {
	t.Helper()
	return conformance.Within(t, what, f)
}

// validatingClient is the generated client with the key, over a validating transport that fails
// on any violation.
func validatingClient(t testing.TB, baseURL string) *generated.ClientWithResponses {
	t.Helper()
	return clientWith(t, baseURL, &conformance.Transport{Base: newBase(t)})
}

// newBase is a transport whose idle connections are closed when the test ends. It waits at most
// failBound for an answer's headers once the request is sent (not counting the time to send
// a body, nor to read the answer's), so a server that never answers fails the test.
func newBase(t testing.TB) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = failBound
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func clientWith(t testing.TB, baseURL string, rt http.RoundTripper) *generated.ClientWithResponses {
	t.Helper()
	c, err := generated.NewClientWithResponses(baseURL,
		generated.WithHTTPClient(&http.Client{Transport: rt}),
		generated.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+testKey)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// partBody streams data as a multipart form with one field, "data", through an io.Pipe.
func partBody(data []byte) (string, io.Reader) {
	return formBody(func(mw *multipart.Writer) error {
		w, err := mw.CreateFormFile("data", "blob")
		if err == nil {
			_, err = w.Write(data)
		}
		return err
	})
}

// formBody streams a multipart form written by write through an io.Pipe.
func formBody(write func(mw *multipart.Writer) error) (string, io.Reader) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := write(mw)
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	return mw.FormDataContentType(), pr
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func createUpload(t testing.TB, c *generated.ClientWithResponses, size int64) generated.Upload {
	t.Helper()
	resp, err := c.CreateUploadWithResponse(context.Background(), generated.CreateUploadRequest{
		Bytes: size, Filename: "train.jsonl", MimeType: "application/jsonl", Purpose: generated.CreateUploadRequestPurposeFineTune,
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("createUpload: %d %s", resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

func addPart(t testing.TB, c *generated.ClientWithResponses, uploadID string, data []byte) *generated.AddUploadPartHTTPResponse {
	t.Helper()
	ct, body := partBody(data)
	resp, err := c.AddUploadPartWithBodyWithResponse(context.Background(), uploadID, ct, body)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func errorOf(t testing.TB, status int, body []byte) generated.Error {
	t.Helper()
	var env generated.ErrorResponse
	if err := jsonUnmarshal(body, &env); err != nil {
		t.Fatalf("status %d body %q is not OpenAI's error envelope: %v", status, body, err)
	}
	if env.Error.Message == "" || env.Error.Type == "" {
		t.Fatalf("status %d envelope lacks message or type: %s", status, body)
	}
	return env.Error
}

// jsonUnmarshal decodes OpenAI's error envelope strictly: exactly the four fields, param and
// code present even when null.
func jsonUnmarshal(body []byte, env *generated.ErrorResponse) error {
	var raw struct {
		Error map[string]json.RawMessage `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := raw.Error[k]; !ok {
			return fmt.Errorf("error.%s is missing", k)
		}
	}
	if len(raw.Error) != 4 {
		return fmt.Errorf("error has %d fields, want 4", len(raw.Error))
	}
	return json.Unmarshal(body, env)
}
