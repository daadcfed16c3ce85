package conformance

import (
	"net"
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

// TestSharedPacerSpacesTheSum checks TotalBandwidth's pacer on a fake clock: transfers of several
// connections are spaced as one stream at the shared rate, each waiting for the bytes reserved
// before its own, and an idle link keeps at most pacerBurst of credit.
func TestSharedPacerSpacesTheSum(t *testing.T) {
	now := time.Unix(1000, 0)
	var slept []time.Duration
	p := &sharedPacer{
		rate: 1 << 20,
		now:  func() time.Time { return now },
		// The connections sleep at once: the clock does not move while they wait.
		sleep: func(d time.Duration) { slept = append(slept, d) },
	}
	p.wait(1 << 19) // connection A: half a MiB
	p.wait(1 << 19) // connection B, at the same moment: waits for A's bytes too
	p.wait(1 << 18) // connection C
	want := []time.Duration{500*time.Millisecond - pacerBurst, time.Second - pacerBurst, 1250*time.Millisecond - pacerBurst}
	for i := range want {
		if i >= len(slept) || slept[i] != want[i] {
			t.Fatalf("sleeps %v, want %v", slept, want)
		}
	}
	now = now.Add(time.Minute) // idle: the credit does not pile up
	slept = nil
	p.wait(1 << 20)
	if len(slept) != 1 || slept[0] != time.Second-pacerBurst {
		t.Errorf("after a minute idle, 1 MiB slept %v, want %v", slept, time.Second-pacerBurst)
	}
}

// TestPacedListenerWiring: Bandwidth paces each connection, TotalBandwidth all of them through
// one pacer per direction, shared by every connection; with neither the listener is left alone.
func TestPacedListenerWiring(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := newPacedListener(ln, 0, 0); got != ln {
		t.Errorf("no cap: the listener was wrapped")
	}
	pl := newPacedListener(ln, 100, 1000)
	var conns []*throttledConn
	for range 2 {
		go func() {
			if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
				_ = c.Close() // accepted all the same
			}
		}()
		c, err := pl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c.(*throttledConn))
	}
	a, b := conns[0], conns[1]
	if a.read.rate != 100 || a.write.rate != 100 || a.totalRead == nil || a.totalRead.rate != 1000 || a.totalWrite.rate != 1000 {
		t.Errorf("connection pacers %+v", a)
	}
	if a.totalRead != b.totalRead || a.totalWrite != b.totalWrite || a.totalRead == a.totalWrite {
		t.Errorf("the total pacers are not one per direction shared by the connections")
	}
}

// TestPacerLeavesUncappedAndEmptyTransfersAlone: a pacer of rate 0 (no Bandwidth) never sleeps,
// and a transfer of no bytes neither sleeps nor starts the pace, so it gives the next transfer no
// credit.
func TestPacerLeavesUncappedAndEmptyTransfersAlone(t *testing.T) {
	now := time.Unix(1000, 0)
	var slept []time.Duration
	clock := func(rate int64) pacer {
		return pacer{rate: rate, now: func() time.Time { return now },
			sleep: func(d time.Duration) { slept = append(slept, d); now = now.Add(d) }}
	}
	uncapped := clock(0)
	uncapped.wait(1 << 20)
	if len(slept) != 0 {
		t.Errorf("rate 0 slept %v, want no sleep", slept)
	}
	p := clock(1 << 20)
	p.wait(0)
	if !p.start.IsZero() || len(slept) != 0 {
		t.Errorf("a 0-byte transfer started the pace at %v or slept %v", p.start, slept)
	}
	now = now.Add(10 * time.Millisecond)
	p.wait(1 << 20)
	if len(slept) != 1 || slept[0] != time.Second {
		t.Errorf("1 MiB at 1 MiB/s after a 0-byte transfer slept %v, want 1s", slept)
	}
}

// TestPacerKeepsAPauseOfExactlyTheBurst: a pause of exactly pacerBurst past the due time is kept
// as credit (the pace restarts only after a longer one).
func TestPacerKeepsAPauseOfExactlyTheBurst(t *testing.T) {
	now := time.Unix(1000, 0)
	var slept []time.Duration
	p := pacer{rate: 1 << 20, now: func() time.Time { return now },
		sleep: func(d time.Duration) { slept = append(slept, d); now = now.Add(d) }}
	p.wait(1 << 20)
	now = now.Add(pacerBurst)
	p.wait(1 << 20)
	want := []time.Duration{time.Second, time.Second - pacerBurst}
	if len(slept) != 2 || slept[0] != want[0] || slept[1] != want[1] {
		t.Errorf("slept %v, want %v", slept, want)
	}
}
