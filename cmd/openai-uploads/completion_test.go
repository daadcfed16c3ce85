package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// completionEnv is an environment whose PATH finds the built command as openai-uploads, which
// is the name the scripts complete and call.
func completionEnv(t *testing.T) []string {
	t.Helper()
	return append(os.Environ(), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// completionScript writes the script for shell to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	r := runCLI(t, "", "completion", shell)
	if r.code != exitOK {
		t.Fatalf("completion %s: exit %d: %s", shell, r.code, r.stderr)
	}
	return tempFile(t, "openai-uploads."+shell, []byte(r.stdout))
}

// TestBashCompletionWorksWithoutBashCompletionPackage: the bash script, sourced in a bash that has
// not loaded the bash-completion package (macOS's bash, a minimal container, bash --norc),
// completes a command and a flag on Tab, and prints nothing else: urfave/cli's script called
// _get_comp_words_by_ref, which only that package defines, and every Tab said "command not
// found" and completed nothing.
func TestBashCompletionWorksWithoutBashCompletionPackage(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := completionScript(t, "bash")
	if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		line []string
		want string
	}{
		{[]string{"openai-uploads", "fi"}, "files"},
		{[]string{"openai-uploads", "files", "li"}, "list"},
		{[]string{"openai-uploads", "upload", "--pur"}, "--purpose"},
	} {
		words := make([]string, len(tc.line))
		for i, w := range tc.line {
			words[i] = "'" + w + "'"
		}
		// What bash does on Tab: set COMP_WORDS and COMP_CWORD, call the function complete -F
		// registered, read COMPREPLY.
		prog := "source " + script + "\n" +
			"if declare -F _get_comp_words_by_ref >/dev/null; then echo 'bash-completion is loaded' >&2; exit 3; fi\n" +
			"fn=$(complete -p openai-uploads | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p')\n" +
			"COMP_WORDS=(" + strings.Join(words, " ") + ")\n" +
			"COMP_CWORD=" + string(rune('0'+len(tc.line)-1)) + "\n" +
			"COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}\n" +
			"\"$fn\"\n" +
			"printf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog)
		cmd.Env = completionEnv(t)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v\n%s", tc.line, err, stderr.String())
		}
		if stderr.Len() > 0 {
			t.Errorf("%v: Tab printed %q", tc.line, stderr.String())
		}
		if !strings.Contains("\n"+stdout.String(), "\n"+tc.want+"\n") {
			t.Errorf("%v: Tab offers %q, want %q among them", tc.line, stdout.String(), tc.want)
		}
	}
}

// TestZshAndFishCompletionScriptsLoad: the zsh script parses (zsh -n) and loads after compinit;
// fish completes a command and a flag with it (complete -C). Skipped where the shell is missing.
func TestZshAndFishCompletionScriptsLoad(t *testing.T) {
	t.Run("zsh", func(t *testing.T) {
		zsh, err := exec.LookPath("zsh")
		if err != nil {
			t.Skip("no zsh: its script is not loaded")
		}
		script := completionScript(t, "zsh")
		cmd := exec.Command(zsh, "-f", "-c", "zsh -n "+script+" && autoload -U compinit && compinit -u -D && source "+script)
		cmd.Env = completionEnv(t)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("zsh: %v %q", err, out)
		}
	})
	t.Run("fish", func(t *testing.T) {
		fish, err := exec.LookPath("fish")
		if err != nil {
			t.Skip("no fish: its script is not loaded")
		}
		script := completionScript(t, "fish")
		cmd := exec.Command(fish, "--no-config", "-c", "source "+script+"; complete -C 'openai-uploads fi'; complete -C 'openai-uploads upload --pur'")
		cmd.Env = completionEnv(t)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "files\t") || !strings.Contains(string(out), "--purpose\t") {
			t.Errorf("fish: %v %q", err, out)
		}
	})
}
