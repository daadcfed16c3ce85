package helpers

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzPlanParts: for any size and part size the options accept, the plan covers the file exactly
// once, in order, each part within the part size, and the count is within MaxParts.
func FuzzPlanParts(f *testing.F) {
	for _, s := range [][2]int64{{1, 1}, {1, MaxPartSize}, {10, 3}, {MaxPartSize + 1, MaxPartSize}, {MaxUploadSize, MaxPartSize}, {MaxUploadSize, 0}, {0, 5}, {-4, 2}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, size, partSize int64) {
		o, err := UploadOptions{Purpose: "batch", Filename: "a.jsonl", PartSize: partSize}.normalize(size)
		if err != nil {
			return // refused before planning: the bad-input tests check the messages
		}
		parts := planParts(size, o.PartSize)
		if len(parts) == 0 || len(parts) > MaxParts || int64(len(parts)) != partCount(size, o.PartSize) {
			t.Fatalf("size %d part %d: %d parts", size, o.PartSize, len(parts))
		}
		var next int64
		for i, p := range parts {
			if p.index != i || p.offset != next || p.length < 1 || p.length > o.PartSize || p.length > MaxPartSize {
				t.Fatalf("size %d part %d: part %d = %+v, expected offset %d", size, o.PartSize, i, p, next)
			}
			next += p.length
		}
		if next != size {
			t.Fatalf("size %d part %d: the parts cover %d bytes", size, o.PartSize, next)
		}
	})
}

// FuzzDecodeCheckpoint: any bytes decode to an error or to a checkpoint whose parts are in range,
// once each, with ids; an accepted checkpoint survives a round trip.
func FuzzDecodeCheckpoint(f *testing.F) {
	f.Add([]byte(`{"format":"openai-uploads-checkpoint","version":2,"upload_id":"upload_1","created_at":1,"expires_at":1,"size":10,"mtime_ns":1,"part_size":4,"purpose":"batch","filename":"a","mime_type":"text/plain","parts":[{"index":0,"id":"part_a","md5":"0123456789abcdef0123456789abcdef"},{"index":2,"id":"part_c","md5":"0123456789abcdef0123456789abcdef"}]}`))
	f.Add([]byte(`{"format":"openai-uploads-checkpoint","version":2,"upload_id":"u","size":8589934592,"part_size":67108864,"parts":[{"index":127,"id":"p","md5":"0123456789abcdef0123456789abcdef"}]}`))
	f.Add([]byte(`{"format":"openai-uploads-checkpoint","version":2,"upload_id":"u","size":10,"part_size":4,"parts":[{"index":3,"id":"p","md5":"00"}]}`))
	f.Add([]byte(`{"format":"openai-uploads-checkpoint","version":2,"upload_id":"u","size":-1,"part_size":4,"parts":[]}`))
	f.Add([]byte(`{"version":1,"upload_id":"u","size":10,"part_size":4,"parts":[{"index":3,"id":"p"}]}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		if found, err := classifyCheckpoint(data); err == nil && found.cp == nil && found.stale == "" {
			t.Fatalf("classified as nothing: %q", data)
		}
		cp, err := decodeCheckpoint(data)
		if err != nil {
			return
		}
		n := partCount(cp.Size, cp.PartSize)
		seen := map[int]bool{}
		for _, p := range cp.Parts {
			if p.Index < 0 || int64(p.Index) >= n || seen[p.Index] || p.ID == "" || len(p.MD5) != 32 {
				t.Fatalf("accepted a bad part %+v (of %d)", p, n)
			}
			seen[p.Index] = true
		}
		again, err := json.Marshal(cp)
		if err != nil {
			t.Fatal(err)
		}
		cp2, err := decodeCheckpoint(again)
		if err != nil || !reflect.DeepEqual(cp, cp2) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, cp, cp2)
		}
	})
}
