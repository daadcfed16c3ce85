package conformance_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
)

// cutServer answers every request with the start of a JSON body that promises 1000 bytes, then
// closes the connection: a reply the network broke.
func cutServer(t *testing.T) string {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"object":"list","data":[`)
		w.(http.Flusher).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	})}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestTransportPassesNetworkFailuresOn: a reply cut short by the network, or a request body
// whose source fails, reaches the client through the Transport as it would without it: the bytes
// that arrived, then the read error (in both modes), never a shorter body that reads as complete
// (Report mode swallowed the error) nor a contract violation (the default mode turned the
// network's failure into one, which a client's retry logic treats differently). The status and
// headers are still validated.
func TestTransportPassesNetworkFailuresOn(t *testing.T) {
	base := cutServer(t)
	for _, report := range []*conformance.Report{nil, {}} {
		mode := "default"
		if report != nil {
			mode = "report"
		}
		hc := &http.Client{Transport: &conformance.Transport{Base: newBase(t), Report: report}}

		req, err := http.NewRequest("GET", base+"/v1/files", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s mode: the round trip failed with %v; want the response, whose body then fails", mode, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) || string(got) != `{"object":"list","data":[` {
			t.Errorf("%s mode: the body read %q with %v; want the 25 bytes that arrived, then unexpected EOF", mode, got, err)
		}

		sourceErr := errors.New("the disk went away")
		body := io.MultiReader(strings.NewReader(`{"bytes":10,"filename":"a.jsonl",`), errReader{sourceErr})
		req, err = http.NewRequest("POST", base+"/v1/uploads", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		_, err = hc.Do(req)
		var viol *conformance.Violation
		if !errors.Is(err, sourceErr) || errors.As(err, &viol) {
			t.Errorf("%s mode: a request whose body fails: %v; want the source's error, not a violation", mode, err)
		}
		if report != nil {
			if v := report.Violations(); len(v) != 0 {
				t.Errorf("report mode recorded network failures as violations: %v", v)
			}
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
