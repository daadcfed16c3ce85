package main

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// goSpeak matches what a message for people must not hold: Go identifiers (UploadOptions.MD5,
// strconv.ParseInt, SkipMD5, fileID), package prefixes (helpers:), Go syntax and fmt's mistakes.
var goSpeak = []*regexp.Regexp{
	regexp.MustCompile(`\b[A-Z][A-Za-z0-9]*\.[A-Z][A-Za-z0-9]*\b`),                               // Type.Field
	regexp.MustCompile(`\b(strconv|helpers|generated|conformance|fmt|cli|json|http|url|os)[.:]`), // package.Name, pkg:
	regexp.MustCompile(`\b[A-Z][a-z]+[A-Z][A-Za-z0-9]*\b`),                                       // CamelCase
	regexp.MustCompile(`\b[a-z]+[A-Z][A-Za-z0-9]*\b`),                                            // camelCase
	regexp.MustCompile(`invalid syntax|%!|\[\]string|map\[|&\{|<nil>|\["[^"]*" "`),               // and a %q of a []string
}

// notGo are words the patterns above would take for Go: units and a name.
var notGo = map[string]bool{"KiB": true, "MiB": true, "GiB": true, "TiB": true, "kB": true, "OpenAI": true}

// The API's operation ids (createUpload, …) are what `serve --fault-ops` takes: words of the
// API's documentation, not Go.
func init() {
	for _, op := range conformance.AllOperations {
		notGo[op] = true
	}
}

// paths are the file paths in a message (the tests' temporary directories are named after them).
var paths = regexp.MustCompile(`/[^\s:,)"]+`)

// urls matches a URL in a message (a base URL is the user's input, not Go).
var urls = regexp.MustCompile(`https?://[^\s"]+`)

// speaksGo returns the Go it finds in msg, URLs and file paths aside.
func speaksGo(msg string) []string {
	msg = paths.ReplaceAllString(urls.ReplaceAllString(msg, "URL"), "/FILE")
	var found []string
	for _, re := range goSpeak {
		for _, m := range re.FindAllString(msg, -1) {
			if !notGo[m] {
				found = append(found, m)
			}
		}
	}
	return found
}

// namesWhat matches a message that names what to fix: a flag, an environment variable, the PATH
// or id argument, or the command.
var namesWhat = regexp.MustCompile(`--[a-z]|(^|\s)-[a-z]\b|\bPATH\b|\bFILE_ID\b|OPENAI_[A-Z_]+|unknown command|^[a-z]+ takes`)

func TestSpeaksGoDetectsGo(t *testing.T) {
	for _, msg := range []string{"UploadOptions.MD5 expects", "helpers: ClientOptions.BaseURL: bad", `strconv.ParseInt: parsing "abc": invalid syntax`,
		"is set and SkipMD5 too", "fileID: must not be empty", "unexpected arguments [\"a\" \"b\"]"} {
		if speaksGo(msg) == nil {
			t.Errorf("%q is not taken for Go", msg)
		}
	}
	for _, msg := range []string{`--concurrency: "abc" is not a number`, "--part-size must be at most 64MiB", "--base-url (or OPENAI_BASE_URL): \"ftp://x\" is not an http or https URL"} {
		if got := speaksGo(msg); got != nil {
			t.Errorf("%q is taken for Go: %v", msg, got)
		}
	}
}

// TestUsageErrorsSpeakCLI runs every usage error the CLI can produce: each exits 2 before any
// request, names the flag, variable or argument to fix, and holds no Go. Every usagef call in the
// command's source must be reached by a case (so a new usage error needs a case here), and so
// must the parser's errors (unknown command and flag, missing and bad values) and the helpers'
// input errors.
func TestUsageErrorsSpeakCLI(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	dir := t.TempDir()
	good := tempFile(t, "train.jsonl", sample(20_000))
	empty := tempFile(t, "empty.jsonl", nil)
	weird := tempFile(t, "model.weights", sample(10))
	missing := filepath.Join(dir, "missing.jsonl")
	bigPart := sparseFile(t, "part.bin", 64<<20+1)
	bigFile := sparseFile(t, "file.jsonl", 512<<20+1)
	stored := decode[generated.OpenAIFile](t, apiCLI(t, srv, "", "files", "create", "--file", good, "--purpose", "batch"))
	notEmptyDir := filepath.Join(dir, "full")
	if err := os.MkdirAll(filepath.Join(notEmptyDir, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	// Checkpoints that are refused (issue: a data file given as --checkpoint was overwritten).
	results := tempFile(t, "results.jsonl", []byte("{\"custom_id\":\"r1\"}\n"))
	newer := tempFile(t, "newer.ckpt", []byte(`{"format":"openai-uploads-checkpoint","version":99,"upload_id":"upload_x"}`))
	goodLink := filepath.Join(dir, "link.ckpt")
	if err := os.Symlink(good, goodLink); err != nil {
		t.Fatal(err)
	}
	otherLink := filepath.Join(dir, "other.ckpt")
	if err := os.Symlink(results, otherLink); err != nil {
		t.Fatal(err)
	}
	guarded := filepath.Join(dir, "guarded.ckpt")
	if err := os.WriteFile(guarded+".lock", []byte("pid 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unwritable := unwritableDir(t)

	var mu sync.Mutex
	reached := map[string]bool{}
	recordUsage = func(format string) {
		mu.Lock()
		defer mu.Unlock()
		reached[format] = true
	}
	defer func() { recordUsage = nil }()

	type tc struct {
		args  []string
		stdin string
		noKey bool
	}
	cases := []tc{
		// The parser's errors.
		{args: []string{"uplaod", good, "--purpose", "batch"}},
		{args: []string{"files", "lst"}},
		{args: []string{"files", "lst", "--help"}},
		{args: []string{"upload", good, "--purpse", "batch"}},
		{args: []string{"upload", good, "-purpse", "batch"}},
		{args: []string{"--bse-url", srv.URL, "files", "list"}},
		{args: []string{"upload", good, "--purpose"}},
		{args: []string{"upload", good, "--purpose", "batch", "--concurrency", "abc"}},
		{args: []string{"upload", good, "--purpose", "batch", "--concurrency", "99999999999999999999"}},
		{args: []string{"upload", good, "--purpose", "batch", "--quiet=maybe"}},
		{args: []string{"upload", good, "--purpose", "batch", "--wait-timeout", "soon"}},
		{args: []string{"serve", "--fault-rate", "x"}},
		{args: []string{"serve", "--fault-seed", "-1"}},
		{args: []string{"completion", "tcsh"}},
		// upload.
		{args: []string{"upload", "--purpose", "batch"}},
		{args: []string{"upload", good, "-", "--purpose", "batch"}},
		{args: []string{"upload", good, good, "--purpose", "batch", "--filename", "x.jsonl"}},
		{args: []string{"upload", good, good, "--purpose", "batch", "--small-file-limit", "big"}},
		{args: []string{"upload", good, good, "--purpose", "batch", "--small-file-limit", "1GiB"}},
		{args: []string{"upload", good, missing, "--purpose", "batch"}},
		{args: []string{"upload", "-", "--purpose", "batch", "--filename", "a.jsonl"}},
		{args: []string{"upload", "-", "--purpose", "batch", "--filename", "a.jsonl", "--size", "12 parsecs"}},
		{args: []string{"upload", "-", "--purpose", "batch", "--size", "10"}},
		{args: []string{"upload", "-", "--purpose", "batch", "--size", "10", "--filename", "a.jsonl", "--checkpoint", filepath.Join(dir, "cp")}},
		{args: []string{"upload", "-", "--purpose", "batch", "--size", "0", "--filename", "a.jsonl"}},
		{args: []string{"upload", good}},
		{args: []string{"upload", good, "--purpose", "training"}},
		{args: []string{"upload", good, "--purpose", "batch", "--md5", "0123456789abcdef0123456789abcdef", "--no-md5"}},
		{args: []string{"upload", good, "--purpose", "batch", "--md5", "xyz"}},
		{args: []string{"upload", good, "--purpose", "batch", "--part-size", "big"}},
		{args: []string{"upload", good, "--purpose", "batch", "--part-size", "65MiB"}},
		{args: []string{"upload", good, "--purpose", "batch", "--part-size", "1"}},
		{args: []string{"upload", good, "--purpose", "batch", "--concurrency", "0"}},
		{args: []string{"upload", good, "--purpose", "batch", "--max-retries", "-1"}},
		{args: []string{"upload", good, "--purpose", "batch", "--expires-after", "seconds=5"}},
		{args: []string{"upload", good, "--purpose", "batch", "--wait-timeout", "0s"}},
		{args: []string{"upload", missing, "--purpose", "batch"}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", results}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", empty}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", newer}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", good}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", goodLink}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", otherLink}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", notEmptyDir}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", filepath.Join(dir, "no", "such", "dir", "cp")}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", filepath.Join(results, "cp")}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", filepath.Join(unwritable, "cp")}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", guarded}},
		{args: []string{"upload", empty, "--purpose", "batch"}},
		{args: []string{"upload", weird, "--purpose", "batch"}},
		{args: []string{"upload", dir, "--purpose", "batch"}},
		{args: []string{"upload", good, "--purpose", "batch", "--mime-type", "nonsense"}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", good}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", weird}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", dir}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", os.DevNull}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", filepath.Join(dir, "no", "cp.json")}},
		{args: []string{"upload", good, "--purpose", "batch", "--checkpoint", filepath.Join(good, "cp.json")}},
		{args: []string{"upload", good, "--purpose", "batch"}, noKey: true},
		{args: []string{"upload", good, "--purpose", "batch", "--base-url", "ftp://example.com"}},
		{args: []string{"files", "list", "--base-url", "http://127.0.0.1:9/v1?key=sk-in-the-url"}},
		{args: []string{"upload", good, "--purpose", "batch", "--format", "yaml"}},
		// OpenAI's commands.
		{args: []string{"uploads", "create", "--filename", "a", "--mime-type", "text/plain", "--purpose", "batch"}},
		{args: []string{"uploads", "create", "--bytes", "lots", "--filename", "a", "--mime-type", "text/plain", "--purpose", "batch"}},
		{args: []string{"uploads", "create", "--bytes", "9GiB", "--filename", "a", "--mime-type", "text/plain", "--purpose", "batch"}},
		{args: []string{"uploads", "create", "--bytes", "1", "--filename", "a", "--mime-type", "text/plain", "--purpose", "x"}},
		{args: []string{"uploads", "create", "--bytes", "1", "--filename", "a", "--mime-type", "text/plain", "--purpose", "batch", "--expires-after", "anchor=now,seconds=4000"}},
		{args: []string{"uploads", "complete", "upload_x"}},
		{args: []string{"uploads", "complete", "upload_x", "--part-id", "p", "--md5", "12"}},
		{args: []string{"uploads", "cancel"}},
		{args: []string{"uploads", "cancel", "upload_a", "upload_b"}},
		{args: []string{"uploads:parts", "create", "--upload-id", "upload_x"}},
		{args: []string{"uploads:parts", "create", "--upload-id", "upload_x", "--data", missing}},
		{args: []string{"uploads:parts", "create", "--upload-id", "upload_x", "--data", dir}},
		{args: []string{"uploads:parts", "create", "--upload-id", "upload_x", "--data", bigPart}},
		{args: []string{"files", "create", "--file", good}},
		{args: []string{"files", "create", "--file", good, "--purpose", "batch", "--expires-after", "seconds=x"}},
		{args: []string{"files", "create", "--file", "-", "--purpose", "batch"}},
		{args: []string{"files", "create", "--file", bigFile, "--purpose", "batch"}},
		{args: []string{"files", "list", "--limit", "0"}},
		{args: []string{"files", "list", "--order", "up"}},
		{args: []string{"files", "retrieve"}},
		{args: []string{"files", "wait", stored.ID, "--wait-timeout", "-1s"}},
		{args: []string{"files", "content", stored.ID, "--output", filepath.Join(dir, "no", "such", "dir", "out")}},
		{args: []string{"files", "content", stored.ID, "--output", notEmptyDir}},
		// serve, demo, version.
		{args: []string{"serve", "--storage", "tape"}},
		{args: []string{"serve", "--memory-limit", "0"}},
		{args: []string{"serve", "--fault-rate", "1.5"}},
		{args: []string{"serve", "--fault-kinds", "500,teapot"}},
		{args: []string{"serve", "--latency", "-1s"}},
		{args: []string{"serve", "--bandwidth", "fast"}},
		{args: []string{"serve", "--total-bandwidth", "fast"}},
		{args: []string{"serve", "--max-parts-in-flight", "-1"}},
		{args: []string{"serve", "--parts-retry-after", "0s"}},
		{args: []string{"serve", "--retention", "0s"}},
		{args: []string{"serve", "--fault-limit", "-1"}},
		{args: []string{"serve", "--fault-ops", "createUpload,teapot"}},
		{args: []string{"serve", "--fault-slow-rate", "fast"}},
		{args: []string{"serve", "--fault-stall-for", "-1s"}},
		{args: []string{"--stall-timeout", "0s", "files", "list"}},
		{args: []string{"files", "list", "--timeout", "-1s"}},
		{args: []string{"serve", "--sweep-interval", "-1s"}},
		{args: []string{"serve", "--upload-ttl", "500ms"}},
		{args: []string{"serve", "--storage", "memory", "--fsync"}},
		{args: []string{"serve", "--addr", "localhost"}},
		{args: []string{"demo", good, good}},
		{args: []string{"demo", "--part-size", "huge"}},
		{args: []string{"demo", "--part-size", "65MiB"}},
		{args: []string{"demo", "--concurrency", "65"}},
		{args: []string{"demo", "--size", "tiny"}},
		{args: []string{"demo", "--size", "10"}},
		{args: []string{"demo", missing}},
		{args: []string{"version", "extra"}},
	}
	before := srv.Stats().Requests
	for _, c := range cases {
		name := strings.Join(c.args, " ")
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			if c.noKey {
				t.Setenv("OPENAI_API_KEY", "")
			}
			// The global flags go first, so that a case may end with a flag missing its value.
			var args []string
			if !c.noKey {
				args = append(args, "--api-key", cliKey)
			}
			if !strings.Contains(strings.Join(c.args, " "), "-url") {
				args = append(args, "--base-url", srv.URL)
			}
			args = append(args, c.args...)
			r := runApp(t, canceledFor(c.args), validatingApp(t, c.stdin), args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, exitUsage, r.stderr)
			}
			msg := strings.TrimSpace(r.stderr)
			if strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "openai-uploads: ") {
				t.Errorf("stderr is not one message line: %q", msg)
			}
			msg = strings.TrimPrefix(msg, "openai-uploads: ")
			if g := speaksGo(msg); g != nil {
				t.Errorf("%q speaks Go: %v", msg, g)
			}
			if !namesWhat.MatchString(msg) {
				t.Errorf("%q names no flag, variable or argument", msg)
			}
			if strings.Contains(msg, " -purpse") {
				t.Errorf("%q shows a flag with one dash", msg)
			}
		})
	}
	// Only the cases that read a File's content or stream stdin reach the server.
	if n := srv.Stats().Requests - before; n > 3 {
		t.Errorf("usage errors sent %d requests", n)
	}

	for _, f := range usagefFormats(t) {
		if why, ok := unreachable[f]; ok {
			t.Logf("usagef(%q) is tested elsewhere: %s", f, why)
			continue
		}
		if !reached[f] {
			t.Errorf("no case reaches usagef(%q): add one", f)
		}
	}
}

// unreachable are the usage errors TestUsageErrorsSpeakCLI cannot raise reliably, and where each
// is tested.
var unreachable = map[string]string{
	"--%s: more than %d bytes (the limit)": "raised while stdin streams to the server, which may refuse the part first; TestLimitedReaderNamesTheFlag",
}

// TestLimitedReaderNamesTheFlag: data of unknown size (stdin) past the API's limit is refused
// with a usage error naming the flag, at the first byte past it.
func TestLimitedReaderNamesTheFlag(t *testing.T) {
	r := &limitedReader{r: strings.NewReader(strings.Repeat("x", 11)), left: 10, flag: "data", limit: 10}
	buf := make([]byte, 4)
	var err error
	n := 0
	for err == nil {
		var k int
		k, err = r.Read(buf)
		n += k
	}
	var u usageError
	if !errors.As(err, &u) || n != 11 || !strings.Contains(err.Error(), "--data: more than 10 bytes") || speaksGo(err.Error()) != nil {
		t.Errorf("after %d bytes: %v", n, err)
	}
}

// TestLimitedReaderTakesExactlyTheLimit: data of exactly the limit passes whole, to io.EOF.
func TestLimitedReaderTakesExactlyTheLimit(t *testing.T) {
	r := &limitedReader{r: strings.NewReader(strings.Repeat("x", 10)), left: 10, flag: "data", limit: 10}
	got, err := io.ReadAll(r)
	if err != nil || len(got) != 10 {
		t.Errorf("read %d bytes, %v; want all 10 and no error", len(got), err)
	}
}

// canceledFor is the context of a case: serve's cases must not start serving.
func canceledFor(args []string) context.Context {
	if args[0] == "serve" {
		return canceled()
	}
	return context.Background()
}

// sparseFile is a file of size bytes that takes no disk space.
func sparseFile(t *testing.T, name string, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return path
}

// usagefFormats are the format strings of every usagef call in the command's source.
func usagefFormats(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	seen := map[string]bool{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "usagef" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok {
				t.Errorf("%s: usagef with a format that is not a literal", fset.Position(call.Pos()))
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			seen[s] = true
			return true
		})
	}
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	if len(out) < 40 {
		t.Fatalf("found only %d usagef formats: the source scan is broken", len(out))
	}
	return out
}

// TestEveryHelpersFieldHasAFlag: every field the helpers name in an InputError (in
// helpers/*.go) has a flag or argument of this CLI to name instead.
func TestEveryHelpersFieldHasAFlag(t *testing.T) {
	files, _ := filepath.Glob("../../helpers/*.go")
	re := regexp.MustCompile(`(?:inputErrorf|InputError\{Field:)\s*\(?\s*"([^"]+)"`)
	found := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			found++
			field := m[1]
			if strings.HasSuffix(field, ".") { // a prefix completed at run time (ExpiresAfter + ".Seconds")
				continue
			}
			if flagFor(field) == "an option" {
				t.Errorf("helpers field %q (%s) has no flag in flagOf", field, filepath.Base(path))
			}
		}
	}
	if found < 10 {
		t.Fatalf("found %d InputError fields: the scan is broken", found)
	}
	for field := range flagOf {
		if g := speaksGo(flagOf[field]); g != nil {
			t.Errorf("flagOf[%q] = %q speaks Go", field, flagOf[field])
		}
	}
}

func TestSuggestions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"uplaod", "x.jsonl", "--purpose", "batch"}, `unknown command "uplaod" (did you mean "upload"?)`},
		{[]string{"files", "lst"}, `unknown command "files lst" (did you mean "files list"?)`},
		{[]string{"files", "lst", "--limit", "3"}, `unknown command "files lst" (did you mean "files list"?)`},
		{[]string{"uploads", "cancle", "upload_x"}, `(did you mean "uploads cancel"?)`},
		{[]string{"upload", "x.jsonl", "--purpse", "batch"}, "unknown flag --purpse (did you mean --purpose?)"},
		{[]string{"upload", "x.jsonl", "-purpse", "batch"}, "unknown flag --purpse (did you mean --purpose?)"},
		{[]string{"upload", "x.jsonl", "--concurency", "3"}, "(did you mean --concurrency?)"},
		{[]string{"files", "list", "--limt", "3"}, "(did you mean --limit?)"},
		{[]string{"files", "list", "--bse-url", "x"}, "(did you mean --base-url?)"},
		{[]string{"--formt", "json", "files", "list"}, "(did you mean --format?)"},
		{[]string{"xyzzy"}, `unknown command "xyzzy"; see openai-uploads --help`},
		{[]string{"upload", "x.jsonl", "--zzzzzz"}, "unknown flag --zzzzzz; see openai-uploads upload --help"},
	} {
		r := runCLI(t, "", tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
	// A group of commands alone shows its help.
	if r := runCLI(t, "", "files"); r.code != exitOK || !strings.Contains(r.stdout, "wait") {
		t.Errorf("files alone: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"uplaod", "upload", 1}, {"lst", "list", 1}, {"purpse", "purpose", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"abc", "abc", 0}} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
	if closeTo("xyz", "demo") || !closeTo("part", "part-size") || !closeTo("par", "part-size") || closeTo("pa", "part-size") {
		t.Errorf("closeTo: a start of 3 characters or more is close, a shorter one is not")
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, "", "--version")
	if r.code != exitOK || r.stdout != "openai-uploads version "+version()+"\n" {
		t.Errorf("--version: exit %d, stdout %q", r.code, r.stdout)
	}
	r = runCLI(t, "", "version")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "openai-uploads "+version()+"\n") || !strings.Contains(r.stdout, "user agent: openai-uploads/") {
		t.Errorf("version: exit %d, stdout %q", r.code, r.stdout)
	}
	for _, tc := range []struct {
		info *debug.BuildInfo
		want string
	}{
		{&debug.BuildInfo{Main: debug.Module{Path: "github.com/openai-uploads/uploads", Version: "v1.2.3"}}, "v1.2.3"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}, "0.1.0 (devel, commit 0123456789ab, modified)"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "0.1.0 (devel)"},
		{nil, "0.1.0 (devel)"},
	} {
		if got := versionFrom(tc.info); got != tc.want {
			t.Errorf("versionFrom(%+v) = %q, want %q", tc.info, got, tc.want)
		}
	}
}

// TestCompletionScripts: completion bash|zsh|fish|pwsh print scripts for this command, and the
// hidden completion request they make lists the commands and a command's flags.
func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{"bash": "complete -", "zsh": "compdef openai-uploads", "fish": "complete -c openai-uploads", "pwsh": "Register-ArgumentCompleter"} {
		r := runCLI(t, "", "completion", shell)
		if r.code != exitOK || !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s: exit %d, stdout %.300q", shell, r.code, r.stdout)
		}
	}
	// The scripts ask the command itself; urfave/cli reads os.Args for that, so this runs the
	// built binary.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--generate-shell-completion"}, []string{"upload:", "files:", "serve:", "version:", "completion:"}},
		{[]string{"files", "--generate-shell-completion"}, []string{"list:", "wait:", "content:"}},
		{[]string{"upload", "--pur", "--generate-shell-completion"}, []string{"--purpose"}},
	} {
		out, err := exec.Command(binary, tc.args...).Output()
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%v: %q lacks %q", tc.args, out, w)
			}
		}
	}
}

// TestBadValuesSayWhatTheFlagTakes: a value the parser refuses is said by the kind of the flag
// it was given to: a number, a duration.
func TestBadValuesSayWhatTheFlagTakes(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"files", "list", "--limit", "abc"}, `--limit: "abc" is not a number`},
		{[]string{"files", "list", "--stall-timeout", "soon"}, `--stall-timeout: "soon" is not a duration`},
	} {
		if r := runCLI(t, "", c.args...); r.code != exitUsage || !strings.Contains(r.stderr, c.says) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, r.code, r.stderr, c.says)
		}
	}
}
