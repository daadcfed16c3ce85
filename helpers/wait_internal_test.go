package helpers

import (
	"testing"
	"time"
)

// TestNextPollDelay: the waits between polls start at the first interval and double up to the cap.
func TestNextPollDelay(t *testing.T) {
	var got []time.Duration
	d := time.Duration(0)
	for range 7 {
		d = nextPollDelay(d, time.Second, 10*time.Second)
		got = append(got, d)
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10, 10}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("delays %v, want %v seconds", got, want)
		}
	}
	if o := (WaitOptions{}).withDefaults(); o.PollInterval != DefaultWaitPollInterval || o.MaxPollInterval != DefaultWaitMaxPollInterval || o.Timeout != DefaultWaitTimeout {
		t.Errorf("defaults %+v", o)
	}
	if o := (WaitOptions{PollInterval: time.Minute, Timeout: -1}).withDefaults(); o.MaxPollInterval != time.Minute || o.Timeout != -1 {
		t.Errorf("a first interval above the cap, no timeout: %+v", o)
	}
}
