package conformance

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// sweepers counts the sweeper goroutines running in this process (internal tests do not run in
// parallel, and Close waits for its server's sweeper to end).
func sweepers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte("conformance.(*Server).startSweeper.func1("))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestSweepIntervalZeroRunsTheDefaultSweeper: SweepInterval 0 means a sweeper every
// DefaultSweepInterval, as documented, and a negative one means none; Close ends it. (Seen
// by the sweeper's goroutine: waiting the 10 s for a sweep would be a sleep.)
func TestSweepIntervalZeroRunsTheDefaultSweeper(t *testing.T) {
	before := sweepers()
	for _, tc := range []struct {
		interval time.Duration
		want     int
	}{{0, 1}, {-1, 0}} {
		s, err := NewServer(ServerOptions{SweepInterval: tc.interval})
		if err != nil {
			t.Fatal(err)
		}
		if got := sweepers() - before; got != tc.want {
			t.Errorf("SweepInterval %v: %d sweeper(s) running, want %d", tc.interval, got, tc.want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := sweepers() - before; got != 0 {
			t.Errorf("SweepInterval %v: %d sweeper(s) still running after Close", tc.interval, got)
		}
	}
}
