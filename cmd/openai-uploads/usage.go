package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/helpers"
)

// The conventions every command follows: a mistake in the command line is a usage error (exit 2)
// that names the flag as typed on a command line (--purpose, never -purpose or a Go field), an
// unknown command or flag comes with a suggestion when one is close, and a command that only
// groups others shows its help when called alone.

// setConventions applies them to cmd and every command below it. urfave/cli reports a help
// request for an unknown command ("files lst --help") through CommandNotFound, which returns
// nothing: the error goes to *late, for the caller to return.
func setConventions(cmd *cli.Command, late *error) {
	cmd.OnUsageError = func(_ context.Context, c *cli.Command, err error, _ bool) error {
		return usageError{parseError(c, err)}
	}
	cmd.CommandNotFound = func(_ context.Context, c *cli.Command, name string) {
		*late = unknownCommand(c, name)
	}
	if len(cmd.Commands) > 0 && cmd.Action == nil {
		cmd.Action = groupAction
	}
	for _, sub := range cmd.Commands {
		setConventions(sub, late)
	}
}

// groupAction runs a command that only groups others (files, uploads, the root): alone it shows
// its help; with an argument that is none of its commands it is a usage error with a suggestion.
func groupAction(_ context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return unknownCommand(cmd, cmd.Args().First())
	}
	if cmd.Root() == cmd {
		return cli.ShowRootCommandHelp(cmd)
	}
	return cli.ShowSubcommandHelp(cmd)
}

// isGroup reports whether cmd groups other commands (urfave/cli adds help to every command).
func isGroup(cmd *cli.Command) bool {
	for _, c := range cmd.Commands {
		if c.Name != "help" {
			return true
		}
	}
	return false
}

func unknownCommand(cmd *cli.Command, name string) error {
	path := commandPath(cmd)
	full := strings.TrimSpace(strings.TrimPrefix(path+" "+name, cmd.Root().Name))
	msg := fmt.Sprintf("unknown command %q", full)
	if s := cli.SuggestCommand(visible(cmd.Commands), name); s != "" && s != "help" && s != "h" && closeTo(name, s) {
		msg += fmt.Sprintf(" (did you mean %q?)", strings.TrimSpace(strings.TrimPrefix(path+" "+s, cmd.Root().Name)))
	}
	return usageError{fmt.Errorf("%s; see %s --help", msg, path)}
}

func commandPath(cmd *cli.Command) string {
	var names []string
	for c := cmd; c != nil; c = parentOf(c) {
		names = append([]string{c.Name}, names...)
	}
	return strings.Join(names, " ")
}

func parentOf(cmd *cli.Command) *cli.Command {
	lineage := cmd.Lineage()
	if len(lineage) < 2 {
		return nil
	}
	return lineage[1]
}

func visible(cmds []*cli.Command) []*cli.Command {
	var out []*cli.Command
	for _, c := range cmds {
		if !c.Hidden {
			out = append(out, c)
		}
	}
	return out
}

// The messages of urfave/cli's flag parser that parseError rewrites.
var (
	reUndefined    = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	reNeedsValue   = regexp.MustCompile(`^flag needs an argument: -*(.+)$`)
	reInvalidValue = regexp.MustCompile(`(?s)^invalid value "(.*)" for flag -+([^:]+): (.*)$`)
	reFromSource   = regexp.MustCompile(`(?s)^could not parse "(.*)" as \S+ value from (.+) for flag ([^:]+): (.*)$`)
)

// parseError turns urfave/cli's parse errors into the CLI's own words.
func parseError(cmd *cli.Command, err error) error {
	msg := err.Error()
	if m := reUndefined.FindStringSubmatch(msg); m != nil {
		// "uplaod x --purpose batch": the flag is unknown because the command is.
		if isGroup(cmd) && cmd.Args().Present() && cmd.Command(cmd.Args().First()) == nil {
			return unknownCommand(cmd, cmd.Args().First())
		}
		return unknownFlag(cmd, m[1])
	}
	if m := reNeedsValue.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s needs a value", dashed(m[1]))
	}
	if m := reInvalidValue.FindStringSubmatch(msg); m != nil {
		if strings.HasPrefix(m[3], "--") { // the flag's own validator already speaks CLI
			return errors.New(m[3])
		}
		return fmt.Errorf("%s: %q %s", dashed(m[2]), m[1], notA(cmd, m[2], m[3]))
	}
	if m := reFromSource.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s: %q (from %s) %s", dashed(m[3]), m[1], m[2], notA(cmd, m[3], m[4]))
	}
	return errors.New(speakCLI(msg))
}

// notA says what a flag's value failed to be, by the flag's kind.
func notA(cmd *cli.Command, name, reason string) string {
	if strings.Contains(reason, "out of range") {
		return "is out of range"
	}
	switch lookupFlag(cmd, name).(type) {
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag, *cli.FloatFlag:
		return "is not a number"
	case *cli.DurationFlag:
		return "is not a duration (for example 500ms, 40s, 5m or 1h30m)"
	case *cli.BoolFlag:
		return "is not true or false"
	}
	return "is not a valid value"
}

func lookupFlag(cmd *cli.Command, name string) cli.Flag {
	for _, f := range allFlags(cmd) {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// allFlags are the flags cmd accepts: its own and the global ones.
func allFlags(cmd *cli.Command) []cli.Flag {
	flags := append([]cli.Flag{}, cmd.Flags...)
	if root := cmd.Root(); root != cmd {
		flags = append(flags, root.Flags...)
	}
	return flags
}

func unknownFlag(cmd *cli.Command, name string) error {
	msg := fmt.Sprintf("unknown flag %s", dashed(name))
	if s := cli.SuggestFlag(allFlags(cmd), name, true); s != "" && closeTo(name, strings.TrimLeft(s, "-")) {
		msg += fmt.Sprintf(" (did you mean %s?)", dashed(s))
	}
	return usageError{fmt.Errorf("%s; see %s --help", msg, commandPath(cmd))}
}

// dashed writes a flag as typed: --name, or -q for a one-letter one.
func dashed(name string) string {
	name = strings.TrimLeft(name, "-")
	if len([]rune(name)) == 1 {
		return "-" + name
	}
	return "--" + name
}

// closeTo reports whether a suggestion is close enough to what was typed to be worth showing:
// at most one edit (insertion, deletion, substitution or swap of neighbours) per three
// characters, or what was typed is the start of it.
func closeTo(typed, suggestion string) bool {
	if len(typed) >= 3 && strings.HasPrefix(suggestion, typed) {
		return true
	}
	return editDistance(typed, suggestion) <= max(1, len(suggestion)/3)
}

// editDistance is the optimal string alignment distance (Levenshtein plus swaps of neighbours).
// urfave/cli picks the suggestion; this only decides whether it is close enough to show.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// goNames are the Go names the helpers may put in their messages, with what the CLI calls them:
// the fields of flagOf, and a few more. speakCLI replaces them in every message the CLI prints.
var goNames = map[string]string{
	"SkipMD5": "--no-md5",
}

// operationWords say what each API operation does, for the messages of failed requests: the
// helpers name the operation by its operationId ("retrieveFile: 404 Not Found …"), an
// identifier the person at the terminal never typed.
var operationWords = map[string]string{
	"createUpload":   "creating the Upload",
	"addUploadPart":  "sending the part",
	"completeUpload": "completing the Upload",
	"cancelUpload":   "cancelling the Upload",
	"createFile":     "creating the File",
	"listFiles":      "listing files",
	"retrieveFile":   "retrieving the File",
	"deleteFile":     "deleting the File",
	"downloadFile":   "downloading the File",
}

// goRequest matches how Go's HTTP client names a request in its errors: Post "http://…": .
var goRequest = regexp.MustCompile(`\b(Get|Post|Put|Patch|Delete|Head) "([^"]*)": `)

// speakCLI rewrites the Go names a message may hold (UploadOptions.MD5, ClientOptions.BaseURL)
// into the flags and environment variables of this CLI, an operationId ahead of a failure into
// what it was doing, and Go's `Post "URL": ` into `POST URL: `.
func speakCLI(msg string) string {
	for op, words := range operationWords {
		msg = strings.ReplaceAll(msg, op+": ", words+": ")
	}
	msg = goRequest.ReplaceAllStringFunc(msg, func(m string) string {
		sub := goRequest.FindStringSubmatch(m)
		return strings.ToUpper(sub[1]) + " " + sub[2] + ": "
	})
	names := map[string]string{}
	for k, v := range flagOf {
		if strings.ContainsAny(k, ".") {
			names[k] = v
		}
	}
	for k, v := range goNames {
		names[k] = v
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) }) // longest first
	for _, k := range keys {
		msg = strings.ReplaceAll(msg, k, names[k])
	}
	return msg
}

// failure classifies a command's error: a usage error raised while a body streamed (it arrives
// wrapped), or bad input the helpers found before any request, is a usage error naming the flag;
// anything else is a failure. fields, if given, overrides flagOf for this command (for example
// "size" is --size when the data comes from stdin).
func failure(err error, fields ...map[string]string) error {
	var u usageError
	if errors.As(err, &u) {
		return u
	}
	var pathErr *fs.PathError
	var upErr *helpers.UploadError
	if errors.As(err, &pathErr) && !errors.As(err, &upErr) {
		return usageError{fmt.Errorf("PATH: %s", fileProblem(err))} // unreadable before anything was sent
	}
	var in *helpers.InputError
	if errors.As(err, &in) {
		return usageError{fmt.Errorf("%s: %s", flagFor(in.Field, fields...), speakCLI(in.Reason))}
	}
	return err
}

// flagFor names the flag of a helpers field (InputError.Field).
func flagFor(field string, overrides ...map[string]string) string {
	for _, o := range overrides {
		if f, ok := o[field]; ok {
			return f
		}
	}
	if f, ok := flagOf[field]; ok {
		return f
	}
	if f, ok := goNames[field]; ok {
		return f
	}
	if strings.HasPrefix(field, "paths[") { // one of several PATHs; the message names it
		return "PATH"
	}
	return "an option" // never the Go name; TestEveryHelpersFieldHasAFlag keeps this unused
}

// fileProblem says what is wrong with a file in people's words: the path and the reason
// ("/data/x.jsonl: no such file or directory"), without the system call (open, stat, rename).
func fileProblem(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.New + ": " + le.Err.Error()
	}
	return err.Error()
}
