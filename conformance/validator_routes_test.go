package conformance_test

import (
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// TestValidatorPrefersALiteralSegmentToAParameter: where a concrete path and a templated one
// both match (/files/search and /files/{file_id}), the request routes to the concrete one, as
// OpenAPI says; every other value goes to the template. The routes come from a map, so the
// validator is built several times, each time from the map in another order.
func TestValidatorPrefersALiteralSegmentToAParameter(t *testing.T) {
	spec := routeSpec("servers: [{url: 'http://127.0.0.1/v1'}]\n", map[string]string{
		"/files/{file_id}": "getFile",
		"/files/search":    "searchFiles",
	})
	for range 20 {
		v, err := conformance.NewValidator(spec)
		if err != nil {
			t.Fatal(err)
		}
		for url, want := range map[string]string{
			"http://127.0.0.1:9/v1/files/search": "searchFiles",
			"http://127.0.0.1:9/v1/files/file-1": "getFile",
		} {
			if got := routesTo(t, v, url); got != want {
				t.Fatalf("GET %s routes to %q, want %q", url, got, want)
			}
		}
	}
}

// TestValidatorPrefersTheTemplateThatIsLiteralFirst: among templates of as many segments, the
// one whose first difference is a literal where the other has a parameter wins, whatever the
// parameters are named and whatever characters the literal is made of.
func TestValidatorPrefersTheTemplateThatIsLiteralFirst(t *testing.T) {
	spec := routeSpec("servers: [{url: 'http://127.0.0.1/v1'}]\n", map[string]string{
		"/a/{x}/{z}": "anyTwo",
		"/a/{y}/lit": "thenLit",
		"/b/{id}":    "getB",
		"/b/~me":     "getMe",
	})
	for range 20 {
		v, err := conformance.NewValidator(spec)
		if err != nil {
			t.Fatal(err)
		}
		for url, want := range map[string]string{
			"http://127.0.0.1:9/v1/a/1/lit":   "thenLit",
			"http://127.0.0.1:9/v1/a/1/other": "anyTwo",
			"http://127.0.0.1:9/v1/b/~me":     "getMe",
			"http://127.0.0.1:9/v1/b/you":     "getB",
		} {
			if got := routesTo(t, v, url); got != want {
				t.Fatalf("GET %s routes to %q, want %q", url, got, want)
			}
		}
	}
}
