package helpers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openai-uploads/uploads/generated"
)

// filesPages serves the files list from pages, each chosen by the request's after parameter.
func filesPages(t *testing.T, pages map[string]generated.ListFilesResponse) *Client {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Query().Get("after")]
		if r.Method != http.MethodGet || r.URL.Path != "/v1/files" || !ok {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			http.Error(w, "{}", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	}))
	t.Cleanup(ts.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := NewClient(ClientOptions{APIKey: "sk-findfile-test-key", BaseURL: ts.URL + "/v1", HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listedFile(id, name string, size, createdAt int64) generated.OpenAIFile {
	return generated.OpenAIFile{ID: id, Object: generated.OpenAIFileObjectFile, Filename: name, Bytes: size,
		CreatedAt: createdAt, Purpose: "batch", Status: generated.OpenAIFileStatusProcessed}
}

// TestFindFileReadsEveryPage: the File of a lost complete is looked for page after page, newest
// first, down to the Upload's creation: on a first page holding only another File, the search
// goes on to the next; the newest match is returned, and every match since is counted (a File
// created before the Upload is not).
func TestFindFileReadsEveryPage(t *testing.T) {
	newer, b, a := "file-newer", "file-b", "file-a"
	c := filesPages(t, map[string]generated.ListFilesResponse{
		"": {Object: generated.ListFilesResponseObjectList, HasMore: true, FirstID: &newer, LastID: &newer,
			Data: []generated.OpenAIFile{listedFile(newer, "other.jsonl", 10, 300)}},
		newer: {Object: generated.ListFilesResponseObjectList, HasMore: true, FirstID: &b, LastID: &a,
			Data: []generated.OpenAIFile{listedFile(b, "a.jsonl", 10, 200), listedFile(a, "a.jsonl", 10, 150)}},
		a: {Object: generated.ListFilesResponseObjectList,
			Data: []generated.OpenAIFile{listedFile("file-before", "a.jsonl", 10, 50)}},
	})
	f, matches, err := c.findFile(context.Background(), "a.jsonl", 10, "batch", 100, nil)
	if err != nil || f == nil || f.ID != b || matches != 2 {
		id := ""
		if f != nil {
			id = f.ID
		}
		t.Errorf("findFile = %q, %d matches, %v; want %s, the newer of 2 matches", id, matches, err, b)
	}
}

// TestListCandidatesFromSince: the candidates for a small file's lost POST /files are the Files
// of its name, size and purpose created at or after since (the one created at since itself
// included), newest first, read page after page.
func TestListCandidatesFromSince(t *testing.T) {
	other := "file-other"
	c := filesPages(t, map[string]generated.ListFilesResponse{
		"": {Object: generated.ListFilesResponseObjectList, HasMore: true, LastID: &other, Data: []generated.OpenAIFile{
			listedFile("file-2", "a.jsonl", 10, 200), listedFile(other, "b.jsonl", 10, 180)}},
		other: {Object: generated.ListFilesResponseObjectList, Data: []generated.OpenAIFile{
			listedFile("file-1", "a.jsonl", 10, 150), listedFile("file-0", "a.jsonl", 10, 149)}},
	})
	cands, err := c.listCandidates(context.Background(), "a.jsonl", 10, "batch", 150)
	var ids []string
	for _, f := range cands {
		ids = append(ids, f.ID)
	}
	if err != nil || len(ids) != 2 || ids[0] != "file-2" || ids[1] != "file-1" {
		t.Errorf("candidates %v, %v; want file-2 and file-1 (created at since)", ids, err)
	}
}
