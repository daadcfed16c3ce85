package conformance

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"
)

// serve sends one request to s and decodes the id of its JSON answer, failing the test unless
// the answer is a 200.
func serve(t *testing.T, s *Server, method, path, contentType string, body []byte) string {
	t.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1"+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer sk-test")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	return v.ID
}

// TestFinishedUploadsLeaveNoPartRecords: cancelling or completing an Upload deletes its part
// records from state.db in the same transaction (their bytes are freed, or now the File's), so
// none is left for the next start to drop.
func TestFinishedUploadsLeaveNoPartRecords(t *testing.T) {
	dir := t.TempDir()
	s, err := NewServer(ServerOptions{Storage: DiskStorage, StorageDir: dir, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	w, _ := mw.CreateFormFile("data", "blob")
	_, _ = w.Write([]byte("abc"))
	_ = mw.Close()
	withPart := func() (upload, part string) {
		upload = serve(t, s, "POST", "/v1/uploads", "application/json", []byte(`{"bytes":3,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`))
		return upload, serve(t, s, "POST", "/v1/uploads/"+upload+"/parts", mw.FormDataContentType(), form.Bytes())
	}
	cancelled, _ := withPart()
	serve(t, s, "POST", "/v1/uploads/"+cancelled+"/cancel", "", nil)
	completed, part := withPart()
	serve(t, s, "POST", "/v1/uploads/"+completed+"/complete", "application/json", []byte(`{"part_ids":["`+part+`"]}`))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	j, err := openBolt(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	st, err := j.load()
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]string{}
	for _, u := range st.uploads {
		statuses[u.Upload.ID] = string(u.Upload.Status)
	}
	if len(statuses) != 2 || statuses[cancelled] != "cancelled" || statuses[completed] != "completed" {
		t.Errorf("state.db holds Uploads %v, want the one cancelled and the one completed", statuses)
	}
	for _, id := range []string{cancelled, completed} {
		if n := len(st.parts[id]); n != 0 {
			t.Errorf("state.db still holds %d part record(s) of the %s Upload", n, statuses[id])
		}
	}
}
