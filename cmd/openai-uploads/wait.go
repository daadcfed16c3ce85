package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// Waiting until a File is processed: files wait FILE_ID, and upload --wait.

func (a *app) filesWaitCommand(idFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "wait until a File is processed (or failed), polling it with backoff; prints the File",
		ArgsUsage: "[FILE_ID]",
		Description: "Retrieves the File until its status is processed (exit 0) or error (exit 1, with status_details on\n" +
			"stderr), as OpenAI's Node SDK's files.waitForProcessing does: the first poll at once, then after 1 s,\n" +
			"doubling up to 10 s between polls, for at most --wait-timeout (exit 1 past it).",
		Flags: []cli.Flag{
			idFlag,
			&cli.DurationFlag{Name: "wait-timeout", Value: helpers.DefaultWaitTimeout, Usage: "give up after this long"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no status on stderr"},
		},
		Action: a.filesWait,
	}
}

func (a *app) filesWait(ctx context.Context, cmd *cli.Command) error {
	id, err := idFrom(cmd, "file-id")
	if err != nil {
		return err
	}
	opts, err := a.waitOptions(cmd, "wait-timeout")
	if err != nil {
		return err
	}
	c, err := a.client(cmd)
	if err != nil {
		return err
	}
	file, err := a.waitFor(ctx, c, id, opts, cmd.Bool("quiet"))
	if file != nil {
		if perr := a.print(cmd, file); perr != nil {
			return perr
		}
	}
	return err
}

// waitOptions reads a wait's timeout from flag.
func (a *app) waitOptions(cmd *cli.Command, flag string) (helpers.WaitOptions, error) {
	d := cmd.Duration(flag)
	if d <= 0 {
		return helpers.WaitOptions{}, usagef("--%s must be a positive duration (for example 90s or 30m), got %s", flag, d)
	}
	return helpers.WaitOptions{Timeout: d, PollInterval: a.pollInterval, MaxPollInterval: a.pollInterval}, nil
}

// waitFor waits for the File, showing its status on stderr, and returns it: the processed File,
// or the failed one with a *helpers.ProcessingError, or nil with the error of a wait that did not
// get an answer.
func (a *app) waitFor(ctx context.Context, c *helpers.Client, id string, opts helpers.WaitOptions, quiet bool) (*generated.OpenAIFile, error) {
	v := &waitView{con: a.console, id: printable(id, ""), now: time.Now, quiet: quiet, limit: opts.Timeout}
	v.begin()
	opts.OnPoll = v.polled
	file, err := c.WaitForProcessing(ctx, id, opts)
	v.end(file, err)
	var pe *helpers.ProcessingError
	if errors.As(err, &pe) {
		return pe.File, err
	}
	if err != nil {
		err = stopped{while: "while waiting for " + printable(id, "") + " to be processed", err: err}
	}
	return file, failure(err)
}

// waitView shows a wait: on a terminal one line redrawn in place (status, time waited), else a
// line when the wait starts and one when the status changes (at most once per plainInterval);
// then one line saying how it ended.
type waitView struct {
	con     *console
	id      string
	now     func() time.Time
	quiet   bool
	limit   time.Duration
	mu      sync.Mutex
	start   time.Time
	status  string
	printed time.Time
	loop    *redrawLoop
	last    string
}

func (v *waitView) begin() {
	if v.quiet {
		return
	}
	v.start = v.now()
	if v.con.terminal() {
		v.loop = startRedraw(v.redraw)
		return
	}
	v.printed = v.start
	v.con.println(fmt.Sprintf("%s: waiting until it is processed (at most %s)", v.id, v.limit))
}

func (v *waitView) polled(f *generated.OpenAIFile) {
	if v.quiet {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	changed := string(f.Status) != v.status
	v.status = string(f.Status)
	now := v.now()
	if v.loop == nil && changed && f.Status != generated.OpenAIFileStatusProcessed && f.Status != generated.OpenAIFileStatusError && now.Sub(v.printed) >= plainInterval {
		v.printed = now
		v.con.println(fmt.Sprintf("%s: %s, waiting (%s)", v.id, f.Status, formatElapsed(now.Sub(v.start))))
	}
}

func (v *waitView) redraw() {
	v.mu.Lock()
	defer v.mu.Unlock()
	width := v.con.columns() - 1
	status := v.status
	if status == "" {
		status = "asking"
	}
	line := layout(width, []piece{
		text(0, fitMiddle(v.id, max(8, width/2))),
		text(1, "waiting until processed: "+status, "waiting: "+status, "waiting"),
		text(2, formatElapsed(v.now().Sub(v.start))),
	}, nil)
	if line != v.last {
		v.last = line
		v.con.show([]string{line})
	}
}

func (v *waitView) end(file *generated.OpenAIFile, err error) {
	if v.quiet {
		return
	}
	if v.loop != nil {
		v.loop.halt()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	waited := formatElapsed(v.now().Sub(v.start))
	var pe *helpers.ProcessingError
	var te *helpers.WaitTimeoutError
	var line string
	switch {
	case err == nil:
		line = fmt.Sprintf("%s: processed after %s", v.id, waited)
	case errors.As(err, &pe):
		line = fmt.Sprintf("%s: failed processing after %s", v.id, waited)
	case errors.As(err, &te):
		line = fmt.Sprintf("%s: not processed within %s (status %s)", v.id, v.limit, te.Status)
	default:
		line = fmt.Sprintf("%s: wait stopped after %s", v.id, waited)
	}
	if v.loop != nil {
		v.con.finish([]string{line})
		return
	}
	v.con.println(line)
}
