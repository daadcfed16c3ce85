package main

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/mattn/go-runewidth"
	"golang.org/x/term"
)

// console is the CLI's stderr. Writes from any goroutine are serialized, one Write at a time.
// On a terminal it can show a live block: a few lines (the progress) drawn at the bottom and
// redrawn in place; whatever else is written while the block is shown appears above it, whole
// lines at a time, and the block is drawn again below.
//
// Redrawing moves the cursor up over the rows the block takes now: a line drawn at one width
// takes more rows after the terminal narrowed, because terminals that reflow (tmux, VTE, iTerm2,
// kitty, Windows Terminal) wrap it; counting them keeps a narrowed terminal free of stale lines.
// (xterm, which does not reflow, then loses a line above the block to the erase.)
type console struct {
	mu  sync.Mutex
	out io.Writer
	// size returns the terminal's columns and rows, or 0, 0 when stderr is not a terminal.
	size func() (int, int)
	// live holds the block's lines as drawn and drawnW their display widths; nil: no block.
	live   []string
	drawnW []int
	// partial is the start of a line written while the block is shown, held until its end.
	partial []byte
}

// newConsole wraps out. width, when set, says out is a terminal of that many columns (tests);
// otherwise out is a terminal when it is one by golang.org/x/term (/dev/null and files are not).
func newConsole(out io.Writer, width func() int) *console {
	c := &console{out: out, size: func() (int, int) { return 0, 0 }}
	switch {
	case width != nil:
		c.size = func() (int, int) { return width(), 24 }
	default:
		if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			fd := int(f.Fd())
			c.size = func() (int, int) {
				w, h, err := term.GetSize(fd)
				if err != nil || w <= 0 {
					return 80, 24 // a terminal that will not say: the classic size
				}
				return w, h
			}
		}
	}
	return c
}

// terminal reports whether the console can show a live block.
func (c *console) terminal() bool {
	w, _ := c.size()
	return w > 0
}

// columns is the terminal's width (0 when not a terminal).
func (c *console) columns() int {
	w, _ := c.size()
	return w
}

// Write writes p; while a block is shown, complete lines go above it.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live == nil {
		return c.out.Write(p)
	}
	c.partial = append(c.partial, p...)
	i := bytes.LastIndexByte(c.partial, '\n')
	if i < 0 {
		return len(p), nil
	}
	var buf bytes.Buffer
	c.erase(&buf)
	buf.Write(c.partial[:i+1])
	c.partial = append(c.partial[:0], c.partial[i+1:]...)
	c.render(&buf, c.live)
	if _, err := c.out.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// clearEcho erases the line the cursor is on when no block is shown, on a terminal: where the
// terminal echoed ^C, which would otherwise start the next line ("^Copenai-uploads: …").
func (c *console) clearEcho() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live == nil && c.terminal() {
		_, _ = io.WriteString(c.out, "\r\x1b[K")
	}
}

// println writes one line (or several, at the line breaks s holds). Any other control
// character in s is shown escaped (see printable): s may quote a file name or a server.
func (c *console) println(s string) {
	_, _ = io.WriteString(c, printable(s, "\n\t")+"\n")
}

// printable returns s with every character that would act on a terminal instead of being shown
// written as an escape (\x1b, \r, \u202e), except those in keep: the C0 and C1 controls and
// DEL (which move the cursor, erase, start escape sequences that recolour the screen or retitle
// the window) and the bidirectional overrides (which reorder what is shown). File names and the
// text of servers reach stderr through it: neither may drive the terminal of the person reading.
func printable(s, keep string) string {
	acts := func(r rune) bool {
		return (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) && !strings.ContainsRune(keep, r)
	}
	if !strings.ContainsFunc(s, acts) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if acts(r) {
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// show draws lines as the live block, replacing the block shown, if any. Each line is cut to
// the terminal's width less one column, so that no terminal wraps it.
func (c *console) show(lines []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var buf bytes.Buffer
	c.erase(&buf)
	c.render(&buf, lines)
	_, _ = c.out.Write(buf.Bytes())
}

// finish draws lines in place of the block and leaves them as ordinary output, whole (a line
// wider than the terminal wraps: it is not redrawn, so nothing of it is cut): the block ends.
// Anything held back (a line not ended) follows them.
func (c *console) finish(lines []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var buf bytes.Buffer
	c.erase(&buf)
	for _, l := range lines { // final lines stay: the terminal wraps them, never cut to the width
		buf.WriteString(printable(l, ""))
		buf.WriteString("\n")
	}
	c.live, c.drawnW = nil, nil
	buf.Write(c.partial)
	c.partial = nil
	_, _ = c.out.Write(buf.Bytes())
}

// erase moves the cursor to the start of the block and erases from there to the end of the
// screen.
func (c *console) erase(buf *bytes.Buffer) {
	if c.live == nil {
		return
	}
	cols, _ := c.size()
	rows := 0
	for _, w := range c.drawnW {
		rows += rowsOf(w, cols)
	}
	buf.WriteString("\r")
	if rows > 0 {
		buf.WriteString("\x1b[" + strconv.Itoa(rows) + "A")
	}
	buf.WriteString("\x1b[J")
}

// render writes lines, each cut to fit, and records them as the block.
func (c *console) render(buf *bytes.Buffer, lines []string) {
	cols, rows := c.size()
	if rows > 1 && len(lines) > rows-1 {
		lines = lines[len(lines)-(rows-1):] // the block never scrolls its own top away
	}
	c.live = make([]string, len(lines))
	c.drawnW = make([]int, len(lines))
	for i, l := range lines {
		l = printable(l, "") // a block line is one row
		if cols > 1 {
			l = fitWidth(l, cols-1)
		}
		c.live[i], c.drawnW[i] = l, runewidth.StringWidth(l)
		buf.WriteString(l)
		buf.WriteString("\n")
	}
}

// rowsOf is how many rows a line of w columns takes on a terminal of cols columns.
func rowsOf(w, cols int) int {
	if cols <= 0 || w <= cols {
		return 1
	}
	return (w + cols - 1) / cols
}

// fitWidth cuts s to at most w display columns, ending it with … when cut.
func fitWidth(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if runewidth.StringWidth(s) <= w {
		return s
	}
	return runewidth.Truncate(s, w, "…")
}

// fitMiddle cuts s to at most w display columns by replacing its middle with …, keeping the
// end (a file's extension) visible.
func fitMiddle(s string, w int) string {
	if runewidth.StringWidth(s) <= w {
		return s
	}
	if w <= 1 {
		return fitWidth(s, w)
	}
	runes := []rune(s)
	tail := (w - 1) / 2
	head := w - 1 - tail
	var end strings.Builder
	for i, cw := len(runes)-1, 0; i >= 0; i-- {
		rw := runewidth.RuneWidth(runes[i])
		if cw+rw > tail {
			break
		}
		cw += rw
		end.WriteString(string(runes[i]))
	}
	rev := []rune(end.String())
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	start := runewidth.Truncate(s, head, "")
	return start + "…" + string(rev)
}
