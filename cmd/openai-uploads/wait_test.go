package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// processingServer is the reference server behind a handler that makes Files take a while to
// process, as OpenAI's do: the n-th retrieve of a File (from 0) reports statuses[n] (the last one
// from then on), with details when the status is "error". It also counts list requests (pages).
type processingServer struct {
	URL      string
	mu       sync.Mutex
	statuses []string
	details  string
	polls    map[string]int
	pages    atomic.Int32
}

func startProcessingServer(t *testing.T, statuses ...string) *processingServer {
	t.Helper()
	s, err := conformance.NewServer(conformance.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ps := &processingServer{statuses: statuses, polls: map[string]int{}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/files" {
			ps.pages.Add(1)
		}
		id, ok := strings.CutPrefix(r.URL.Path, "/v1/files/")
		if r.Method != http.MethodGet || !ok || strings.Contains(id, "/") {
			s.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		var file map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &file) == nil {
			ps.mu.Lock()
			n := ps.polls[id]
			ps.polls[id] = n + 1
			status := ps.statuses[min(n, len(ps.statuses)-1)]
			ps.mu.Unlock()
			file["status"] = status
			if status == "error" {
				file["status_details"] = ps.details
			}
			body, _ := json.Marshal(file)
			rec.Body = bytes.NewBuffer(body)
		}
		w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(func() {
		ts.Close()
		_ = s.Close()
	})
	ps.URL = ts.URL + "/v1"
	return ps
}

func (ps *processingServer) pollsOf(id string) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.polls[id]
}

// waitCLI runs the command against ps with polls every millisecond.
func waitCLI(t *testing.T, ps *processingServer, args ...string) result {
	t.Helper()
	a := validatingApp(t, "")
	a.pollInterval = time.Millisecond
	return runApp(t, context.Background(), a, append(args, "--api-key", cliKey, "--base-url", ps.URL)...)
}

func newFile(t *testing.T, ps *processingServer, name string) generated.OpenAIFile {
	t.Helper()
	return decode[generated.OpenAIFile](t, waitCLI(t, ps, "files", "create", "--file", tempFile(t, name, []byte(`{"a":1}`+"\n")), "--purpose", "batch"))
}

func TestFilesWait(t *testing.T) {
	t.Run("processed", func(t *testing.T) {
		ps := startProcessingServer(t, "uploaded", "uploaded", "processed")
		f := newFile(t, ps, "a.jsonl")
		r := waitCLI(t, ps, "files", "wait", f.ID)
		got := decode[generated.OpenAIFile](t, r)
		if got.ID != f.ID || got.Status != generated.OpenAIFileStatusProcessed || ps.pollsOf(f.ID) != 3 {
			t.Errorf("printed %+v after %d polls, want the processed File after 3", got, ps.pollsOf(f.ID))
		}
		for _, want := range []string{f.ID + ": waiting until it is processed (at most 30m0s)", f.ID + ": processed after"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr %q lacks %q", r.stderr, want)
			}
		}
	})
	t.Run("failed", func(t *testing.T) {
		ps := startProcessingServer(t, "uploaded", "error")
		ps.details = "Invalid file format: line 3 is not JSON"
		f := newFile(t, ps, "a.jsonl")
		r := waitCLI(t, ps, "files", "wait", "--file-id", f.ID)
		if r.code != exitFail {
			t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
		}
		var got generated.OpenAIFile
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Status != generated.OpenAIFileStatusError {
			t.Errorf("stdout %q: want the failed File", r.stdout)
		}
		for _, want := range []string{"failed processing", "line 3 is not JSON"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr %q lacks %q", r.stderr, want)
			}
		}
	})
	t.Run("timeout", func(t *testing.T) {
		ps := startProcessingServer(t, "uploaded")
		f := newFile(t, ps, "a.jsonl")
		// The first poll, immediate, must be answered within the wait's timeout for the message to
		// carry its status: 30 ms was less than one request can take on a loaded machine (-race,
		// 2 cores). 300 ms leaves room; polls every 50 ms keep it cheap.
		a := validatingApp(t, "")
		a.pollInterval = 50 * time.Millisecond
		r := runApp(t, context.Background(), a, "files", "wait", f.ID, "--wait-timeout", "300ms", "--api-key", cliKey, "--base-url", ps.URL)
		if r.code != exitFail || r.stdout != "" || !strings.Contains(r.stderr, "was not processed within 300ms (last status: uploaded)") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if ps.pollsOf(f.ID) < 1 {
			t.Errorf("no poll")
		}
	})
	t.Run("quiet", func(t *testing.T) {
		ps := startProcessingServer(t, "processed")
		f := newFile(t, ps, "a.jsonl")
		if r := waitCLI(t, ps, "files", "wait", f.ID, "-q"); r.code != exitOK || r.stderr != "" {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// TestUploadWait: upload --wait prints the Upload whose File is the processed one.
func TestUploadWait(t *testing.T) {
	ps := startProcessingServer(t, "uploaded", "uploaded", "processed")
	path := tempFile(t, "train.jsonl", sample(100_000))
	r := waitCLI(t, ps, "upload", path, "--purpose", "fine-tune", "--part-size", "32KiB", "--wait")
	up := decodeUpload(t, r)
	if up.File.Status != generated.OpenAIFileStatusProcessed || ps.pollsOf(up.File.ID) != 3 {
		t.Errorf("File %+v after %d polls, want processed after 3", up.File, ps.pollsOf(up.File.ID))
	}
	if !strings.Contains(r.stderr, "train.jsonl: done") || !strings.Contains(r.stderr, up.File.ID+": processed after") {
		t.Errorf("stderr %q", r.stderr)
	}

	ps = startProcessingServer(t, "error")
	ps.details = "bad line"
	r = waitCLI(t, ps, "upload", path, "--purpose", "fine-tune", "--wait-timeout", "1m")
	if r.code != exitFail || !strings.Contains(r.stdout, `"status":"error"`) || !strings.Contains(r.stderr, "failed processing (status error): bad line") {
		t.Errorf("processing failed: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestFilesListAll: --all follows the pages and prints one list of every file.
func TestFilesListAll(t *testing.T) {
	ps := startProcessingServer(t, "processed")
	var ids []string
	for _, n := range []string{"a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl", "e.jsonl"} {
		ids = append(ids, newFile(t, ps, n).ID)
	}
	ps.pages.Store(0)
	list := decode[generated.ListFilesResponse](t, waitCLI(t, ps, "files", "list", "--all", "--limit", "2", "--order", "asc"))
	var got []string
	for _, f := range list.Data {
		got = append(got, f.ID)
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") || list.HasMore || *list.FirstID != ids[0] || *list.LastID != ids[4] {
		t.Errorf("listed %v (has_more %v), want %v", got, list.HasMore, ids)
	}
	if n := ps.pages.Load(); n != 3 {
		t.Errorf("%d pages, want 3", n)
	}
	one := decode[generated.ListFilesResponse](t, waitCLI(t, ps, "files", "list", "--limit", "2"))
	if len(one.Data) != 2 || !one.HasMore {
		t.Errorf("without --all: %d files, has_more %v", len(one.Data), one.HasMore)
	}
}
