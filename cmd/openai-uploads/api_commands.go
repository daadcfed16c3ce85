package main

import (
	"context"
	"errors"
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
// complete and cancel; uploads:parts create; files create, list, retrieve, delete, content.

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

func (a *app) filesCommand() *cli.Command {
	idFlag := &cli.StringFlag{Name: "file-id", Usage: "the File's id (or the first argument)"}
	return &cli.Command{
		Name:  "files",
		Usage: "create, list, retrieve, delete files, or download their content",
		Commands: []*cli.Command{
			{
				Name:  "create",
				Usage: "upload a file of up to 512MiB in one request, streamed; prints the File",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "file", Usage: "the file: a path, @path, or - for stdin (required)", TakesFile: true},
					&cli.StringFlag{Name: "purpose", Usage: "assistants, batch, fine-tune, vision, user_data or evals (required)"},
					&cli.StringFlag{Name: "expires-after", Usage: "expiration policy: anchor=created_at,seconds=N"},
					&cli.StringFlag{Name: "filename", Usage: "name of the File (default: the path's base name; required for stdin)"},
				},
				Action: a.filesCreate,
			},
			{
				Name:  "list",
				Usage: "list files, newest first: one page, or with --all every page",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "purpose", Usage: "only files with this purpose"},
					&cli.Int64Flag{Name: "limit", Usage: "files per page, 1..10000 (default: the API's, 10000)", HideDefault: true},
					&cli.StringFlag{Name: "order", Usage: "asc or desc by creation time (default: desc)"},
					&cli.StringFlag{Name: "after", Usage: "start after this file id (the last_id of the previous page)"},
					&cli.BoolFlag{Name: "all", Usage: "follow the pages (has_more, after) and print every file in one list"},
				},
				Action: a.filesList,
			},
			{Name: "retrieve", Usage: "print a File", ArgsUsage: "[FILE_ID]", Flags: []cli.Flag{idFlag}, Action: a.filesRetrieve},
			{Name: "delete", Usage: "delete a File", ArgsUsage: "[FILE_ID]", Flags: []cli.Flag{idFlag}, Action: a.filesDelete},
			{
				Name:      "content",
				Usage:     "download a File's bytes, streamed, to stdout or --output",
				ArgsUsage: "[FILE_ID]",
				Flags: []cli.Flag{
					idFlag,
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to this file instead of stdout", TakesFile: true},
				},
				Action: a.filesContent,
			},
			a.filesWaitCommand(idFlag),
		},
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

func (a *app) filesCreate(ctx context.Context, cmd *cli.Command) error {
	if err := required(cmd, "file", "purpose"); err != nil {
		return err
	}
	if err := checkPurpose(cmd.String("purpose")); err != nil {
		return err
	}
	var expires *generated.FileExpirationAfter
	if v := cmd.String("expires-after"); v != "" {
		var err error
		if expires, err = parseExpiresAfter(v); err != nil {
			return usagef("--expires-after: %v", err)
		}
	}
	file, size, name, err := a.fileInput("file", cmd.String("file"))
	if err != nil {
		return err
	}
	defer file.Close()
	if f := cmd.String("filename"); f != "" {
		name = f
	}
	if name == "" {
		return usagef("--filename is required when --file is - (stdin)")
	}
	if size > conformance.MaxFileBytes {
		return usagef("--file: %d bytes is above the %d-byte (512MiB) limit of files create; use upload", size, int64(conformance.MaxFileBytes))
	}
	var body io.Reader = file
	if size < 0 {
		body = &limitedReader{r: file, left: conformance.MaxFileBytes, flag: "file", limit: conformance.MaxFileBytes}
	}
	return callAndPrint(ctx, a, cmd, func(ctx context.Context, c *helpers.Client) (*generated.OpenAIFile, error) {
		return c.CreateFile(ctx, body, size, name, generated.CreateFileRequestPurpose(cmd.String("purpose")), expires)
	})
}

func (a *app) filesList(ctx context.Context, cmd *cli.Command) error {
	params := &generated.ListFilesParams{}
	if v := cmd.String("purpose"); v != "" {
		params.Purpose = &v
	}
	if cmd.IsSet("limit") {
		n := cmd.Int64("limit")
		if n < 1 || n > 10000 {
			return usagef("--limit must be between 1 and 10000, got %d", n)
		}
		params.Limit = &n
	}
	if v := cmd.String("order"); v != "" {
		o := generated.ListFilesParamsOrder(v)
		if !o.Valid() {
			return usagef("--order must be asc or desc, got %q", v)
		}
		params.Order = &o
	}
	if v := cmd.String("after"); v != "" {
		params.After = &v
	}
	if cmd.Bool("all") {
		return callAndPrint(ctx, a, cmd, func(ctx context.Context, c *helpers.Client) (*generated.ListFilesResponse, error) {
			return listAll(ctx, c, params)
		})
	}
	return callAndPrint(ctx, a, cmd, func(ctx context.Context, c *helpers.Client) (*generated.ListFilesResponse, error) {
		return c.ListFiles(ctx, params)
	})
}

func (a *app) filesRetrieve(ctx context.Context, cmd *cli.Command) error {
	id, err := idFrom(cmd, "file-id")
	if err != nil {
		return err
	}
	return callAndPrint(ctx, a, cmd, func(ctx context.Context, c *helpers.Client) (*generated.OpenAIFile, error) {
		return c.RetrieveFile(ctx, id)
	})
}

func (a *app) filesDelete(ctx context.Context, cmd *cli.Command) error {
	id, err := idFrom(cmd, "file-id")
	if err != nil {
		return err
	}
	return callAndPrint(ctx, a, cmd, func(ctx context.Context, c *helpers.Client) (*generated.DeleteFileResponse, error) {
		return c.DeleteFile(ctx, id)
	})
}

// filesContent streams a File's bytes to stdout or --output (written to a temporary file beside
// it, made before the download starts, and renamed into place once complete).
func (a *app) filesContent(ctx context.Context, cmd *cli.Command) error {
	id, err := idFrom(cmd, "file-id")
	if err != nil {
		return err
	}
	c, err := a.client(cmd)
	if err != nil {
		return err
	}
	var tmp *os.File
	out := cmd.String("output")
	if out != "" {
		if info, err := os.Stat(out); err == nil && info.IsDir() {
			return usagef("--output: %s is a directory; give a file path", out)
		}
		dir, base := splitPath(out)
		if tmp, err = os.CreateTemp(dir, base+".part-*"); err != nil {
			return usagef("--output: cannot write in %s: %v", dir, errors.Unwrap(err))
		}
		defer os.Remove(tmp.Name()) // a no-op after the rename
		defer tmp.Close()
	}
	body, err := c.DownloadFile(ctx, id)
	if err != nil {
		return err
	}
	defer body.Close()
	if tmp == nil {
		_, err = io.Copy(a.stdout, body)
		return err
	}
	if _, err := io.Copy(tmp, body); err != nil {
		return fmt.Errorf("downloading: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("--output: %s", fileProblem(err))
	}
	return nil
}

func splitPath(path string) (string, string) {
	i := strings.LastIndexByte(path, os.PathSeparator)
	if i < 0 {
		return ".", path
	}
	return path[:i+1], path[i+1:]
}

// listAll lists every page and returns one list holding every file, shaped as a page (has_more
// false), so that what reads one page reads it.
func listAll(ctx context.Context, c *helpers.Client, params *generated.ListFilesParams) (*generated.ListFilesResponse, error) {
	all := &generated.ListFilesResponse{Object: generated.ListFilesResponseObjectList, Data: []generated.OpenAIFile{}}
	for f, err := range c.ListAllFiles(ctx, params) {
		if err != nil {
			return nil, err
		}
		all.Data = append(all.Data, f)
	}
	if n := len(all.Data); n > 0 {
		first, last := all.Data[0].ID, all.Data[n-1].ID
		all.FirstID, all.LastID = &first, &last
	}
	return all, nil
}
