// Command openai-uploads moves files into OpenAI through the Uploads, Parts and Files API, and
// runs a local reference server of that API.
//
// Usage:
//
//	openai-uploads [global flags] <command> [flags]
//
// Commands: upload (chunked, parallel, resumable, with a progress bar and --wait), uploads
// create|complete|cancel, uploads:parts create, files create|list|retrieve|delete|content|wait,
// serve, demo, version, completion bash|zsh|fish|pwsh.
// Global flags (accepted before or after the command): --api-key ($OPENAI_API_KEY),
// --base-url ($OPENAI_BASE_URL), --organization ($OPENAI_ORG_ID), --project
// ($OPENAI_PROJECT_ID), --format json|pretty, --debug, --timeout DURATION, --stall-timeout DURATION,
// --version.
//
// Exit codes: 0 success; 1 the operation failed (the API's error on stderr), or upload's
// --checkpoint is in use by another run; 2 usage error (an unknown command or flag, a missing or
// bad flag, an unreadable file, a --checkpoint that is not safe to use); 130 interrupted by SIGINT
// (Ctrl-C) and 143 by SIGTERM, after the Upload under way was cancelled or, with --checkpoint,
// left resumable. A second Ctrl-C exits at once.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/helpers"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := <-signals
		cancel(interrupted{first})
		// A second signal: the user does not want to wait for the Upload to be cancelled.
		again := <-signals
		fmt.Fprintf(os.Stderr, "\nopenai-uploads: %s again: exiting without waiting; an Upload under way stays pending until it expires\n", signalName(again))
		os.Exit(exitCodeOf(again))
	}()
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
	// exitSignal plus the signal's number is the exit code of a command a signal stopped
	// (130 for SIGINT, 143 for SIGTERM), as shells report it.
	exitSignal = 128
)

// interrupted is the cause of the command's context when a signal arrived. It is a
// context.Canceled, so errors.Is(err, context.Canceled) holds for what it stopped.
type interrupted struct{ sig os.Signal }

func (e interrupted) Error() string { return "interrupted by " + signalName(e.sig) }
func (e interrupted) Unwrap() error { return context.Canceled }

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT (Ctrl-C)"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

func exitCodeOf(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return exitSignal + int(s)
	}
	return exitFail
}

// interruptedLine is the last line of a command a signal stopped: the signal, what the command
// was doing when it tells (see stopped), and what became of the Upload under way, in the CLI's
// words rather than those of Go's HTTP client (`completeUpload: Post "http://…": context
// canceled`), which say nothing the person at the terminal needs.
func interruptedLine(sig interrupted, err error) string {
	line := sig.Error()
	var st stopped
	if errors.As(err, &st) {
		line += " " + st.while
	}
	var up *helpers.UploadError
	if errors.As(err, &up) {
		switch {
		case up.OutcomeUnknown && up.Resumable:
			line += fmt.Sprintf(": upload %s was left pending, and whether complete took effect is unknown (no reply came); it can be resumed by running the same command again (checkpoint %s): its File is recovered if it was completed", up.UploadID, up.Checkpoint)
		case up.OutcomeUnknown:
			line += fmt.Sprintf(": upload %s got no reply to complete, so whether it was completed is unknown; to settle it, run: openai-uploads uploads cancel %s (refused if it was completed: its File is then in openai-uploads files list)", up.UploadID, up.UploadID)
		case up.Resumable:
			line += fmt.Sprintf(": upload %s was left pending; it can be resumed by running the same command again (checkpoint %s)", up.UploadID, up.Checkpoint)
		case up.Gone:
			line += fmt.Sprintf(": upload %s is no longer pending, so nothing was cancelled", up.UploadID)
		case up.Cancelled:
			line += fmt.Sprintf(": upload %s was cancelled", up.UploadID)
		default:
			line += fmt.Sprintf(": cancelling upload %s failed too (%s); cancel it with: openai-uploads uploads cancel %s (or it expires within the hour of its creation)", up.UploadID, speakCLI(fmt.Sprint(up.CancelErr)), up.UploadID)
		}
	}
	return line
}

// stopped wraps the error of a command stopped by a signal with what it was doing ("while
// downloading; …"), which interruptedLine says. Its message is the error's own.
type stopped struct {
	while string
	err   error
}

func (e stopped) Error() string { return e.err.Error() }
func (e stopped) Unwrap() error { return e.err }

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	if recordUsage != nil {
		recordUsage(format)
	}
	return usageError{fmt.Errorf(format, args...)}
}

// recordUsage, when set (by tests), is told of the format of every usage error made.
var recordUsage func(format string)

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return (&app{stdin: stdin, stdout: stdout, stderr: stderr}).run(ctx, args)
}

func (a *app) run(ctx context.Context, args []string) int {
	// Progress, notices and --debug lines reach stderr from several goroutines: the console
	// serializes them and keeps them clear of the progress lines.
	a.console = newConsole(a.stderr, a.terminalWidth)
	a.stderr = a.console
	err := a.command().Run(ctx, args)
	if err == nil {
		err = a.late
	}
	if err == nil {
		return exitOK
	}
	var sig interrupted
	if errors.As(context.Cause(ctx), &sig) {
		msg := speakCLI(err.Error())
		if errors.Is(err, context.Canceled) { // what the signal stopped, not a failure of its own
			msg = interruptedLine(sig, err)
		}
		a.console.clearEcho()
		a.console.println("openai-uploads: " + msg)
		return exitCodeOf(sig.sig)
	}
	a.console.println("openai-uploads: " + speakCLI(err.Error()))
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	return exitFail
}

// app holds what every command shares: the standard streams.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	console        *console
	// late is a usage error urfave/cli could only report after the command ran (see
	// setConventions).
	late error
	// httpClient, when set, sends the API requests (tests put a validating transport here).
	httpClient *http.Client
	// terminalWidth, when set, says stderr is a terminal of that many columns (tests); otherwise
	// the console asks the terminal (golang.org/x/term) when stderr is one.
	terminalWidth func() int
	// pollInterval, when set, is the interval between polls of a wait (tests); 0 means the
	// helpers' defaults.
	pollInterval time.Duration
}

func (a *app) command() *cli.Command {
	root := &cli.Command{
		Name:    "openai-uploads",
		Usage:   "move big files into OpenAI through the Uploads, Parts and Files API",
		Version: version(),
		Description: "Sizes (--part-size, --size, --bytes, --bandwidth, --memory-limit) are " + sizeHelp + "\n\n" +
			"Exit codes: 0 success, 1 the operation failed, 2 usage error, 130 interrupted (Ctrl-C), 143 terminated.\n" +
			"Shell completion: source <(openai-uploads completion bash), or zsh, fish, pwsh.",
		Reader:    a.stdin,
		Writer:    a.stdout,
		ErrWriter: a.stderr,
		Flags:     globalFlags(),
		// Errors are printed and mapped to exit codes by run, never by os.Exit in the library.
		ExitErrHandler:                  func(context.Context, *cli.Command, error) {},
		EnableShellCompletion:           true,
		ConfigureShellCompletionCommand: func(c *cli.Command) { configureCompletion(c, &a.late) },
		Commands: []*cli.Command{
			a.uploadCommand(),
			a.uploadsCommand(),
			a.partsCommand(),
			a.filesCommand(),
			a.serveCommand(),
			a.demoCommand(),
			a.versionCommand(),
		},
	}
	setConventions(root, &a.late)
	return root
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
