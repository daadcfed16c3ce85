package conformance_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
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
