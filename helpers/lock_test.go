package helpers_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/helpers"
)

// gate holds the POST requests whose path ends with suffix, from the (from+1)-th on, until it is
// opened or the client goes away. arrived is closed when the first is held.
type gate struct {
	suffix        string
	from          int32
	seen          atomic.Int32
	arrived, rel  chan struct{}
	arrive, close sync.Once
}

func newGate(suffix string, from int32) *gate {
	return &gate{suffix: suffix, from: from, arrived: make(chan struct{}), rel: make(chan struct{})}
}

func (g *gate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, g.suffix) && g.seen.Add(1) > g.from {
			g.arrive.Do(func() { close(g.arrived) })
			select {
			case <-g.rel:
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (g *gate) open() { g.close.Do(func() { close(g.rel) }) }

// TestCheckpointInUse: while an upload runs with a checkpoint, a second call with the same
// checkpoint (here in the same process: the lock is the OS's, per open file, so it excludes
// another process and another call alike) fails at once with ErrCheckpointInUse, naming the
// checkpoint, and sends nothing and changes nothing. When the first ends, neither the checkpoint
// nor its lock file is left.
func TestCheckpointInUse(t *testing.T) {
	g := newGate("/parts", 1)
	srv := startServer(t, conformance.ServerOptions{}, g.wrap)
	defer g.open() // a failed test too: the server's Close waits for the held part's handler
	c := newClient(t, srv.URL)
	data := pattern(4 * testPartSize)
	path := writeFile(t, "train.jsonl", data)
	dir := t.TempDir()
	checkpoint := filepath.Join(dir, "cp.json")
	opts := helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Concurrency: 1, Checkpoint: checkpoint}

	type result struct {
		up  any
		err error
	}
	first := make(chan result, 1)
	go func() {
		up, err := c.UploadFile(hangGuard(t), path, opts)
		first <- result{up, err}
	}()
	<-g.arrived // the first holds the lock, a part in flight
	before, requests := dirState(t, dir), srv.Stats().Requests
	_, err := c.UploadFile(hangGuard(t), path, opts)
	if !errors.Is(err, helpers.ErrCheckpointInUse) || errors.As(err, new(*helpers.InputError)) {
		t.Fatalf("err = %v, want ErrCheckpointInUse (not an InputError)", err)
	}
	if !strings.Contains(err.Error(), checkpoint) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("%q does not name the checkpoint as in use", err)
	}
	if n := srv.Stats().Requests - requests; n != 0 {
		t.Errorf("the second call sent %d requests", n)
	}
	if after := dirState(t, dir); !mapsEqual(before, after) {
		t.Errorf("the second call changed the checkpoint's directory:\n%v\n%v", before, after)
	}
	g.open()
	if r := <-first; r.err != nil {
		t.Fatalf("the first upload: %v", r.err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("left in the checkpoint's directory: %v", names)
	}
}

// TestCheckpointLockExcludes: calls with one checkpoint started together, round after round,
// while lock files are created and removed: never two run at once (counted from their Progress,
// reported only while the lock is held), each succeeds or fails with ErrCheckpointInUse, and no
// lock file is left.
func TestCheckpointLockExcludes(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	path := writeFile(t, "train.jsonl", pattern(2*testPartSize))
	dir := t.TempDir()
	checkpoint := filepath.Join(dir, "cp.json")
	var active, most atomic.Int32
	succeeded, refused := 0, 0
	var mu sync.Mutex
	for range 6 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 5 {
			wg.Go(func() {
				<-start
				var in bool
				_, err := c.UploadFile(hangGuard(t), path, helpers.UploadOptions{
					Purpose: "batch", PartSize: testPartSize, Checkpoint: checkpoint,
					Progress: func(p helpers.Progress) {
						switch {
						case !in:
							in = true
							n := active.Add(1)
							for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
							}
						case p.Phase == helpers.PhaseDone || p.Phase == helpers.PhaseFailed || p.Phase == helpers.PhaseCancelled:
							active.Add(-1)
						}
					},
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					succeeded++
				case errors.Is(err, helpers.ErrCheckpointInUse):
					refused++
				default:
					t.Errorf("err = %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
	}
	if most.Load() != 1 || succeeded < 6 {
		t.Errorf("at most %d ran at once (want 1); %d succeeded, %d refused", most.Load(), succeeded, refused)
	}
	t.Logf("%d succeeded, %d refused as in use", succeeded, refused)
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("left in the checkpoint's directory: %v", names)
	}
}

// TestLeftoverLockFile: a lock file left by a killed run (the OS released its lock) blocks
// nobody: it is used and removed. An empty one (a run killed as it created it, or somebody
// else's) is used and left in place.
func TestLeftoverLockFile(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	path := writeFile(t, "train.jsonl", pattern(2*testPartSize))
	for _, tc := range []struct {
		name    string
		content string
		left    []string
	}{
		{"left by a killed run", "", nil},
		{"empty", "", []string{"cp.json.lock"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			checkpoint := filepath.Join(dir, "cp.json")
			content := tc.content
			if tc.left == nil {
				content = leftoverLock(t, c, path)
			}
			if err := os.WriteFile(checkpoint+".lock", []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := c.UploadFile(hangGuard(t), path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Checkpoint: checkpoint}); err != nil {
				t.Fatal(err)
			}
			if names := dirNames(t, dir); !slices.Equal(names, tc.left) {
				t.Errorf("left in the checkpoint's directory: %v, want %v", names, tc.left)
			}
		})
	}
}

// leftoverLock is the content of a lock file as a run leaves it: read while a run holds it.
func leftoverLock(t *testing.T, c *helpers.Client, path string) string {
	t.Helper()
	checkpoint := filepath.Join(t.TempDir(), "cp.json")
	var content []byte
	_, err := c.UploadFile(hangGuard(t), path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Checkpoint: checkpoint,
		Progress: func(helpers.Progress) {
			if content == nil {
				content, _ = os.ReadFile(checkpoint + ".lock")
			}
		}})
	if err != nil || len(content) == 0 {
		t.Fatalf("no lock file seen during an upload: %v", err)
	}
	return string(content)
}

// TestLeftoversOfAKilledSave: a run killed while saving its checkpoint leaves a temporary file
// beside it (<checkpoint>.tmp-<digits>, empty or part of a checkpoint); the next run removes
// those, and only those.
func TestLeftoversOfAKilledSave(t *testing.T) {
	srv := startServer(t, conformance.ServerOptions{})
	c := newClient(t, srv.URL)
	path := writeFile(t, "train.jsonl", pattern(2*testPartSize))
	dir := t.TempDir()
	checkpoint := filepath.Join(dir, "cp.json")
	for name, content := range map[string]string{
		"cp.json.tmp-123":    "{\n  \"format\": \"openai-uploads-checkpoint\",\n  \"vers", // cut short
		"cp.json.tmp-456":    "",
		"cp.json.tmp-789":    "somebody's notes",
		"cp.json.tmp-abc":    "",
		"other.json.tmp-12":  "",
		"cp.json.lock.tmp-5": "", // a run killed as it created the lock file
		"cp.json.lock.tmp-6": "a lock of something else",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.UploadFile(hangGuard(t), path, helpers.UploadOptions{Purpose: "batch", PartSize: testPartSize, Checkpoint: checkpoint}); err != nil {
		t.Fatal(err)
	}
	if names, want := dirNames(t, dir), []string{"cp.json.lock.tmp-6", "cp.json.tmp-789", "cp.json.tmp-abc", "other.json.tmp-12"}; !slices.Equal(names, want) {
		t.Errorf("left: %v, want %v", names, want)
	}
}
