package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/openai-uploads/uploads/helpers"
)

// What upload says about its Upload: its id as soon as it exists, and, on failure, what became
// of it and what to do next, in the CLI's words.

// uploadIDLines name the Upload, as soon as it exists, with what to do if this command is
// killed (nothing then cancels it): with a checkpoint, run it again; otherwise cancel it. Two
// lines, each within 80 columns for OpenAI's ids, the command to copy whole on the second.
func uploadIDLines(id, checkpoint string) []string {
	first := fmt.Sprintf("openai-uploads: Upload %s; if this run is killed,", id)
	if checkpoint != "" {
		return []string{first, fmt.Sprintf("  run the same command again to resume it (checkpoint %s)", checkpoint)}
	}
	return []string{first, "  cancel it: openai-uploads uploads cancel " + id}
}

// announcer returns a Progress callback that prints uploadIDLines once for each Upload the
// upload works on (a resumed Upload found gone is replaced by a new one), then calls next. It
// prints whatever --quiet says: these lines are the only way to find an Upload a killed command
// left. On a terminal they are wrapped at its width, so that the terminal never wraps them.
func (a *app) announcer(checkpoint string, next func(helpers.Progress)) func(helpers.Progress) {
	last := ""
	return func(p helpers.Progress) {
		if p.UploadID != "" && p.UploadID != last {
			last = p.UploadID
			for _, l := range uploadIDLines(p.UploadID, checkpoint) {
				for _, w := range wrapWords(l, a.console.columns()-1) {
					a.console.println(w)
				}
			}
		}
		next(p)
	}
}

// fileAnnouncer is announcer for the files of an UploadFiles (never called concurrently): the
// lines name the file each Upload is of.
func (a *app) fileAnnouncer(next func(helpers.FileProgress)) func(helpers.FileProgress) {
	last := map[int]string{}
	return func(p helpers.FileProgress) {
		if p.UploadID != "" && p.UploadID != last[p.Index] {
			last[p.Index] = p.UploadID
			lines := uploadIDLines(p.UploadID, "")
			lines[0] = fmt.Sprintf("openai-uploads: Upload %s for %s; if this run is killed,", p.UploadID, printable(p.Path, ""))
			for _, l := range lines {
				for _, w := range wrapWords(l, a.console.columns()-1) {
					a.console.println(w)
				}
			}
		}
		next(p)
	}
}

// wrapWords cuts s at spaces into lines of at most width display columns, the lines after the
// first indented by two spaces (the first keeps s's own indent); a word wider than that is cut. A width below 10 (or no
// terminal) leaves s whole.
func wrapWords(s string, width int) []string {
	if width < 10 || runewidth.StringWidth(s) <= width {
		return []string{s}
	}
	var lines []string
	lead := s[:len(s)-len(strings.TrimLeft(s, " "))]
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = lead + w
		case runewidth.StringWidth(line+" "+w) <= width:
			line += " " + w
			continue
		default:
			lines = append(lines, line)
			line = "  " + w
		}
		for runewidth.StringWidth(line) > width { // a word too wide: cut it
			cut := runewidth.Truncate(line, width, "")
			lines = append(lines, cut)
			line = "  " + strings.TrimPrefix(line, cut)
		}
	}
	return append(lines, line)
}

// uploadFailure rewrites an *helpers.UploadError: what became of the Upload, the cause, and
// what to do next: run the same command again (with --checkpoint), or `uploads cancel ID`.
// Other errors are returned as they are.
func uploadFailure(err error) error {
	var e *helpers.UploadError
	if !errors.As(err, &e) {
		return err
	}
	var msg string
	switch {
	case e.OutcomeUnknown && e.Resumable:
		msg = fmt.Sprintf("upload %s: complete was sent but no reply came, so whether the Upload was completed is unknown; it was left as it is, not cancelled: %v; to finish, run the same command again (with --checkpoint %s): its File is recovered if it was completed", e.UploadID, e.Err, e.Checkpoint)
	case e.OutcomeUnknown:
		msg = fmt.Sprintf("upload %s: complete was sent but no reply came, and no File matching it was found, so whether the Upload was completed is unknown; it was left as it is, not cancelled: %v%s; to settle it, run: openai-uploads uploads cancel %s (refused if the Upload was completed: its File is then in openai-uploads files list)", e.UploadID, e.Err, cancelFailure(e.CancelErr), e.UploadID)
	case e.Resumable:
		msg = fmt.Sprintf("upload %s failed and was left pending: %v; it can be resumed: run the same command again (with --checkpoint %s)%s", e.UploadID, e.Err, e.Checkpoint, until(e.ExpiresAt))
	case e.Gone:
		msg = fmt.Sprintf("upload %s failed and is no longer pending, so nothing was cancelled: %v; run the command again to start a new upload", e.UploadID, e.Err)
	case e.Cancelled:
		msg = fmt.Sprintf("upload %s failed and was cancelled: %v; nothing is left pending: run the command again to start over", e.UploadID, e.Err)
	default:
		msg = fmt.Sprintf("upload %s failed, and cancelling it failed too (%v): %v; cancel it with: openai-uploads uploads cancel %s (or it expires within the hour of its creation)", e.UploadID, e.CancelErr, e.Err, e.UploadID)
	}
	return &cliUploadError{msg: msg, err: err}
}

// cliUploadError is an *helpers.UploadError with the CLI's message.
type cliUploadError struct {
	msg string
	err error
}

func (e *cliUploadError) Error() string { return e.msg }
func (e *cliUploadError) Unwrap() error { return e.err }

func cancelFailure(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf(" (cancelling it, which would have settled it, failed: %v)", err)
}

// until says by when a resumable Upload must be finished (it expires).
func until(expiresAt int64) string {
	if expiresAt == 0 {
		return ""
	}
	at := time.Unix(expiresAt, 0)
	left := ""
	if d := time.Until(at); d >= time.Minute {
		left = fmt.Sprintf(", in %d minutes", int(d.Minutes()))
	}
	return fmt.Sprintf(" before it expires at %s%s", at.Format("15:04 MST"), left)
}
