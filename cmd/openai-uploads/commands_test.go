package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// apiCLI runs the command against srv with the key, through the validating transport.
func apiCLI(t *testing.T, srv *conformance.Running, stdin string, args ...string) result {
	t.Helper()
	return runApp(t, context.Background(), validatingApp(t, stdin), append(args, "--api-key", cliKey, "--base-url", srv.URL)...)
}

func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("stdout is not the API's object: %v\n%s", err, r.stdout)
	}
	return v
}

// TestOpenAICLICommands walks OpenAI's CLI commands end to end against the reference server:
// uploads create, uploads:parts create (--data as path, @path and -), uploads complete,
// uploads cancel, files create, list, retrieve, content, delete.
func TestOpenAICLICommands(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	a, b, c := sample(1000), sample(2000)[1000:], []byte("tail from stdin")
	all := append(append(append([]byte{}, a...), b...), c...)

	up := decode[generated.Upload](t, apiCLI(t, srv, "", "uploads", "create", "--bytes", "2015", "--filename", "data.jsonl",
		"--mime-type", "application/jsonl", "--purpose", "fine-tune", "--expires-after", "anchor=created_at,seconds=7200"))
	if up.Status != "pending" || up.Bytes != 2015 {
		t.Fatalf("created %+v", up)
	}
	p1 := decode[generated.UploadPart](t, apiCLI(t, srv, "", "uploads:parts", "create", "--upload-id", up.ID, "--data", tempFile(t, "a", a)))
	p2 := decode[generated.UploadPart](t, apiCLI(t, srv, "", "uploads:parts", "create", up.ID, "--data", "@"+tempFile(t, "b", b)))
	p3 := decode[generated.UploadPart](t, apiCLI(t, srv, string(c), "uploads:parts", "create", "--upload-id", up.ID, "--data", "-"))
	done := decode[generated.Upload](t, apiCLI(t, srv, "", "uploads", "complete", up.ID,
		"--part-id", p1.ID, "--part-id", p2.ID, "--part-id", p3.ID, "--md5", md5hex(all)))
	if done.Status != "completed" || done.File == nil || done.File.Bytes != 2015 || done.File.ExpiresAt == nil || *done.File.ExpiresAt != done.File.CreatedAt+7200 {
		t.Fatalf("completed %+v", done)
	}
	if got := content(t, srv, done.File.ID); !bytes.Equal(got, all) {
		t.Fatalf("content differs")
	}

	other := decode[generated.Upload](t, apiCLI(t, srv, "", "uploads", "create", "--bytes", "1", "--filename", "x.txt", "--mime-type", "text/plain", "--purpose", "assistants"))
	if got := decode[generated.Upload](t, apiCLI(t, srv, "", "uploads", "cancel", "--upload-id", other.ID)); got.Status != "cancelled" {
		t.Fatalf("cancel: %+v", got)
	}

	f := decode[generated.OpenAIFile](t, apiCLI(t, srv, "", "files", "create", "--file", tempFile(t, "notes.jsonl", a), "--purpose", "batch", "--expires-after", "seconds=3600"))
	if f.Filename != "notes.jsonl" || f.Bytes != 1000 || f.Purpose != "batch" || *f.ExpiresAt != f.CreatedAt+3600 {
		t.Fatalf("files create: %+v", f)
	}
	fs := decode[generated.OpenAIFile](t, apiCLI(t, srv, string(c), "files", "create", "--file", "-", "--filename", "stdin.txt", "--purpose", "user_data"))
	if fs.Bytes != int64(len(c)) || fs.Filename != "stdin.txt" {
		t.Fatalf("files create from stdin: %+v", fs)
	}
	list := decode[generated.ListFilesResponse](t, apiCLI(t, srv, "", "files", "list", "--purpose", "batch", "--limit", "5", "--order", "asc"))
	if len(list.Data) != 1 || list.Data[0].ID != f.ID {
		t.Fatalf("files list: %+v", list)
	}
	if got := decode[generated.OpenAIFile](t, apiCLI(t, srv, "", "files", "retrieve", f.ID)); !reflect.DeepEqual(got, f) {
		t.Fatalf("files retrieve: %+v, want %+v", got, f)
	}
	out := filepath.Join(t.TempDir(), "out.bin")
	if r := apiCLI(t, srv, "", "files", "content", "--file-id", done.File.ID, "--output", out); r.code != exitOK || r.stdout != "" {
		t.Fatalf("files content --output: exit %d stdout %q stderr %s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, all) {
		t.Fatalf("--output holds %d bytes, want the %d of the File", len(got), len(all))
	}
	if del := decode[generated.DeleteFileResponse](t, apiCLI(t, srv, "", "files", "delete", "--file-id", f.ID)); !del.Deleted {
		t.Fatalf("files delete: %+v", del)
	}
}

func TestOpenAICLICommandErrors(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	missing := filepath.Join(t.TempDir(), "missing.bin")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"create without bytes", []string{"uploads", "create", "--filename", "a", "--mime-type", "text/plain", "--purpose", "batch"}, exitUsage, []string{"--bytes is required"}},
		{"create with bytes above 8 GB", []string{"uploads", "create", "--bytes", "8589934593", "--filename", "a", "--mime-type", "text/plain", "--purpose", "batch"}, exitUsage, []string{"--bytes", "8589934592"}},
		{"create with a bad purpose", []string{"uploads", "create", "--bytes", "1", "--filename", "a", "--mime-type", "text/plain", "--purpose", "x"}, exitUsage, []string{"--purpose"}},
		{"create with bad expires-after", []string{"uploads", "create", "--bytes", "1", "--filename", "a", "--mime-type", "text/plain", "--purpose", "batch", "--expires-after", "anchor=now,seconds=4000"}, exitUsage, []string{"--expires-after", "created_at"}},
		{"complete without parts", []string{"uploads", "complete", "upload_x"}, exitUsage, []string{"--part-id is required"}},
		{"complete without id", []string{"uploads", "complete", "--part-id", "p"}, exitUsage, []string{"--upload-id is required"}},
		{"complete with a bad md5", []string{"uploads", "complete", "upload_x", "--part-id", "p", "--md5", "12"}, exitUsage, []string{"--md5"}},
		{"cancel without id", []string{"uploads", "cancel"}, exitUsage, []string{"--upload-id is required"}},
		{"cancel with the id twice", []string{"uploads", "cancel", "--upload-id", "upload_a", "upload_b"}, exitUsage, []string{"unexpected arguments", `"upload_b"`, "--upload-id"}},
		{"part without data", []string{"uploads:parts", "create", "--upload-id", "upload_x"}, exitUsage, []string{"--data is required"}},
		{"part from a nonexistent file", []string{"uploads:parts", "create", "--upload-id", "upload_x", "--data", missing}, exitUsage, []string{"--data", "missing.bin"}},
		{"files create without purpose", []string{"files", "create", "--file", missing}, exitUsage, []string{"--purpose is required"}},
		{"files create from a nonexistent file", []string{"files", "create", "--file", missing, "--purpose", "batch"}, exitUsage, []string{"--file", "missing.bin"}},
		{"files create from stdin without a name", []string{"files", "create", "--file", "-", "--purpose", "batch"}, exitUsage, []string{"--filename is required"}},
		{"files list with a bad limit", []string{"files", "list", "--limit", "0"}, exitUsage, []string{"--limit"}},
		{"files list with a bad order", []string{"files", "list", "--order", "up"}, exitUsage, []string{"--order"}},
		{"files retrieve without id", []string{"files", "retrieve"}, exitUsage, []string{"--file-id is required"}},
		{"bad --format", []string{"files", "list", "--format", "yaml"}, exitUsage, []string{"--format"}},
		{"a 404", []string{"files", "retrieve", "file-nope"}, exitFail, []string{"retrieving the File", "404", "invalid_request_error", "file_id", "No such File object: file-nope"}},
		{"a 404 on complete", []string{"uploads", "complete", "upload_nope", "--part-id", "p"}, exitFail, []string{"completing the Upload", "404", "upload_id"}},
		{"a 404 on content", []string{"files", "content", "file-nope"}, exitFail, []string{"downloading the File", "404"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := apiCLI(t, srv, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not say %q", r.stderr, w)
				}
			}
			if strings.Contains(r.stderr+r.stdout, cliKey) {
				t.Errorf("the key was printed")
			}
		})
	}
	if n := srv.Stats().Requests; n != 3 {
		t.Errorf("the server saw %d requests; only the three API errors should have been sent", n)
	}
}

// TestUploadsCreateAtTheLimit: --bytes of exactly 8 GiB, the API's limit, is accepted (one
// byte more is refused; TestOpenAICLICommandErrors).
func TestUploadsCreateAtTheLimit(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	up := decode[generated.Upload](t, apiCLI(t, srv, "", "uploads", "create", "--bytes", "8GiB", "--filename", "big.jsonl",
		"--mime-type", "application/jsonl", "--purpose", "batch"))
	if up.Status != "pending" || up.Bytes != 8<<30 {
		t.Errorf("created %+v, want a pending Upload of 8589934592 bytes", up)
	}
}

// TestPartsCreateAtTheLimit: uploads:parts create takes a file of exactly 64 MiB, the part
// limit, and cuts stdin off once it goes past the limit, with a usage error naming --data,
// even before a server that would take more (a server that stores whatever it is sent).
func TestPartsCreateAtTheLimit(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	up := decode[generated.Upload](t, apiCLI(t, srv, "", "uploads", "create", "--bytes", "64MiB", "--filename", "a.bin",
		"--mime-type", "application/octet-stream", "--purpose", "batch"))
	part := decode[generated.UploadPart](t, apiCLI(t, srv, "", "uploads:parts", "create", up.ID, "--data", sparseFile(t, "part.bin", 64<<20)))
	if part.UploadID != up.ID || srv.Stats().PartBytesStored != 64<<20 {
		t.Errorf("part %+v, %d bytes stored; want the whole 64 MiB in %s", part, srv.Stats().PartBytesStored, up.ID)
	}

	lax := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"part_x","object":"upload.part","created_at":1,"upload_id":"upload_x"}`)
	}))
	defer lax.Close()
	stdin := io.LimitReader(zeros{}, 64<<20+1)
	r := runApp(t, context.Background(), &app{stdin: stdin}, "uploads:parts", "create", "upload_x", "--data", "-",
		"--api-key", cliKey, "--base-url", lax.URL+"/v1")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--data: more than 67108864 bytes") {
		t.Errorf("stdin of 64 MiB + 1: exit %d, stderr %q; want %d naming --data and the limit", r.code, r.stderr, exitUsage)
	}
}

// TestFilesCreateAtTheLimit: files create sends a file of exactly 512 MiB, its limit, and cuts
// stdin off once it goes past the limit, with a usage error naming --file, even before a server
// that would take more (one that reads and drops whatever it is sent).
func TestFilesCreateAtTheLimit(t *testing.T) {
	var received int64
	lax := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"file-x","object":"file","bytes":536870912,"created_at":1,"filename":"big.bin","purpose":"batch","status":"processed"}`)
	}))
	defer lax.Close()
	args := []string{"--purpose", "batch", "--api-key", cliKey, "--base-url", lax.URL + "/v1"}
	r := runApp(t, context.Background(), &app{}, append([]string{"files", "create", "--file", sparseFile(t, "big.bin", 512<<20)}, args...)...)
	if r.code != exitOK || received <= 512<<20 {
		t.Errorf("a file of 512 MiB: exit %d, the server got %d bytes, stderr %q; want it sent whole", r.code, received, r.stderr)
	}
	stdin := io.LimitReader(zeros{}, 512<<20+1)
	r = runApp(t, context.Background(), &app{stdin: stdin}, append([]string{"files", "create", "--file", "-", "--filename", "big.bin"}, args...)...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "--file: more than 536870912 bytes") {
		t.Errorf("stdin of 512 MiB + 1: exit %d, stderr %q; want %d naming --file and the limit", r.code, r.stderr, exitUsage)
	}
}

// TestFilesListAtTheLimitsOfLimit: --limit takes 1 and 10000, the API's bounds, and sends them;
// 10001 is refused before any request (0 too: TestOpenAICLICommandErrors).
func TestFilesListAtTheLimitsOfLimit(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	for _, n := range []string{"1", "2"} {
		decode[generated.OpenAIFile](t, apiCLI(t, srv, "", "files", "create", "--file", tempFile(t, "f"+n+".txt", []byte(n)), "--purpose", "batch"))
	}
	if list := decode[generated.ListFilesResponse](t, apiCLI(t, srv, "", "files", "list", "--limit", "1")); len(list.Data) != 1 || !list.HasMore {
		t.Errorf("--limit 1: %+v, want one File and more", list)
	}
	if list := decode[generated.ListFilesResponse](t, apiCLI(t, srv, "", "files", "list", "--limit", "10000")); len(list.Data) != 2 {
		t.Errorf("--limit 10000: %+v, want both Files", list)
	}
	before := srv.Stats().Requests
	if r := apiCLI(t, srv, "", "files", "list", "--limit", "10001"); r.code != exitUsage || !strings.Contains(r.stderr, "--limit") {
		t.Errorf("--limit 10001: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := srv.Stats().Requests - before; n != 0 {
		t.Errorf("--limit 10001 sent %d requests", n)
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestHelpListsFlags: --help of each command lists its flags.
func TestHelpListsFlags(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		flags []string
	}{
		{[]string{"--help"}, []string{"--api-key", "--base-url", "--organization", "--project", "--format", "upload", "uploads", "uploads:parts", "files", "serve", "demo", "version", "completion", "--version", "Exit codes", "64MB = 64M = 64000000"}},
		{[]string{"upload", "--help"}, []string{"--purpose", "--mime-type", "--filename", "--part-size", "--concurrency", "--no-md5", "--checkpoint", "--quiet", "--wait", "--wait-timeout", "--max-retries", "--api-key", "--base-url", "KiB, MiB, GiB"}},
		{[]string{"uploads", "create", "--help"}, []string{"--bytes", "--filename", "--mime-type", "--purpose", "--expires-after"}},
		{[]string{"uploads", "complete", "--help"}, []string{"--upload-id", "--part-id", "--md5"}},
		{[]string{"uploads", "cancel", "--help"}, []string{"--upload-id"}},
		{[]string{"uploads:parts", "create", "--help"}, []string{"--upload-id", "--data"}},
		{[]string{"files", "create", "--help"}, []string{"--file", "--purpose", "--expires-after"}},
		{[]string{"files", "list", "--help"}, []string{"--purpose", "--limit", "--order", "--after", "--all"}},
		{[]string{"files", "wait", "--help"}, []string{"--file-id", "--wait-timeout", "--quiet", "waitForProcessing"}},
		{[]string{"files", "retrieve", "--help"}, []string{"--file-id"}},
		{[]string{"files", "delete", "--help"}, []string{"--file-id"}},
		{[]string{"files", "content", "--help"}, []string{"--file-id", "--output"}},
		{[]string{"serve", "--help"}, []string{"--addr", "--require-key", "--fault-rate", "--fault-kinds", "--latency", "--bandwidth"}},
		{[]string{"demo", "--help"}, []string{"--size", "--part-size", "--concurrency"}},
	} {
		t.Setenv("OPENAI_API_KEY", cliKey)
		r := runCLI(t, "", tc.args...)
		if r.code != exitOK {
			t.Errorf("%v: exit %d", tc.args, r.code)
		}
		for _, f := range tc.flags {
			if !strings.Contains(r.stdout, f) {
				t.Errorf("%v does not list %s", tc.args, f)
			}
		}
		if strings.Contains(r.stdout+r.stderr, cliKey) {
			t.Errorf("%v prints the key from the environment", tc.args)
		}
	}
}

func TestDemo(t *testing.T) {
	r := runCLI(t, "", "demo", "--size", "3MiB", "--part-size", "1MiB")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"bytes:   3145728", "parts:   3 of 1.00 MiB", "seconds:", "MB/s:", "md5:     ok"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	given := tempFile(t, "mine.jsonl", sample(100_000))
	if r := runCLI(t, "", "demo", given, "--part-size", "32KiB", "-q"); r.code != exitOK || !strings.Contains(r.stdout, "bytes:   100000") || r.stderr != "" && strings.Contains(r.stderr, "parts") {
		t.Errorf("demo PATH: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "", "demo", "--size", "10"); r.code != exitUsage || !strings.Contains(r.stderr, "--size") {
		t.Errorf("tiny --size: exit %d %s", r.code, r.stderr)
	}
}

func TestSampleLinesHaveTheExactSize(t *testing.T) {
	for _, size := range []int64{demoMinSize, 100, 4096, 1<<20 + 3} {
		var buf bytes.Buffer
		if err := sampleLines(&buf, size); err != nil {
			t.Fatal(err)
		}
		if int64(buf.Len()) != size {
			t.Errorf("%d: wrote %d bytes", size, buf.Len())
		}
		for i, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
			if !json.Valid([]byte(line)) {
				t.Fatalf("%d: line %d is not JSON: %q", size, i, line)
			}
		}
	}
}

// TestHelpShowsOneDefault: no flag's help shows two defaults ("(default 10000) (default: 0)").
func TestHelpShowsOneDefault(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"upload", "--help"}, {"uploads", "create", "--help"}, {"uploads", "complete", "--help"},
		{"uploads:parts", "create", "--help"}, {"files", "create", "--help"}, {"files", "list", "--help"}, {"files", "wait", "--help"},
		{"files", "content", "--help"}, {"serve", "--help"}, {"demo", "--help"}} {
		r := runCLI(t, "", args...)
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.Count(line, "(default") > 1 {
				t.Errorf("%v: %q shows two defaults", args, strings.TrimSpace(line))
			}
		}
		if strings.Contains(r.stdout, "(default: 0)") && args[0] == "files" {
			t.Errorf("%v shows a meaningless default of 0", args)
		}
	}
	r := runCLI(t, "", "files", "list", "--help")
	if !strings.Contains(r.stdout, "--limit int       files per page, 1..10000 (default: the API's, 10000)\n") {
		t.Errorf("files list --help:\n%s", r.stdout)
	}
}
