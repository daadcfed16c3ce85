package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

func (a *app) uploadCommand() *cli.Command {
	return &cli.Command{
		Name:      "upload",
		Usage:     "upload a file in parallel parts (chunked, with md5, retries, progress and resume) and print the completed Upload",
		ArgsUsage: "PATH (or - for stdin, with --size and --filename)",
		Description: "Creates an Upload, sends the file's parts in parallel straight from the file, completes the Upload with\n" +
			"the md5 of the whole file, and prints the Upload (with its File) as JSON. On failure or Ctrl-C the Upload\n" +
			"is cancelled, or, with --checkpoint, left pending so that the same command resumes it.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "purpose", Usage: "assistants, batch, fine-tune, vision, user_data or evals (required)"},
			&cli.StringFlag{Name: "mime-type", Usage: "MIME type (default: from the file name's extension)"},
			&cli.StringFlag{Name: "filename", Usage: "name of the File (default: the path's base name)"},
			&cli.StringFlag{Name: "part-size", Value: "64MiB", Usage: "bytes per part, at most 64MiB"},
			&cli.IntFlag{Name: "concurrency", Value: helpers.DefaultConcurrency, Usage: "parts in flight"},
			&cli.BoolFlag{Name: "no-md5", Usage: "do not compute or send the md5"},
			&cli.StringFlag{Name: "md5", Usage: "expected md5 of the file (hex); the upload fails before complete if it differs"},
			&cli.StringFlag{Name: "expires-after", Usage: "expiration policy: anchor=created_at,seconds=N (N in 3600..2592000)"},
			&cli.StringFlag{Name: "checkpoint", Usage: "file recording progress; run again with it to resume", TakesFile: true},
			&cli.StringFlag{Name: "size", Usage: "size in bytes of the data on stdin (PATH -)"},
			&cli.IntFlag{Name: "max-retries", Value: helpers.DefaultPartRetries, Usage: "retries of each request (create, each part, complete)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress on stderr"},
		},
		Action: a.upload,
	}
}

// flagOf maps the helpers' field names (InputError.Field) to this CLI's flags, for error messages.
var flagOf = map[string]string{
	"UploadOptions.Purpose":              "--purpose",
	"UploadOptions.MIMEType":             "--mime-type",
	"UploadOptions.Filename":             "--filename",
	"UploadOptions.PartSize":             "--part-size",
	"UploadOptions.Concurrency":          "--concurrency",
	"UploadOptions.MD5":                  "--md5",
	"md5":                                "--md5",
	"UploadOptions.ExpiresAfter.Seconds": "--expires-after",
	"UploadOptions.ExpiresAfter.Anchor":  "--expires-after",
	"UploadOptions.Checkpoint":           "--checkpoint",
	"UploadOptions.StallTimeout":         "--stall-timeout",
	"ClientOptions.Timeout":              "--timeout",
	"ClientOptions.BaseURL":              "--base-url",
	"ClientOptions.StallTimeout":         "--stall-timeout",
	"size":                               "PATH",
	"path":                               "PATH",
}

func (a *app) upload(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() != 1 {
		return usagef("upload takes one PATH (or - for stdin), got %d arguments", cmd.Args().Len())
	}
	path := cmd.Args().First()
	opts, err := uploadOptions(cmd)
	if err != nil {
		return err
	}
	c, err := a.client(cmd)
	if err != nil {
		return err
	}

	view := a.newProgressView(cmd.Bool("quiet"), "upload")
	opts.Progress = view.update
	if !cmd.Bool("quiet") {
		opts.Notify = func(m string) { fmt.Fprintln(a.stderr, m) }
	}
	var up *generated.Upload
	if path == "-" {
		up, err = a.uploadStdin(ctx, cmd, c, opts)
	} else {
		up, err = c.UploadFile(ctx, path, opts)
	}
	view.finish(err == nil)
	if err != nil {
		return failure(err)
	}
	return a.print(cmd, up)
}

func (a *app) uploadStdin(ctx context.Context, cmd *cli.Command, c *helpers.Client, opts helpers.UploadOptions) (*generated.Upload, error) {
	if !cmd.IsSet("size") {
		return nil, usagef("--size is required when PATH is - (stdin)")
	}
	size, err := parseSize(cmd.String("size"))
	if err != nil {
		return nil, usagef("--size: %v", err)
	}
	if opts.Filename == "" {
		return nil, usagef("--filename is required when PATH is - (stdin)")
	}
	if opts.Checkpoint != "" {
		return nil, usagef("--checkpoint needs a file PATH, not stdin")
	}
	return c.UploadReader(ctx, a.stdin, size, opts)
}

// uploadOptions reads the flags; a bad one is a usage error naming it.
func uploadOptions(cmd *cli.Command) (helpers.UploadOptions, error) {
	opts := helpers.UploadOptions{
		Purpose:      generated.CreateUploadRequestPurpose(cmd.String("purpose")),
		MIMEType:     cmd.String("mime-type"),
		Filename:     cmd.String("filename"),
		Concurrency:  cmd.Int("concurrency"),
		SkipMD5:      cmd.Bool("no-md5"),
		MD5:          cmd.String("md5"),
		Checkpoint:   cmd.String("checkpoint"),
		MaxRetries:   cmd.Int("max-retries"),
		StallTimeout: cmd.Duration(flagStallTimeout), // a global flag: files content and files create use it too
	}
	if opts.Purpose == "" {
		return opts, usagef("--purpose is required (assistants, batch, fine-tune, vision, user_data or evals)")
	}
	partSize, err := parseSize(cmd.String("part-size"))
	if err != nil {
		return opts, usagef("--part-size: %v", err)
	}
	if partSize < 1 || partSize > helpers.MaxPartSize {
		return opts, usagef("--part-size must be between 1 byte and 64MiB (%d bytes), got %d", helpers.MaxPartSize, partSize)
	}
	opts.PartSize = partSize
	if opts.Concurrency < 1 || opts.Concurrency > helpers.MaxConcurrency {
		return opts, usagef("--concurrency must be between 1 and %d, got %d", helpers.MaxConcurrency, opts.Concurrency)
	}
	if cmd.IsSet("max-retries") && opts.MaxRetries == 0 {
		opts.MaxRetries = -1 // an explicit 0 means none
	}
	if v := cmd.String("expires-after"); v != "" {
		ea, err := parseExpiresAfter(v)
		if err != nil {
			return opts, usagef("--expires-after: %v", err)
		}
		opts.ExpiresAfter = ea
	}
	return opts, nil
}

// failure classifies a command's error: a usage error raised while a body streamed (it arrives
// wrapped), or bad input the helpers found before any request, is a usage error naming the flag;
// anything else is a failure.
func failure(err error) error {
	var u usageError
	if errors.As(err, &u) {
		return u
	}
	var pathErr *fs.PathError
	var upErr *helpers.UploadError
	if errors.As(err, &pathErr) && !errors.As(err, &upErr) {
		return usageError{fmt.Errorf("PATH: %w", err)} // unreadable before anything was sent
	}
	var in *helpers.InputError
	if errors.As(err, &in) {
		if flag, ok := flagOf[in.Field]; ok {
			return usageError{fmt.Errorf("%s: %s", flag, in.Reason)}
		}
		return usageError{err}
	}
	return err
}

// parseExpiresAfter reads an expiration policy: "anchor=created_at,seconds=N" (in any order;
// the anchor may be left out) or the JSON object {"anchor":"created_at","seconds":N}.
func parseExpiresAfter(s string) (*generated.FileExpirationAfter, error) {
	s = strings.TrimSpace(s)
	ea := &generated.FileExpirationAfter{Anchor: generated.FileExpirationAfterAnchorCreatedAt}
	if strings.HasPrefix(s, "{") {
		var v struct {
			Anchor  *string `json:"anchor"`
			Seconds *int64  `json:"seconds"`
		}
		if err := decodeStrict(s, &v); err != nil {
			return nil, fmt.Errorf("%q is not {\"anchor\":\"created_at\",\"seconds\":N}: %v", s, err)
		}
		if v.Seconds == nil {
			return nil, fmt.Errorf("seconds is missing")
		}
		if v.Anchor != nil {
			ea.Anchor = generated.FileExpirationAfterAnchor(*v.Anchor)
		}
		ea.Seconds = *v.Seconds
	} else {
		seen := map[string]bool{}
		for _, kv := range strings.Split(s, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || seen[k] {
				return nil, fmt.Errorf("%q is not anchor=created_at,seconds=N", s)
			}
			seen[k] = true
			switch k {
			case "anchor":
				ea.Anchor = generated.FileExpirationAfterAnchor(v)
			case "seconds":
				n, err := parseInt(v)
				if err != nil {
					return nil, fmt.Errorf("seconds %q is not an integer", v)
				}
				ea.Seconds = n
			default:
				return nil, fmt.Errorf("unknown key %q (want anchor and seconds)", k)
			}
		}
		if !seen["seconds"] {
			return nil, fmt.Errorf("seconds is missing")
		}
	}
	if ea.Anchor != generated.FileExpirationAfterAnchorCreatedAt {
		return nil, fmt.Errorf("anchor %q is not created_at", ea.Anchor)
	}
	if ea.Seconds < helpers.MinExpiresAfterSeconds || ea.Seconds > helpers.MaxExpiresAfterSeconds {
		return nil, fmt.Errorf("seconds %d is outside %d..%d (1 hour to 30 days)", ea.Seconds, helpers.MinExpiresAfterSeconds, helpers.MaxExpiresAfterSeconds)
	}
	return ea, nil
}
