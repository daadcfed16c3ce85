package helpers

import (
	"testing"
	"time"
)

// TestWatchdogTakesOnlyAFallOfTheSocketQueueForProgress: the first reading of the socket's
// unacknowledged bytes is where counting starts, not progress, even when it is 0; a rise is not
// progress; a fall is.
func TestWatchdogTakesOnlyAFallOfTheSocketQueueForProgress(t *testing.T) {
	w := startWatchdog(time.Hour, func() { t.Error("the watchdog fired") })
	defer w.stop()
	readings := []int{0, 5, 3}
	w.watchSocket(func() (int, bool) { q := readings[0]; readings = readings[1:]; return q, true })
	for i, want := range []bool{false, false, true} {
		w.check()
		if got := w.last.Load() != 0; got != want {
			t.Fatalf("after reading %d: progress %v, want %v", i+1, got, want)
		}
	}
}
