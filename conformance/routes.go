package conformance

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// Routing: which of the spec's operations a request is for. It ignores the host and is anchored
// at the base path (see Validator).

type route struct {
	path     string
	segments []string // literal segments; "" where a parameter sits
	params   []string // parameter name per segment, "" for literals
	item     *openapi3.PathItem
}

// newRoute splits one of the spec's paths into its literal segments and parameters.
func newRoute(path string, item *openapi3.PathItem) route {
	r := route{path: path, item: item}
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			r.segments = append(r.segments, "")
			r.params = append(r.params, seg[1:len(seg)-1])
		} else {
			r.segments = append(r.segments, seg)
			r.params = append(r.params, "")
		}
	}
	return r
}

// before orders the routes findRoute tries in turn. Of two routes with as many segments (only
// those can match the same path: how lengths are ordered does not matter), the one with a literal
// where the other first has a parameter comes first, as OpenAPI matches concrete paths before
// templated ones: /files/search before /files/{file_id}, /a/{x}/lit before /a/{y}/{z}, whatever
// the literal's characters or the parameters' names. Otherwise the order is by path.
func (a route) before(b route) bool {
	if len(a.segments) != len(b.segments) {
		return len(a.segments) > len(b.segments)
	}
	for i := range a.params {
		if aLit, bLit := a.params[i] == "", b.params[i] == ""; aLit != bLit {
			return aLit
		}
	}
	return a.path < b.path
}

// findRoute matches the request's path, whatever its host: the base path, then exactly the
// segments of one of the spec's paths.
func (v *Validator) findRoute(req *http.Request) (*routers.Route, map[string]string, *Violation) {
	escaped := req.URL.EscapedPath()
	noRoute := func(msg string) *Violation {
		return &Violation{Method: req.Method, Path: escaped, Direction: DirectionRequest, Messages: []string{msg}}
	}
	base := v.base
	if base == "" {
		base = "/"
	}
	rest, ok := strings.CutPrefix(escaped, v.base)
	if !ok || !strings.HasPrefix(rest, "/") {
		return nil, nil, noRoute(fmt.Sprintf("no operation at this path: it is not under the base path %s", base))
	}
	segs := strings.Split(rest[1:], "/") // a trailing slash leaves an empty segment, which matches nothing
	var pathMatched bool
	for _, r := range v.routes {
		if len(segs) != len(r.segments) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, lit := range r.segments {
			if r.params[i] == "" {
				if segs[i] != lit {
					ok = false
					break
				}
				continue
			}
			val, err := url.PathUnescape(segs[i])
			if err != nil || val == "" {
				ok = false
				break
			}
			params[r.params[i]] = val
		}
		if !ok {
			continue
		}
		pathMatched = true
		op := r.item.GetOperation(req.Method)
		if op == nil {
			continue
		}
		return &routers.Route{
			Spec: v.doc, Server: firstServer(v.doc), Path: r.path, PathItem: r.item,
			Method: req.Method, Operation: op,
		}, params, nil
	}
	if pathMatched {
		return nil, nil, noRoute("method " + req.Method + " is not allowed on this path")
	}
	return nil, nil, noRoute(fmt.Sprintf("no operation at this path: %s is not one of the spec's paths (under the base path %s)", rest, base))
}

// firstServer is the spec's first servers entry, or nil for a spec without servers (routes then
// start at the root; kin-openapi's validation does not look at the route's server).
func firstServer(doc *openapi3.T) *openapi3.Server {
	if len(doc.Servers) == 0 {
		return nil
	}
	return doc.Servers[0]
}
