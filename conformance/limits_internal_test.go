package conformance

import (
	"bytes"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSharedPacerGivesNoCreditWhileBusy: TotalBandwidth's pacer restarts its pace (with
// pacerBurst of credit) only after an idle spell; a transfer that comes while the reserved bytes
// are due, or within pacerBurst after, waits for all of its own bytes, and a transfer of no bytes
// never waits, even behind others.
func TestSharedPacerGivesNoCreditWhileBusy(t *testing.T) {
	start := time.Unix(1000, 0)
	now := start
	var slept []time.Duration
	p := &sharedPacer{rate: 1 << 20, now: func() time.Time { return now },
		sleep: func(d time.Duration) { slept = append(slept, d) }}
	p.wait(1 << 19) // due at start+500ms-pacerBurst
	p.wait(0)       // nothing to send: no wait behind the half MiB
	if len(slept) != 1 || slept[0] != 500*time.Millisecond-pacerBurst {
		t.Fatalf("slept %v, want only %v (none for 0 bytes)", slept, 500*time.Millisecond-pacerBurst)
	}
	now = start.Add(500*time.Millisecond - pacerBurst) // exactly when the half MiB is due
	slept = nil
	p.wait(1 << 20)
	if len(slept) != 1 || slept[0] != time.Second {
		t.Errorf("1 MiB right when the link frees slept %v, want %v (no credit)", slept, time.Second)
	}
}

// TestPacedListenerWithoutTotalHasNoSharedPacer: Bandwidth alone paces each connection and
// puts no shared pacer on them.
func TestPacedListenerWithoutTotalHasNoSharedPacer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pl, ok := newPacedListener(ln, 100, 0).(pacedListener)
	if !ok || pl.perConn != 100 || pl.totalRead != nil || pl.totalWrite != nil {
		t.Errorf("Bandwidth 100 alone: %+v, want per-connection pacing and no shared pacers", pl)
	}
}

// TestPartsRetryAfterInWholeSeconds: the 429 of MaxPartsInFlight carries PartsRetryAfter in
// Retry-After rounded up to whole seconds, a whole number of seconds staying as it is.
func TestPartsRetryAfterInWholeSeconds(t *testing.T) {
	for _, tc := range []struct {
		retryAfter time.Duration
		ms, sec    string
	}{
		{time.Second, "1000", "1"},
		{2 * time.Second, "2000", "2"},
		{1500 * time.Millisecond, "1500", "2"},
		{time.Millisecond, "1", "1"},
	} {
		s := &Server{parts: partLimiter{limit: 1, retryAfter: tc.retryAfter}}
		s.parts.inFlight.Store(1)
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/uploads/upload_1/parts", nil)
		if _, ok := s.admitPart(w, r); ok {
			t.Fatalf("%v: a part beyond the limit was admitted", tc.retryAfter)
		}
		if w.Code != http.StatusTooManyRequests || w.Header().Get("retry-after-ms") != tc.ms || w.Header().Get("Retry-After") != tc.sec {
			t.Errorf("PartsRetryAfter %v: %d, retry-after-ms %q, Retry-After %q; want 429, %s and %s",
				tc.retryAfter, w.Code, w.Header().Get("retry-after-ms"), w.Header().Get("Retry-After"), tc.ms, tc.sec)
		}
	}
}

// TestExpiresAfterBoundsAreInclusive: expires_after.seconds of exactly an hour or exactly 30
// days is accepted; a second less or more is refused.
func TestExpiresAfterBoundsAreInclusive(t *testing.T) {
	for seconds, ok := range map[int64]bool{
		MinExpiresAfterSeconds: true, MaxExpiresAfterSeconds: true,
		MinExpiresAfterSeconds - 1: false, MaxExpiresAfterSeconds + 1: false,
	} {
		if err := checkExpiresAfter("expires_after", "created_at", seconds); (err == nil) != ok {
			t.Errorf("seconds %d: %v, want accepted %v", seconds, err, ok)
		}
	}
}

// TestSmallFieldTakesExactlyTheCap: a form field of exactly maxFormFieldBytes is read whole; one
// byte more is refused.
func TestSmallFieldTakesExactlyTheCap(t *testing.T) {
	for _, n := range []int{maxFormFieldBytes, maxFormFieldBytes + 1} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("note", strings.Repeat("x", n))
		_ = mw.Close()
		p, err := multipart.NewReader(&body, mw.Boundary()).NextPart()
		if err != nil {
			t.Fatal(err)
		}
		v, err := smallField(p)
		if ok := n <= maxFormFieldBytes; (err == nil) != ok || (ok && len(v) != n) {
			t.Errorf("a field of %d bytes: %d read, %v; want accepted %v", n, len(v), err, ok)
		}
	}
}

// TestUploadAdmitsPartsUpToExactly8GB: the parts of an Upload, retries included, may add up to
// exactly MaxUploadBytes; a part that takes them a byte past it is refused.
func TestUploadAdmitsPartsUpToExactly8GB(t *testing.T) {
	u := &upload{storedBytes: MaxUploadBytes - 10}
	u.Bytes = MaxUploadBytes
	if err := u.admit(&part{data: blob{size: 10}}); err != nil {
		t.Errorf("a part reaching exactly 8 GB: %v, want admitted", err)
	}
	if e, ok := u.admit(&part{data: blob{size: 11}}).(*apiError); !ok || e.code != "upload_too_large" {
		t.Errorf("a part going a byte past 8 GB: %v, want upload_too_large", e)
	}
}

// TestMemStorageFillsToItsLimitAndFreesOnRemove: memory storage takes blobs up to exactly its
// limit (its chunks filled one after the other), and removing a blob gives its chunks back, so the space can be used again.
func TestMemStorageFillsToItsLimitAndFreesOnRemove(t *testing.T) {
	m := newMemStorage(2 * memChunk)
	write := func() (blob, error) {
		w, err := m.create()
		if err != nil {
			t.Fatal(err)
		}
		for range 4 { // in half chunks: each chunk is filled before the next is taken
			var err error
			if !Within(t, "a write to memory storage", func() { _, err = w.Write(bytes.Repeat([]byte("x"), memChunk/2)) }) {
				t.FailNow()
			}
			if err != nil {
				w.abort()
				return blob{}, err
			}
		}
		return w.commit()
	}
	b, err := write()
	if err != nil {
		t.Fatalf("a blob of exactly the limit: %v", err)
	}
	m.remove(b)
	if _, err := write(); err != nil {
		t.Errorf("after removing it, the same blob again: %v", err)
	}
}

// TestStartCapsConnections: Start serves at most MaxConnections connections at once, and
// DefaultMaxConnections when it is 0; a negative MaxConnections means no cap.
func TestStartCapsConnections(t *testing.T) {
	for _, tc := range []struct{ opt, want int }{{0, DefaultMaxConnections}, {3, 3}, {-1, 0}} {
		r, err := Start(ServerOptions{MaxConnections: tc.opt})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		if l, ok := r.ln.(*limitListener); ok {
			got = cap(l.slots)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("MaxConnections %d: a cap of %d connections, want %d (0: none)", tc.opt, got, tc.want)
		}
	}
}
