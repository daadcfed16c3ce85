package conformance_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testKey = "sk-conformance-test-key"

// start runs a reference server for one test.
func start(t testing.TB, opts conformance.ServerOptions) *conformance.Running {
	t.Helper()
	srv, err := conformance.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return srv
}

// validatingClient is the generated client with the key, over a validating transport that fails
// on any violation.
func validatingClient(t testing.TB, baseURL string) *generated.ClientWithResponses {
	t.Helper()
	return clientWith(t, baseURL, &conformance.Transport{Base: newBase(t)})
}

// newBase is a transport whose idle connections are closed when the test ends.
func newBase(t testing.TB) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
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
