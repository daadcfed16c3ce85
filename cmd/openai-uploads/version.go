package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/helpers"
)

// version is this command's version: the module's version from the build information when it
// was installed with `go install …@version`, else the SDK's version marked (devel), with the
// commit when the build recorded one.
func version() string {
	info, _ := debug.ReadBuildInfo()
	return versionFrom(info)
}

func versionFrom(info *debug.BuildInfo) string {
	if info != nil && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	v := helpers.Version + " (devel"
	if info != nil {
		var rev, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			v += ", commit " + rev
			if modified == "true" {
				v += ", modified"
			}
		}
	}
	return v + ")"
}

func (a *app) versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version (also --version), the SDK's User-Agent and the Go version",
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usagef("version takes no arguments, got %s", quoteArgs(cmd.Args().Slice()))
			}
			_, err := fmt.Fprintf(a.stdout, "openai-uploads %s\nuser agent: %s\ngo: %s %s/%s\n",
				cmd.Root().Version, helpers.UserAgent(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
