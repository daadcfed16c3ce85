package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
)

// raw sends plain HTTP requests with the key, for tests that need to see exactly what a fault
// does to the wire.
type raw struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newRaw(t *testing.T, base string, timeout time.Duration) raw {
	return raw{t: t, base: base, hc: &http.Client{Transport: newBase(t), Timeout: timeout}}
}

func (a raw) send(method, path, contentType string, body []byte) (int, []byte, error) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// form builds a multipart body in memory with one file field and the given text fields.
func form(field string, data []byte, fields ...string) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = mw.WriteField(fields[i], fields[i+1])
	}
	w, _ := mw.CreateFormFile(field, "a.jsonl")
	_, _ = w.Write(data)
	_ = mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func idOf(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		ID   string `json:"id"`
		File *struct {
			ID string `json:"id"`
		} `json:"file"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.ID == "" {
		t.Fatalf("no id in %s (%v)", body, err)
	}
	if v.File != nil {
		return v.File.ID
	}
	return v.ID
}

// TestFaultsReachEveryOperation injects one 500 into each operation in turn (Rate 1, Limit 1,
// Operations naming it) while a client runs all nine: exactly that operation's first request
// fails, every other request is served, and the counts say which.
func TestFaultsReachEveryOperation(t *testing.T) {
	for _, target := range conformance.AllOperations {
		t.Run(target, func(t *testing.T) {
			srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{
				Rate: 1, Limit: 1, Kinds: []conformance.FaultKind{conformance.Fault500}, Operations: []string{target},
			}})
			a := newRaw(t, srv.URL, 10*time.Second)
			var failed []string
			step := func(op, method, path, ct string, body []byte) []byte {
				t.Helper()
				for range 2 {
					status, data, err := a.send(method, path, ct, body)
					if err != nil {
						t.Fatalf("%s: %v", op, err)
					}
					if status == 500 {
						failed = append(failed, op)
						continue
					}
					if status != 200 {
						t.Fatalf("%s: %d %s", op, status, data)
					}
					return data
				}
				t.Fatalf("%s failed twice", op)
				return nil
			}
			content := []byte("{\"a\":1}\n")
			up := idOf(t, step("createUpload", "POST", "/uploads", "application/json", fmt.Appendf(nil, `{"bytes":%d,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`, len(content))))
			ct, body := form("data", content)
			part := idOf(t, step("addUploadPart", "POST", "/uploads/"+up+"/parts", ct, body))
			file := idOf(t, step("completeUpload", "POST", "/uploads/"+up+"/complete", "application/json", []byte(`{"part_ids":["`+part+`"]}`)))
			up2 := idOf(t, step("createUpload", "POST", "/uploads", "application/json", []byte(`{"bytes":1,"filename":"b.jsonl","mime_type":"application/jsonl","purpose":"batch"}`)))
			step("cancelUpload", "POST", "/uploads/"+up2+"/cancel", "", nil)
			ct, body = form("file", content, "purpose", "batch")
			file2 := idOf(t, step("createFile", "POST", "/files", ct, body))
			step("listFiles", "GET", "/files", "", nil)
			step("retrieveFile", "GET", "/files/"+file, "", nil)
			if got := step("downloadFile", "GET", "/files/"+file+"/content", "", nil); !bytes.Equal(got, content) {
				t.Errorf("downloaded %q", got)
			}
			step("deleteFile", "DELETE", "/files/"+file2, "", nil)

			if !slices.Equal(failed, []string{target}) {
				t.Errorf("failed %v, want exactly the first %s", failed, target)
			}
			if got := srv.InjectedFaults(); len(got) != 1 || got[target][conformance.Fault500] != 1 {
				t.Errorf("InjectedFaults %v, want one 500 in %s", got, target)
			}
			if st := srv.Stats(); st.Faults[conformance.Fault500] != 1 {
				t.Errorf("Stats().Faults %v, want one 500", st.Faults)
			}
		})
	}
}

// TestFaultLostResponseDoesTheWork: the operation is carried out and its answer never arrives,
// for create and complete as for parts: the connection is closed without one (the client does
// not have to wait out its own timeout, which only bounds a failing test).
func TestFaultLostResponseDoesTheWork(t *testing.T) {
	srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{
		Rate: 1, Kinds: []conformance.FaultKind{conformance.FaultLostResponse}, Operations: []string{"createUpload", "completeUpload"},
	}})
	a := newRaw(t, srv.URL, 10*time.Second)
	status, _, err := a.send("POST", "/uploads", "application/json", []byte(`{"bytes":3,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`))
	if err == nil || isTimeout(err) {
		t.Fatalf("createUpload answered %d, or the client timed out (%v); want the connection closed without an answer", status, err)
	}
	ids := srv.Uploads()
	if len(ids) != 1 {
		t.Fatalf("%d Uploads exist, want the one whose answer was lost", len(ids))
	}
	ct, body := form("data", []byte("abc"))
	_, data, err := a.send("POST", "/uploads/"+ids[0]+"/parts", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.send("POST", "/uploads/"+ids[0]+"/complete", "application/json", []byte(`{"part_ids":["`+idOf(t, data)+`"]}`)); err == nil || isTimeout(err) {
		t.Fatalf("completeUpload answered, or the client timed out (%v); want the connection closed without an answer", err)
	}
	if u, _ := srv.Upload(ids[0]); u.Status != generated.UploadStatusCompleted || u.File == nil {
		t.Errorf("the Upload is %q with File %v, want completed with its File", u.Status, u.File)
	}
}

// TestFaultStall: a stalled request is neither read on nor answered, and the connection stays
// open until the client gives up or the server is closed; a stalled download sends its headers
// and a little of the content, then nothing. Nothing is left behind (goleak in TestMain).
func TestFaultStall(t *testing.T) {
	t.Run("create is never answered and not carried out", func(t *testing.T) {
		srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Kinds: []conformance.FaultKind{conformance.FaultStall}, Operations: []string{"createUpload"}}})
		a := newRaw(t, srv.URL, 200*time.Millisecond)
		_, _, err := a.send("POST", "/uploads", "application/json", []byte(`{"bytes":3,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`))
		if !isTimeout(err) {
			t.Fatalf("err = %v, want the client's timeout", err)
		}
		if n := len(srv.Uploads()); n != 0 {
			t.Errorf("%d Uploads were created by a stalled request", n)
		}
	})
	t.Run("a part's body stops being read", func(t *testing.T) {
		srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Kinds: []conformance.FaultKind{conformance.FaultStall}}})
		a := newRaw(t, srv.URL, 10*time.Second)
		_, data, _ := a.send("POST", "/uploads", "application/json", []byte(`{"bytes":33554432,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`))
		up := idOf(t, data)
		// A body far larger than the kernel's socket buffers: the client's writes block.
		conn, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ct, body := form("data", pattern(32<<20))
		head := fmt.Sprintf("POST /v1/uploads/%s/parts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", up, testKey, ct, len(body))
		if _, err := conn.Write([]byte(head)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := conn.Write(body)
		if !isTimeout(err) || n >= len(body) {
			t.Fatalf("wrote %d of %d bytes (%v); want the writes to block", n, len(body), err)
		}
		if srv.UploadParts(up) != 0 {
			t.Error("a stalled part was stored")
		}
	})
	t.Run("a download stops after a little of the content", func(t *testing.T) {
		srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Limit: 1, Kinds: []conformance.FaultKind{conformance.FaultStall}, Operations: []string{"downloadFile"}}})
		a := newRaw(t, srv.URL, 10*time.Second)
		ct, body := form("file", pattern(1<<20), "purpose", "batch")
		_, data, _ := a.send("POST", "/files", ct, body)
		req, _ := http.NewRequest("GET", srv.URL+"/files/"+idOf(t, data)+"/content", nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := a.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != 1<<20 {
			t.Fatalf("status %d length %d", resp.StatusCode, resp.ContentLength)
		}
		got := make([]byte, 1<<20)
		n, err := io.ReadAtLeast(resp.Body, got, 16<<10)
		if err != nil || !bytes.Equal(got[:n], pattern(1 << 20)[:n]) {
			t.Fatalf("read %d bytes (%v), want the first 16 KiB of the content", n, err)
		}
		// Closing the server releases the stall; the client must have got no more than the
		// 16 KiB, and a broken body, not the rest of the content (nor its own timeout: the
		// server closes the connection it held).
		_ = srv.Close()
		rest, err := io.ReadAll(resp.Body)
		if err == nil || isTimeout(err) || n+len(rest) > 16<<10 {
			t.Errorf("got %d bytes in all (%v), want 16 KiB and then a broken body", n+len(rest), err)
		}
	})
	t.Run("a small download stops at half its content and holds the connection", func(t *testing.T) {
		srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Limit: 1, Kinds: []conformance.FaultKind{conformance.FaultStall}, Operations: []string{"downloadFile"}}})
		c := validatingClient(t, srv.URL)
		whole := pattern(300)
		up := createUpload(t, c, 300)
		var ids []string
		for i := range 3 { // three parts: the content is written 100 bytes at a time
			ids = append(ids, addPart(t, c, up.ID, whole[i*100:(i+1)*100]).JSON200.ID)
		}
		done, err := c.CompleteUploadWithResponse(t.Context(), up.ID, generated.CompleteUploadRequest{PartIDs: ids})
		if err != nil || done.JSON200 == nil || done.JSON200.File == nil {
			t.Fatalf("complete: %v", err)
		}
		// The client's own stall timeout is what ends the read: the server neither sends more
		// nor ends the body. It is a read deadline set once the half has arrived (a 300 ms
		// timeout of the whole request could end before the half arrived on a loaded machine);
		// the context bounds a failing test.
		conns := make(chan net.Conn, 1)
		tr := newBase(t)
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				conns <- conn
			}
			return conn, err
		}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/files/"+done.JSON200.File.ID+"/content", nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got := make([]byte, 150)
		if _, err := io.ReadFull(resp.Body, got); err != nil || !bytes.Equal(got, whole[:150]) {
			t.Fatalf("read %q, %v; want the first 150 bytes (half of 300)", got, err)
		}
		_ = (<-conns).SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		rest, err := io.ReadAll(resp.Body)
		if !isTimeout(err) || len(rest) != 0 {
			t.Errorf("read %d more bytes, then %v; want none past the first 150 (half of 300), then the client's timeout", len(rest), err)
		}
	})
	t.Run("StallFor closes the connection", func(t *testing.T) {
		srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, StallFor: 50 * time.Millisecond, Kinds: []conformance.FaultKind{conformance.FaultStall}, Operations: []string{"listFiles"}}})
		// StallFor (50 ms) must end it; the client's 20 s timeout only bounds a failing test.
		a := newRaw(t, srv.URL, failBound)
		if _, _, err := a.send("GET", "/files", "", nil); err == nil || isTimeout(err) {
			t.Fatalf("err = %v, want the connection closed", err)
		}
	})
	t.Run("Close releases a held connection", func(t *testing.T) {
		srv, err := conformance.Start(conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Kinds: []conformance.FaultKind{conformance.FaultStall}, Operations: []string{"listFiles"}}})
		if err != nil {
			t.Fatal(err)
		}
		a := newRaw(t, srv.URL, failBound) // Close must end it; the timeout bounds a failing test
		done := make(chan error, 1)
		go func() {
			_, _, err := a.send("GET", "/files", "", nil)
			done <- err
		}()
		eventually(t, "the request arrives and is stalled", func() bool { return srv.Stats().Faults[conformance.FaultStall] > 0 })
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err == nil || isTimeout(err) {
			t.Errorf("err = %v; want the connection closed by Close (not an answer, nor the client's timeout)", err)
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// TestFaultSlowBodies: a slow request body and a slow answer still arrive whole, at about the
// pace asked for (a lower bound: the pace cannot be beaten).
func TestFaultSlowBodies(t *testing.T) {
	const rate = 256 << 10
	content := pattern(128 << 10) // half a second at rate
	for _, kind := range []conformance.FaultKind{conformance.FaultSlowRequest, conformance.FaultSlowResponse} {
		t.Run(string(kind), func(t *testing.T) {
			srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, SlowRate: rate, Kinds: []conformance.FaultKind{kind}, Operations: []string{"createFile", "downloadFile"}}})
			a := newRaw(t, srv.URL, 30*time.Second)
			ct, body := form("file", content, "purpose", "batch")
			began := time.Now()
			status, data, err := a.send("POST", "/files", ct, body)
			if err != nil || status != 200 {
				t.Fatalf("createFile: %d %v", status, err)
			}
			_, got, err := a.send("GET", "/files/"+idOf(t, data)+"/content", "", nil)
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("the content came back changed (%d bytes, %v)", len(got), err)
			}
			if d, least := time.Since(began), time.Duration(len(content))*time.Second/rate; d < least*9/10 {
				t.Errorf("took %v; a slow body moves %d bytes in at least %v", d, len(content), least)
			}
			if n := srv.Stats().Faults[kind]; n != 2 {
				t.Errorf("%d %s faults, want 2", n, kind)
			}
		})
	}
}

// TestFault503Early: the answer comes before the body is read, and the part is not stored.
func TestFault503Early(t *testing.T) {
	srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Limit: 1, Kinds: []conformance.FaultKind{conformance.Fault503Early}}})
	c := validatingClient(t, srv.URL)
	up := createUpload(t, c, 8<<20)
	resp := addPart(t, c, up.ID, pattern(8<<20))
	if resp.StatusCode() != 503 {
		t.Fatalf("status %d, want 503", resp.StatusCode())
	}
	errorOf(t, 503, resp.Body)
	if srv.UploadParts(up.ID) != 0 {
		t.Error("the part was stored")
	}
	if resp := addPart(t, c, up.ID, pattern(8<<20)); resp.StatusCode() != 200 {
		t.Errorf("the next part got %d", resp.StatusCode())
	}
}

// TestFaultsDefaultKinds: without Kinds, only the default kinds are injected (no stall that a
// client with default timeouts would sit through), into part requests only.
func TestFaultsDefaultKinds(t *testing.T) {
	srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Seed: 5}})
	c := validatingClient(t, srv.URL)
	up := createUpload(t, c, 1)
	// Every fault answers or breaks the connection at once: the 60 parts take milliseconds, and
	// the bound fails a fault that leaves its request hanging (each would wait out failBound).
	ctx, cancel := context.WithTimeout(t.Context(), failBound)
	defer cancel()
	for range 60 {
		ct, body := partBody([]byte("x"))
		_, _ = c.AddUploadPartWithBodyWithResponse(ctx, up.ID, ct, body)
	}
	if ctx.Err() != nil {
		t.Fatalf("the 60 parts did not all end within %v: a fault left its request hanging", failBound)
	}
	got := srv.InjectedFaults()
	if len(got) != 1 || len(got["addUploadPart"]) != len(conformance.DefaultFaultKinds) {
		t.Fatalf("InjectedFaults %v, want every default kind in addUploadPart only", got)
	}
	for k := range got["addUploadPart"] {
		if !slices.Contains(conformance.DefaultFaultKinds, k) {
			t.Errorf("%s injected without being asked for", k)
		}
	}
}

func TestFaultsRefuseBadOptions(t *testing.T) {
	for _, f := range []conformance.Faults{
		{Rate: 0.5, Operations: []string{"uploadPart"}},
		{Rate: 0.5, Limit: -1},
		{Rate: 0.5, StallFor: -time.Second},
		{Rate: 0.5, SlowRate: -1},
		{Rate: 0.5, Kinds: []conformance.FaultKind{"stall-forever"}},
	} {
		if _, err := conformance.NewServer(conformance.ServerOptions{Faults: f}); err == nil || !strings.Contains(err.Error(), "Faults") && !strings.Contains(err.Error(), "fault kind") {
			t.Errorf("NewServer(%+v) = %v, want an error naming the field", f, err)
		}
	}
}

// TestFault429RetryAfter: an injected 429 asks for Faults.RetryAfter (by default
// DefaultFaultRetryAfter) in retry-after-ms, and in Retry-After rounded up to whole seconds: a
// whole number of seconds stays as it is.
func TestFault429RetryAfter(t *testing.T) {
	for _, tc := range []struct {
		retryAfter  time.Duration
		ms, seconds string
	}{
		{0, "50", "1"},
		{time.Second, "1000", "1"},
		{1500 * time.Millisecond, "1500", "2"},
	} {
		srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Kinds: []conformance.FaultKind{conformance.Fault429}, RetryAfter: tc.retryAfter}})
		c := validatingClient(t, srv.URL)
		up := createUpload(t, c, 1)
		resp := addPart(t, c, up.ID, []byte("x"))
		h := resp.HTTPResponse.Header
		if resp.StatusCode() != 429 || h.Get("retry-after-ms") != tc.ms || h.Get("Retry-After") != tc.seconds {
			t.Errorf("RetryAfter %v: %d, retry-after-ms %q, Retry-After %q; want 429, %s and %s",
				tc.retryAfter, resp.StatusCode(), h.Get("retry-after-ms"), h.Get("Retry-After"), tc.ms, tc.seconds)
		}
	}
}

// TestFaultAnswersKeepTheConnection: an injected error answer to a request whose body was read
// whole leaves the connection open for the next request, as a server does; only a body too
// large to drain closes it (TestServerCreateFileErrors sends one).
func TestFaultAnswersKeepTheConnection(t *testing.T) {
	for _, kind := range []conformance.FaultKind{conformance.Fault500, conformance.Fault503, conformance.Fault429} {
		srv := start(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Kinds: []conformance.FaultKind{kind}}})
		c := validatingClient(t, srv.URL)
		up := createUpload(t, c, 1)
		resp := addPart(t, c, up.ID, []byte("x"))
		if want, _ := strconv.Atoi(string(kind)); resp.StatusCode() != want || resp.HTTPResponse.Close {
			t.Errorf("%s: status %d, Connection: close %v; want the connection kept", kind, resp.StatusCode(), resp.HTTPResponse.Close)
		}
	}
}

// TestFaultStallLetsGoWhenTheClientLeaves: a stalled request whose body the stall read whole
// (here exactly the 16 KiB it reads) is released as soon as its client closes the connection:
// the handler ends and the request is logged as taken over by the fault.
func TestFaultStallLetsGoWhenTheClientLeaves(t *testing.T) {
	logged := make(chan conformance.RequestRecord, 1)
	srv := start(t, conformance.ServerOptions{
		Faults:     conformance.Faults{Rate: 1, Kinds: []conformance.FaultKind{conformance.FaultStall}, Operations: []string{"createUpload"}},
		RequestLog: func(r conformance.RequestRecord) { logged <- r },
	})
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"bytes":1,"filename":"a.jsonl","mime_type":"application/jsonl","purpose":"batch"}`
	body += strings.Repeat(" ", 16<<10-len(body))
	if _, err := fmt.Fprintf(conn, "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", testKey, len(body), body); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stall holds the request", func() bool { return srv.Stats().Faults[conformance.FaultStall] == 1 })
	_ = conn.Close()
	select {
	case r := <-logged:
		if r.Status != 0 || !strings.Contains(r.Cut, "injected fault") {
			t.Errorf("logged %+v, want no answer and the fault's cut", r)
		}
	case <-time.After(20 * time.Second): // a bound for a failing test, not a measure
		t.Fatal("20 s after the client left, the stall still holds its request")
	}
}
