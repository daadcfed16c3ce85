package conformance

import (
	"testing"
	"time"
)

// TestPacerSpacesTransfers checks the bandwidth cap on a fake clock: n bytes take n/rate seconds,
// transfers in a row add up, and a long pause restarts the pace instead of banking credit.
func TestPacerSpacesTransfers(t *testing.T) {
	now := time.Unix(1000, 0)
	var slept []time.Duration
	p := pacer{
		rate:  1 << 20,
		now:   func() time.Time { return now },
		sleep: func(d time.Duration) { slept = append(slept, d); now = now.Add(d) },
	}
	if got := p.chunk(); got != (1<<20)/100 {
		t.Errorf("chunk %d, want 10 ms worth (%d)", got, (1<<20)/100)
	}
	if got := (&pacer{rate: 100}).chunk(); got != 1<<10 {
		t.Errorf("chunk at 100 B/s is %d, want the 1 KiB floor", got)
	}

	p.wait(1 << 20) // 1 MiB at 1 MiB/s
	p.wait(1 << 19) // half a MiB more
	now = now.Add(10 * time.Second)
	p.wait(1 << 18) // after a pause: a quarter MiB, from a fresh start
	want := []time.Duration{time.Second, 500 * time.Millisecond, 250 * time.Millisecond}
	if len(slept) != len(want) {
		t.Fatalf("slept %v, want %v", slept, want)
	}
	for i := range want {
		if slept[i] != want[i] {
			t.Errorf("sleep %d = %v, want %v", i, slept[i], want[i])
		}
	}
}
