package helpers

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestPartReaderTellsTheBudget: a part's body, read in small pieces as a connection does,
// counts every byte for the budget's controller, and says once, at its last byte and not
// before, that the whole body was handed over (the request then waits for its answer).
func TestPartReaderTellsTheBudget(t *testing.T) {
	b, _ := adaptiveBudget()
	p := (&partReader{r: strings.NewReader("0123456789"), want: 10, prog: &progressTracker{}}).budgeted(b)
	buf := make([]byte, 3)
	for read := 0; read < 10; {
		if p.drained() || b.draining != 0 {
			t.Fatalf("after %d of 10 bytes: drained %v, the budget counts %d draining; want neither", read, p.drained(), b.draining)
		}
		n, err := p.Read(buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", read, err)
		}
		read += n
	}
	if _, err := p.Read(buf); err != io.EOF {
		t.Errorf("past the end: %v, want io.EOF", err)
	}
	if !p.drained() || b.draining != 1 || b.sent.Load() != 10 {
		t.Errorf("after the whole body: drained %v, %d draining, %d bytes counted; want true, 1, 10", p.drained(), b.draining, b.sent.Load())
	}
}

// TestPartReaderSourceEndsEarly: a source that ends before the part's length fails the body
// with ErrSourceChanged, saying how many bytes were missing.
func TestPartReaderSourceEndsEarly(t *testing.T) {
	p := &partReader{r: strings.NewReader("0123456"), want: 10, prog: &progressTracker{}}
	_, err := io.ReadAll(p)
	if !errors.Is(err, ErrSourceChanged) || !strings.Contains(err.Error(), "the source ended 3 bytes early") {
		t.Errorf("err = %v, want ErrSourceChanged saying the source ended 3 bytes early", err)
	}
	if _, srcErr := p.finish(); !errors.Is(srcErr, ErrSourceChanged) {
		t.Errorf("finish: %v, want the same error", srcErr)
	}
}
