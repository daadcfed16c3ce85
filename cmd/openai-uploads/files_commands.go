package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/conformance"
	"github.com/openai-uploads/uploads/generated"
	"github.com/openai-uploads/uploads/helpers"
)

// OpenAI's files commands (create, list, retrieve, delete, content), with its flag names, plus
// files wait and files list --all.

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
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to this file instead of stdout (- is stdout)", TakesFile: true},
				},
				Action: a.filesContent,
			},
			a.filesWaitCommand(idFlag),
		},
	}
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
	if out == "-" { // as curl -o - and wget -O -: stdout
		out = ""
	}
	if out != "" {
		existing, err := os.Stat(out)
		if err != nil {
			existing = nil
		} else if existing.IsDir() {
			return usagef("--output: %s is a directory; give a file path", out)
		}
		dir, base := splitPath(out)
		if tmp, err = createBeside(dir, base); err != nil {
			return usagef("--output: cannot write in %s: %v", dir, errors.Unwrap(err))
		}
		defer os.Remove(tmp.Name()) // a no-op after the rename
		defer tmp.Close()
		if existing != nil {
			_ = tmp.Chmod(existing.Mode().Perm()) // a file replaced keeps its permissions
		}
	}
	left := "what reached stdout is not the whole File"
	if tmp != nil {
		left = "--output " + out + " was left as it was"
	}
	body, err := c.DownloadFile(ctx, id)
	if err != nil {
		return stopped{while: "while downloading: " + left, err: err}
	}
	defer body.Close()
	if tmp == nil {
		if _, err = io.Copy(a.stdout, body); err != nil {
			return stopped{while: "while downloading: " + left, err: err}
		}
		return nil
	}
	if _, err := io.Copy(tmp, body); err != nil {
		return stopped{while: "while downloading: " + left, err: fmt.Errorf("downloading: %w", err)}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("--output: %s", fileProblem(err))
	}
	return nil
}

// createBeside creates a new file in dir, named after base, with the permissions a new file
// gets from the umask (0666 less the umask, as other tools make their output); os.CreateTemp's
// are 0600, which left a downloaded File unreadable to the group and to others.
func createBeside(dir, base string) (*os.File, error) {
	for {
		f, err := os.OpenFile(filepath.Join(dir, base+".part-"+strconv.FormatUint(rand.Uint64(), 36)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
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
