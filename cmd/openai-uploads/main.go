// Command openai-uploads moves files into OpenAI through the Uploads, Parts and Files API, and
// runs a local reference server of that API.
//
// Usage:
//
//	openai-uploads [global flags] <command> [flags]
//
// Commands: upload (chunked, parallel, resumable), uploads create|complete|cancel,
// uploads:parts create, files create|list|retrieve|delete|content, serve, demo.
// Global flags (accepted before or after the command): --api-key ($OPENAI_API_KEY),
// --base-url ($OPENAI_BASE_URL), --organization ($OPENAI_ORG_ID), --project
// ($OPENAI_PROJECT_ID), --format json|pretty, --debug, --timeout DURATION, --stall-timeout DURATION.
//
// Exit codes: 0 success; 1 the operation failed (the API's error on stderr); 2 usage error (a
// missing or bad flag, an unreadable file).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/helpers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return (&app{stdin: stdin, stdout: stdout, stderr: stderr}).run(ctx, args)
}

func (a *app) run(ctx context.Context, args []string) int {
	// Progress, notices and --debug lines reach stderr from several goroutines.
	a.stderrTerminal = isTerminal(a.stderr)
	a.stderr = &lockedWriter{w: a.stderr}
	err := a.command().Run(ctx, args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(a.stderr, "openai-uploads:", err)
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	return exitFail
}

// app holds what every command shares: the standard streams.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// httpClient, when set, sends the API requests (tests put a validating transport here).
	httpClient *http.Client
	// forceBar shows the progress bar even when stderr is not a terminal (tests).
	forceBar bool
	// stderrTerminal: stderr is a terminal (read before stderr is wrapped).
	stderrTerminal bool
}

func (a *app) command() *cli.Command {
	root := &cli.Command{
		Name:      "openai-uploads",
		Usage:     "move big files into OpenAI through the Uploads, Parts and Files API",
		Reader:    a.stdin,
		Writer:    a.stdout,
		ErrWriter: a.stderr,
		Flags:     globalFlags(),
		// Errors are printed and mapped to exit codes by run, never by os.Exit in the library.
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usagef("unknown command %q (see --help)", cmd.Args().First())
			}
			return cli.ShowAppHelp(cmd)
		},
		Commands: []*cli.Command{
			a.uploadCommand(),
			a.uploadsCommand(),
			a.partsCommand(),
			a.filesCommand(),
			a.serveCommand(),
			a.demoCommand(),
		},
	}
	setUsageErrors(root)
	return root
}

// setUsageErrors makes every command report a flag it cannot parse as a usageError (exit 2);
// urfave/cli would otherwise print its own "Incorrect Usage" text.
func setUsageErrors(cmd *cli.Command) {
	cmd.OnUsageError = func(_ context.Context, _ *cli.Command, err error, _ bool) error {
		return usageError{err}
	}
	for _, sub := range cmd.Commands {
		setUsageErrors(sub)
	}
}

// Global flags, persistent: accepted before or after the command.
const (
	flagAPIKey       = "api-key"
	flagBaseURL      = "base-url"
	flagOrganization = "organization"
	flagProject      = "project"
	flagFormat       = "format"
	flagDebug        = "debug"
	flagTimeout      = "timeout"
	flagStallTimeout = "stall-timeout"
)

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagAPIKey, Usage: "OpenAI API key (never printed)", Sources: cli.EnvVars("OPENAI_API_KEY"), HideDefault: true},
		&cli.StringFlag{Name: flagBaseURL, Usage: "API base URL", Value: "https://api.openai.com/v1", Sources: cli.EnvVars("OPENAI_BASE_URL")},
		&cli.StringFlag{Name: flagOrganization, Usage: "OpenAI-Organization header", Sources: cli.EnvVars("OPENAI_ORG_ID")},
		&cli.StringFlag{Name: flagProject, Usage: "OpenAI-Project header", Sources: cli.EnvVars("OPENAI_PROJECT_ID")},
		&cli.BoolFlag{Name: flagDebug, Usage: "log each request and response line to stderr (Authorization redacted)"},
		&cli.DurationFlag{Name: flagTimeout, Value: helpers.DefaultTimeout, Usage: "deadline of each attempt of a request that streams no file bytes (create, complete, cancel, files list …); timed-out attempts are retried where safe",
			Validator: func(d time.Duration) error {
				if d <= 0 {
					return usagef("--timeout must be positive, not %v", d)
				}
				return nil
			}},
		&cli.DurationFlag{Name: flagStallTimeout, Value: helpers.DefaultStallTimeout, Usage: "abandon (and retry, for a part) a transfer of file bytes — a part, files create, files content — when none of its bytes moves and no answer comes for this long",
			Validator: func(d time.Duration) error {
				if d <= 0 {
					return usagef("--stall-timeout must be positive, not %v", d)
				}
				return nil
			}},
		&cli.StringFlag{Name: flagFormat, Usage: "output format: json or pretty", Value: "json",
			Validator: func(v string) error {
				if v != "json" && v != "pretty" {
					return usagef("--format must be json or pretty, not %q", v)
				}
				return nil
			}},
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
