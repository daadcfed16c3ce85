package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// ids matches the API's ids and request ids, which are random and may read like camelCase.
var ids = regexp.MustCompile(`\b(file|upload|part|req)[-_][A-Za-z0-9]+`)

// TestFailuresSpeakCLI: the line of a failed request says what the command was doing in words
// ("retrieving the File: 404 Not Found …") rather than the API's operationId and Go's rendering
// of the request ("retrieveFile: …", `createUpload: Post "http://…": …`), for every operation and
// for a server that cannot be reached.
func TestFailuresSpeakCLI(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	part := tempFile(t, "part.bin", sample(1000))
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := "http://" + closed.Addr().String() + "/v1"
	closed.Close()
	for _, tc := range []struct {
		base string
		args []string
		says string
	}{
		{srv.URL, []string{"files", "retrieve", "file-nope"}, "retrieving the File: 404"},
		{srv.URL, []string{"files", "delete", "file-nope"}, "deleting the File: 404"},
		{srv.URL, []string{"files", "content", "file-nope"}, "downloading the File: 404"},
		{srv.URL, []string{"files", "list", "--after", "file-nope"}, "listing files: 400"},
		{srv.URL, []string{"files", "create", "--file", part, "--purpose", "batch", "--expires-after", "seconds=3600"}, ""},
		{srv.URL, []string{"uploads", "cancel", "upload_nope"}, "cancelling the Upload: 404"},
		{srv.URL, []string{"uploads", "complete", "upload_nope", "--part-id", "part_x"}, "completing the Upload: 404"},
		{srv.URL, []string{"uploads:parts", "create", "upload_nope", "--data", part}, "sending the part: 404"},
		{srv.URL, []string{"uploads", "create", "--bytes", "0", "--filename", "a", "--mime-type", "text/plain", "--purpose", "batch", "--expires-after", "seconds=3600"}, ""},
		{nowhere, []string{"uploads", "create", "--bytes", "10", "--filename", "a", "--mime-type", "text/plain", "--purpose", "batch"}, "creating the Upload: POST " + nowhere + "/uploads: "},
		{nowhere, []string{"files", "list"}, "listing files: GET " + nowhere + "/files: "},
	} {
		r := runCLI(t, "", append([]string{"--api-key", cliKey, "--base-url", tc.base}, tc.args...)...)
		if tc.says == "" { // succeeded: nothing to read
			if r.code != exitOK {
				t.Errorf("%v: exit %d: %s", tc.args, r.code, r.stderr)
			}
			continue
		}
		line := strings.TrimSpace(r.stderr)
		if r.code != exitFail || !strings.Contains(line, tc.says) {
			t.Errorf("%v: exit %d, %q; want 1, saying %q", tc.args, r.code, line, tc.says)
		}
		masked := paths.ReplaceAllString(ids.ReplaceAllString(urls.ReplaceAllString(line, "URL"), "ID"), "/PATH")
		if found := speaksGo(masked); len(found) > 0 || clientSpeak.MatchString(strings.ReplaceAll(line, nowhere, "BASE")) {
			t.Errorf("%v: %q speaks Go: %v", tc.args, line, found)
		}
	}
}

// TestBaseURLWithAQueryIsRefused: a base URL with a query or fragment is a usage error before any
// request (the generated client joined paths onto it so that the requests went to the host's
// root, /files, and failed as 404s there), and the message does not repeat the query, which may
// hold a key.
func TestBaseURLWithAQueryIsRefused(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	before := srv.Stats().Requests
	for _, base := range []string{srv.URL + "?key=sk-in-the-url", srv.URL + "#sk-in-the-url", srv.URL + "?"} {
		r := runCLI(t, "", "--api-key", cliKey, "--base-url", base, "files", "list")
		if r.code != exitUsage || !strings.Contains(r.stderr, "--base-url") || strings.Contains(r.stderr, "sk-in-the-url") {
			t.Errorf("%s: exit %d, %q; want a usage error naming --base-url, without the query", base, r.code, r.stderr)
		}
	}
	if n := srv.Stats().Requests - before; n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestContentOutputLikeOtherTools: files content --output makes a file as other tools do, with
// the permissions the umask gives (it was 0600, unreadable to the group and to others whatever
// the umask), and --output - means stdout (it made a file named "-").
func TestContentOutputLikeOtherTools(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{})
	data := tempFile(t, "a.jsonl", []byte(`{"a":1}`+"\n"))
	r := apiCLI(t, srv, "", "files", "create", "--file", data, "--purpose", "batch")
	id := decode[generated.OpenAIFile](t, r).ID
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)

	out := filepath.Join(t.TempDir(), "out.jsonl")
	if r := apiCLI(t, srv, "", "files", "content", id, "--output", out); r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("--output made %v (%v), want mode 0644 under umask 022", info.Mode().Perm(), err)
	}

	dir := t.TempDir()
	t.Chdir(dir)
	r = apiCLI(t, srv, "", "files", "content", id, "--output", "-")
	if r.code != exitOK || r.stdout != `{"a":1}`+"\n" {
		t.Errorf("--output -: exit %d, stdout %q", r.code, r.stdout)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("--output - left %d files in the directory", len(entries))
	}
}
