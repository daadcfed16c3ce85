// Package conformance checks traffic against openapi/uploads.yaml and serves a reference
// implementation of OpenAI's Uploads and Files API.
//
//   - [Validator] validates an *http.Request and an *http.Response against the spec with
//     kin-openapi's openapi3filter, without consuming either body.
//   - [Transport] is an http.RoundTripper that validates everything a client sends and receives,
//     for contract tests of the generated client, of openai-go, or of any other Go client.
//   - [Server] is a reference server with OpenAI's upload semantics and limits, plus fault
//     injection; [Start] runs it on 127.0.0.1 for tests, benchmarks and the demo, and
//     `openai-uploads serve` as a long-running local stand-in: Uploads and Files expire and are
//     swept ([Server.Sweep]), state survives a restart with DiskStorage ([ServerOptions.StorageDir]),
//     slow clients are cut off and a stop is bounded ([Running.Shutdown]).
package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	uploads "github.com/openai-uploads/uploads"
)

// Limits of what the validator holds in memory.
const (
	// MaxJSONBodyBytes is the largest JSON body (request or response) the validator reads into
	// memory to validate. This API's JSON bodies are small: the largest, a page of 10,000 files,
	// is a few megabytes. A larger body is never cut: it is put back whole and reported as not
	// validated (a *Violation from ValidateRequest and ValidateResponse, and from Transport by
	// default; an [Unvalidated] record with Transport.Report).
	MaxJSONBodyBytes = 32 << 20
	// MaxFormFieldBytes is the most the validator keeps of one non-binary multipart field.
	MaxFormFieldBytes = 64 << 10
)

// Validator validates HTTP traffic against openapi/uploads.yaml (the document embedded as
// [uploads.Spec]) with kin-openapi's openapi3filter. It is safe for concurrent use.
//
// Routing ignores the host and is anchored at the base path: a request routes only if its path
// is the base path followed by one of the spec's paths. The base path is the path of the spec's
// servers URL, /v1 for uploads.yaml, unless [ValidatorOptions.BasePath] says otherwise. So
// http://127.0.0.1:PORT/v1/uploads and https://api.openai.com/v1/uploads both route to
// createUpload, while /v1/v1/uploads (a doubled base path), /uploads and
// /v1/files/file-abc/uploads are violations: "no operation at this path". (kin-openapi's own
// routers also match the servers' host, which a test server's address never does.)
//
// Memory: openapi3filter reads whole bodies into memory. The validator therefore reads JSON
// bodies (at most [MaxJSONBodyBytes]) and puts them back, but never buffers a multipart body:
// it validates a skeleton of the form (the same parts and headers, binary content elided, other
// fields kept up to [MaxFormFieldBytes]) built while the real bytes stream, so a 64 MiB part
// costs about 32 KiB of validation memory. Binary responses (downloadFile) are validated by
// status, headers and content type, and their bodies are passed through unread.
type Validator struct {
	doc    *openapi3.T
	base   string // "" or "/v1": no trailing slash
	routes []route
}

// ValidatorOptions configures [NewValidatorWithOptions]. The zero value is what [NewValidator]
// uses.
type ValidatorOptions struct {
	// BasePath is the prefix of every operation's path: a request routes only if its path is
	// BasePath followed by one of the spec's paths. "" means the path of the spec's first servers
	// URL ("/v1" for uploads.yaml; none for a spec without servers); "/" means no prefix. Set it
	// when the API is served under another prefix, for example "/openai/v1" behind a proxy.
	BasePath string
}

var (
	defaultOnce      sync.Once
	defaultValidator *Validator
	defaultErr       error
)

// DefaultValidator returns a Validator for the embedded spec, built once.
func DefaultValidator() (*Validator, error) {
	defaultOnce.Do(func() { defaultValidator, defaultErr = NewValidator(uploads.Spec) })
	return defaultValidator, defaultErr
}

// NewValidator builds a Validator from an OpenAPI 3.0 document, with routes under the path of
// its servers URL; pass [uploads.Spec] for this SDK's contract.
func NewValidator(spec []byte) (*Validator, error) {
	return NewValidatorWithOptions(spec, ValidatorOptions{})
}

// NewValidatorWithOptions builds a Validator from an OpenAPI 3.0 document with opts.
func NewValidatorWithOptions(spec []byte, opts ValidatorOptions) (*Validator, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("conformance: load spec: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("conformance: invalid spec: %w", err)
	}
	base := opts.BasePath
	if base == "" && len(doc.Servers) > 0 {
		u, err := url.Parse(doc.Servers[0].URL)
		if err != nil {
			return nil, fmt.Errorf("conformance: the spec's servers URL %q: %w", doc.Servers[0].URL, err)
		}
		base = u.EscapedPath()
	}
	if base != "" && !strings.HasPrefix(base, "/") {
		return nil, fmt.Errorf("conformance: BasePath %q does not start with /", base)
	}
	v := &Validator{doc: doc, base: strings.TrimRight(base, "/")}
	for path, item := range doc.Paths.Map() {
		v.routes = append(v.routes, newRoute(path, item))
	}
	sort.Slice(v.routes, func(i, j int) bool { return v.routes[i].before(v.routes[j]) })
	return v, nil
}

// Spec returns the loaded document.
func (v *Validator) Spec() *openapi3.T { return v.doc }

// BasePath returns the prefix routes are anchored at ("" for none).
func (v *Validator) BasePath() string { return v.base }

// Operation returns the operationId a request routes to, or "" if none.
func (v *Validator) Operation(req *http.Request) string {
	route, _, _ := v.findRoute(req)
	if route == nil {
		return ""
	}
	return route.Operation.OperationID
}

func (v *Validator) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError:            true,
		IncludeResponseStatus: true,
		SkipSettingDefaults:   true,
		AuthenticationFunc:    checkBearer,
	}
}

// errNoBearer is what the security check reports; it never quotes the header's value.
var errNoBearer = errors.New(`the Authorization header is not "Bearer <key>"`)

func checkBearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme := in.SecurityScheme
	if scheme == nil || scheme.Type != "http" || !strings.EqualFold(scheme.Scheme, "bearer") {
		return fmt.Errorf("unsupported security scheme %q", in.SecuritySchemeName)
	}
	auth := in.RequestValidationInput.Request.Header.Get("Authorization")
	scheme2, key, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme2, "Bearer") || strings.TrimSpace(key) == "" {
		return errNoBearer
	}
	return nil
}

// ValidateRequest validates req before it is sent: route, path and query parameters, the
// Authorization header, the content type and the body. It never consumes the body:
//
//   - a JSON (or other non-multipart) body is read into memory and put back, with GetBody set;
//     one larger than [MaxJSONBodyBytes] is put back whole, unvalidated, and the error says so;
//     one whose source fails is put back as it came (the bytes read, then the same error), so
//     that sending it fails with that error: not the contract's business, it is no violation;
//   - a multipart/form-data body is not read here. req.Body is replaced with a reader that
//     validates a skeleton of the form as the bytes stream through it and withholds the form's
//     final bytes until the check is done: if the form breaks the spec, the last Read returns the
//     *Violation instead, so the request is never completed and the sender's error wraps the
//     violation. Memory stays bounded whatever the part's size (see [Validator]).
//
// The error, if any, is a *Violation.
func (v *Validator) ValidateRequest(req *http.Request) error {
	return asViolationErr(v.validateRequest(req, true, nil))
}

// readUpTo reads at most MaxJSONBodyBytes of body. If there is more, it returns nil and a body
// that reads everything, what was read and the rest, and closes the original. If reading fails
// (the network broke a reply, a request body's source failed), it returns nil, a body that reads
// what arrived and then fails with the same error, and the error: the exchange is passed on as it
// came, for the client to see its own failure.
func readUpTo(body io.ReadCloser) (data []byte, whole io.ReadCloser, err error) {
	data, err = io.ReadAll(io.LimitReader(body, MaxJSONBodyBytes+1))
	if err != nil {
		_ = body.Close()
		return nil, io.NopCloser(io.MultiReader(bytes.NewReader(data), failingReader{err})), err
	}
	if len(data) <= MaxJSONBodyBytes {
		_ = body.Close()
		return data, nil, nil
	}
	return nil, struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), body), body}, nil
}

// failingReader fails every read with err.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// validateRequest validates req; for a streamed multipart body, enforce says whether a violation
// withholds the end of the body (true) or is handed to record once the body has streamed. A body
// too large to validate is put back whole and the error is an *Unvalidated.
func (v *Validator) validateRequest(req *http.Request, enforce bool, record func(*Violation)) error {
	route, params, viol := v.findRoute(req)
	if viol != nil {
		return viol
	}
	newViolation := func(msgs []string) *Violation {
		return &Violation{Operation: route.Operation.OperationID, Method: req.Method, Path: req.URL.EscapedPath(), Direction: DirectionRequest, Messages: msgs}
	}

	mediaType, mtParams, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	hasBody := req.Body != nil && req.Body != http.NoBody
	streamed := hasBody && mediaType == "multipart/form-data" && route.Operation.RequestBody != nil

	// Everything but a streamed body is validated now, on a shallow copy whose body kin-openapi
	// may read and replace at will.
	check := req.Clone(req.Context())
	var body []byte
	unreadable := false // the body's source failed: only the route, parameters and headers are checked
	switch {
	case streamed:
		if mtParams["boundary"] == "" {
			return newViolation([]string{"body: multipart/form-data content type has no boundary"})
		}
		check.Body = http.NoBody
	case hasBody:
		var whole io.ReadCloser
		var err error
		body, whole, err = readUpTo(req.Body)
		if err != nil {
			// Not the contract's business: the request goes on as it came and fails with the
			// source's own error when it is sent.
			req.Body, req.GetBody, unreadable = whole, nil, true
			check.Body = http.NoBody
			break
		}
		if whole != nil {
			req.Body = whole
			return &Unvalidated{Operation: route.Operation.OperationID, Method: req.Method, Path: req.URL.EscapedPath(), Direction: DirectionRequest, Reason: tooLarge()}
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
		check.Body = io.NopCloser(bytes.NewReader(body))
	default:
		check.Body = http.NoBody
	}

	opts := v.options()
	opts.ExcludeRequestBody = streamed || unreadable
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		return newViolation(messages(err))
	}
	if streamed {
		req.Body = newFormChecker(req.Body, mtParams["boundary"], route, func(skeleton []byte, parseErr error) *Violation {
			if parseErr != nil {
				return newViolation([]string{"body: malformed multipart/form-data: " + parseErr.Error()})
			}
			sk := req.Clone(req.Context())
			sk.Body = io.NopCloser(bytes.NewReader(skeleton))
			sk.ContentLength = int64(len(skeleton))
			in := &openapi3filter.RequestValidationInput{Request: sk, PathParams: params, Route: route, Options: v.options()}
			if err := openapi3filter.ValidateRequestBody(req.Context(), in, route.Operation.RequestBody.Value); err != nil {
				return newViolation(messages(err))
			}
			return nil
		}, enforce, record)
		req.GetBody = nil
	}
	return nil
}

// ValidateResponse validates resp as the answer to req: a declared status, the declared headers,
// the content type and the body. A JSON body is read (at most [MaxJSONBodyBytes]) and put back,
// so the caller can still read resp.Body; a larger one is put back whole, unvalidated, and the
// error says so. A body the network cut short is put back as it came, the bytes that arrived
// and then the same read error, for the caller to see the failure it would have seen without
// the validator (the status and headers are still validated). A binary body (downloadFile) is
// not read. The error, if any, is a *Violation.
func (v *Validator) ValidateResponse(req *http.Request, resp *http.Response) error {
	return asViolationErr(v.validateResponse(req, resp))
}

// validateResponse is ValidateResponse, with an *Unvalidated for a body too large to validate.
func (v *Validator) validateResponse(req *http.Request, resp *http.Response) error {
	route, params, viol := v.findRoute(req)
	if viol != nil {
		viol.Direction = DirectionResponse
		viol.Status = resp.StatusCode
		return viol
	}
	newViolation := func(msgs []string) *Violation {
		return &Violation{Operation: route.Operation.OperationID, Method: req.Method, Path: req.URL.EscapedPath(), Direction: DirectionResponse, Status: resp.StatusCode, Messages: msgs}
	}

	var body io.ReadCloser = http.NoBody
	opts := v.options()
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.Body != nil && resp.Body != http.NoBody && mediaType != "application/octet-stream" {
		data, whole, err := readUpTo(resp.Body)
		switch {
		case err != nil:
			// The network broke the reply: the client reads what arrived, then the same error,
			// as without the validator; the status and headers are still checked.
			resp.Body = whole
			opts.ExcludeResponseBody = true
		case whole != nil:
			resp.Body = whole
			return &Unvalidated{Operation: route.Operation.OperationID, Method: req.Method, Path: req.URL.EscapedPath(), Direction: DirectionResponse, Status: resp.StatusCode, Reason: tooLarge()}
		default:
			resp.Body = io.NopCloser(bytes.NewReader(data))
			body = io.NopCloser(bytes.NewReader(data))
		}
	}

	reqIn := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.options()}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqIn, Status: resp.StatusCode, Header: resp.Header, Body: body, Options: opts,
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		return newViolation(messages(err))
	}
	return nil
}
