package helpers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestCallRecord: what a call's record says of its attempts: how many got no answer, and
// whether the last did not; an empty record, or none, says nothing was lost.
func TestCallRecord(t *testing.T) {
	var none *callRecord
	none.add(errors.New("lost")) // a call without a record: nothing to keep
	if none.lostCount() != 0 || none.lastLost() {
		t.Error("a nil record reports a lost attempt")
	}
	r := &callRecord{}
	if r.lostCount() != 0 || r.lastLost() {
		t.Error("an empty record reports a lost attempt")
	}
	lost := errors.New("connection reset")
	r.add(lost)
	if r.lostCount() != 1 || !r.lastLost() {
		t.Errorf("after a lost attempt: %d lost, last lost %v", r.lostCount(), r.lastLost())
	}
	r.add(nil)
	if r.lostCount() != 1 || r.lastLost() {
		t.Errorf("then an answered attempt: %d lost, last lost %v; want 1 and false", r.lostCount(), r.lastLost())
	}
	r.add(lost)
	r.add(lost)
	if r.lostCount() != 3 || !r.lastLost() {
		t.Errorf("then two lost: %d lost, last lost %v; want 3 and true", r.lostCount(), r.lastLost())
	}
}

// TestSleep: a wait ends after its delay, or with the context's error once the context is done;
// a wait of zero (or less) does not wait, but still reports a context that is done.
func TestSleep(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for range 200 { // with both ready, a select would pick at random: every try must say so
		if err := sleep(done, 0); !errors.Is(err, context.Canceled) {
			t.Fatalf("sleep(done, 0) = %v, want context.Canceled", err)
		}
		if err := sleep(done, -time.Second); !errors.Is(err, context.Canceled) {
			t.Fatalf("sleep(done, -1s) = %v, want context.Canceled", err)
		}
	}
	if err := sleep(done, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep(done, 1h) = %v, want context.Canceled", err)
	}
	if err := sleep(context.Background(), 0); err != nil {
		t.Errorf("sleep(live, 0) = %v", err)
	}
	// The delay is waited out: a lower bound, which a timer cannot beat (time.Since reads the
	// monotonic clock), not a measure of speed.
	const d = 20 * time.Millisecond
	began := time.Now()
	if err := sleep(context.Background(), d); err != nil {
		t.Errorf("sleep(live, %v) = %v", d, err)
	}
	if took := time.Since(began); took < d {
		t.Errorf("sleep(live, %v) returned after %v: it did not wait out its delay", d, took)
	}
	// A context that ends during the wait ends it, with the context's error.
	ending, stop := context.WithCancel(context.Background())
	time.AfterFunc(d, stop)
	if err := sleep(ending, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep(cancelled during the wait, 1h) = %v, want context.Canceled", err)
	}
}

// TestServerClock: the server's clock is learnt from an answer's Date header; an answer without
// one (or with one that does not parse) teaches nothing.
func TestServerClock(t *testing.T) {
	tr := &transport{}
	if _, ok := tr.serverNow(); ok {
		t.Fatal("a server clock before any answer")
	}
	tr.noteDate(&http.Response{Header: http.Header{"Date": {"not a date"}}})
	tr.noteDate(&http.Response{Header: http.Header{}})
	if _, ok := tr.serverNow(); ok {
		t.Fatal("a server clock from answers without a valid Date")
	}
	ahead := time.Now().Add(3 * time.Hour)
	tr.noteDate(&http.Response{Header: http.Header{"Date": {ahead.UTC().Format(http.TimeFormat)}}})
	now, ok := tr.serverNow()
	// Date has whole seconds, and time passes between the two reads: a margin of a minute.
	if d := time.Until(now); !ok || d < 3*time.Hour-time.Minute || d > 3*time.Hour+time.Minute {
		t.Errorf("server clock %v ahead (%v), want about 3h", d, ok)
	}
}

// TestCheckResult: a 2xx answer is taken for the operation's result only when it is one: the
// right object, an id, a data array for a list, a deleted field for a delete, and for complete a
// completed Upload with its File.
func TestCheckResult(t *testing.T) {
	for _, tc := range []struct {
		op, body string
		ok       bool
	}{
		{"createUpload", `{"object":"upload","id":"upload_1"}`, true},
		{"createUpload", `{"object":"upload.part","id":"part_1"}`, false},
		{"createUpload", `{"object":"upload","id":""}`, false},
		{"createUpload", `not json`, false},
		{"addUploadPart", `{"object":"upload.part","id":"part_1"}`, true},
		{"listFiles", `{"object":"list","data":[]}`, true},
		{"listFiles", `{"object":"list","data":{}}`, false},
		{"listFiles", `{"object":"list"}`, false},
		{"deleteFile", `{"object":"file","id":"file_1","deleted":true}`, true},
		{"deleteFile", `{"object":"file","id":"file_1"}`, false},
		{"completeUpload", `{"object":"upload","id":"upload_1","status":"completed","file":{"id":"file_1"}}`, true},
		{"completeUpload", `{"object":"upload","id":"upload_1","status":"pending","file":{"id":"file_1"}}`, false},
		{"completeUpload", `{"object":"upload","id":"upload_1","status":"completed"}`, false},
		{"completeUpload", `{"object":"upload","id":"upload_1","status":"completed","file":{"id":""}}`, false},
		{"retrieveFile", `{"object":"file","id":"file_1"}`, true},
	} {
		if err := checkResult(operations[tc.op], []byte(tc.body)); (err == nil) != tc.ok {
			t.Errorf("%s %s: %v, want accepted %v", tc.op, tc.body, err, tc.ok)
		}
	}
}

// TestAnswerSizeLimit: an answer is read whole up to maxAnswerBytes, exactly that many included
// (a 500's body, here, which is not parsed); a 2xx answer of one byte more fails the attempt: an
// answer that size is not the API's.
func TestAnswerSizeLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("reads answers of 64 MiB")
	}
	for _, tc := range []struct {
		status, size int
	}{{500, maxAnswerBytes}, {200, maxAnswerBytes + 1}} {
		body := bytes.Repeat([]byte{' '}, tc.size)
		tr := &transport{basePath: "/v1", base: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: nopCloser{bytes.NewReader(body)}}, nil
		})}
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/v1/files", nil)
		resp, err := tr.RoundTrip(req)
		switch {
		case tc.status == 500 && (err != nil || resp.ContentLength != int64(tc.size)):
			t.Errorf("an answer of %d bytes: %v, want it read whole", tc.size, err)
		case tc.status == 200 && (err == nil || !strings.Contains(err.Error(), "larger than")):
			t.Errorf("an answer of %d bytes: %v, want it refused as too large", tc.size, err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// TestOriginOf: two URLs are of one origin when scheme, host and port agree, the scheme's
// default port standing for a missing one; another port is another origin (the key's headers
// go only to the API's own origin).
func TestOriginOf(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"https://API.example.com/v1", "https://api.example.com:443/v1/files"},
		{"http://127.0.0.1/v1", "http://127.0.0.1:80/x"},
		{"http://127.0.0.1:5000/v1", "HTTP://127.0.0.1:5000/other"},
	} {
		if a, b := originOf(mustParse(t, tc.a)), originOf(mustParse(t, tc.b)); a != b {
			t.Errorf("%s and %s: origins %q and %q, want one", tc.a, tc.b, a, b)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"http://127.0.0.1:5000/v1", "http://127.0.0.1:5001/v1"},
		{"http://127.0.0.1:5000/v1", "http://127.0.0.1/v1"},
		{"https://api.example.com/v1", "http://api.example.com/v1"},
	} {
		if a, b := originOf(mustParse(t, tc.a)), originOf(mustParse(t, tc.b)); a == b {
			t.Errorf("%s and %s: both of origin %q, want two", tc.a, tc.b, a)
		}
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
