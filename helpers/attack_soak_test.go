package helpers_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

var (
	filesSoakN     = flag.Int("filesoak.files", 48, "files per UploadFiles in TestUploadFilesSoak")
	filesSoakSeeds = flag.Int("filesoak.seeds", 2, "seeds (runs) of TestUploadFilesSoak")
	filesSoakRate  = flag.Float64("filesoak.rate", 0.2, "share of the requests of TestUploadFilesSoak that fail")
)

// TestUploadFilesSoak: UploadFiles, small files (one POST /files) and large ones (Uploads) mixed,
// against faults of every kind in every operation it uses, listFiles and deleteFile included (the
// searches after lost replies go through them). What must hold, whatever failed:
//   - a file whose result holds a File: it is byte-exact, no other path got it, and it is the
//     only File of that name on the server;
//   - a file that failed: no File of its name exists, unless its error says one may
//     (ErrReplyLost, or an UploadError whose outcome is unknown);
//   - the Uploads left pending are those of a create whose reply was lost (nobody learned their
//     id), or of a complete whose outcome is unknown.
func TestUploadFilesSoak(t *testing.T) {
	for seed := range *filesSoakSeeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { filesSoak(t, uint64(seed)) })
	}
}

func filesSoak(t *testing.T, seed uint64) {
	const stall = 300 * time.Millisecond
	srv := startServer(t, conformance.ServerOptions{Faults: conformance.Faults{
		Rate: *filesSoakRate, Seed: seed, Kinds: conformance.AllFaultKinds, Operations: soakFileOps,
		SlowRate: 4 << 20, StallFor: 4 * stall,
	}})
	c := newClient(t, srv.URL, func(o *helpers.ClientOptions) {
		o.InitialRetryDelay = time.Millisecond
		o.Timeout = stall
		o.StallTimeout = stall
	})
	dir := t.TempDir()
	var paths []string
	datas := map[string][]byte{}
	large := map[string]bool{}
	for i := range *filesSoakN {
		size := 1000 + (i*7919)%20000 // small: up to the limit below
		if i%3 == 0 {
			size = 5*testPartSize + (i*104729)%(4*testPartSize) // large: 5 to 9 parts
			large[fmt.Sprintf("f%03d.jsonl", i)] = true
		}
		data := pattern(size)
		for j := range data {
			data[j] ^= byte(i)
		}
		name := fmt.Sprintf("f%03d.jsonl", i)
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, data, 0o600))
		paths = append(paths, p)
		datas[name] = data
	}
	var unanswered atomic.Int64 // create attempts the client says got no reply
	results, err := c.UploadFiles(hangGuard(t), paths, helpers.UploadFilesOptions{
		Purpose: "batch", PartSize: testPartSize, SmallFileLimit: 24 << 10, MaxRetries: 1, StallTimeout: stall,
		Notify: func(_ int, _, m string) { unanswered.Add(unansweredCreates(m)) },
	})
	var fe *helpers.FilesError
	if err != nil && !errors.As(err, &fe) {
		t.Fatalf("err = %v, want nil or a FilesError", err)
	}
	if len(results) != len(paths) {
		t.Fatalf("%d results for %d files", len(results), len(paths))
	}

	// The Files on the server, by name (listing with a client without faults: a fresh server
	// view through the same one would meet the faults too).
	byName := map[string][]string{}
	page, lerr := listAll(c)
	if lerr != nil {
		t.Fatal(lerr)
	}
	for _, f := range page {
		byName[f.Filename] = append(byName[f.Filename], f.ID)
	}
	ok, failed, mayExist, didExist, known := 0, 0, 0, 0, map[string]bool{}
	okByKind := map[bool]int{} // byte-exact files, large (an Upload) or small (one POST /files)
	unknownUploads := map[string]bool{}
	taken := map[string]string{}
	for _, r := range results {
		if r.Err != nil {
			unanswered.Add(unansweredCreates(r.Err.Error()))
		}
		name := filepath.Base(r.Path)
		files := byName[name]
		var upErr *helpers.UploadError
		if errors.As(r.Err, &upErr) {
			known[upErr.UploadID] = true
			if upErr.OutcomeUnknown {
				unknownUploads[upErr.UploadID] = true
			}
		}
		if r.Upload != nil {
			known[r.Upload.ID] = true
		}
		switch {
		case r.Err == nil:
			ok++
			if other, dup := taken[r.File.ID]; dup {
				t.Errorf("%s and %s both got File %s", other, r.Path, r.File.ID)
			}
			taken[r.File.ID] = r.Path
			if len(files) != 1 || files[0] != r.File.ID {
				t.Errorf("%s: Files %v of its name, want exactly %s", name, files, r.File.ID)
			}
			if got := download(t, c, r.File.ID); !bytes.Equal(got, datas[name]) {
				t.Errorf("%s: %d bytes came back, want %d, byte-exact", name, len(got), len(datas[name]))
			} else {
				okByKind[large[name]]++
			}
		case errors.Is(r.Err, helpers.ErrReplyLost) || upErr != nil && upErr.OutcomeUnknown:
			failed++
			mayExist++
			if len(files) == 1 {
				didExist++
				if didExist <= 2 {
					t.Logf("%s: failed saying a File may exist, and one does: %v", name, r.Err)
				}
			}
			if len(files) > 1 {
				t.Errorf("%s: failed, Files %v of its name", name, files)
			}
		default:
			failed++
			if len(files) != 0 {
				t.Errorf("%s failed (%v), but Files %v of its name exist", name, r.Err, files)
			}
		}
	}
	pendingOrphans, pendingUnknown := 0, 0
	for _, id := range srv.Uploads() {
		u, _ := srv.Upload(id)
		switch {
		case u.Status != generated.UploadStatusPending:
		case !known[id]:
			pendingOrphans++
		case unknownUploads[id]:
			pendingUnknown++
		default:
			t.Errorf("upload %s is left pending, and no error said so", id)
		}
	}
	// Only a create without a reply leaves an orphan: one whose reply the server lost, or one the
	// client gave up on (its Timeout, on a loaded machine) that was carried out all the same. The
	// client says of each (Notify, the error).
	lostCreates := srv.InjectedFaults()["createUpload"][conformance.FaultLostResponse]
	if int64(pendingOrphans) > unanswered.Load() {
		t.Errorf("%d pending Uploads nobody knows of, more than the %d create attempts the client says got no reply (%d replies lost by the server)", pendingOrphans, unanswered.Load(), lostCreates)
	}
	st := srv.Stats()
	// What holds "whatever failed" must have been put to the test: faults were injected, and
	// files of both kinds came through them byte-exact (an UploadFiles that sends nothing and
	// fails every file met every check above). At the default 20% of faults 44 and 45 of the 48
	// files come through; runs with other flags (no faults, most requests failing, a single
	// file) are not held to it.
	var faults int64
	for _, n := range st.Faults {
		faults += n
	}
	if faults == 0 && *filesSoakRate > 0 {
		t.Errorf("no fault was injected in %d requests", st.Requests)
	}
	if (okByKind[true] == 0 || okByKind[false] == 0) && *filesSoakRate <= 0.5 && len(paths) >= 2 {
		t.Errorf("%d large and %d small files came through byte-exact; the soak needs both", okByKind[true], okByKind[false])
	}
	t.Logf("seed %d: %d files: %d byte-exact, %d failed (%d saying a File may exist, %d of them with one); %d requests, faults %v; pending: %d orphans (%d create replies lost, %d create attempts without a reply at the client), %d unknown",
		seed, len(paths), ok, failed, mayExist, didExist, st.Requests, st.Faults, pendingOrphans, lostCreates, unanswered.Load(), pendingUnknown)
	for _, op := range soakFileOps {
		t.Logf("  faults in %s: %v", op, srv.InjectedFaults()[op])
	}
}

// soakFileOps are the operations of an UploadFiles (the checks download the Files back: not
// downloadFile).
var soakFileOps = []string{"createUpload", "addUploadPart", "completeUpload", "cancelUpload", "createFile", "listFiles", "deleteFile"}

// listAll lists every File, retrying each page (the server injects faults into listFiles too).
func listAll(c *helpers.Client) ([]generated.OpenAIFile, error) {
	var out []generated.OpenAIFile
	limit := int64(10000)
	for range 50 {
		page, err := c.ListFiles(context.Background(), &generated.ListFilesParams{Limit: &limit})
		if err == nil {
			return append(out, page.Data...), nil
		}
	}
	return nil, errors.New("listing the files kept failing")
}
