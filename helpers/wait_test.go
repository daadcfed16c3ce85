package helpers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// statusScript rewrites the status the reference server reports for a File (it always says
// "processed"): the n-th retrieve of a File (from 0) answers statuses[n], the last one from then
// on. It stands in for OpenAI, whose processing takes a while and may fail.
type statusScript struct {
	mu       sync.Mutex
	statuses []string
	details  string // status_details sent with "error"
	polls    map[string]int
}

func (s *statusScript) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/v1/files/")
		if r.Method != http.MethodGet || !ok || rest == "" || strings.Contains(rest, "/") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var file map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &file) != nil {
			copyRecorded(w, rec)
			return
		}
		s.mu.Lock()
		n := s.polls[rest]
		s.polls[rest] = n + 1
		status := s.statuses[min(n, len(s.statuses)-1)]
		s.mu.Unlock()
		file["status"] = status
		if status == "error" && s.details != "" {
			file["status_details"] = s.details
		}
		body, _ := json.Marshal(file)
		rec.Body = bytes.NewBuffer(body)
		rec.Header().Del("Content-Length")
		copyRecorded(w, rec)
	})
}

func (s *statusScript) count(fileID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls[fileID]
}

func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// waitFixture is a reference server behind a status script, a client of it (its traffic checked
// against the spec) and one File.
func waitFixture(t *testing.T, script *statusScript) (*helpers.Client, string) {
	t.Helper()
	script.polls = map[string]int{}
	srv := startServer(t, conformance.ServerOptions{}, script.wrap)
	c := newClient(t, srv.URL)
	f, err := c.CreateFile(context.Background(), strings.NewReader(`{"a":1}`+"\n"), 8, "data.jsonl", "batch", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, f.ID
}

// fastPolls polls every millisecond: the tests count polls, never time. The timeout only bounds
// a broken wait, so that it fails instead of hanging.
var fastPolls = helpers.WaitOptions{PollInterval: time.Millisecond, MaxPollInterval: time.Millisecond, Timeout: time.Minute}

func TestWaitForProcessingReturnsTheProcessedFile(t *testing.T) {
	script := &statusScript{statuses: []string{"uploaded", "uploaded", "uploaded", "processed"}}
	c, id := waitFixture(t, script)
	var seen []string
	opts := fastPolls
	opts.OnPoll = func(f *generated.OpenAIFile) { seen = append(seen, string(f.Status)) }
	f, err := c.WaitForProcessing(context.Background(), id, opts)
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != id || f.Status != generated.OpenAIFileStatusProcessed {
		t.Errorf("got %+v, want file %s processed", f, id)
	}
	want := []string{"uploaded", "uploaded", "uploaded", "processed"}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("OnPoll saw %v, want %v", seen, want)
	}
	if n := script.count(id); n != 4 {
		t.Errorf("%d polls, want 4 (it stops at processed)", n)
	}
}

func TestWaitForProcessingReportsAFailedFile(t *testing.T) {
	script := &statusScript{statuses: []string{"uploaded", "error"}, details: "line 3 is not valid JSON"}
	c, id := waitFixture(t, script)
	f, err := c.WaitForProcessing(context.Background(), id, fastPolls)
	var pe *helpers.ProcessingError
	if !errors.As(err, &pe) || f != nil {
		t.Fatalf("got %v, %v; want a *ProcessingError and no File", f, err)
	}
	if pe.File.ID != id || pe.File.Status != generated.OpenAIFileStatusError {
		t.Errorf("the error carries %+v", pe.File)
	}
	for _, want := range []string{id, "failed processing", "line 3 is not valid JSON"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if n := script.count(id); n != 2 {
		t.Errorf("%d polls, want 2 (it stops at error)", n)
	}
}

func TestWaitForProcessingTimesOut(t *testing.T) {
	script := &statusScript{statuses: []string{"uploaded"}}
	c, id := waitFixture(t, script)
	// The first poll, immediate, must be answered before the timeout for the error to carry its
	// status: 20 ms was less than one request takes on a loaded machine (-race, 2 cores), and the
	// wait then ended with no status. 300 ms leaves room; polls every 50 ms keep it cheap.
	opts := helpers.WaitOptions{PollInterval: 50 * time.Millisecond, MaxPollInterval: 50 * time.Millisecond, Timeout: 300 * time.Millisecond}
	// The caller's deadline, 100 times the wait's Timeout, only bounds a wait whose Timeout is
	// not applied: it then fails here (with the context's error) instead of polling for ever.
	ctx, cancel := context.WithTimeout(context.Background(), 100*opts.Timeout)
	defer cancel()
	_, err := c.WaitForProcessing(ctx, id, opts)
	var te *helpers.WaitTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a *WaitTimeoutError", err)
	}
	if te.FileID != id || te.Status != string(generated.OpenAIFileStatusUploaded) || te.Timeout != opts.Timeout {
		t.Errorf("timeout error %+v", te)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) is false", err)
	}
	if script.count(id) < 1 {
		t.Errorf("no poll before the timeout")
	}
}

func TestWaitForProcessingStopsWithTheContext(t *testing.T) {
	script := &statusScript{statuses: []string{"uploaded"}}
	c, id := waitFixture(t, script)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := fastPolls
	opts.OnPoll = func(*generated.OpenAIFile) {
		if script.count(id) == 3 {
			cancel()
		}
	}
	_, err := c.WaitForProcessing(ctx, id, opts)
	var te *helpers.WaitTimeoutError
	if !errors.Is(err, context.Canceled) || errors.As(err, &te) {
		t.Fatalf("got %v, want context.Canceled and no timeout error", err)
	}
	if n := script.count(id); n != 3 {
		t.Errorf("%d polls, want 3: none after the context ended", n)
	}
}

func TestWaitForProcessingRefusedPoll(t *testing.T) {
	script := &statusScript{statuses: []string{"uploaded"}}
	c, id := waitFixture(t, script)
	if _, err := c.DeleteFile(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	_, err := c.WaitForProcessing(context.Background(), id, fastPolls)
	var apiErr *helpers.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Fatalf("got %v, want the 404 of a deleted File", err)
	}
	if _, err := c.WaitForProcessing(context.Background(), " ", fastPolls); err == nil {
		t.Errorf("an empty file id was accepted")
	}
}
