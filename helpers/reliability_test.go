package helpers_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// cancelBound is how soon a cancelled upload must return: the promise to users.
const cancelBound = time.Second

// answerLate is how long after the cancel stageGate answers a create: the SDK must not have
// given up on it (CreateGrace is 500 ms).
const answerLate = 100 * time.Millisecond

// stageGate holds requests to one stage's path: it signals when the first arrives, and then
// either answers it late (create: answerLate after the caller closes cancelled, so that the
// answer comes after the cancel whatever the machine's load, and well within CreateGrace) or
// never (parts, complete; cancelled nil) until the client gives up.
func stageGate(suffix string, arrived chan<- struct{}, cancelled <-chan struct{}) func(http.Handler) http.Handler {
	var once sync.Once
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, suffix) {
				next.ServeHTTP(w, r)
				return
			}
			first := false
			once.Do(func() { first = true })
			if !first {
				next.ServeHTTP(w, r)
				return
			}
			close(arrived)
			if cancelled != nil {
				// The server is slow to answer, but it does: the Upload exists.
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				<-cancelled
				time.Sleep(answerLate)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
				return
			}
			// Never answered: the client must give up on its own. (The body is read first, so
			// that the server notices when the client closes the connection.)
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		})
	}
}

// TestCancellationAtEveryStage cancels the caller's context while the Upload is being created,
// while parts are in flight, and while it is being completed: the call returns within a second,
// and the Upload ends cancelled, or pending when a checkpoint was asked for.
func TestCancellationAtEveryStage(t *testing.T) {
	for _, stage := range []struct {
		name, suffix string
		answered     bool // late, after the cancel
	}{
		{"create", "/uploads", true},
		{"parts", "/parts", false},
		{"complete", "/complete", false},
	} {
		for _, withCheckpoint := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/checkpoint=%v", stage.name, withCheckpoint), func(t *testing.T) {
				arrived := make(chan struct{})
				var cancelledCh chan struct{}
				if stage.answered {
					cancelledCh = make(chan struct{})
				}
				srv := startServer(t, conformance.ServerOptions{}, stageGate(stage.suffix, arrived, cancelledCh))
				c := newClient(t, srv.URL)
				opts := helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize}
				if withCheckpoint {
					opts.Checkpoint = filepath.Join(t.TempDir(), "cp.json")
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				type outcome struct {
					err error
					at  time.Time
				}
				done := make(chan outcome, 1)
				path := writeFile(t, "train.jsonl", pattern(6*testPartSize))
				go func() {
					_, err := c.UploadFile(ctx, path, opts)
					done <- outcome{err, time.Now()}
				}()
				<-arrived
				cancelled := time.Now()
				cancel()
				if cancelledCh != nil {
					close(cancelledCh)
				}
				var out outcome
				select {
				case out = <-done:
				case <-time.After(10 * cancelBound):
					t.Fatalf("UploadFile still running %v after the cancel", 10*cancelBound)
				}
				if d := out.at.Sub(cancelled); d > cancelBound {
					t.Errorf("returned %v after the cancel, want within %v", d, cancelBound)
				}
				if !errors.Is(out.err, context.Canceled) {
					t.Fatalf("err = %v, want context.Canceled", out.err)
				}
				var upErr *helpers.UploadError
				if !errors.As(out.err, &upErr) {
					t.Fatalf("err = %v, want an UploadError naming the Upload", out.err)
				}
				want := generated.UploadStatusCancelled
				if withCheckpoint {
					want = generated.UploadStatusPending
				}
				if u, _ := srv.Upload(upErr.UploadID); u.Status != want {
					t.Errorf("the Upload is %q, want %q", u.Status, want)
				}
				if upErr.Resumable != withCheckpoint || upErr.Cancelled == withCheckpoint {
					t.Errorf("Resumable %v Cancelled %v, want resumable only with a checkpoint", upErr.Resumable, upErr.Cancelled)
				}
			})
		}
	}
}

var (
	soakFiles = flag.Int("soak.files", 24, "files the soak test uploads")
	soakSize  = flag.Int("soak.size", 1<<20, "largest file size in the soak test, bytes")
	soakRate  = flag.Float64("soak.rate", 0.3, "fraction of requests that fail in the soak test")
	soakStall = flag.Duration("soak.stall", 500*time.Millisecond, "stall timeout and request timeout of the soak's client")
)

// soakOps are the operations the soak injects faults into: the upload's own requests.
var soakOps = []string{"createUpload", "addUploadPart", "completeUpload", "cancelUpload"}

// TestSoak uploads many files at once through the reference server with 30% of the requests of
// create, parts, complete and cancel failing, every kind of fault mixed: the server's errors,
// resets, replies lost after the work was done, answers before the body was read, stalls, and
// slow bodies. Each file is uploaded with few retries, so some runs fail for good. It checks and
// reports: every completed file byte-exact; exactly one File per completed upload and none per
// failed one (no duplicates); every failed run's Upload cancelled, or left as is when complete's
// outcome was unknown; and the pending Uploads left on the server, which must be exactly those
// created by a create whose reply was lost. Longer runs:
// go test ./helpers -run 'TestSoak$' -v -args -soak.files 500 -soak.size 8388608
func TestSoak(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{Faults: conformance.Faults{
		Rate: *soakRate, Seed: 42, Kinds: conformance.AllFaultKinds, Operations: soakOps,
		SlowRate: 4 << 20, StallFor: 4 * *soakStall,
	}})
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
		o.InitialRetryDelay = time.Millisecond
		o.Timeout = *soakStall
		o.StallTimeout = *soakStall
	})
	var mu sync.Mutex
	var ok, failedCreate, cancelled, unknown, duplicates, bytesOK int64
	var unanswered atomic.Int64     // create attempts the client says got no reply
	known := map[string]bool{}      // Upload ids the clients learned
	unknownIDs := map[string]bool{} // Uploads left as is, complete's outcome unknown
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	for i := range *soakFiles {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			size := *soakSize/2 + (i*7919*37)%(*soakSize/2+1) // half to all of soak.size
			data := pattern(size)
			for j := range data { // a different file each time
				data[j] ^= byte(i)
			}
			name := fmt.Sprintf("soak-%d.jsonl", i)
			ps := max(int64(size)/int64(8+i%16), 16<<10) // 8 to 23 parts, whatever the size
			up, err := c.UploadReaderAt(context.Background(), bytes.NewReader(data), int64(size), helpers.UploadOptions{
				Purpose: "batch", Filename: name, PartSize: ps, Concurrency: 1 + i%4,
				MaxRetries: 1 + i%6, StallTimeout: *soakStall,
				Notify: func(m string) { unanswered.Add(unansweredCreates(m)) },
			})
			if err != nil {
				unanswered.Add(unansweredCreates(err.Error()))
			}
			files := filesNamed(t, c, name)
			mu.Lock()
			defer mu.Unlock()
			var upErr *helpers.UploadError
			switch {
			case err == nil:
				known[up.ID] = true
				if len(files) != 1 || files[0] != up.File.ID {
					duplicates += int64(len(files) - 1)
					t.Errorf("file %d: Files %v on the server, want exactly %s", i, files, up.File.ID)
				}
				if got := download(t, c, up.File.ID); !bytes.Equal(got, data) {
					t.Errorf("file %d: %d bytes came back, want %d, byte-exact", i, len(got), len(data))
					return
				}
				ok++
				bytesOK += int64(size)
			case errors.As(err, &upErr):
				known[upErr.UploadID] = true
				u, _ := srv.Upload(upErr.UploadID)
				switch {
				case upErr.OutcomeUnknown:
					unknown++
					unknownIDs[upErr.UploadID] = true
					if u.Status == generated.UploadStatusCancelled || len(files) > 1 {
						t.Errorf("file %d: outcome unknown, but the Upload is %q with %d Files", i, u.Status, len(files))
					}
				case upErr.Cancelled && u.Status == generated.UploadStatusCancelled:
					cancelled++
					if len(files) != 0 {
						duplicates += int64(len(files))
						t.Errorf("file %d failed and was cancelled, but Files %v exist", i, files)
					}
				default:
					t.Errorf("file %d failed (%v) and its Upload is %q, want cancelled", i, err, u.Status)
				}
				if cancelled+unknown <= 3 {
					t.Logf("file %d (%d retries per request) failed as expected: %v", i, 1+i%6, err)
				}
			default:
				// create failed for good: the faults on createUpload did it.
				failedCreate++
				if len(files) != 0 {
					t.Errorf("file %d: create failed (%v), but Files %v exist", i, err, files)
				}
			}
			for _, id := range files {
				if _, err := c.DeleteFile(context.Background(), id); err != nil { // keep memory storage small
					t.Errorf("file %d: delete: %v", i, err)
				}
			}
		})
	}
	wg.Wait()

	var orphans, pendingKnown int64
	for _, id := range srv.Uploads() {
		u, _ := srv.Upload(id)
		switch {
		case u.Status != generated.UploadStatusPending:
		case !known[id]:
			orphans++
		case unknownIDs[id]:
			pendingKnown++
		default:
			t.Errorf("upload %s is left pending, and no error said so", id)
		}
	}
	st := srv.Stats()
	byOp := srv.InjectedFaults()
	lostCreates := byOp["createUpload"][conformance.FaultLostResponse]
	var faults int64
	for _, n := range st.Faults {
		faults += n
	}
	t.Logf("soak: %d files: %d byte-exact (%d bytes), %d failed and cancelled, %d failed to create, %d with complete's outcome unknown; %d duplicate Files",
		*soakFiles, ok, bytesOK, cancelled, failedCreate, unknown, duplicates)
	t.Logf("soak: %d requests (%d parts); %d faults injected: %v", st.Requests, st.Operations["addUploadPart"], faults, st.Faults)
	for _, op := range soakOps {
		t.Logf("soak: faults in %s: %v", op, byOp[op])
	}
	t.Logf("soak: Uploads left pending: %d created by a create whose reply was lost (%d such replies, %d create attempts without a reply at the client), %d left as is with complete's outcome unknown",
		orphans, lostCreates, unanswered.Load(), pendingKnown)
	if ok+cancelled+unknown+failedCreate != int64(*soakFiles) {
		t.Errorf("%d files accounted for, want %d", ok+cancelled+unknown+failedCreate, *soakFiles)
	}
	// The checks of completed files must have something to check: with every upload failing
	// (a complete that sends a wrong md5, say) all of the above held. At the default 30% of
	// faults most files come through (22 of 24); a run with -soak.rate above one half may not.
	if ok == 0 && *soakRate <= 0.5 {
		t.Errorf("no file of %d came through byte-exact, with %.0f%% of the requests failing", *soakFiles, 100**soakRate)
	}
	// Every lost reply leaves an orphan. A create the client gave up on (its Timeout, on a loaded
	// machine) may have been carried out as well, and leave one: the client says so (Notify, the
	// error), and no orphan may go beyond what it said.
	if orphans < lostCreates || orphans > unanswered.Load() {
		t.Errorf("%d pending Uploads nobody knows of, want the %d whose create reply was lost, and at most the %d create attempts the client says got no reply", orphans, lostCreates, unanswered.Load())
	}
	for _, k := range conformance.AllFaultKinds {
		if *soakFiles >= 24 && st.Faults[k] == 0 {
			t.Errorf("no %s fault was injected", k)
		}
	}
}

// unansweredText is what an upload says of its create attempts that got no reply: in Notify once
// a retry created the Upload, in the error when none did.
var unansweredText = regexp.MustCompile(`reply to create was lost (once|(\d+) times)|(\d+) attempts? got no reply`)

// unansweredCreates counts the create attempts without a reply that msg tells of. Each may have
// left a pending Upload nobody knows of: a reply the server lost, or an attempt the client gave
// up on, carried out or not.
func unansweredCreates(msg string) int64 {
	var n int64
	for _, m := range unansweredText.FindAllStringSubmatch(msg, -1) {
		k := 1
		switch {
		case m[2] != "":
			k, _ = strconv.Atoi(m[2])
		case m[3] != "":
			k, _ = strconv.Atoi(m[3])
		}
		n += int64(k)
	}
	return n
}

// filesNamed lists the ids of the Files with this filename.
func filesNamed(t *testing.T, c *helpers.Client, name string) []string {
	t.Helper()
	page, err := c.ListFiles(context.Background(), nil)
	if err != nil {
		t.Error(err)
		return nil
	}
	var ids []string
	for _, f := range page.Data {
		if f.Filename == name {
			ids = append(ids, f.ID)
		}
	}
	return ids
}

// TestSecretsNeverPrinted runs the helpers through failure paths with a recognisable key and
// checks that it appears in no error string and no debug line.
func TestSecretsNeverPrinted(t *testing.T) {
	const secret = "sk-SECRET-do-not-print-0123456789abcdef"
	var debug bytes.Buffer
	var errs []string
	record := func(err error) {
		if err == nil {
			t.Error("a failure path succeeded")
			return
		}
		errs = append(errs, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
	}
	mk := func(url string, mod ...func(*helpers.ClientOptions)) *helpers.Client {
		o := helpers.ClientOptions{APIKey: secret, BaseURL: url, Debug: &debug, InitialRetryDelay: time.Millisecond}
		for _, f := range mod {
			f(&o)
		}
		c, err := helpers.NewClient(o)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	path := writeFile(t, "train.jsonl", pattern(3*testPartSize))

	// 401: a server that wants another key (and one that echoes the key back).
	keyed := startServer(t, conformance.ServerOptions{APIKey: "sk-the-other-key"})
	_, err := mk(keyed.URL).UploadFile(ctx, path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize})
	record(err)
	echo := newScripted(t, answer{status: 401, body: `{"error":{"message":"Incorrect API key provided: ` + secret + `","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`})
	_, err = mk(echo.URL+"/v1").CreateUpload(ctx, createReq)
	record(err)
	// 500 on every part: retried, then cancelled.
	srv := startServer(t, conformance.ServerOptions{Faults: conformance.Faults{Rate: 1, Kinds: []conformance.FaultKind{conformance.Fault500}}})
	_, err = mk(srv.URL).UploadFile(ctx, path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, MaxRetries: 1})
	record(err)
	// Connection refused.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err = mk("http://"+addr+"/v1").UploadFile(ctx, path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize})
	record(err)
	// A panic in the progress callback.
	ok := startServer(t, conformance.ServerOptions{})
	_, err = mk(ok.URL).UploadFile(ctx, path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize,
		Progress: func(helpers.Progress) { panic("progress exploded with " + strings.Repeat("x", 3)) }})
	record(err)

	all := strings.Join(errs, "\n") + "\n" + debug.String()
	if strings.Contains(all, secret) || strings.Contains(all, secret[3:]) {
		t.Fatalf("the key leaked:\n%s", all)
	}
	if !strings.Contains(debug.String(), "Authorization: [redacted]") {
		t.Errorf("debug output does not show the redacted header:\n%s", debug.String())
	}
	if n := strings.Count(debug.String(), "> "); n < 5 {
		t.Errorf("only %d requests were logged", n)
	}
}
