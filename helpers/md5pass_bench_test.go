package helpers

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkHashPass is the md5 pass's cost per byte: the whole file's md5 alone (no checkpoint,
// or a checkpoint with the md5 on), with each part's md5 too (the parts recorded in a resumed
// checkpoint, md5 on), and each part's alone (a checkpoint with SkipMD5). With a checkpoint each part's request is hashed as well, as it is
// sent (BenchmarkPartHash): that one runs beside the other parts, on their goroutines.
func BenchmarkHashPass(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<20/16)
	all := func(int) bool { return true }
	for _, bc := range []struct {
		name  string
		whole bool
		parts func(int) bool
	}{{"whole", true, nil}, {"whole+parts", true, all}, {"parts", false, all}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := hashPass(context.Background(), bytes.NewReader(data), int64(len(data)), bc.whole, 8<<20, bc.parts, func(int, string) {}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPartHash is the cost of hashing a part's bytes as the transport reads them (32 KiB
// reads, as net/http's body copy makes).
func BenchmarkPartHash(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16)
	buf := make([]byte, 32<<10)
	for _, hashed := range []bool{false, true} {
		name := "counted"
		if hashed {
			name = "counted+md5"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				u := &upload{}
				if hashed {
					u.ckpt = &checkpointFile{}
				}
				p := &partReader{r: bytes.NewReader(data), want: int64(len(data)), prog: &progressTracker{}, h: u.partHash()}
				for {
					if _, err := p.Read(buf); err != nil {
						break
					}
				}
				_ = p.sum()
			}
		})
	}
}
