package conformance_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// routeSpec is a small OpenAPI document (servers as given, YAML, or "") with one GET operation
// per path, named as the map says, its path parameters declared as strings.
func routeSpec(servers string, paths map[string]string) []byte {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: routes, version: '1'}\n" + servers + "paths:\n")
	for path, opID := range paths {
		b.WriteString("  " + path + ":\n    get:\n      operationId: " + opID + "\n      parameters:\n")
		for _, seg := range strings.Split(path, "/") {
			if name, ok := strings.CutPrefix(seg, "{"); ok {
				b.WriteString("        - {name: " + strings.TrimSuffix(name, "}") + ", in: path, required: true, schema: {type: string}}\n")
			}
		}
		b.WriteString("      responses: {'200': {description: ok}}\n")
	}
	return []byte(b.String())
}

func routesTo(t *testing.T, v *conformance.Validator, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v.Operation(req)
}

// TestValidatorRoutesASpecWithoutServers: a spec without servers has no base path, as
// ValidatorOptions documents: its operations route from the root and validate.
func TestValidatorRoutesASpecWithoutServers(t *testing.T) {
	v, err := conformance.NewValidator(routeSpec("", map[string]string{"/things/{id}": "getThing"}))
	if err != nil {
		t.Fatalf("a spec without servers: %v", err)
	}
	if v.BasePath() != "" {
		t.Errorf("base path %q, want none", v.BasePath())
	}
	if got := routesTo(t, v, "http://127.0.0.1:9/things/a"); got != "getThing" {
		t.Errorf("GET /things/a routes to %q, want getThing", got)
	}
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:9/things/a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.ValidateRequest(req); err != nil {
		t.Errorf("GET /things/a: %v, want valid", err)
	}
	resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}
	if err := v.ValidateResponse(req, resp); err != nil {
		t.Errorf("GET /things/a answered 200: %v, want valid", err)
	}
}
