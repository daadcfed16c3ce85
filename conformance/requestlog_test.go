package conformance_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// TestRequestLogNeverHoldsTheKey: a client that puts its key in the URL (a base URL built from
// the wrong variable, a key pasted as an id) does not find it in the request log: not in the
// query (never logged), not in the path, plain or percent-encoded, whether the server requires
// that key or accepts any. The rest of the path stays readable.
func TestRequestLogNeverHoldsTheKey(t *testing.T) {
	const key = "sk-log-secret-4711"
	for _, required := range []string{key, ""} {
		var mu sync.Mutex
		var logged []conformance.RequestRecord
		srv, err := conformance.NewServer(conformance.ServerOptions{APIKey: required, SweepInterval: -1, RequestLog: func(r conformance.RequestRecord) {
			mu.Lock()
			logged = append(logged, r)
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		for _, target := range []string{
			"/v1/files?api_key=" + key,
			"/v1/" + key + "/files",
			"/v1/files/" + key,
			"/v1/files/" + key + "/content",
			"/" + key,
			"/v1/files/%73k-log-secret-4711",     // the key with its first letter percent-encoded
			"/v1/files/sk%2Dlog%2Dsecret%2D4711", // and with its dashes
			"/v1/uploads/x" + key + "y/cancel",
		} {
			req := httptest.NewRequest("GET", target, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			srv.ServeHTTP(httptest.NewRecorder(), req)
		}
		mu.Lock()
		if len(logged) != 8 {
			t.Fatalf("%d records, want 8", len(logged))
		}
		for _, r := range logged {
			decoded, err := url.PathUnescape(r.Path)
			if err != nil {
				t.Errorf("logged path %q is not an escaped path: %v", r.Path, err)
			}
			if strings.Contains(r.Path, key) || strings.Contains(decoded, key) {
				t.Errorf("required key %q: the request log holds the key: %+v", required, r)
			}
		}
		if got := logged[1].Path; !strings.HasPrefix(got, "/v1/") || !strings.HasSuffix(got, "/files") {
			t.Errorf("the redacted path %q no longer shows the rest of the path", got)
		}
		mu.Unlock()
	}
}

// TestRequestLogSaysWhenTheClientBrokeTheBody: a part whose client goes away mid-body is logged
// as cut off, saying so, not as a plain 400 that nobody received (which reads like a client
// sending bad requests).
func TestRequestLogSaysWhenTheClientBrokeTheBody(t *testing.T) {
	logged := make(chan conformance.RequestRecord, 10)
	srv := start(t, conformance.ServerOptions{RequestLog: func(r conformance.RequestRecord) { logged <- r }})
	c := validatingClient(t, srv.URL)
	up := createUpload(t, c, 1<<20)
	<-logged // createUpload's
	conn := slowPart(t, srv.Addr, up.ID, 1<<20)
	if _, err := conn.Write(pattern(64 << 10)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the server read the first bytes", func() bool { return srv.Stats().Operations["addUploadPart"] == 1 })
	_ = conn.Close()
	r := <-logged
	if !strings.Contains(r.Cut, "client") || r.BytesIn == 0 {
		t.Errorf("logged %+v; want the part cut off, saying the client broke the body", r)
	}
	if srv.UploadParts(up.ID) != 0 || srv.Stats().StoredBytes != 0 {
		t.Errorf("a broken part was kept")
	}
}
