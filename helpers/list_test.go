package helpers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// countLists counts GET /v1/files requests (pages).
func countLists(n *atomic.Int32) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Path == "/v1/files" {
				n.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func createFiles(t *testing.T, c *helpers.Client, purpose string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		f, err := c.CreateFile(context.Background(), strings.NewReader("x\n"), 2, fmt.Sprintf("f%d.jsonl", i), generated.CreateFileRequestPurpose(purpose), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	return ids
}

func TestListAllFilesFollowsThePages(t *testing.T) {
	var pages atomic.Int32
	srv := startServer(t, conformance.ServerOptions{}, countLists(&pages))
	c := newClient(t, srv.URL)
	batch := createFiles(t, c, "batch", 7)
	createFiles(t, c, "assistants", 2)

	limit, order, purpose := int64(3), generated.ListFilesParamsOrderAsc, "batch"
	params := &generated.ListFilesParams{Limit: &limit, Order: &order, Purpose: &purpose}
	var got []string
	for f, err := range c.ListAllFiles(context.Background(), params) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.ID)
	}
	if strings.Join(got, ",") != strings.Join(batch, ",") {
		t.Errorf("listed %v, want the 7 batch files in creation order %v", got, batch)
	}
	if n := pages.Load(); n != 3 {
		t.Errorf("%d pages requested, want 3 (3+3+1)", n)
	}
	if params.After != nil {
		t.Errorf("params was modified: After %q", *params.After)
	}

	// Breaking out of the loop sends no further request.
	pages.Store(0)
	seen := 0
	for _, err := range c.ListAllFiles(context.Background(), params) {
		if err != nil {
			t.Fatal(err)
		}
		if seen++; seen == 2 {
			break
		}
	}
	if n := pages.Load(); n != 1 {
		t.Errorf("%d pages requested after a break in the first page, want 1", n)
	}

	// All purposes, newest first, the API's page size.
	got = got[:0]
	for f, err := range c.ListAllFiles(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.ID)
	}
	if len(got) != 9 || got[len(got)-1] != batch[0] {
		t.Errorf("listed %v, want 9 files ending with the oldest", got)
	}
}

func TestListAllFilesStopsOnErrors(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	// Not through the validating transport, which would refuse the request before it is sent.
	c, err := helpers.NewClient(helpers.ClientOptions{APIKey: testKey, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	n := 0
	for _, err := range c.ListAllFiles(context.Background(), &generated.ListFilesParams{Limit: &zero}) {
		n++
		var apiErr *helpers.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
			t.Errorf("got %v, want the API's 400", err)
		}
	}
	if n != 1 {
		t.Errorf("%d values yielded, want the one error", n)
	}

	// A server that says has_more but hands back the same cursor: an error, not an endless loop.
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last := "file-same"
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(generated.ListFilesResponse{
			Object: generated.ListFilesResponseObjectList, HasMore: true, FirstID: &last, LastID: &last,
			Data: []generated.OpenAIFile{{ID: last, Object: "file", Filename: "a", Purpose: "batch", Status: "processed"}},
		})
	}))
	defer loop.Close()
	lc, err := helpers.NewClient(helpers.ClientOptions{APIKey: testKey, BaseURL: loop.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	files, errs := 0, 0
	for _, err := range lc.ListAllFiles(context.Background(), nil) {
		if err != nil {
			errs++
			if !strings.Contains(err.Error(), "listing page 3 of files") || !strings.Contains(err.Error(), "no new cursor") {
				t.Errorf("error %v does not name the page (the third) and explain the cursor", err)
			}
		} else {
			files++
		}
	}
	if files != 2 || errs != 1 {
		t.Errorf("%d files and %d errors, want 2 pages of one file then the error", files, errs)
	}
}
