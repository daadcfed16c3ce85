package uploads_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	uploads "github.com/openai-uploads/uploads"
)

// referenceSpec is OpenAI's own text for these paths, beside the repository (CI has it).
var referenceSpec = filepath.Join("..", "shared", "reference", "openai-openapi-excerpt.yaml")

// schemaKeywords are the keywords compared between the two documents: what a validator or a
// generator acts on. Descriptions, titles, examples and extensions are prose.
var schemaKeywords = []string{"type", "format", "nullable", "enum", "required", "minimum", "maximum",
	"minLength", "maxLength", "pattern", "additionalProperties", "default", "$ref", "allOf", "anyOf", "oneOf", "items"}

// TestSpecDeviationsAreCommented compares openapi/uploads.yaml with OpenAI's document, schema by
// schema, keyword by keyword, and parameter by parameter: every difference must carry a comment
// starting "Deviation" among the keywords of the schema or property that differs (or, for a
// group of properties, on the schema's "properties" key).
func TestSpecDeviationsAreCommented(t *testing.T) {
	refData, err := os.ReadFile(referenceSpec)
	if err != nil {
		t.Skipf("OpenAI's document is not beside the repository (%v); CI has it", err)
	}
	var ours, ref yaml.Node
	if err := yaml.Unmarshal(uploads.Spec, &ours); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(refData, &ref); err != nil {
		t.Fatal(err)
	}
	d := &deviations{ours: ours.Content[0], ref: ref.Content[0]}

	oursSchemas := get(d.ours, "components", "schemas")
	refSchemas := get(d.ref, "components", "schemas")
	for _, name := range mapKeys(refSchemas) {
		k, v := entry(oursSchemas, name)
		if v == nil {
			t.Errorf("schema %s of OpenAI's document is missing", name)
			continue
		}
		d.schema("components.schemas."+name, k, v, get(refSchemas, name), nil)
	}
	for _, path := range mapKeys(get(d.ref, "paths")) {
		refItem, ourItem := get(d.ref, "paths", path), get(d.ours, "paths", path)
		for _, method := range mapKeys(refItem) {
			refOp, ourOp := get(refItem, method), get(ourItem, method)
			if ourOp == nil {
				t.Errorf("%s %s is missing", method, path)
				continue
			}
			d.parameters(path+" "+method, ourItem, ourOp, refOp)
			d.responses(path+" "+method, get(ourOp, "responses"), get(refOp, "responses"))
		}
	}
	d.responses("components.responses", get(d.ours, "components", "responses"), get(d.ref, "components", "responses"))
	for _, diff := range d.uncommented {
		t.Errorf("a departure from OpenAI's document without a Deviation comment: %s", diff)
	}
	t.Logf("%d departures with their Deviation comment, %d without", d.commented, len(d.uncommented))
}

type deviations struct {
	ours, ref   *yaml.Node
	uncommented []string
	commented   int
}

// schema compares one schema; cover holds nodes whose comments cover a difference here too.
func (d *deviations) schema(where string, key, ours, ref *yaml.Node, cover []*yaml.Node) {
	cover = append(slices.Clone(cover), key)
	for _, kw := range schemaKeywords {
		ok, ov := entry(ours, kw)
		_, rv := entry(ref, kw)
		if kw == "items" && ov != nil && rv != nil {
			d.schema(where+".items", ok, ov, rv, cover)
			continue
		}
		if same(ov, rv) {
			continue
		}
		// Covered by a comment on the keyword, or on any keyword of this schema.
		d.report(fmt.Sprintf("%s: %s is %s in OpenAI's document, %s here", where, kw, show(rv), show(ov)), append(cover, ok, ours))
	}
	ourProps, refProps := get(ours, "properties"), get(ref, "properties")
	propsKey, _ := entry(ours, "properties")
	for _, name := range union(mapKeys(ourProps), mapKeys(refProps)) {
		pk, pv := entry(ourProps, name)
		rv := get(refProps, name)
		switch {
		case pv == nil:
			d.report(fmt.Sprintf("%s: property %s is missing here", where, name), append(cover, propsKey))
		case rv == nil:
			d.report(fmt.Sprintf("%s: property %s is not in OpenAI's document", where, name), append(cover, propsKey, pk, pv))
		default:
			d.schema(where+"."+name, pk, pv, rv, []*yaml.Node{propsKey})
		}
	}
}

// parameters compares an operation's parameters by name, ours possibly declared on the path
// and by $ref.
func (d *deviations) parameters(where string, ourItem, ourOp, refOp *yaml.Node) {
	ourParams := map[string][2]*yaml.Node{}
	for _, list := range []*yaml.Node{get(ourItem, "parameters"), get(ourOp, "parameters")} {
		if list == nil {
			continue
		}
		for _, p := range list.Content {
			k := p
			if ref := get(p, "$ref"); ref != nil {
				p = get(d.ours, strings.Split(strings.TrimPrefix(ref.Value, "#/"), "/")...)
			}
			ourParams[get(p, "name").Value] = [2]*yaml.Node{k, p}
		}
	}
	refList := get(refOp, "parameters")
	if refList == nil {
		return
	}
	for _, rp := range refList.Content {
		name := get(rp, "name").Value
		op, ok := ourParams[name]
		if !ok {
			d.uncommented = append(d.uncommented, where+": parameter "+name+" is missing")
			continue
		}
		for _, kw := range []string{"in", "required"} {
			if ok, ov := entry(op[1], kw); !same(ov, get(rp, kw)) {
				d.report(fmt.Sprintf("%s: parameter %s: %s differs", where, name, kw), []*yaml.Node{op[0], ok, ov})
			}
		}
		sk, sv := entry(op[1], "schema")
		d.schema(where+" parameter "+name, sk, sv, get(rp, "schema"), []*yaml.Node{op[0], op[1]})
	}
}

// responses compares the responses OpenAI's document declares: their media types, schemas and
// headers (ours declares more: the errors).
func (d *deviations) responses(where string, ours, ref *yaml.Node) {
	for _, status := range mapKeys(ref) {
		rk, rv := entry(ours, status)
		if rv == nil {
			d.uncommented = append(d.uncommented, where+": response "+status+" is missing")
			continue
		}
		refResp := get(ref, status)
		if r := get(rv, "$ref"); r != nil {
			rv = get(d.ours, strings.Split(strings.TrimPrefix(r.Value, "#/"), "/")...)
		}
		at := where + " " + status
		cover := []*yaml.Node{rk, rv}
		ourContent, refContent := get(rv, "content"), get(refResp, "content")
		for _, mt := range union(mapKeys(ourContent), mapKeys(refContent)) {
			om, rm := get(ourContent, mt), get(refContent, mt)
			if om == nil || rm == nil {
				d.report(fmt.Sprintf("%s: media type %s is only in one document", at, mt), cover)
				continue
			}
			sk, sv := entry(om, "schema")
			d.schema(at+" "+mt, sk, sv, get(rm, "schema"), cover)
		}
		for _, h := range mapKeys(get(refResp, "headers")) {
			hk, hv := entry(get(rv, "headers"), h)
			if hv == nil {
				d.report(fmt.Sprintf("%s: header %s is missing", at, h), cover)
				continue
			}
			sk, sv := entry(hv, "schema")
			d.schema(at+" header "+h, sk, sv, get(refResp, "headers", h, "schema"), append(cover, hk, hv))
		}
	}
}

func (d *deviations) report(diff string, cover []*yaml.Node) {
	for _, n := range cover {
		if hasDeviation(n) {
			d.commented++
			return
		}
	}
	d.uncommented = append(d.uncommented, diff)
}

// hasDeviation says whether n, or a node inside it, carries a comment starting "Deviation".
func hasDeviation(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
		for _, line := range strings.Split(c, "\n") {
			if strings.HasPrefix(strings.TrimSpace(strings.TrimLeft(line, "# ")), "Deviation") {
				return true
			}
		}
	}
	if n.Kind == yaml.MappingNode {
		// Only the keywords' own comments: a property's comment covers that property alone.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "properties" {
				continue
			}
			if hasDeviation(n.Content[i]) || (n.Content[i+1].Kind != yaml.MappingNode && hasDeviation(n.Content[i+1])) {
				return true
			}
		}
		return false
	}
	for _, c := range n.Content {
		if hasDeviation(c) {
			return true
		}
	}
	return false
}

// entry returns the key and value nodes of a mapping's key, or nils.
func entry(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func get(n *yaml.Node, path ...string) *yaml.Node {
	for _, p := range path {
		_, n = entry(n, p)
	}
	return n
}

func mapKeys(m *yaml.Node) []string {
	var out []string
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		out = append(out, m.Content[i].Value)
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// same compares two nodes as data, ignoring comments, styles and prose keys.
func same(a, b *yaml.Node) bool { return reflect.DeepEqual(plain(a), plain(b)) }

func plain(n *yaml.Node) any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if k == "description" || k == "title" || k == "example" || strings.HasPrefix(k, "x-") {
				continue
			}
			m[k] = plain(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		var s []any
		for _, c := range n.Content {
			s = append(s, plain(c))
		}
		return s
	default:
		return n.Value
	}
}

func show(n *yaml.Node) string {
	if n == nil {
		return "absent"
	}
	out, _ := yaml.Marshal(plain(n))
	return strings.TrimSpace(strings.ReplaceAll(string(out), "\n", " "))
}
