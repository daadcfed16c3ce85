package uploads_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	uploads "github.com/openai-uploads/uploads"
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(uploads.Spec)
	if err != nil {
		t.Fatalf("load openapi/uploads.yaml: %v", err)
	}
	return doc
}

func TestSpecLoadsAndValidates(t *testing.T) {
	doc := loadSpec(t)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("doc.Validate: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://api.openai.com/v1" {
		t.Errorf("servers = %v, want https://api.openai.com/v1", doc.Servers)
	}
	scheme := doc.Components.SecuritySchemes["ApiKeyAuth"]
	if scheme == nil || scheme.Value.Type != "http" || scheme.Value.Scheme != "bearer" {
		t.Errorf("ApiKeyAuth is not an http bearer scheme: %+v", scheme)
	}
	if len(doc.Security) != 1 || doc.Security[0]["ApiKeyAuth"] == nil {
		t.Errorf("global security = %v, want ApiKeyAuth", doc.Security)
	}
}

// The nine operations, with OpenAI's operationIds, and the error statuses each declares.
var wantOperations = map[string]struct {
	method, path string
	errors       []string
}{
	"createUpload":   {"POST", "/uploads", []string{"400", "401", "429", "500", "default"}},
	"addUploadPart":  {"POST", "/uploads/{upload_id}/parts", []string{"400", "401", "404", "429", "500", "default"}},
	"completeUpload": {"POST", "/uploads/{upload_id}/complete", []string{"400", "401", "404", "429", "500", "default"}},
	"cancelUpload":   {"POST", "/uploads/{upload_id}/cancel", []string{"400", "401", "404", "429", "500", "default"}},
	"createFile":     {"POST", "/files", []string{"400", "401", "429", "500", "default"}},
	"listFiles":      {"GET", "/files", []string{"400", "401", "429", "500", "default"}},
	"retrieveFile":   {"GET", "/files/{file_id}", []string{"401", "404", "429", "500", "default"}},
	"deleteFile":     {"DELETE", "/files/{file_id}", []string{"401", "404", "429", "500", "default"}},
	"downloadFile":   {"GET", "/files/{file_id}/content", []string{"401", "404", "429", "500", "default"}},
}

func TestSpecOperationsDeclareErrorsInOpenAIEnvelope(t *testing.T) {
	doc := loadSpec(t)
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			want, ok := wantOperations[op.OperationID]
			if !ok {
				t.Errorf("unexpected operation %s %s (%s)", method, path, op.OperationID)
				continue
			}
			seen[op.OperationID] = true
			if method != want.method || path != want.path {
				t.Errorf("%s is %s %s, want %s %s", op.OperationID, method, path, want.method, want.path)
			}
			if op.Responses.Value("200") == nil {
				t.Errorf("%s declares no 200 response", op.OperationID)
			}
			for _, status := range want.errors {
				resp := op.Responses.Value(status)
				if resp == nil {
					t.Errorf("%s declares no %s response", op.OperationID, status)
					continue
				}
				media := resp.Value.Content.Get("application/json")
				if media == nil || media.Schema.Ref != "#/components/schemas/ErrorResponse" {
					t.Errorf("%s %s response is not OpenAI's error envelope", op.OperationID, status)
				}
			}
			if rl := op.Responses.Value("429"); rl != nil {
				if rl.Value.Headers["Retry-After"] == nil || rl.Value.Headers["retry-after-ms"] == nil {
					t.Errorf("%s 429 does not declare Retry-After and retry-after-ms", op.OperationID)
				}
			}
		}
	}
	if len(seen) != len(wantOperations) {
		t.Errorf("found %d of the %d operations: %v", len(seen), len(wantOperations), seen)
	}

	errSchema := doc.Components.Schemas["Error"].Value
	for _, field := range []string{"message", "type", "param", "code"} {
		if !slices.Contains(errSchema.Required, field) {
			t.Errorf("Error.%s is not required", field)
		}
	}
	for _, field := range []string{"param", "code"} {
		if !errSchema.Properties[field].Value.Nullable {
			t.Errorf("Error.%s is not nullable", field)
		}
	}
}

func TestSpecLimitsAndTypes(t *testing.T) {
	doc := loadSpec(t)
	schema := func(name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	prop := func(name, field string) *openapi3.Schema { return schema(name).Properties[field].Value }

	for _, f := range []struct{ schema, field string }{
		{"CreateUploadRequest", "bytes"},
		{"Upload", "bytes"}, {"Upload", "created_at"}, {"Upload", "expires_at"},
		{"OpenAIFile", "bytes"}, {"OpenAIFile", "created_at"}, {"OpenAIFile", "expires_at"},
		{"UploadPart", "created_at"},
		{"FileExpirationAfter", "seconds"},
	} {
		p := prop(f.schema, f.field)
		if !p.Type.Is("integer") || p.Format != "int64" {
			t.Errorf("%s.%s is %v/%q, want integer/int64", f.schema, f.field, p.Type, p.Format)
		}
	}
	if max := prop("CreateUploadRequest", "bytes").Max; max == nil || *max != 8<<30 {
		t.Errorf("CreateUploadRequest.bytes maximum = %v, want 8 GB (%d)", max, 8<<30)
	}
	seconds := prop("FileExpirationAfter", "seconds")
	if seconds.Min == nil || *seconds.Min != 3600 || seconds.Max == nil || *seconds.Max != 2592000 {
		t.Errorf("FileExpirationAfter.seconds range = %v..%v, want 3600..2592000", seconds.Min, seconds.Max)
	}
	if anchor := prop("FileExpirationAfter", "anchor"); !slices.Equal(anchor.Enum, []any{"created_at"}) {
		t.Errorf("FileExpirationAfter.anchor enum = %v", anchor.Enum)
	}

	uploadPurposes := []any{"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}
	for _, name := range []string{"CreateUploadRequest", "CreateFileRequest"} {
		if got := prop(name, "purpose").Enum; !slices.Equal(got, uploadPurposes) {
			t.Errorf("%s.purpose enum = %v, want %v", name, got, uploadPurposes)
		}
	}
	filePurposes := prop("OpenAIFile", "purpose").Enum
	for _, p := range []any{"assistants", "assistants_output", "batch", "batch_output", "fine-tune", "fine-tune-results", "vision", "user_data"} {
		if !slices.Contains(filePurposes, p) {
			t.Errorf("OpenAIFile.purpose lacks %v", p)
		}
	}
	if got := prop("Upload", "status").Enum; !slices.Equal(got, []any{"pending", "completed", "cancelled", "expired"}) {
		t.Errorf("Upload.status enum = %v", got)
	}
	for name, want := range map[string]string{"Upload": "upload", "UploadPart": "upload.part", "OpenAIFile": "file", "DeleteFileResponse": "file", "ListFilesResponse": "list"} {
		if got := prop(name, "object").Enum; !slices.Equal(got, []any{want}) {
			t.Errorf("%s.object enum = %v, want [%s]", name, got, want)
		}
	}
	// In 3.0.3 nullable counts only beside a type in the same schema.
	file := prop("Upload", "file")
	if !file.Type.Is("object") || !file.Nullable || len(file.AllOf) != 1 || file.AllOf[0].Ref != "#/components/schemas/OpenAIFile" {
		t.Errorf("Upload.file is not a nullable OpenAIFile: type=%v nullable=%v allOf=%v", file.Type, file.Nullable, file.AllOf)
	}
	for _, f := range []struct{ schema, field string }{
		{"Upload", "file"}, {"OpenAIFile", "expires_at"}, {"OpenAIFile", "status_details"},
		{"ListFilesResponse", "first_id"}, {"ListFilesResponse", "last_id"}, {"Error", "param"}, {"Error", "code"},
	} {
		if p := prop(f.schema, f.field); !p.Nullable || p.Type == nil || len(p.Type.Slice()) != 1 {
			t.Errorf("%s.%s: nullable=%v type=%v, want nullable with one type", f.schema, f.field, p.Nullable, p.Type)
		}
	}
	if typ := schema("OpenAIFile").Type; !typ.Is("object") {
		t.Errorf("OpenAIFile has type %v, want object", typ)
	}

	limit := doc.Paths.Find("/files").Get.Parameters.GetByInAndName("query", "limit").Schema.Value
	if limit.Min == nil || *limit.Min != 1 || limit.Max == nil || *limit.Max != 10000 || limit.Format != "int64" {
		t.Errorf("listFiles limit range = %v..%v format %q, want 1..10000 int64", limit.Min, limit.Max, limit.Format)
	}
	download := doc.Paths.Find("/files/{file_id}/content").Get.Responses.Value("200").Value.Content
	if download.Get("application/octet-stream") == nil || download.Get("application/json") != nil {
		t.Errorf("downloadFile 200 content types = %v, want application/octet-stream only", keys(download))
	}
}

func keys(c openapi3.Content) []string {
	var out []string
	for k := range c {
		out = append(out, k)
	}
	return out
}

// createFileRequest builds the multipart body OpenAI's SDKs and CLI send for POST /files.
func createFileRequest(t *testing.T, fields [][2]string) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="train.jsonl"`)
	h.Set("Content-Type", "application/octet-stream")
	w, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(`{"prompt":"a","completion":"b"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, "https://api.openai.com/v1/files", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer sk-test")
	return req
}

// TestSpecAcceptsExpiresAfterWireForm checks that kin-openapi accepts createFile's expires_after in
// the form OpenAI's clients send it (two form fields), and still enforces its limits.
func TestSpecAcceptsExpiresAfterWireForm(t *testing.T) {
	doc := loadSpec(t)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	validate := func(req *http.Request) error {
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("route: %v", err)
		}
		return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		})
	}

	ok := createFileRequest(t, [][2]string{{"purpose", "batch"}, {"expires_after[anchor]", "created_at"}, {"expires_after[seconds]", "2592000"}})
	if err := validate(ok); err != nil {
		t.Errorf("the SDKs' wire form was rejected: %v", err)
	}
	if err := validate(createFileRequest(t, [][2]string{{"purpose", "batch"}})); err != nil {
		t.Errorf("createFile without expires_after was rejected: %v", err)
	}

	for _, tc := range []struct {
		name   string
		fields [][2]string
		want   string
	}{
		{"seconds below 3600", [][2]string{{"purpose", "batch"}, {"expires_after[anchor]", "created_at"}, {"expires_after[seconds]", "60"}}, "expires_after[seconds]"},
		{"seconds above 30 days", [][2]string{{"purpose", "batch"}, {"expires_after[anchor]", "created_at"}, {"expires_after[seconds]", "2592001"}}, "expires_after[seconds]"},
		{"unknown anchor", [][2]string{{"purpose", "batch"}, {"expires_after[anchor]", "last_used"}, {"expires_after[seconds]", "3600"}}, "expires_after[anchor]"},
		{"unknown purpose", [][2]string{{"purpose", "training"}}, "purpose"},
		{"missing purpose", nil, "purpose"},
		{"unknown field", [][2]string{{"purpose", "batch"}, {"expires_after", `{"anchor":"created_at","seconds":3600}`}}, "expires_after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(createFileRequest(t, tc.fields))
			if err == nil {
				t.Fatal("accepted")
			}
			t.Logf("rejected: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

// TestClientTemplateTracksUpstream keeps openapi/templates/client.tmpl honest: with the blocks
// marked "openai-uploads" removed it must equal the pinned oapi-codegen's own client.tmpl, so a
// generator upgrade that changes the template fails here instead of silently diverging.
func TestClientTemplateTracksUpstream(t *testing.T) {
	// go mod download fetches the pinned version if this machine has not yet (tools.go keeps it
	// out of ordinary builds) and says where it is.
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/oapi-codegen/oapi-codegen/v2").Output()
	if err != nil {
		t.Fatalf("locate oapi-codegen module: %v", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download -json: %v %s", err, out)
	}
	upstream, err := os.ReadFile(filepath.Join(mod.Dir, "pkg", "codegen", "templates", "client.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	ours, err := os.ReadFile(filepath.Join("openapi", "templates", "client.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	marked := regexp.MustCompile(`(?s)\{\{/\* openai-uploads: begin \*/ -\}\}.*?\{\{/\* openai-uploads: end \*/ -\}\}\n\n?`)
	if n := len(marked.FindAll(ours, -1)); n != 2 {
		t.Fatalf("found %d marked blocks in the override, want 2", n)
	}
	if stripped := marked.ReplaceAll(ours, nil); !bytes.Equal(stripped, upstream) {
		t.Error("openapi/templates/client.tmpl without its openai-uploads blocks differs from the pinned oapi-codegen client.tmpl; re-apply the blocks to the new template")
	}
}
