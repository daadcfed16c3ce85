// Package uploads is the root of openai-uploads, a Go SDK for OpenAI's Uploads, Parts and Files API.
//
// The API contract is openapi/uploads.yaml; its bytes are exported as [Spec] so validators and
// contract tests load the very document the client in package generated was produced from.
// The hand-written layers live in sub-packages:
//
//   - generated: typed models, a client for all nine operations and a server interface,
//     written by oapi-codegen from the spec (never edited by hand);
//   - helpers: client set-up (auth, base URL, headers, retries) and the chunked upload;
//   - conformance: kin-openapi validation, a validating http.RoundTripper and a reference server.
package uploads

import _ "embed"

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config openapi/cfg.yaml openapi/uploads.yaml

// Spec is the OpenAPI 3.0.3 document (openapi/uploads.yaml) the generated client was produced from.
//
//go:embed openapi/uploads.yaml
var Spec []byte
