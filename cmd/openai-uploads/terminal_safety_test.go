package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
)

// consoleOwn matches the escape sequences the console itself writes: cursor up, erase the
// screen below, erase the line (the ^C echo).
var consoleOwn = regexp.MustCompile(`\r(\x1b\[\d+A)?\x1b\[[JK]`)

// foreignControls returns the control characters in out other than the console's own sequences,
// line ends and tabs: what a file name or a server could use to move the cursor, clear the
// screen, retitle the window or hide text.
func foreignControls(out string) []string {
	var found []string
	for _, r := range consoleOwn.ReplaceAllString(out, "") {
		if r == '\n' || r == '\t' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			found = append(found, fmt.Sprintf("%U", r))
		}
	}
	return found
}

// TestFileNameControlsNeverReachTheTerminal: a file whose name holds a line break and an escape
// sequence (names are bytes; any can be made with touch) is shown with them escaped: the progress
// stays one line redrawn in place, and the terminal is not recoloured.
func TestFileNameControlsNeverReachTheTerminal(t *testing.T) {
	srv := refServer(t, conformance.ServerOptions{Latency: 20 * time.Millisecond})
	name := "evil\x1b[31mRED\nX\u202e.jsonl"
	path := tempFile(t, name, sample(1<<20))
	for _, terminal := range []bool{true, false} {
		t.Run(fmt.Sprintf("terminal=%v", terminal), func(t *testing.T) {
			a := validatingApp(t, "")
			if terminal {
				a.terminalWidth = func() int { return 80 }
			}
			screen := &screenWriter{t: t, vt: newVT(80), label: "evil"}
			var stdout bytes.Buffer
			a.stdout, a.stderr = &stdout, screen
			code := runWatched(t, context.Background(), a, []string{"openai-uploads", "upload", path, "--purpose", "batch",
				"--mime-type", "application/jsonl", "--part-size", "128KiB", "--concurrency", "1", "--api-key", cliKey, "--base-url", srv.URL})
			if code != exitOK {
				t.Fatalf("exit %d: %q", code, screen.raw.String())
			}
			if bad := foreignControls(screen.raw.String()); len(bad) > 0 {
				t.Errorf("the name's control characters reached the terminal (%v):\n%q", bad, screen.raw.String())
			}
			var got []string // the lines naming the file: the two naming the Upload aside
			for _, l := range screen.vt.screen() {
				if !strings.HasPrefix(l, "openai-uploads: Upload ") && !strings.HasPrefix(l, "  cancel it: ") {
					got = append(got, l)
				}
			}
			if terminal && (len(got) != 1 || !strings.HasPrefix(got[0], `evil\x1b[31m`) || !strings.Contains(got[0], "done")) {
				t.Errorf("final screen %q, want one line naming the file with its controls escaped, saying done", got)
			}
			if !strings.Contains(stdout.String(), `evil\u001b[31mRED\nX`) {
				t.Errorf("stdout %q does not hold the File's name as JSON escapes it", stdout.String())
			}
		})
	}
}

// TestServerTextNeverControlsTheTerminal: what a server says (an error's message, a File's
// status_details) reaches stderr with its control characters escaped, so that a server cannot
// clear the screen, rewrite the line or retitle the window of the person reading it; the words
// are still there.
func TestServerTextNeverControlsTheTerminal(t *testing.T) {
	evil, err := json.Marshal("bad \x1b[2J\x1b[31mthing\r\x1b]0;pwned\x07 \u009b31m done")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/file-failed") {
			fmt.Fprintf(w, `{"id":"file-failed","object":"file","bytes":1,"created_at":1,"filename":"a.jsonl","purpose":"batch","status":"error","status_details":%s}`, evil)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"message":%s,"type":"invalid_request_error","param":null,"code":null}}`, evil)
	}))
	t.Cleanup(srv.Close)
	for _, args := range [][]string{
		{"files", "retrieve", "file-abc"},
		{"files", "wait", "file-failed"},
	} {
		for _, width := range []int{0, 80} {
			a := &app{}
			if width > 0 {
				a.terminalWidth = func() int { return width }
			}
			r := runApp(t, context.Background(), a, append(args, "--api-key", cliKey, "--base-url", srv.URL+"/v1")...)
			if r.code != exitFail {
				t.Errorf("%v: exit %d, want 1: %q", args, r.code, r.stderr)
			}
			if bad := foreignControls(r.stderr); len(bad) > 0 {
				t.Errorf("%v (width %d): the server's control characters reached the terminal (%v):\n%q", args, width, bad, r.stderr)
			}
			if !strings.Contains(r.stderr, "bad ") || !strings.Contains(r.stderr, "thing") || !strings.Contains(r.stderr, "done") {
				t.Errorf("%v: the server's words are lost: %q", args, r.stderr)
			}
		}
	}
}
