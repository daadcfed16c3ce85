package helpers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// notes records Notify messages.
type notes struct {
	mu   sync.Mutex
	msgs []string
}

func (n *notes) add(m string) { n.mu.Lock(); n.msgs = append(n.msgs, m); n.mu.Unlock() }

func (n *notes) all() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.msgs, "\n")
}

// uploadedOnce asserts what every lost-reply test promises: the upload completed byte-exact,
// exactly one File exists and it is the returned one, nothing says it failed, and no Upload was
// cancelled.
func uploadedOnce(t *testing.T, c *helpers.Client, srv *refServer, up *generated.Upload, data []byte, n *notes) {
	t.Helper()
	checkUploaded(t, c, srv, up, data)
	page, err := c.ListFiles(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != up.File.ID {
		t.Errorf("%d Files on the server, want exactly the returned %s", len(page.Data), up.File.ID)
	}
	if msgs := n.all(); strings.Contains(msgs, "failed") || strings.Contains(msgs, "cancel") {
		t.Errorf("Notify reported a failure or a cancel of an upload that completed:\n%s", msgs)
	}
	if k := srv.Stats().Operations["cancelUpload"]; k != 0 {
		t.Errorf("%d cancel requests, want none", k)
	}
}

// TestLostCreateReply: the Upload is created but the reply never arrives. The create is retried
// and the upload goes on with the new Upload; Notify and the debug output name it and say the
// first may be left pending. The server then holds the completed Upload and the orphan.
func TestLostCreateReply(t *testing.T) {
	for _, kind := range []conformance.FaultKind{conformance.FaultLostResponse, conformance.FaultStall} {
		t.Run(string(kind), func(t *testing.T) {
			srv := startServer(t, conformance.ServerOptions{Faults: faults(kind, 1, "createUpload")})
			var debug syncBuffer
			// The Timeout cuts the stalled create; a lost reply ends with the connection, and
			// waits for none. It must not cut the retry, whose Upload would be a second orphan:
			// 200 ms could, on a loaded machine.
			timeout := 5 * time.Second
			if kind == conformance.FaultStall {
				timeout = 500 * time.Millisecond
			}
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.Timeout = timeout; o.Debug = &debug })
			n := &notes{}
			data := pattern(3 * testPartSize)
			up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Notify: n.add})
			if err != nil {
				t.Fatal(err)
			}
			uploadedOnce(t, c, srv, up, data, n)
			msg := n.all()
			if !strings.Contains(msg, "reply to create was lost") || !strings.Contains(msg, up.ID) || !strings.Contains(msg, "pending") {
				t.Errorf("Notify %q does not say the reply was lost, name %s and warn of a pending Upload", msg, up.ID)
			}
			if !strings.Contains(debug.String(), "reply to create was lost once; upload "+up.ID) {
				t.Errorf("the debug output does not say the reply was lost and name %s:\n%s", up.ID, debug.String())
			}
			pending := 0
			for _, id := range srv.Uploads() {
				if u, _ := srv.Upload(id); u.Status == generated.UploadStatusPending {
					pending++
				}
			}
			want := map[conformance.FaultKind]int{conformance.FaultLostResponse: 1, conformance.FaultStall: 0}[kind]
			if pending != want || len(srv.Uploads()) != 1+want {
				t.Errorf("%d Uploads, %d pending; want %d pending beside the completed one", len(srv.Uploads()), pending, want)
			}
		})
	}
}

// TestLostCompleteReply: complete's reply is lost (the Upload is completed, the reply never
// comes), frozen (not completed, no reply), or a 2xx that is not a completed Upload. Each time
// the upload ends completed with the one File; where the Upload had been completed, the File is
// recovered from the files list and Notify says so.
func TestLostCompleteReply(t *testing.T) {
	garbage := func(next http.Handler) http.Handler {
		var once sync.Once
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			first := false
			if strings.HasSuffix(r.URL.Path, "/complete") {
				once.Do(func() { first = true })
			}
			if !first {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(discard{http.Header{}}, r) // the Upload is completed ...
			w.WriteHeader(200)                        // ... and the answer is not the result
			_, _ = io.WriteString(w, `{"object":"upload","status":"completed"}`)
		})
	}
	for _, tc := range []struct {
		name      string
		faults    conformance.Faults
		wrap      func(http.Handler) http.Handler
		recovered bool
	}{
		{"lost-response", faults(conformance.FaultLostResponse, 1, "completeUpload"), nil, true},
		{"every reply lost", faults(conformance.FaultLostResponse, 0, "completeUpload"), nil, true},
		{"stall", faults(conformance.FaultStall, 1, "completeUpload"), nil, false},
		{"2xx not the result", conformance.Faults{}, garbage, true},
	} {
		for _, withCheckpoint := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/checkpoint=%v", tc.name, withCheckpoint), func(t *testing.T) {
				var wraps []func(http.Handler) http.Handler
				if tc.wrap != nil {
					wraps = append(wraps, tc.wrap)
				}
				srv := startServer(t, conformance.ServerOptions{Faults: tc.faults}, wraps...)
				// The Timeout cuts the frozen complete; the other cases wait for none. It must not
				// cut a complete that is answered (the retry after the freeze, whose Upload would
				// then be recovered instead): 200 ms could, on a loaded machine.
				timeout := 5 * time.Second
				if tc.name == "stall" {
					timeout = 500 * time.Millisecond
				}
				c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
					o.Timeout = timeout
					o.InitialRetryDelay = time.Millisecond
				})
				n := &notes{}
				var phases []helpers.Phase
				data := pattern(3*testPartSize + 7)
				opts := helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Notify: n.add, MaxRetries: 2,
					Progress: func(p helpers.Progress) { phases = append(phases, p.Phase) }}
				if withCheckpoint {
					opts.Checkpoint = t.TempDir() + "/cp.json"
				}
				up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), opts)
				if err != nil {
					t.Fatal(err)
				}
				uploadedOnce(t, c, srv, up, data, n)
				if got := strings.Contains(n.all(), "recovered File "+up.File.ID); got != tc.recovered {
					t.Errorf("Notify %q: recovered = %v, want %v", n.all(), got, tc.recovered)
				}
				if phases[len(phases)-1] != helpers.PhaseDone {
					t.Errorf("last phase %s, want done", phases[len(phases)-1])
				}
			})
		}
	}
}

// discard is a ResponseWriter that drops the answer.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}

// completeScript answers complete requests from a script, in order: "lost" passes the request
// to the server and drops the answer, "completing" answers that the Upload is being completed,
// "500" answers 500 without passing it on, "swallow" never passes it on and never answers (the
// client's Timeout cuts it), "drop" never passes it on and drops the connection once the body is
// read, "pass" passes it on. Past the script, requests pass.
func completeScript(steps ...string) func(http.Handler) http.Handler {
	var i atomic.Int32
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/complete") {
				next.ServeHTTP(w, r)
				return
			}
			step := "pass"
			if k := int(i.Add(1)) - 1; k < len(steps) {
				step = steps[k]
			}
			switch step {
			case "lost":
				next.ServeHTTP(discard{http.Header{}}, r)
				panic(http.ErrAbortHandler) // the connection is dropped without an answer
			case "completing":
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"error":{"message":"Cannot complete: the Upload is being completed.","type":"invalid_request_error","param":"upload_id","code":"upload_completing"}}`)
			case "500":
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(500)
				_, _ = io.WriteString(w, `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`)
			case "swallow":
				_, _ = io.Copy(io.Discard, r.Body)
				<-r.Context().Done()
			case "drop":
				_, _ = io.Copy(io.Discard, r.Body)
				panic(http.ErrAbortHandler)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// TestCompleteRecovery drives complete through the rest of its plan: an Upload being completed
// is waited for; a definitive answer after a lost one leads to the cancel, which the API refuses
// for a completed Upload, and the File is recovered instead of a "failed" message.
func TestCompleteRecovery(t *testing.T) {
	for name, steps := range map[string][]string{
		"being completed":                   {"lost", "completing", "completing"},
		"lost, then refused, then cancel":   {"lost", "500", "500"},
		"lost, then refused, then answered": {"lost", "500", "pass"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := startServer(t, conformance.ServerOptions{}, completeScript(steps...))
			c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
			n := &notes{}
			data := pattern(2 * testPartSize)
			up, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", data), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, MaxRetries: 2, Notify: n.add})
			if err != nil {
				t.Fatal(err)
			}
			checkUploaded(t, c, srv, up, data)
			if !strings.Contains(n.all(), "recovered File "+up.File.ID) {
				t.Errorf("Notify %q does not say the File was recovered", n.all())
			}
			if fileCount(t, c) != 1 {
				t.Errorf("%d Files, want 1", fileCount(t, c))
			}
		})
	}
}

// refuseCancel answers every cancel with a 400 the SDK does not know: the cancel fails.
func refuseCancel(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/cancel") {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `{"error":{"message":"Cancel refused.","type":"invalid_request_error","param":null,"code":"refused"}}`)
	})
}

// TestCompleteOutcomeUnknown: complete is never answered and never reaches the server, and the
// cancel that would settle it is refused. The SDK cannot tell whether the Upload was completed:
// the error says so and names the Upload, the Upload is left pending, and no File was made.
func TestCompleteOutcomeUnknown(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{}, completeScript("swallow", "swallow", "swallow"), refuseCancel)
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
		o.Timeout = 100 * time.Millisecond
		o.InitialRetryDelay = time.Millisecond
	})
	n := &notes{}
	_, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", pattern(2*testPartSize)), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, MaxRetries: 2, Notify: n.add})
	var upErr *helpers.UploadError
	if !errors.As(err, &upErr) || !upErr.OutcomeUnknown || upErr.Cancelled || upErr.Resumable || upErr.CancelErr == nil {
		t.Fatalf("err = %v, want an UploadError with OutcomeUnknown and the cancel's failure, not cancelled", err)
	}
	if msg := err.Error(); !strings.Contains(msg, upErr.UploadID) || !strings.Contains(msg, "unknown") || !strings.Contains(msg, "not cancelled") || !strings.Contains(msg, "Cancel refused") {
		t.Errorf("%q does not name the Upload, say its outcome is unknown and it was not cancelled, and say why", msg)
	}
	if !errors.Is(err, helpers.ErrTimeout) || !errors.Is(err, helpers.ErrReplyLost) {
		t.Errorf("err = %v, want it to wrap ErrReplyLost and ErrTimeout", err)
	}
	if u, _ := srv.Upload(upErr.UploadID); u.Status != generated.UploadStatusPending {
		t.Errorf("the Upload is %q, want pending (left as it is)", u.Status)
	}
	if fileCount(t, c) != 0 {
		t.Error("a File exists")
	}
	if strings.Contains(n.all(), "cancelled") && !strings.Contains(n.all(), "not cancelled") {
		t.Errorf("Notify says it was cancelled: %q", n.all())
	}
}

// TestCompleteUnansweredButPending: complete is never answered and never reaches the server. The
// cancel settles it: the API cancels only a pending Upload, so a cancelled Upload was not
// completed. The error says cancelled, not unknown, and no Upload is left pending.
func TestCompleteUnansweredButPending(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{}, completeScript("swallow", "swallow", "swallow"))
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
		o.Timeout = 100 * time.Millisecond
		o.InitialRetryDelay = time.Millisecond
	})
	n := &notes{}
	_, err := c.UploadFile(hangGuard(t), writeFile(t, "train.jsonl", pattern(2*testPartSize)), helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, MaxRetries: 2, Notify: n.add})
	var upErr *helpers.UploadError
	if !errors.As(err, &upErr) || !upErr.Cancelled || upErr.OutcomeUnknown {
		t.Fatalf("err = %v, want the Upload cancelled (it was still pending), not an unknown outcome", err)
	}
	if !errors.Is(err, helpers.ErrReplyLost) {
		t.Errorf("err = %v, want it to wrap ErrReplyLost", err)
	}
	if u, _ := srv.Upload(upErr.UploadID); u.Status != generated.UploadStatusCancelled {
		t.Errorf("the Upload is %q, want cancelled", u.Status)
	}
	if fileCount(t, c) != 0 {
		t.Error("a File exists")
	}
	if !strings.Contains(n.all(), "still pending (not completed)") {
		t.Errorf("Notify does not say the Upload was found pending: %q", n.all())
	}
}

// TestLostRepliesOfTheOtherOperations: deleteFile, cancelUpload and createFile after a lost
// reply. A delete whose retry finds no File reports it deleted; a cancel is retried; a
// createFile, which cannot be replayed, says a File may have been created, and it was.
func TestLostRepliesOfTheOtherOperations(t *testing.T) {
	ctx := context.Background()
	t.Run("deleteFile", func(t *testing.T) {
		srv := startServer(t, conformance.ServerOptions{Faults: faults(conformance.FaultLostResponse, 1, "deleteFile")})
		c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
		f, err := c.CreateFile(ctx, strings.NewReader("{}\n"), 3, "a.jsonl", "batch", nil)
		if err != nil {
			t.Fatal(err)
		}
		del, err := c.DeleteFile(ctx, f.ID)
		if err != nil || !del.Deleted || del.ID != f.ID {
			t.Fatalf("DeleteFile = %+v, %v; want it reported deleted", del, err)
		}
		if fileCount(t, c) != 0 {
			t.Error("the File still exists")
		}
		if del, err := c.DeleteFile(ctx, f.ID); err == nil {
			t.Errorf("deleting it again, every reply received: %+v, want the 404 (only a lost reply means it was deleted)", del)
		}
	})
	t.Run("cancelUpload", func(t *testing.T) {
		srv := startServer(t, conformance.ServerOptions{Faults: faults(conformance.FaultLostResponse, 1, "cancelUpload")})
		c := newClient(t, srv.URL, func(o *helpers.ClientOptions) { o.InitialRetryDelay = time.Millisecond })
		up, err := c.CreateUpload(ctx, createReq)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.CancelUpload(ctx, up.ID); err != nil || got.Status != generated.UploadStatusCancelled {
			t.Fatalf("CancelUpload = %+v, %v", got, err)
		}
	})
	t.Run("createFile", func(t *testing.T) {
		srv := startServer(t, conformance.ServerOptions{Faults: faults(conformance.FaultLostResponse, 1, "createFile")})
		c := newClient(t, srv.URL)
		_, err := c.CreateFile(ctx, bytes.NewReader(pattern(1000)), 1000, "a.jsonl", "batch", nil)
		if !errors.Is(err, helpers.ErrReplyLost) || !strings.Contains(err.Error(), "files list") {
			t.Fatalf("err = %v, want ErrReplyLost telling to look in the files list", err)
		}
		if n := srv.Stats().Operations["createFile"]; n != 1 {
			t.Errorf("createFile sent %d times: a streamed body was replayed", n)
		}
		if fileCount(t, c) != 1 {
			t.Error("the File the lost request made is not there")
		}
	})
}

// TestCreateCancelledDuringRetry: the first create is frozen and times out; the caller cancels
// during the backoff before the retry. The call returns at once, no new create is sent, and the
// error says a pending Upload may have been created.
func TestCreateCancelledDuringRetry(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{Faults: faults(conformance.FaultStall, 0, "createUpload")})
	var debug syncBuffer
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
		o.Timeout = 50 * time.Millisecond
		o.InitialRetryDelay = time.Minute // the retry waits long: the cancel comes first
		o.Debug = &debug
	})
	ctx, cancel := context.WithCancel(hangGuard(t))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.UploadFile(ctx, writeFile(t, "train.jsonl", pattern(100)), helpers.UploadOptions{Purpose: "batch"})
		done <- err
	}()
	for !strings.Contains(debug.String(), helpers.ErrTimeout.Error()) {
		time.Sleep(time.Millisecond) // polling for the first attempt to time out; not an assertion
	}
	cancelled := time.Now()
	cancel()
	err := <-done
	if d := time.Since(cancelled); d > cancelBound {
		t.Errorf("returned %v after the cancel, want within %v", d, cancelBound)
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "pending Upload") {
		t.Errorf("err = %v, want context.Canceled saying a pending Upload may exist", err)
	}
	if n := srv.Stats().Operations["createUpload"]; n != 1 {
		t.Errorf("createUpload sent %d times, want 1: no attempt after the cancel", n)
	}
}
