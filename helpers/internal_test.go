package helpers

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPlanPartsCoversTheFileOnce(t *testing.T) {
	for _, tc := range []struct{ size, partSize int64 }{
		{1, 1}, {1, MaxPartSize}, {10, 3}, {9, 3}, {MaxPartSize, MaxPartSize}, {MaxPartSize + 1, MaxPartSize}, {MaxUploadSize, MaxPartSize},
	} {
		parts := planParts(tc.size, tc.partSize)
		if want := (tc.size + tc.partSize - 1) / tc.partSize; int64(len(parts)) != want {
			t.Errorf("%d/%d: %d parts, want %d", tc.size, tc.partSize, len(parts), want)
		}
		var next int64
		for i, p := range parts {
			if p.index != i || p.offset != next || p.length <= 0 || p.length > tc.partSize {
				t.Fatalf("%d/%d: part %d = %+v after offset %d", tc.size, tc.partSize, i, p, next)
			}
			next += p.length
		}
		if next != tc.size {
			t.Errorf("%d/%d: parts cover %d bytes", tc.size, tc.partSize, next)
		}
	}
	if planParts(0, 10) != nil || planParts(10, 0) != nil {
		t.Error("an empty file or a zero part size has a plan")
	}
}

func TestRetryAfter(t *testing.T) {
	resp := func(kv ...string) *http.Response {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return &http.Response{Header: h}
	}
	for _, tc := range []struct {
		resp *http.Response
		want time.Duration
		ok   bool
	}{
		{resp("retry-after-ms", "250"), 250 * time.Millisecond, true},
		{resp("retry-after-ms", "0", "Retry-After", "9"), 0, true}, // the server says: at once
		{resp("retry-after-ms", "1.5", "Retry-After", "9"), 1500 * time.Microsecond, true},
		{resp("Retry-After", "2"), 2 * time.Second, true},
		{resp("Retry-After", "0.5"), 500 * time.Millisecond, true},
		{resp("Retry-After", "3600"), MaxRetryAfter, true},
		{resp("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"), 0, true}, // in the past: now
		{resp("Retry-After", "soon"), 0, false},
		{resp(), 0, false},
		{nil, 0, false},
	} {
		got, ok := retryAfter(tc.resp)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%v: %v %v, want %v %v", tc.resp, got, ok, tc.want, tc.ok)
		}
	}
	future := time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)
	if got, ok := retryAfter(resp("Retry-After", future)); !ok || got <= 8*time.Second || got > 10*time.Second {
		t.Errorf("an HTTP date 10s ahead gives %v", got)
	}
}

func TestBackoff(t *testing.T) {
	p := retryPolicy{jitter: func() float64 { return 1 }}.withDefaults(2)
	for attempt, want := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if got := p.delay(attempt, nil); got != want {
			t.Errorf("attempt %d: %v, want %v", attempt, got, want)
		}
	}
	p.jitter = func() float64 { return 0.75 }
	if got := p.delay(0, nil); got != 375*time.Millisecond {
		t.Errorf("with the most jitter: %v, want 375ms", got)
	}
	if got := p.delay(1000, nil); got != 6*time.Second {
		t.Errorf("a huge attempt number: %v, want the cap with jitter", got)
	}
	// A backoff that overflows to exactly 0 (2^34 ns shifted 30 times) is the cap, not no wait.
	p = retryPolicy{initial: 1 << 34, max: time.Minute, jitter: func() float64 { return 1 }}
	if got := p.delay(30, nil); got != time.Minute {
		t.Errorf("a backoff that overflows to 0: %v, want the cap, 1m", got)
	}
}

func TestDecodeCheckpoint(t *testing.T) {
	const m = `"format":"openai-uploads-checkpoint","version":2`
	const sum = `"md5":"0123456789abcdef0123456789abcdef"`
	valid := `{` + m + `,"upload_id":"upload_1","created_at":1,"expires_at":1,"size":10,"mtime_ns":1,"part_size":4,"purpose":"batch","filename":"a","mime_type":"text/plain","parts":[{"index":0,"id":"part_a",` + sum + `},{"index":2,"id":"part_c",` + sum + `}]}`
	if cp, err := decodeCheckpoint([]byte(valid)); err != nil || len(cp.Parts) != 2 {
		t.Fatalf("valid checkpoint: %v", err)
	}
	for name, bad := range map[string]string{
		"not json":        `{`,
		"no marker":       `{"version":2,"upload_id":"u","size":1,"part_size":1,"parts":[]}`,
		"version":         `{"format":"openai-uploads-checkpoint","version":1,"upload_id":"u","size":1,"part_size":1,"parts":[]}`,
		"no upload":       `{` + m + `,"upload_id":"","size":1,"part_size":1,"parts":[]}`,
		"zero size":       `{` + m + `,"upload_id":"u","size":0,"part_size":1,"parts":[]}`,
		"size above 8 GB": `{` + m + `,"upload_id":"u","size":8589934593,"part_size":67108864,"parts":[]}`,
		"part size":       `{` + m + `,"upload_id":"u","size":1,"part_size":67108865,"parts":[]}`,
		"index past end":  `{` + m + `,"upload_id":"u","size":10,"part_size":4,"parts":[{"index":3,"id":"p",` + sum + `}]}`,
		"negative index":  `{` + m + `,"upload_id":"u","size":10,"part_size":4,"parts":[{"index":-1,"id":"p",` + sum + `}]}`,
		"twice":           `{` + m + `,"upload_id":"u","size":10,"part_size":4,"parts":[{"index":1,"id":"p",` + sum + `},{"index":1,"id":"q",` + sum + `}]}`,
		"no part id":      `{` + m + `,"upload_id":"u","size":10,"part_size":4,"parts":[{"index":1,"id":"",` + sum + `}]}`,
		"no part md5":     `{` + m + `,"upload_id":"u","size":10,"part_size":4,"parts":[{"index":1,"id":"p"}]}`,
		"bad part md5":    `{` + m + `,"upload_id":"u","size":10,"part_size":4,"parts":[{"index":1,"id":"p","md5":"xyz"}]}`,
		"unknown field":   `{` + m + `,"upload_id":"u","size":10,"part_size":4,"parts":[],"extra":1}`,
	} {
		if _, err := decodeCheckpoint([]byte(bad)); err == nil {
			t.Errorf("%s: accepted %s", name, bad)
		}
	}
	pastEnd := `{` + m + `,"upload_id":"u","size":10,"part_size":4,"parts":[{"index":3,"id":"p",` + sum + `}]}`
	if _, err := decodeCheckpoint([]byte(pastEnd)); err == nil || !strings.Contains(err.Error(), "part index 3 is outside 0..2") {
		t.Errorf("index past the end: err = %v, want it to give the plan's indexes, 0..2", err)
	}
}

// TestCheckpointSizeCap: a checkpoint of exactly maxCheckpointBytes (here blanks inside its
// JSON) is decoded, and read whole from its file; one byte more is refused.
func TestCheckpointSizeCap(t *testing.T) {
	valid := `{"format":"openai-uploads-checkpoint","version":2,"upload_id":"upload_1","size":10,"part_size":4,"parts":[]}`
	pad := maxCheckpointBytes - len(valid)
	data := []byte(valid[:len(valid)-1] + strings.Repeat(" ", pad) + "}")
	if _, err := decodeCheckpoint(data); err != nil {
		t.Errorf("a checkpoint of exactly %d bytes: %v", maxCheckpointBytes, err)
	}
	over := []byte(valid[:len(valid)-1] + strings.Repeat(" ", pad+1) + "}")
	if _, err := decodeCheckpoint(over); err == nil {
		t.Errorf("a checkpoint of %d bytes was decoded", maxCheckpointBytes+1)
	}

	dir := t.TempDir()
	path, src := filepath.Join(dir, "cp.json"), filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	u := &upload{src: &uploadSource{info: info}}
	if found, err := u.inspectCheckpoint(path); err != nil || found == nil || found.cp == nil || found.cp.UploadID != "upload_1" {
		t.Errorf("reading a checkpoint file of exactly %d bytes: %+v, %v; want it read whole and decoded", maxCheckpointBytes, found, err)
	}
}

// TestClassifyCheckpoint: what a file found at the checkpoint path is taken for. Only a file
// with the format marker, or exactly a version-1 checkpoint, is this SDK's; a newer version is
// refused apart.
func TestClassifyCheckpoint(t *testing.T) {
	const m = `"format":"openai-uploads-checkpoint"`
	v1 := `{"version":1,"upload_id":"upload_1","expires_at":1,"size":10,"mtime_ns":1,"part_size":4,"purpose":"batch","filename":"a","mime_type":"text/plain","parts":[{"index":0,"id":"part_a"}]}`
	for _, tc := range []struct {
		name, data string
		wantErr    error
		stale, id  string
	}{
		{"empty", ``, errNotCheckpoint, "", ""},
		{"data", "{\"custom_id\":\"r1\"}\n{\"custom_id\":\"r2\"}\n", errNotCheckpoint, "", ""},
		{"truncated JSON without marker", `{"version":1,"upload_id":`, errNotCheckpoint, "", ""},
		{"a JSON array", `[1,2]`, errNotCheckpoint, "", ""},
		{"version 1 with an extra field", v1[:len(v1)-1] + `,"x":1}`, errNotCheckpoint, "", ""},
		{"newer", `{` + m + `,"version":3,"upload_id":"upload_9"}`, errNewerCheckpoint, "", ""},
		{"version 1", v1, nil, "earlier version", "upload_1"},
		{"damaged", `{` + m + `,"version":2,"upload_id":"upload_7","size":-1}`, nil, "damaged", "upload_7"},
	} {
		got, err := classifyCheckpoint([]byte(tc.data))
		switch {
		case tc.wantErr != nil:
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
			}
		case err != nil || got.cp != nil || !strings.Contains(got.stale, tc.stale) || got.oldID != tc.id:
			t.Errorf("%s: %+v, %v; want stale %q naming %s", tc.name, got, err, tc.stale, tc.id)
		}
	}
}

// TestCheckpointRecordReplaces: a part sent again replaces its record (a checkpoint with a part
// twice would not decode), and what is saved decodes to what was recorded.
func TestCheckpointRecordReplaces(t *testing.T) {
	f := &checkpointFile{path: t.TempDir() + "/cp.json", cp: checkpoint{Format: checkpointFormat, Version: checkpointVersion,
		UploadID: "upload_1", Size: 10, PartSize: 4, Parts: []checkpointPart{}}}
	const a, b = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	for _, r := range []struct {
		index   int
		id, md5 string
	}{{2, "part_c", a}, {0, "part_a", a}, {2, "part_c2", b}, {1, "part_b", a}} {
		if err := f.record(r.index, r.id, r.md5); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := decodeCheckpoint(data)
	if err != nil {
		t.Fatalf("the saved checkpoint does not decode: %v\n%s", err, data)
	}
	want := []checkpointPart{{0, "part_a", a}, {1, "part_b", a}, {2, "part_c2", b}}
	if !reflect.DeepEqual(cp.Parts, want) {
		t.Errorf("parts %+v, want %+v (by index, whatever order they finished in)", cp.Parts, want)
	}
}

// TestCheckpointRemove: removing a checkpoint that is already gone is not an error; one that
// cannot be removed (here a directory that is not empty stands at its path) is reported.
func TestCheckpointRemove(t *testing.T) {
	dir := t.TempDir()
	f := &checkpointFile{path: filepath.Join(dir, "cp.json")}
	if err := os.WriteFile(f.path, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.remove(); err != nil {
		t.Errorf("removing the checkpoint: %v", err)
	}
	if _, err := os.Stat(f.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the checkpoint is still there: %v", err)
	}
	if err := f.remove(); err != nil {
		t.Errorf("removing a checkpoint already gone: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(f.path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := f.remove(); err == nil {
		t.Error("a checkpoint path that could not be removed was reported removed")
	}
}
