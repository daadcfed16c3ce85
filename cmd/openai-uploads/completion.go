package main

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/urfave/cli/v3"
)

// configureCompletion sets up urfave/cli's completion command: shown in --help, following the
// CLI's conventions, and with a bash script that completes on any bash.
func configureCompletion(c *cli.Command, late *error) {
	c.Hidden = false
	c.Usage = "print a shell completion script: completion bash|zsh|fish|pwsh"
	for _, sub := range c.Commands {
		if sub.Name == "bash" && sub.Action != nil {
			sub.Action = bashCompletion(sub.Action)
		}
	}
	setConventions(c, late)
}

// bashCompletion wraps the action that prints urfave/cli's bash script. That script reads the
// command line with _get_comp_words_by_ref, a function of the bash-completion package: on a bash
// without it (macOS's, a minimal container, `bash --norc`) every Tab printed "command not found"
// and completed nothing. The script printed calls it only when it is there, and otherwise uses
// the words as bash split them, which the script has already read.
func bashCompletion(action cli.ActionFunc) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		root := cmd.Root()
		out := root.Writer
		var script bytes.Buffer
		root.Writer = &script
		err := action(ctx, cmd)
		root.Writer = out
		if err != nil {
			return err
		}
		_, err = io.WriteString(out, withoutBashCompletionPackage(script.String()))
		return err
	}
}

// bashCompletionCall is the line of urfave/cli's bash script that needs the bash-completion
// package, with the end of the if around it.
const bashCompletionCall = "  else\n    _get_comp_words_by_ref \"$@\" cur prev words cword\n  fi\n"

func withoutBashCompletionPackage(script string) string {
	return strings.Replace(script, bashCompletionCall,
		"  elif declare -F _get_comp_words_by_ref >/dev/null 2>&1; then\n"+
			"    _get_comp_words_by_ref \"$@\" cur prev words cword\n"+
			"  fi # else: no bash-completion package; the words as bash split them stand\n", 1)
}
