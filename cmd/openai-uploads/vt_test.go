package main

import (
	"strconv"
	"strings"
	"testing"
)

// vt is a tiny terminal for the tests: it understands what the console writes (printable text,
// \r, \n, cursor up ESC[nA, erase to the end of the screen ESC[J and of the line ESC[K), wraps a
// line that reaches the last column as terminals do (and counts it), and reflows its rows when
// resized, as tmux, VTE and iTerm2 do. Rows are never scrolled away (no height).
type vt struct {
	cols        int
	rows        []vtRow
	r, c        int
	pendingWrap bool
	wraps       int    // lines that ran past the last column
	esc         []byte // an escape sequence not complete yet
}

type vtRow struct {
	text []rune
	cont bool // this row continues the one above (the line wrapped)
}

func newVT(cols int) *vt { return &vt{cols: cols, rows: []vtRow{{}}} }

// write feeds output to the terminal; an escape sequence may be split across writes.
func (v *vt) write(p []byte) {
	pending := v.esc
	v.esc = nil
	for _, ch := range string(append(pending, p...)) {
		if v.esc != nil {
			v.esc = append(v.esc, string(ch)...)
			v.escape()
			continue
		}
		switch ch {
		case 0x1b:
			v.esc = []byte{0x1b}
		case '\r':
			v.c, v.pendingWrap = 0, false
		case '\n': // a pty's ONLCR, or our own \n: both end at column 0 of the next row
			v.newRow(false)
		case '\a', 0x7f:
		default:
			v.put(ch)
		}
	}
	if len(v.esc) == 0 {
		v.esc = nil
	}
}

// escape handles v.esc once it is a complete sequence.
func (v *vt) escape() {
	s := string(v.esc)
	if len(s) < 2 {
		return
	}
	if s[1] != '[' {
		v.esc = nil // not a CSI: ignored
		return
	}
	last := s[len(s)-1]
	if len(s) < 3 || !(last >= 0x40 && last <= 0x7e) {
		return // not complete
	}
	n, err := strconv.Atoi(s[2 : len(s)-1])
	if err != nil || n < 1 {
		n = 1
	}
	switch last {
	case 'A':
		v.r, v.pendingWrap = max(0, v.r-n), false
	case 'J':
		if strings.TrimPrefix(s[2:len(s)-1], "0") == "" {
			v.cut()
			v.rows = v.rows[:v.r+1]
		}
	case 'K':
		v.cut()
	}
	v.esc = nil
}

func (v *vt) cut() {
	if row := &v.rows[v.r]; len(row.text) > v.c {
		row.text = row.text[:v.c]
	}
}

func (v *vt) newRow(cont bool) {
	v.r++
	v.c, v.pendingWrap = 0, false
	if v.r == len(v.rows) {
		v.rows = append(v.rows, vtRow{cont: cont})
	} else if cont {
		v.rows[v.r] = vtRow{cont: true}
	}
}

func (v *vt) put(ch rune) {
	if v.pendingWrap {
		v.wraps++
		v.newRow(true)
	}
	row := &v.rows[v.r]
	for len(row.text) <= v.c {
		row.text = append(row.text, ' ')
	}
	row.text[v.c] = ch
	if v.c == v.cols-1 {
		v.pendingWrap = true
	} else {
		v.c++
	}
}

// resize reflows the rows to cols columns, keeping the cursor on the character it was on.
func (v *vt) resize(cols int) {
	type line struct{ text []rune }
	var lines []line
	curLine, curOff := 0, 0
	for i, row := range v.rows {
		if !row.cont || len(lines) == 0 {
			lines = append(lines, line{})
		}
		l := &lines[len(lines)-1]
		if i == v.r {
			curLine, curOff = len(lines)-1, len(l.text)+v.c
		}
		text := row.text
		if i+1 < len(v.rows) && v.rows[i+1].cont {
			for len(text) < v.cols {
				text = append(text, ' ')
			}
		}
		l.text = append(l.text, text...)
	}
	v.cols, v.rows = cols, nil
	for i, l := range lines {
		n := max(1, (len(l.text)+cols-1)/cols)
		for k := range n {
			end := min(len(l.text), (k+1)*cols)
			v.rows = append(v.rows, vtRow{text: append([]rune(nil), l.text[min(k*cols, end):end]...), cont: k > 0})
		}
		if i == curLine {
			k := min(curOff/cols, n-1)
			v.r = len(v.rows) - n + k
			v.c = min(curOff-k*cols, cols-1)
		}
	}
	v.pendingWrap = false
}

// screen is the terminal's rows as text, trailing blanks and empty last rows trimmed.
func (v *vt) screen() []string {
	var out []string
	for _, row := range v.rows {
		out = append(out, strings.TrimRight(string(row.text), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// lines is the screen as lines: rows a line wrapped into are joined.
func (v *vt) lines() []string {
	var out []string
	for i, row := range v.rows {
		text := strings.TrimRight(string(row.text), " ")
		if row.cont && i > 0 && len(out) > 0 {
			out[len(out)-1] += text
			continue
		}
		out = append(out, text)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// count is how many rows hold s.
// progressScreen is the screen without the rows that announce an Upload (upload's
// "openai-uploads: Upload … if this run is killed," and its indented continuation rows): lines
// printed once above the progress, like a log, not progress lines.
func (v *vt) progressScreen() []string {
	var out []string
	for _, l := range v.screen() {
		if !strings.HasPrefix(l, "openai-uploads: Upload") && !strings.HasPrefix(l, "  ") {
			out = append(out, l)
		}
	}
	return out
}

// count is how many progress rows hold s.
func (v *vt) count(s string) int {
	n := 0
	for _, l := range v.progressScreen() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func TestVT(t *testing.T) {
	v := newVT(10)
	v.write([]byte("hello\nworld"))
	v.write([]byte("\r\x1b[1"))
	v.write([]byte("A\x1b[Jbye\n"))
	if got := strings.Join(v.screen(), "|"); got != "bye" || v.wraps != 0 {
		t.Fatalf("screen %q wraps %d", got, v.wraps)
	}
	v.write([]byte("0123456789")) // exactly the width: no wrap until the next character
	if v.wraps != 0 {
		t.Fatalf("a full row wrapped")
	}
	v.write([]byte("X\n"))
	if got := strings.Join(v.screen(), "|"); got != "bye|0123456789|X" || v.wraps != 1 {
		t.Fatalf("screen %q wraps %d", got, v.wraps)
	}
	v.resize(5)
	if got := strings.Join(v.screen(), "|"); got != "bye|01234|56789|X" {
		t.Fatalf("after narrowing: %q", got)
	}
	v.write([]byte("\r\x1b[3A\x1b[Jz\n"))
	if got := strings.Join(v.screen(), "|"); got != "bye|z" {
		t.Fatalf("erasing the reflowed rows: %q", got)
	}
	v.resize(20)
	v.write([]byte("abc\x1b[K\rX\x1b[K\n"))
	if got := strings.Join(v.screen(), "|"); got != "bye|z|X" {
		t.Fatalf("erase in line: %q", got)
	}
}
