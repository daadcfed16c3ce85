package conformance_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	uploads "github.com/openai-uploads/uploads"
	"github.com/openai-uploads/uploads/conformance"
)

// An Upload left pending past its expires_at is expired and its parts freed by a sweep; with an
// injected clock a test sees it at once, without waiting an hour.
func ExampleServer_Sweep() {
	var now atomic.Int64
	now.Store(1_700_000_000)
	srv, err := conformance.NewServer(conformance.ServerOptions{
		Now:           func() time.Time { return time.Unix(now.Load(), 0) },
		SweepInterval: -1, // no timer: the test sweeps
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	req := httptest.NewRequest(http.MethodPost, "/v1/uploads", strings.NewReader(
		`{"bytes":3,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`))
	req.Header.Set("Authorization", "Bearer sk-test")
	req.Header.Set("Content-Type", "application/json")
	srv.ServeHTTP(httptest.NewRecorder(), req)

	now.Add(int64(conformance.UploadTTL / time.Second))
	res, err := srv.Sweep()
	if err != nil {
		panic(err)
	}
	fmt.Println("expired:", res.UploadsExpired)
	now.Add(int64(conformance.DefaultRetention / time.Second))
	res, _ = srv.Sweep()
	fmt.Println("forgotten:", res.UploadsForgotten, "known:", srv.Stats().Uploads)
	// Output:
	// expired: 1
	// forgotten: 1 known: 0
}

// Routes are anchored at the spec's base path, /v1; a doubled base path is a violation. Under
// another prefix, say so.
func ExampleNewValidatorWithOptions() {
	v, err := conformance.DefaultValidator()
	if err != nil {
		panic(err)
	}
	doubled, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080/v1/v1/files", nil)
	fmt.Printf("%q\n", v.Operation(doubled))

	proxied, err := conformance.NewValidatorWithOptions(uploads.Spec, conformance.ValidatorOptions{BasePath: "/openai/v1"})
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080/openai/v1/files", nil)
	fmt.Printf("%q\n", proxied.Operation(req))
	// Output:
	// ""
	// "listFiles"
}
