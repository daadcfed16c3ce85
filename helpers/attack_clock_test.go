package helpers_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// skewedServer is a reference server whose clock runs skew behind this machine's: its Uploads'
// created_at and expires_at, and the Date of its answers, are in its own time, as a real
// server's are when this machine's clock is wrong.
func skewedServer(t *testing.T, skew time.Duration, opts conformance.ServerOptions, wrap ...func(http.Handler) http.Handler) *refServer {
	t.Helper()
	now := func() time.Time { return time.Now().Add(-skew) }
	opts.Now = now
	dated := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Date", now().UTC().Format(http.TimeFormat)) // net/http keeps a Date set by the handler
			next.ServeHTTP(w, r)
		})
	}
	return startServer(t, opts, append(wrap, dated)...)
}

// TestUploadWithThisMachinesClockAhead: this machine's clock is two hours ahead of the API's (a
// wrong time zone in the hardware clock, a VM restored from a snapshot). The Upload's expires_at,
// an hour after its creation in the API's time, is then in this machine's past from the start;
// the upload must still complete: only the API's clock says when its Uploads expire.
func TestUploadWithThisMachinesClockAhead(t *testing.T) {
	srv := skewedServer(t, 2*time.Hour, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	data := pattern(3*testPartSize + 5)
	path, ctx := writeFile(t, "train.jsonl", data), hangGuard(t)
	// The first test of the package that sends an upload: bounded, so that a regression that
	// blocks every upload where no context reaches fails here, named, rather than hanging.
	up, err := uploadWithin(t, callBound, "UploadFile", func() (*generated.Upload, error) {
		return c.UploadFile(ctx, path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize})
	})
	if err != nil {
		t.Fatalf("with the clock 2 h ahead: %v", err)
	}
	checkUploaded(t, c, srv, up, data)
	if n := srv.Stats().Operations["cancelUpload"]; n != 0 {
		t.Errorf("%d cancels, want none", n)
	}
}

// TestResumeWithThisMachinesClockAhead: same clock, and a run stopped with a checkpoint: the next
// call resumes the Upload rather than taking it for expired and starting over (and leaving it
// pending), with the same client (it has seen the API's Date) and with a new one, as a new
// process of the CLI is.
func TestResumeWithThisMachinesClockAhead(t *testing.T) {
	for _, fresh := range []bool{false, true} {
		t.Run(map[bool]string{false: "same client", true: "new client"}[fresh], func(t *testing.T) {
			resumeWithClockAhead(t, fresh)
		})
	}
}

func resumeWithClockAhead(t *testing.T, fresh bool) {
	srv := skewedServer(t, 2*time.Hour, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	data := pattern(4 * testPartSize)
	path := writeFile(t, "train.jsonl", data)
	checkpoint := filepath.Join(t.TempDir(), "cp.json")
	var notes []string
	old := crashAfter(t, c, path, checkpoint, 2, &notes)
	notes = nil
	if fresh {
		c = newClient(t, srv.URL)
	}
	up, err := c.UploadFile(hangGuard(t), path, helpers.UploadOptions{
		Purpose: "fine-tune", PartSize: testPartSize, Checkpoint: checkpoint,
		Notify: func(m string) { notes = append(notes, m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.ID != old.UploadID {
		t.Errorf("upload %s, want the checkpointed %s resumed; notes %q", up.ID, old.UploadID, notes)
	}
	checkUploaded(t, c, srv, up, data)
}

// TestResumeRefusedNearExpiryCancelsTheOldUpload: a checkpointed Upload that expires within
// ResumeMargin is not resumed; it is still pending, though, and must be cancelled rather than
// left pending unseen (the checkpoint naming it is removed).
func TestResumeRefusedNearExpiryCancelsTheOldUpload(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{UploadTTL: helpers.ResumeMargin - 5*time.Second})
	c := newClient(t, srv.URL)
	data := pattern(3 * testPartSize)
	path := writeFile(t, "train.jsonl", data)
	checkpoint := filepath.Join(t.TempDir(), "cp.json")
	var notes []string
	old := crashAfter(t, c, path, checkpoint, 1, &notes)
	notes = nil
	up, err := c.UploadFile(hangGuard(t), path, helpers.UploadOptions{
		Purpose: "fine-tune", PartSize: testPartSize, Checkpoint: checkpoint,
		Notify: func(m string) { notes = append(notes, m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	checkUploaded(t, c, srv, up, data)
	if up.ID == old.UploadID {
		t.Fatalf("the Upload expiring within %v was resumed", helpers.ResumeMargin)
	}
	if u, _ := srv.Upload(old.UploadID); u.Status != generated.UploadStatusCancelled {
		t.Errorf("the old Upload %s is %q, want cancelled (it was still pending); notes %q", old.UploadID, u.Status, notes)
	}
	if !strings.Contains(strings.Join(notes, "\n"), old.UploadID) {
		t.Errorf("notes %q do not name the old Upload", notes)
	}
}
