package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// The commands of OpenAI's CLI for these endpoints, with its flag names: uploads create,
// complete and cancel; uploads:parts create (the files commands are in files_commands.go).

func (a *app) uploadsCommand() *cli.Command {
	return &cli.Command{
		Name:  "uploads",
		Usage: "create, complete or cancel an Upload (one request each; see upload for the whole chunked upload)",
		Commands: []*cli.Command{
			{
				Name:        "create",
				Usage:       "create an Upload (status pending, expires in an hour) that accepts parts",
				Description: "--bytes is " + sizeHelp,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "bytes", Usage: "size of the file, at most 8GiB, for example 2147483648 or 2GiB (required)"},
					&cli.StringFlag{Name: "filename", Usage: "name of the file (required)"},
					&cli.StringFlag{Name: "mime-type", Usage: "MIME type of the file (required)"},
					&cli.StringFlag{Name: "purpose", Usage: "assistants, batch, fine-tune, vision, user_data or evals (required)"},
					&cli.StringFlag{Name: "expires-after", Usage: "expiration policy: anchor=created_at,seconds=N"},
				},
				Action: a.uploadsCreate,
			},
			{
				Name:      "complete",
				Usage:     "complete an Upload with its parts in order; prints the Upload with its File",
				ArgsUsage: "[UPLOAD_ID]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "upload-id", Usage: "the Upload's id (or the first argument)"},
					&cli.StringSliceFlag{Name: "part-id", Usage: "a part id; repeat it, in file order (required)"},
					&cli.StringFlag{Name: "md5", Usage: "md5 of the whole file (hex), checked by the server"},
				},
				Action: a.uploadsComplete,
			},
			{
				Name:      "cancel",
				Usage:     "cancel an Upload",
				ArgsUsage: "[UPLOAD_ID]",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "upload-id", Usage: "the Upload's id (or the first argument)"}},
				Action:    a.uploadsCancel,
			},
		},
	}
}

func (a *app) partsCommand() *cli.Command {
	return &cli.Command{
		Name:  "uploads:parts",
		Usage: "add a part to an Upload",
		Commands: []*cli.Command{{
			Name:      "create",
			Usage:     "send one part (at most 64MiB), streamed from a file or stdin; prints the part",
			ArgsUsage: "[UPLOAD_ID]",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "upload-id", Usage: "the Upload's id (or the first argument)"},
				&cli.StringFlag{Name: "data", Usage: "the part's bytes: a file path, @path, or - for stdin (required)", TakesFile: true},
			},
			Action: a.partsCreate,
		}},
	}
}

// callAndPrint builds the client from the global flags, makes one API call and prints its result.
func callAndPrint[T any](ctx context.Context, a *app, cmd *cli.Command, call func(context.Context, *helpers.Client) (T, error)) error {
	c, err := a.client(cmd)
	if err != nil {
		return err
	}
	v, err := call(ctx, c)
	if err != nil {
		return failure(err)
	}
	return a.print(cmd, v)
}

// idFrom reads an id from its flag or, as OpenAI's CLI allows, the first argument.
func idFrom(cmd *cli.Command, flag string) (string, error) {
	id := cmd.String(flag)
	if id == "" && cmd.Args().Len() == 1 {
		id = cmd.Args().First()
	}
	if cmd.Args().Len() > 1 || (id != "" && cmd.String(flag) != "" && cmd.Args().Present()) {
		return "", usagef("unexpected arguments %s: give the id once, as --%s or as the only argument", quoteArgs(cmd.Args().Slice()), flag)
	}
	if strings.TrimSpace(id) == "" {
		return "", usagef("--%s is required", flag)
	}
	return id, nil
}

// quoteArgs writes arguments for a message: "a", "b".
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, ", ")
}

func required(cmd *cli.Command, flags ...string) error {
	for _, f := range flags {
		if strings.TrimSpace(cmd.String(f)) == "" {
			return usagef("--%s is required", f)
		}
	}
	return nil
}

func checkPurpose(p string) error {
	if !generated.CreateUploadRequestPurpose(p).Valid() {
		return usagef("--purpose %q is not one of %s", p, strings.Join(conformance.UploadPurposes, ", "))
	}
	return nil
}

func (a *app) uploadsCreate(ctx context.Context, cmd *cli.Command) error {
	if err := required(cmd, "bytes", "filename", "mime-type", "purpose"); err != nil {
		return err
	}
	n, err := parseSize(cmd.String("bytes"))
	if err != nil {
		return usagef("--bytes: %v", err)
	}
	if n > helpers.MaxUploadSize {
		return usagef("--bytes must be at most 8GiB (%d bytes), got %q", int64(helpers.MaxUploadSize), cmd.String("bytes"))
	}
	if err := checkPurpose(cmd.String("purpose")); err != nil {
		return err
	}
	req := generated.CreateUploadRequest{
		Bytes: n, Filename: cmd.String("filename"), MimeType: cmd.String("mime-type"),
		Purpose: generated.CreateUploadRequestPurpose(cmd.String("purpose")),
	}
	if v := cmd.String("expires-after"); v != "" {
		if req.ExpiresAfter, err = parseExpiresAfter(v); err != nil {
			return usagef("--expires-after: %v", err)
		}
	}
	return callAndPrint(ctx, a, cmd, func(ctx context.Context, c *helpers.Client) (*generated.Upload, error) {
		return c.CreateUpload(ctx, req)
	})
}

func (a *app) uploadsComplete(ctx context.Context, cmd *cli.Command) error {
	id, err := idFrom(cmd, "upload-id")
	if err != nil {
		return err
	}
	parts := cmd.StringSlice("part-id")
	if len(parts) == 0 {
		return usagef("--part-id is required: give each part's id, in file order")
	}
	md5 := cmd.String("md5") // checked by the client before anything is sent
	return callAndPrint(ctx, a, cmd, func(ctx context.Context, c *helpers.Client) (*generated.Upload, error) {
		return c.CompleteUpload(ctx, id, parts, md5)
	})
}

func (a *app) uploadsCancel(ctx context.Context, cmd *cli.Command) error {
	id, err := idFrom(cmd, "upload-id")
	if err != nil {
		return err
	}
	return callAndPrint(ctx, a, cmd, func(ctx context.Context, c *helpers.Client) (*generated.Upload, error) {
		return c.CancelUpload(ctx, id)
	})
}

// fileInput opens a file input as OpenAI's CLI takes it: a path, @path, or - for stdin. size is
// -1 for stdin. The caller closes it.
func (a *app) fileInput(flag, value string) (io.ReadCloser, int64, string, error) {
	if value == "-" {
		return io.NopCloser(a.stdin), -1, "", nil
	}
	path := strings.TrimPrefix(value, "@")
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, "", usagef("--%s: %s", flag, fileProblem(err))
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, 0, "", usagef("--%s: %s is not a regular file", flag, path)
	}
	return f, info.Size(), info.Name(), nil
}

// limitedReader fails once more than limit bytes come through, so that data of unknown size
// (stdin) is cut off at the API's limit instead of being sent whole.
type limitedReader struct {
	r     io.Reader
	left  int64
	flag  string
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, usagef("--%s: more than %d bytes (the limit)", l.flag, l.limit)
	}
	return n, err
}

func (a *app) partsCreate(ctx context.Context, cmd *cli.Command) error {
	id, err := idFrom(cmd, "upload-id")
	if err != nil {
		return err
	}
	if err := required(cmd, "data"); err != nil {
		return err
	}
	data, size, _, err := a.fileInput("data", cmd.String("data"))
	if err != nil {
		return err
	}
	defer data.Close()
	if size > helpers.MaxPartSize {
		return usagef("--data: %d bytes is above the part limit of %d bytes (64 MiB)", size, int64(helpers.MaxPartSize))
	}
	var body io.Reader = data
	if size < 0 {
		body = &limitedReader{r: data, left: helpers.MaxPartSize, flag: "data", limit: helpers.MaxPartSize}
	}
	return callAndPrint(ctx, a, cmd, func(ctx context.Context, c *helpers.Client) (*generated.UploadPart, error) {
		return c.AddUploadPart(ctx, id, body, size)
	})
}
