package helpers

import "testing"

// TestProgressReportsEveryStep: the bytes handed to the connections are reported once every
// progressStep bytes, not at every Read: a report when the step is reached, none for the bytes
// after it until the next step.
func TestProgressReportsEveryStep(t *testing.T) {
	var reports []int64
	p := newProgressTracker(func(pr Progress) { reports = append(reports, pr.BytesSent) }, 10*progressStep, 10, nil, nil)
	for _, step := range []struct {
		add  int64
		want int
	}{{progressStep - 1, 0}, {1, 1}, {1, 1}, {progressStep - 2, 1}, {1, 2}} {
		p.add(step.add)
		if len(reports) != step.want {
			t.Fatalf("after %d bytes: reports %v, want %d", p.sent.Load(), reports, step.want)
		}
	}
	if reports[0] != progressStep || reports[1] != 2*progressStep {
		t.Errorf("reports at %v bytes, want at %d and %d", reports, progressStep, 2*progressStep)
	}
}

// TestProgressUndoTakesAReusedPartOut: a part reused from a checkpoint counts as done with its
// bytes; when the md5 pass finds it changed, undo takes it out of both counts (it counts again
// as it is sent).
func TestProgressUndoTakesAReusedPartOut(t *testing.T) {
	p := newProgressTracker(nil, 300, 3, nil, nil)
	p.partDone(100)
	p.partDone(100)
	p.undo(100)
	if s, d := p.sent.Load(), p.partsDone.Load(); s != 100 || d != 1 {
		t.Errorf("after two reused parts and one undone: %d bytes, %d parts done; want 100 and 1", s, d)
	}
}
