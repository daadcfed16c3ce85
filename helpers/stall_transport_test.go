package helpers_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// ctxErrTransport stands for a RoundTripper that knows nothing of context causes (an older
// HTTP/2 transport, a wrapper): once its request's context is done, a failed round trip or body
// Read reports the context's plain error (context.Canceled), not the cause it was cancelled
// with.
type ctxErrTransport struct{ base http.RoundTripper }

func (t ctxErrTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		if cerr := req.Context().Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	resp.Body = &ctxErrBody{rc: resp.Body, ctx: req.Context()}
	return resp, nil
}

type ctxErrBody struct {
	rc  io.ReadCloser
	ctx context.Context
}

func (b *ctxErrBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		if cerr := b.ctx.Err(); cerr != nil {
			err = cerr
		}
	}
	return n, err
}

func (b *ctxErrBody) Close() error { return b.rc.Close() }

// TestDownloadStallIsReportedWhateverTheTransportSays: a download cut by the stall watchdog fails
// with ErrStalled (errors.Is) even through an HTTPClient whose transport reports only
// context.Canceled for the cut read: the SDK says why it cut the attempt, not the transport.
func TestDownloadStallIsReportedWhateverTheTransportSays(t *testing.T) {
	content := pattern(1 << 20)
	srv := startServer(t, conformance.ServerOptions{Faults: faults(conformance.FaultStall, 1, "downloadFile")})
	file, err := newClient(t, srv.URL).CreateFile(context.Background(), bytes.NewReader(content), int64(len(content)), "a.jsonl", "batch", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
		o.HTTPClient = &http.Client{Transport: ctxErrTransport{base: o.HTTPClient.Transport}}
		o.StallTimeout = 200 * time.Millisecond
	})
	body, err := c.DownloadFile(hangGuard(t), file.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	n, err := io.Copy(io.Discard, body)
	if !errors.Is(err, helpers.ErrStalled) {
		t.Fatalf("read %d bytes of a frozen download, err = %v; want ErrStalled", n, err)
	}
}
