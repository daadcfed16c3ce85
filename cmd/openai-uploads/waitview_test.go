package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// TestPlainWaitSaysEachNewStatusAtMostOncePerSecond: without a terminal a wait prints its start,
// then a status only when it changed, is not final, and a second has passed since the last line.
func TestPlainWaitSaysEachNewStatusAtMostOncePerSecond(t *testing.T) {
	var buf bytes.Buffer
	start := time.Unix(1_700_000_000, 0)
	clock := start
	v := &waitView{con: newConsole(&buf, nil), id: "file-a", now: func() time.Time { return clock }, limit: time.Minute}
	v.begin()
	for _, c := range []struct {
		at   time.Duration
		file *generated.OpenAIFile
	}{
		{0, &generated.OpenAIFile{Status: "uploaded"}},
		{time.Second, &generated.OpenAIFile{Status: "pending"}},
		{1500 * time.Millisecond, &generated.OpenAIFile{Status: "running"}},
		{3 * time.Second, &generated.OpenAIFile{Status: "running"}},
		{4 * time.Second, &generated.OpenAIFile{Status: "processed"}},
	} {
		clock = start.Add(c.at)
		v.polled(c.file)
	}
	v.end(&generated.OpenAIFile{Status: "processed"}, nil)
	want := "file-a: waiting until it is processed (at most 1m0s)\nfile-a: pending, waiting (1s)\nfile-a: processed after 4s\n"
	if buf.String() != want {
		t.Errorf("output\n%q, want\n%q", buf.String(), want)
	}
}

// TestLiveWaitLine: on a terminal the wait is one line laid out for the columns less one: the id
// cut in its middle to half of them, "asking" until a status is known; it ends in place.
func TestLiveWaitLine(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1_700_000_000, 0)
	con := newConsole(&buf, func() int { return 40 })
	v := &waitView{con: con, id: "file-0123456789abcdefghijklmn", now: func() time.Time { return now }, limit: time.Minute}
	v.begin()
	v.redraw()
	if got, want := con.shown(), "file-0123…fghijklmn waiting: asking 0s"; len(got) != 1 || got[0] != want {
		t.Errorf("shown %q, want %q", got, want)
	}
	v.end(&generated.OpenAIFile{Status: "processed"}, nil)
	// The block is replaced by the final line, whole (wider than the terminal, it wraps: cut, it
	// lost how the wait ended), not redrawn below it.
	out := buf.String()
	if last := out[strings.LastIndex(out, "\x1b[J")+3:]; last != "file-0123456789abcdefghijklmn: processed after 0s\n" {
		t.Errorf("output ends %q, want the whole final line in place of the block", last)
	}
}
