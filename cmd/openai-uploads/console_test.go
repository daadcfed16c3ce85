package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

// TestFitWidthCutsTheEnd: a string that fits is kept; one that does not is cut to exactly w
// columns ending with …; no room at all gives nothing (not a lone …, which would be 1 too wide).
func TestFitWidthCutsTheEnd(t *testing.T) {
	for _, c := range []struct {
		s    string
		w    int
		want string
	}{
		{"train.jsonl", 0, ""},
		{"train.jsonl", -3, ""},
		{"", 0, ""},
		{"train.jsonl", 11, "train.jsonl"},
		{"train.jsonl", 79, "train.jsonl"},
		{"train.jsonl", 10, "train.jso…"},
		{"train.jsonl", 1, "…"},
		{"数据集.jsonl", 4, "数…"}, // 据 would make it 5 wide
	} {
		got := fitWidth(c.s, c.w)
		if got != c.want {
			t.Errorf("fitWidth(%q, %d) = %q, want %q", c.s, c.w, got, c.want)
		}
		if w := runewidth.StringWidth(got); c.w >= 0 && w > c.w {
			t.Errorf("fitWidth(%q, %d) is %d wide", c.s, c.w, w)
		}
	}
}

// TestFitMiddleKeepsTheExtension: a name that fits is kept whole (also at exactly its width);
// a longer one keeps its start and, after …, as much of its end as half the room less one
// allows, so that the extension stays visible; wide characters are never split.
func TestFitMiddleKeepsTheExtension(t *testing.T) {
	const long = "training_examples_final.jsonl" // 29 columns
	for _, c := range []struct {
		s    string
		w    int
		want string
	}{
		{"abcdef", 6, "abcdef"},
		{"abcdef", 80, "abcdef"},
		{"abcdef", 5, "ab…ef"},
		{long, 29, long},
		{long, 28, "training_examp…s_final.jsonl"},
		{long, 12, "traini…jsonl"},
		{long, 13, "traini….jsonl"},
		{long, 8, "trai…onl"},
		{"数据集-训练-二〇二四年版本.jsonl", 12, "数据集…jsonl"},
		{"二〇二四年版本", 8, "二〇…本"}, // 版 would make the end 4 wide, above its 3
	} {
		got := fitMiddle(c.s, c.w)
		if got != c.want {
			t.Errorf("fitMiddle(%q, %d) = %q, want %q", c.s, c.w, got, c.want)
		}
		if w := runewidth.StringWidth(got); w > c.w {
			t.Errorf("fitMiddle(%q, %d) is %d wide", c.s, c.w, w)
		}
	}
}

// TestRowsOfCountsWrappedRows: a line takes one row up to the terminal's width and one more
// for each further width or part of one; without a known width every line is one row.
func TestRowsOfCountsWrappedRows(t *testing.T) {
	for _, c := range []struct{ w, cols, want int }{
		{0, 80, 1},
		{79, 80, 1},
		{80, 80, 1},
		{81, 80, 2},
		{160, 80, 2},
		{161, 80, 3},
		{72, 40, 2},
		{72, 0, 1},
		{72, -1, 1},
	} {
		if got := rowsOf(c.w, c.cols); got != c.want {
			t.Errorf("rowsOf(%d, %d) = %d, want %d", c.w, c.cols, got, c.want)
		}
	}
}

// TestConsoleBlockAtExactWidths: a block line is cut to the terminal's columns less one
// (ending in …) and kept whole when it fits; the bytes written are exactly the line.
func TestConsoleBlockAtExactWidths(t *testing.T) {
	line := "train.jsonl " + strings.Repeat("=", 60) // 72 columns
	for _, c := range []struct {
		cols int
		want string
	}{
		{80, line + "\n"},
		{73, line + "\n"},
		{72, "train.jsonl " + strings.Repeat("=", 58) + "…\n"},
		{40, "train.jsonl " + strings.Repeat("=", 26) + "…\n"},
		{1, line + "\n"}, // no room to cut to: the terminal wraps it rather than show nothing
	} {
		var buf bytes.Buffer
		con := newConsole(&buf, func() int { return c.cols })
		con.show([]string{line})
		if buf.String() != c.want {
			t.Errorf("%d columns: wrote %q, want %q", c.cols, buf.String(), c.want)
		}
	}
}

// TestConsoleBlockKeepsItsLastLinesOnAShortTerminal: a block taller than the terminal less one
// row shows only its last lines, so its top never scrolls away; a terminal that says it has one
// row still gets the whole block rather than none of it.
func TestConsoleBlockKeepsItsLastLinesOnAShortTerminal(t *testing.T) {
	numbered := func(n int) []string {
		var l []string
		for i := range n {
			l = append(l, fmt.Sprintf("l%d", i))
		}
		return l
	}
	for _, c := range []struct {
		rows, lines int
		want        []string
	}{
		{24, 23, numbered(23)},
		{24, 24, numbered(24)[1:]},
		{24, 30, numbered(30)[7:]},
		{1, 2, numbered(2)},
	} {
		var buf bytes.Buffer
		con := &console{out: &buf, size: func() (int, int) { return 40, c.rows }}
		con.show(numbered(c.lines))
		if want := strings.Join(c.want, "\n") + "\n"; buf.String() != want {
			t.Errorf("%d lines on %d rows: wrote %q, want %q", c.lines, c.rows, buf.String(), want)
		}
	}
}

// TestConsoleEmptyBlockErasesNothingAbove: replacing a block of no lines moves the cursor up
// no row (ESC[0A would move it up one, over a line that is not the block's).
func TestConsoleEmptyBlockErasesNothingAbove(t *testing.T) {
	v := newVT(40)
	con := newConsole(&screenWriter{t: t, vt: v, label: "bar"}, func() int { return 40 })
	con.println("before")
	con.show(nil)
	con.show([]string{"bar"})
	if got := strings.Join(v.screen(), "|"); got != "before|bar" {
		t.Errorf("screen %q", got)
	}
}

// TestConsoleLoneNewlineGoesAboveTheBlock: a write that is only a line end (an empty line) is a
// complete line: it appears above the block at once, not held back.
func TestConsoleLoneNewlineGoesAboveTheBlock(t *testing.T) {
	v := newVT(40)
	con := newConsole(&screenWriter{t: t, vt: v, label: "bar"}, func() int { return 40 })
	con.show([]string{"bar"})
	fmt.Fprint(con, "\n")
	if got := strings.Join(v.screen(), "|"); got != "|bar" {
		t.Errorf("screen %q", got)
	}
}

// failingWriter fails every write once fail is set.
type failingWriter struct {
	fail bool
	buf  bytes.Buffer
}

var errWriteFailed = errors.New("write failed")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.fail {
		return 0, errWriteFailed
	}
	return f.buf.Write(p)
}

// TestConsoleWriteAboveTheBlockReportsWhatHappened: while a block is shown, Write reports every
// byte of p written when the terminal took the output, and the terminal's error when not.
func TestConsoleWriteAboveTheBlockReportsWhatHappened(t *testing.T) {
	out := &failingWriter{}
	con := newConsole(out, func() int { return 40 })
	con.show([]string{"bar"})
	if n, err := con.Write([]byte("a line\n")); n != 7 || err != nil {
		t.Errorf("Write = %d, %v; want 7, nil", n, err)
	}
	out.fail = true
	if n, err := con.Write([]byte("another\n")); n != 0 || !errors.Is(err, errWriteFailed) {
		t.Errorf("Write to a failing terminal = %d, %v; want 0, %v", n, err, errWriteFailed)
	}
}
