package conformance_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// A contract test: the generated client talks to the reference server through the validating
// transport, so every request and response is checked against openapi/uploads.yaml. A request
// that breaks the contract is never sent; errors.As recovers the violation.
func ExampleTransport() {
	srv, err := conformance.Start(conformance.ServerOptions{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	base := http.DefaultTransport.(*http.Transport).Clone()
	defer base.CloseIdleConnections()
	client, err := generated.NewClientWithResponses(srv.URL,
		generated.WithHTTPClient(&http.Client{Transport: &conformance.Transport{Base: base}}),
		generated.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer sk-test")
			return nil
		}))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	up, err := client.CreateUploadWithResponse(ctx, generated.CreateUploadRequest{
		Bytes: 1024, Filename: "train.jsonl", MimeType: "application/jsonl",
		Purpose: generated.CreateUploadRequestPurposeFineTune,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(up.JSON200.Status)

	_, err = client.CreateUploadWithBodyWithResponse(ctx, "application/json", strings.NewReader(
		`{"bytes":"1024","filename":"train.jsonl","mime_type":"application/jsonl","purpose":"fine-tune"}`))
	var violation *conformance.Violation
	if errors.As(err, &violation) {
		fmt.Println(violation.Operation, violation.Direction)
		fmt.Println(violation.Messages[0])
	}
	fmt.Println("requests the server saw:", srv.Stats().Requests)
	// Output:
	// pending
	// createUpload request
	// /bytes: value must be an integer
	// requests the server saw: 1
}

// The reference server on 127.0.0.1 for a test of your own code: here with 30% of part requests
// failing (500, 503, 429, connection resets, lost responses), which the SDK's chunked upload
// rides out, and every request and response checked against the contract on the way.
func ExampleStart() {
	srv, err := conformance.Start(conformance.ServerOptions{Faults: conformance.Faults{Rate: 0.3, Seed: 7}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	client, err := helpers.NewClient(helpers.ClientOptions{
		APIKey: "sk-test", BaseURL: srv.URL,
		HTTPClient:        &http.Client{Transport: &conformance.Transport{}},            // every request and response checked
		InitialRetryDelay: 10 * time.Millisecond, MaxRetryDelay: 100 * time.Millisecond, // a test need not wait long
	})
	if err != nil {
		log.Fatal(err)
	}
	data := strings.NewReader(strings.Repeat(`{"input":"x"}`+"\n", 200000))
	up, err := client.UploadReaderAt(context.Background(), data, data.Size(), helpers.UploadOptions{
		Purpose: "batch", Filename: "in.jsonl", PartSize: 256 << 10, MaxRetries: 10,
	})
	if err != nil {
		log.Fatal(err)
	}
	stats := srv.Stats()
	fmt.Println(up.Status, up.File.Bytes, stats.PartsStored >= 11, len(stats.Faults) > 0)
	// Output: completed 2800000 true true
}

// The server is an http.Handler serving the API under /v1: mount it in an httptest.Server, or
// any mux, when you need no real listener (Start adds the bandwidth cap, which needs one).
func ExampleServer() {
	api, err := conformance.NewServer(conformance.ServerOptions{APIKey: "sk-only-this-key"})
	if err != nil {
		log.Fatal(err)
	}
	defer api.Close()
	ts := httptest.NewServer(api)
	defer ts.Close()

	client, err := helpers.NewClient(helpers.ClientOptions{APIKey: "sk-only-this-key", BaseURL: ts.URL + "/v1"})
	if err != nil {
		log.Fatal(err)
	}
	file, err := client.CreateFile(context.Background(), strings.NewReader("hello\n"), 6, "notes.txt", "assistants", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(file.Filename, file.Bytes, file.Status)

	stranger, _ := helpers.NewClient(helpers.ClientOptions{APIKey: "sk-someone-else", BaseURL: ts.URL + "/v1"})
	_, err = stranger.ListFiles(context.Background(), nil)
	var apiErr *helpers.APIError
	fmt.Println(errors.As(err, &apiErr), apiErr.StatusCode, apiErr.Code)
	// Output:
	// notes.txt 6 processed
	// true 401 invalid_api_key
}
