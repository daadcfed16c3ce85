package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

func (a *app) uploadCommand() *cli.Command {
	return &cli.Command{
		Name:      "upload",
		Usage:     "upload files in parallel parts (chunked, with md5, retries, progress and resume) and print each completed Upload",
		ArgsUsage: "PATH... (files, or one - for stdin with --size and --filename)",
		Description: "Creates an Upload, sends the file's parts in parallel straight from the file, completes the Upload with\n" +
			"the md5 of the whole file, and prints the Upload (with its File) as JSON. The Upload's id goes to stderr as\n" +
			"soon as it exists (also with --quiet). On failure or Ctrl-C the Upload is cancelled, or, with --checkpoint\n" +
			"and a cause that may pass (network, 429, 5xx, Ctrl-C), left pending: the same command resumes it, sending\n" +
			"only the parts missing or changed. --checkpoint never overwrites a file that is not a checkpoint, and one\n" +
			"run at a time uses it (another exits 1, saying it is in use).\n\n" +
			"Progress goes to stderr: on a terminal one line redrawn in place (phase, bar, percent, bytes, rate and ETA\n" +
			"averaged over 10 s, retries, parts, streams), else a plain line at most once a second; then one line saying\n" +
			"how it ended. With --wait the command then polls the File until it is processed (see files wait).\n\n" +
			"Several PATHs: each becomes its own File, several at once, under one budget of requests in flight\n" +
			"(--concurrency counts the part requests of all the files). Files up to --small-file-limit go in one\n" +
			"POST /files request each (no md5 is checked), larger ones through an Upload. stdout gets one JSON\n" +
			"line per PATH, in the order given: the completed Upload, the File of a small file, or\n" +
			"{\"path\":…,\"error\":…} for a file that failed. Exit 0 only if every file was uploaded; the failures\n" +
			"are summed up on stderr at the end. On a terminal: a line per file in flight (at most 8) and a total;\n" +
			"each file's final line stays above. --checkpoint, --filename, --md5 and --size apply to one PATH only.\n\n" +
			"--concurrency: by default adaptive: from 4 part requests in flight, more while the throughput grows,\n" +
			"halved when the API answers 429 or 503, at most 32; a number fixes it.\n\n" +
			"Sizes (--part-size, --size, --small-file-limit) are " + sizeHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "purpose", Usage: "assistants, batch, fine-tune, vision, user_data or evals (required)"},
			&cli.StringFlag{Name: "mime-type", Usage: "MIME type (default: from the file name's extension)"},
			&cli.StringFlag{Name: "filename", Usage: "name of the File (default: the path's base name)"},
			&cli.StringFlag{Name: "part-size", Value: "64MiB", Usage: "bytes per part, a size of at most 64MiB"},
			&cli.IntFlag{Name: "concurrency", HideDefault: true, Usage: "part requests in flight (across all files), 1..32 (default: adaptive, from 4 up to 32)"},
			&cli.StringFlag{Name: "small-file-limit", Value: "8MiB", Usage: "with several PATHs, files up to this size go in one POST /files request (0: none)"},
			&cli.BoolFlag{Name: "no-md5", Usage: "do not compute or send the md5"},
			&cli.StringFlag{Name: "md5", Usage: "expected md5 of the file (hex); the upload fails before complete if it differs"},
			&cli.StringFlag{Name: "expires-after", Usage: "expiration policy: anchor=created_at,seconds=N (N in 3600..2592000)"},
			&cli.StringFlag{Name: "checkpoint", Usage: "file recording progress (a new file, or a checkpoint); run again with it to resume", TakesFile: true},
			&cli.StringFlag{Name: "size", Usage: "size of the data on stdin (PATH -), a size such as 1048576 or 1MiB"},
			&cli.IntFlag{Name: "max-retries", Value: helpers.DefaultPartRetries, Usage: "retries of each request (create, each part, complete; 0: none)"},
			&cli.BoolFlag{Name: "wait", Usage: "then wait until the File is processed (or failed), polling with backoff"},
			&cli.DurationFlag{Name: "wait-timeout", Value: helpers.DefaultWaitTimeout, Usage: "give up waiting after this long (implies --wait)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress on stderr"},
		},
		Action: a.upload,
	}
}

// flagOf maps the helpers' field names (InputError.Field) to this CLI's flags, for error messages.
// speakCLI also replaces the dotted names in any message the CLI prints.
var flagOf = map[string]string{
	"UploadOptions.Purpose":                   "--purpose",
	"UploadOptions.MIMEType":                  "--mime-type",
	"UploadOptions.Filename":                  "--filename",
	"UploadOptions.PartSize":                  "--part-size",
	"UploadOptions.Concurrency":               "--concurrency",
	"UploadFilesOptions.Purpose":              "--purpose",
	"UploadFilesOptions.MIMEType":             "--mime-type",
	"UploadFilesOptions.PartSize":             "--part-size",
	"UploadFilesOptions.Concurrency":          "--concurrency",
	"UploadFilesOptions.ExpiresAfter.Seconds": "--expires-after",
	"UploadFilesOptions.ExpiresAfter.Anchor":  "--expires-after",
	"UploadFilesOptions.MaxRetries":           "--max-retries",
	"UploadFilesOptions.StallTimeout":         "--stall-timeout",
	"UploadFilesOptions.SmallFileLimit":       "--small-file-limit",
	"paths":                                   "PATH",
	"UploadOptions.MD5":                       "--md5",
	"md5":                                     "--md5",
	"UploadOptions.ExpiresAfter.Seconds":      "--expires-after",
	"UploadOptions.ExpiresAfter.Anchor":       "--expires-after",
	"UploadOptions.Checkpoint":                "--checkpoint",
	"UploadOptions.MaxRetries":                "--max-retries",
	"UploadOptions.StallTimeout":              "--stall-timeout",
	"ClientOptions.APIKey":                    "--api-key (or OPENAI_API_KEY)",
	"ClientOptions.BaseURL":                   "--base-url (or OPENAI_BASE_URL)",
	"ClientOptions.Timeout":                   "--timeout",
	"ClientOptions.StallTimeout":              "--stall-timeout",
	"size":                                    "PATH",
	"path":                                    "PATH",
	"fileID":                                  "FILE_ID",
}

func (a *app) upload(ctx context.Context, cmd *cli.Command) error {
	paths := cmd.Args().Slice()
	switch {
	case len(paths) == 0:
		return usagef("upload needs a PATH: a file, or - for stdin (with --size and --filename)")
	case len(paths) > 1:
		return a.uploadMany(ctx, cmd, paths)
	}
	path := paths[0]
	opts, err := uploadOptions(cmd)
	if err != nil {
		return err
	}
	wait, err := a.waitOptions(cmd, "wait-timeout")
	if err != nil {
		return err
	}
	wantWait := cmd.Bool("wait") || cmd.IsSet("wait-timeout")
	var size int64
	fields := map[string]string{}
	if path == "-" {
		if size, err = stdinOptions(cmd, opts); err != nil {
			return err
		}
		fields["size"] = "--size"
	}
	c, err := a.client(cmd)
	if err != nil {
		return err
	}

	label := opts.Filename
	if label == "" {
		label = filepath.Base(path)
	}
	quiet := cmd.Bool("quiet")
	view := a.newProgressView(quiet, label)
	announce := a.announcer(opts.Checkpoint, view.update)
	var phase helpers.Phase // the last phase under way (the helpers never call Progress concurrently)
	opts.Progress = func(p helpers.Progress) {
		if !final(p.Phase) {
			phase = p.Phase
		}
		announce(p)
	}
	opts.Notify = view.notice
	var up *generated.Upload
	if path == "-" {
		up, err = c.UploadReader(ctx, a.stdin, size, opts)
	} else {
		up, err = c.UploadFile(ctx, path, opts)
	}
	view.finish(err)
	if err != nil {
		err = uploadFailure(err)
		if upErr := (*helpers.UploadError)(nil); phase == helpers.PhaseCreating && !errors.As(err, &upErr) {
			// No Upload id came back: the server may have created one as the client gave up.
			err = stopped{while: "while the Upload was being created; if the server created it, it stays pending, without parts, until it expires", err: err}
		}
		return failure(err, fields)
	}
	if !wantWait || up.File == nil {
		return a.print(cmd, up)
	}
	file, werr := a.waitFor(ctx, c, up.File.ID, wait, quiet)
	if file != nil {
		up.File = file
	}
	if err := a.print(cmd, up); err != nil {
		return err
	}
	return werr
}

// stdinOptions checks the flags of an upload from stdin and returns the size.
func stdinOptions(cmd *cli.Command, opts helpers.UploadOptions) (int64, error) {
	if !cmd.IsSet("size") {
		return 0, usagef("--size is required when PATH is - (stdin)")
	}
	size, err := parseSize(cmd.String("size"))
	if err != nil {
		return 0, usagef("--size: %v", err)
	}
	if opts.Filename == "" {
		return 0, usagef("--filename is required when PATH is - (stdin)")
	}
	if opts.Checkpoint != "" {
		return 0, usagef("--checkpoint needs a file PATH, not stdin")
	}
	return size, nil
}

// uploadOptions reads the flags; a bad one is a usage error naming it.
func uploadOptions(cmd *cli.Command) (helpers.UploadOptions, error) {
	opts := helpers.UploadOptions{
		Purpose:      generated.CreateUploadRequestPurpose(cmd.String("purpose")),
		MIMEType:     cmd.String("mime-type"),
		Filename:     cmd.String("filename"),
		SkipMD5:      cmd.Bool("no-md5"),
		MD5:          cmd.String("md5"),
		Checkpoint:   cmd.String("checkpoint"),
		MaxRetries:   cmd.Int("max-retries"),
		StallTimeout: cmd.Duration(flagStallTimeout), // a global flag: files content and files create use it too
	}
	if opts.Purpose == "" {
		return opts, usagef("--purpose is required (assistants, batch, fine-tune, vision, user_data or evals)")
	}
	if opts.MD5 != "" && opts.SkipMD5 {
		return opts, usagef("--md5 and --no-md5 cannot be used together: checking an expected md5 needs the md5")
	}
	partSize, err := parseSize(cmd.String("part-size"))
	if err != nil {
		return opts, usagef("--part-size: %v", err)
	}
	if partSize < 1 || partSize > helpers.MaxPartSize {
		return opts, usagef("--part-size must be between 1 byte and 64MiB (%d bytes), got %d", helpers.MaxPartSize, partSize)
	}
	opts.PartSize = partSize
	if cmd.IsSet("concurrency") { // otherwise 0: adaptive
		opts.Concurrency = cmd.Int("concurrency")
		if opts.Concurrency < 1 || opts.Concurrency > helpers.MaxConcurrency {
			return opts, usagef("--concurrency must be between 1 and %d, got %d", helpers.MaxConcurrency, opts.Concurrency)
		}
	}
	if opts.MaxRetries < 0 {
		return opts, usagef("--max-retries must be 0 or more, got %d", opts.MaxRetries)
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
