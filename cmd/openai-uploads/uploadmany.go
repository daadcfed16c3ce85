package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/helpers"
)

// upload PATH PATH...: each path its own File, through helpers.UploadFiles (one budget of
// requests in flight for all, small files in one POST /files each).

// oneFileFlags are the upload flags that describe one file: refused with several PATHs.
var oneFileFlags = []string{"checkpoint", "filename", "md5", "size"}

// maxListedFailures bounds the failures listed one per line in the summary.
const maxListedFailures = 50

func (a *app) uploadMany(ctx context.Context, cmd *cli.Command, paths []string) error {
	for _, p := range paths {
		if p == "-" {
			return usagef("PATH - (stdin) cannot be one of several PATHs: upload stdin alone, with --size and --filename")
		}
	}
	for _, f := range oneFileFlags {
		if cmd.IsSet(f) {
			why := "it describes one file"
			if f == "checkpoint" {
				why = "a checkpoint resumes one file's Upload; upload the files one per command to make them resumable"
			}
			return usagef("--%s cannot be used with several PATHs (got %d): %s", f, len(paths), why)
		}
	}
	opts, err := uploadOptions(cmd)
	if err != nil {
		return err
	}
	limit, err := parseSize(cmd.String("small-file-limit"))
	if err != nil {
		return usagef("--small-file-limit: %v", err)
	}
	if limit == 0 {
		limit = -1 // none: every file through an Upload
	}
	if limit > 512<<20 {
		return usagef("--small-file-limit must be at most 512MiB (POST /files' limit), got %s", cmd.String("small-file-limit"))
	}
	wait, err := a.waitOptions(cmd, "wait-timeout")
	if err != nil {
		return err
	}
	wantWait := cmd.Bool("wait") || cmd.IsSet("wait-timeout")
	c, err := a.client(cmd)
	if err != nil {
		return err
	}

	sizes := make([]int64, len(paths))
	for i, p := range paths {
		if info, err := os.Stat(p); err == nil {
			sizes[i] = info.Size()
		}
	}
	quiet := cmd.Bool("quiet")
	view := a.newManyView(quiet, paths, sizes)
	results, err := c.UploadFiles(ctx, paths, helpers.UploadFilesOptions{
		Purpose: opts.Purpose, MIMEType: opts.MIMEType, PartSize: opts.PartSize, Concurrency: opts.Concurrency,
		SkipMD5: opts.SkipMD5, ExpiresAfter: opts.ExpiresAfter, MaxRetries: opts.MaxRetries, StallTimeout: opts.StallTimeout,
		SmallFileLimit: limit, Progress: a.fileAnnouncer(view.update), Notify: view.notice,
	})
	view.finish(results, err)
	if results == nil { // refused before any request
		return failure(err)
	}
	failed := make([]error, len(results))
	for i, r := range results {
		failed[i] = r.Err
		if e := (*helpers.UploadError)(nil); errors.As(r.Err, &e) {
			// What became of the file's Upload, and what to do next, in the CLI's words.
			failed[i] = fmt.Errorf("%s: %w", r.Path, uploadFailure(e))
		}
	}
	if wantWait {
		for i, r := range results {
			if r.File == nil || ctx.Err() != nil {
				continue
			}
			file, werr := a.waitFor(ctx, c, r.File.ID, wait, quiet)
			if file != nil {
				results[i].File = file
				if r.Upload != nil {
					r.Upload.File = file
				}
			}
			if werr != nil {
				failed[i] = fmt.Errorf("%s: %w", r.Path, werr)
			}
		}
	}
	for i, r := range results {
		var v any = r.File
		switch {
		case failed[i] != nil:
			v = errorLineOf(r.Path, failed[i])
		case r.Upload != nil:
			v = r.Upload
		}
		if err := a.print(cmd, v); err != nil {
			return err
		}
	}
	return summary(paths, failed)
}

// errorLine is stdout's line for a file that failed.
type errorLine struct {
	Path  string `json:"path"`
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type,omitempty"`
		Code    string `json:"code,omitempty"`
		Status  int    `json:"status,omitempty"`
	} `json:"error"`
}

func errorLineOf(path string, err error) errorLine {
	l := errorLine{Path: path}
	l.Error.Message = speakCLI(strings.TrimPrefix(err.Error(), path+": "))
	var apiErr *helpers.APIError
	if errors.As(err, &apiErr) {
		l.Error.Type, l.Error.Code, l.Error.Status = apiErr.Type, apiErr.Code, apiErr.StatusCode
	}
	return l
}

// filesFailed is the command's error when some files failed: a summary, one line per failure.
type filesFailed struct {
	failed, total, notStarted int
	lines                     []string
}

func (e *filesFailed) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d files failed", e.failed, e.total)
	if e.notStarted > 0 {
		fmt.Fprintf(&b, " (%d of them not started)", e.notStarted)
	}
	b.WriteString(":")
	for _, l := range e.lines {
		b.WriteString("\n  " + l)
	}
	return b.String()
}

// summary sums up the failures, nil if there is none. Files not started (the command was
// interrupted) are counted, not listed.
func summary(paths []string, failed []error) error {
	s := &filesFailed{total: len(paths)}
	more := 0
	for _, err := range failed {
		switch {
		case err == nil:
			continue
		case errors.Is(err, helpers.ErrNotStarted):
			s.notStarted++
		case len(s.lines) < maxListedFailures:
			s.lines = append(s.lines, err.Error())
		default:
			more++
		}
		s.failed++
	}
	if more > 0 {
		s.lines = append(s.lines, fmt.Sprintf("… and %d more", more))
	}
	if s.failed == 0 {
		return nil
	}
	return s
}
