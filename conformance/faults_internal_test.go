package conformance

import (
	"testing"
	"time"
)

// TestFaultsDefaults: a zero RetryAfter or SlowRate means its documented default, and a value
// given is kept.
func TestFaultsDefaults(t *testing.T) {
	f, err := newFaultInjector(Faults{Rate: 1})
	if err != nil {
		t.Fatal(err)
	}
	if f.retryAfter != DefaultFaultRetryAfter || f.slowRate != DefaultSlowRate {
		t.Errorf("defaults: RetryAfter %v, SlowRate %d; want %v and %d", f.retryAfter, f.slowRate, DefaultFaultRetryAfter, DefaultSlowRate)
	}
	f, err = newFaultInjector(Faults{Rate: 1, RetryAfter: time.Second, SlowRate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if f.retryAfter != time.Second || f.slowRate != 1000 {
		t.Errorf("given: RetryAfter %v, SlowRate %d; want 1s and 1000", f.retryAfter, f.slowRate)
	}
}
