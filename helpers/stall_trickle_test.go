package helpers_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// trickleParts makes every answer to POST /uploads/{id}/parts come slowly: the server's answer,
// its headers at once, then its JSON body 2 bytes at a time, every gap apart.
func trickleParts(gap time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/parts") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			flusher := w.(http.Flusher)
			flusher.Flush()
			body := rec.Body.Bytes()
			for len(body) > 0 {
				time.Sleep(gap)
				n := min(2, len(body))
				if _, err := w.Write(body[:n]); err != nil {
					return
				}
				flusher.Flush()
				body = body[n:]
			}
		})
	}
}

// TestPartAnswerTricklingIsNotAStall: the stall timeout bounds a silence, not an answer's
// length. Each part's answer comes 2 bytes every 25 ms (about 1.5 s for the whole answer, more
// than the 1 s StallTimeout, every gap 40 times shorter): the bytes read mark progress, so no
// attempt is cut and the upload completes with no retry.
func TestPartAnswerTricklingIsNotAStall(t *testing.T) {
	const stall = time.Second
	srv := startServer(t, conformance.ServerOptions{}, trickleParts(stall/40))
	// A client without the validating transport: that one reads a whole answer inside its
	// RoundTrip, before the client's own reader sees a byte of it.
	c := rawClient(t, strings.TrimSuffix(srv.URL, "/v1"))
	data := pattern(testPartSize)
	g := &progressGuard{t: t}
	up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), helpers.UploadOptions{
		Purpose: "batch", PartSize: testPartSize, StallTimeout: stall, MaxRetries: 1, Progress: g.update,
	})
	if err != nil {
		t.Fatalf("an answer that kept coming was cut: %v", err)
	}
	checkUploaded(t, c, srv, up, data)
	if g.last.Retries != 0 {
		t.Errorf("%d retries, want none: an attempt whose answer was still coming was abandoned", g.last.Retries)
	}
}
