package conformance

import (
	"testing"
	"time"
)

// TestPaceSetsTheStallDeadline checks the stall guard's deadlines on a fake clock: idle after
// the last progress, or start + idle + n/minRate when the transfer is that slow (the rate's
// deadline, which names the rate as the reason), and a new deadline only once it moves by at
// least idle/16.
func TestPaceSetsTheStallDeadline(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	p := pace{idle: time.Second}
	if d, ok := p.next(t0); !ok || !d.Equal(at(time.Second)) {
		t.Fatalf("first deadline %v (set %v), want start + idle", d.Sub(t0), ok)
	}
	if _, ok := p.next(at(10 * time.Millisecond)); ok {
		t.Errorf("a deadline 10ms later was set again; want it kept until it moves by idle/16")
	}
	if d, ok := p.next(at(time.Second / 16)); !ok || !d.Equal(at(time.Second+time.Second/16)) {
		t.Errorf("a deadline exactly idle/16 later: %v (set %v), want it set", d.Sub(t0), ok)
	}
	if got, want := p.reason(), "made no progress for 1s"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}

	r := pace{idle: time.Second, minRate: 1000}
	if d, ok := r.next(t0); !ok || !d.Equal(at(time.Second)) || r.byRate {
		t.Fatalf("first deadline with a rate: %v (set %v, by rate %v), want start + idle", d.Sub(t0), ok, r.byRate)
	}
	r.n = 500 // 500 bytes by 0.9s: the rate's deadline, start + 1s + 0.5s, comes first
	if d, ok := r.next(at(900 * time.Millisecond)); !ok || !d.Equal(at(1500*time.Millisecond)) || !r.byRate {
		t.Errorf("slow transfer: deadline %v (set %v, by rate %v), want 1.5s by the rate", d.Sub(t0), ok, r.byRate)
	}
	if got, want := r.reason(), "fell below 1000 bytes/s"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	r.n = 5000 // far ahead of the rate: idle after the last progress again
	if d, ok := r.next(at(2 * time.Second)); !ok || !d.Equal(at(3*time.Second)) || r.byRate {
		t.Errorf("fast transfer: deadline %v (set %v, by rate %v), want now + idle", d.Sub(t0), ok, r.byRate)
	}
}

// TestGuardLimitsDefaultsAndBandwidth: the stall guard's limits in force for each setting of
// StallTimeout and MinTransferRate, and a minimum rate kept at half of a per-connection
// Bandwidth (at least 1 byte/s) so that the cap itself never trips it.
func TestGuardLimitsDefaultsAndBandwidth(t *testing.T) {
	for _, tc := range []struct {
		opts     ServerOptions
		idle     time.Duration
		rate     int64
		describe string
	}{
		{ServerOptions{}, DefaultStallTimeout, DefaultMinTransferRate, "defaults"},
		{ServerOptions{StallTimeout: -1, MinTransferRate: 5000}, 0, 0, "guard off"},
		{ServerOptions{StallTimeout: time.Second, MinTransferRate: -1}, time.Second, 0, "no rate"},
		{ServerOptions{MinTransferRate: 300}, DefaultStallTimeout, 300, "rate given"},
		{ServerOptions{Bandwidth: 1000}, DefaultStallTimeout, 500, "rate above half the bandwidth"},
		{ServerOptions{Bandwidth: 4096}, DefaultStallTimeout, DefaultMinTransferRate, "rate below half the bandwidth"},
		{ServerOptions{Bandwidth: 1}, DefaultStallTimeout, 1, "bandwidth of 1 byte/s"},
	} {
		s := &Server{opts: tc.opts}
		if idle, rate := s.guardLimits(); idle != tc.idle || rate != tc.rate {
			t.Errorf("%s: limits %v and %d bytes/s, want %v and %d", tc.describe, idle, rate, tc.idle, tc.rate)
		}
	}
}
