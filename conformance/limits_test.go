package conformance_test

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
)

// heldPart starts a part request whose body is sent up to its last bytes and then held: the
// server has it in flight until release is called, which sends the rest.
func heldPart(t *testing.T, srv *conformance.Running, uploadID string) (release func() int) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	c := clientWith(t, srv.URL, newBase(t))
	status := make(chan int, 1)
	go func() {
		resp, err := c.AddUploadPartWithBodyWithResponse(context.Background(), uploadID, mw.FormDataContentType(), pr)
		if err != nil {
			status <- -1
			return
		}
		status <- resp.StatusCode()
	}()
	w, err := mw.CreateFormFile("data", "blob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pattern(1000)); err != nil { // the server is reading this body now
		t.Fatal(err)
	}
	return func() int {
		_ = mw.Close()
		_ = pw.Close()
		return <-status
	}
}

// TestMaxPartsInFlight: with two part requests in flight at the server, a third is answered
// 429 at once, before its body is read, with retry-after-ms, Retry-After and OpenAI's rate-limit
// envelope (the validating transport checks it against the spec); once the two end, a part is
// accepted again. Stats count the refusal and the peak.
func TestMaxPartsInFlight(t *testing.T) {
	srv := start(t, conformance.ServerOptions{MaxPartsInFlight: 2, PartsRetryAfter: 1500 * time.Millisecond})
	c := validatingClient(t, srv.URL)
	up := createUpload(t, c, 3000)
	first, second := heldPart(t, srv, up.ID), heldPart(t, srv, up.ID)
	eventually(t, "two parts in flight at the server", func() bool { return srv.Stats().PeakPartsInFlight >= 2 })
	resp := addPart(t, c, up.ID, pattern(1000))
	if resp.StatusCode() != http.StatusTooManyRequests {
		t.Fatalf("third part in flight: %d %s, want 429", resp.StatusCode(), resp.Body)
	}
	if e := errorOf(t, 429, resp.Body); e.Type != "requests" || e.Code == nil || *e.Code != "rate_limit_exceeded" {
		t.Errorf("429 envelope %+v", e)
	}
	if h := resp.HTTPResponse.Header; h.Get("retry-after-ms") != "1500" || h.Get("Retry-After") != "2" {
		t.Errorf("retry-after-ms %q, Retry-After %q; want 1500 and 2", h.Get("retry-after-ms"), h.Get("Retry-After"))
	}
	if a, b := first(), second(); a != 200 || b != 200 {
		t.Fatalf("the held parts ended %d and %d, want 200", a, b)
	}
	if resp := addPart(t, c, up.ID, pattern(1000)); resp.StatusCode() != 200 {
		t.Errorf("a part after the others ended: %d %s", resp.StatusCode(), resp.Body)
	}
	st := srv.Stats()
	if st.RateLimited != 1 || st.PeakPartsInFlight != 2 || st.PartsStored != 3 {
		t.Errorf("stats: %d rate limited, peak %d, %d stored; want 1, 2, 3", st.RateLimited, st.PeakPartsInFlight, st.PartsStored)
	}
}

// TestLimitsRefuseNegatives: negative limits are refused by name.
func TestLimitsRefuseNegatives(t *testing.T) {
	for _, opts := range []conformance.ServerOptions{{TotalBandwidth: -1}, {MaxPartsInFlight: -1}, {PartsRetryAfter: -time.Second}} {
		if srv, err := conformance.Start(opts); err == nil {
			_ = srv.Close()
			t.Errorf("%+v was accepted", opts)
		}
	}
}
