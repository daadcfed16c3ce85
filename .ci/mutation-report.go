//go:build ignore

// mutation-report reads gremlins' JSON output (-o) and prints the counts, the efficacy and the
// surviving mutants. Used by .ci/mutation: go run .ci/mutation-report.go [-target N] FILE.json
//
// Efficacy is killed / (killed + lived): timed-out mutants are not counted as killed. A stricter
// figure, killed / (killed + lived + timed out), is printed beside it. The last line is the
// summary; the exit status is 1 when the efficacy is below -target.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
)

type result struct {
	Files []struct {
		Filename  string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

type mutant struct {
	file      string
	line, col int
	kind      string
}

func main() {
	target := flag.Float64("target", 0, "minimum efficacy in percent (0: none)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: go run .ci/mutation-report.go [-target N] FILE.json")
		os.Exit(2)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var r result
	if err := json.Unmarshal(data, &r); err != nil {
		fmt.Fprintln(os.Stderr, flag.Arg(0)+":", err)
		os.Exit(2)
	}
	count := map[string]int{}
	byStatus := map[string][]mutant{}
	for _, f := range r.Files {
		for _, m := range f.Mutations {
			count[m.Status]++
			byStatus[m.Status] = append(byStatus[m.Status], mutant{f.Filename, m.Line, m.Column, m.Type})
		}
	}
	for _, status := range []string{"LIVED", "TIMED OUT"} {
		ms := byStatus[status]
		sort.Slice(ms, func(i, j int) bool {
			a, b := ms[i], ms[j]
			if a.file != b.file {
				return a.file < b.file
			}
			if a.line != b.line {
				return a.line < b.line
			}
			if a.col != b.col {
				return a.col < b.col
			}
			return a.kind < b.kind
		})
		if len(ms) > 0 {
			fmt.Printf("%s (%d):\n", status, len(ms))
		}
		for _, m := range ms {
			fmt.Printf("  %s:%d:%d %s\n", m.file, m.line, m.col, m.kind)
		}
	}
	killed, lived, timedOut := count["KILLED"], count["LIVED"], count["TIMED OUT"]
	efficacy, strict := 0.0, 0.0
	if killed+lived > 0 {
		efficacy = 100 * float64(killed) / float64(killed+lived)
	}
	if killed+lived+timedOut > 0 {
		strict = 100 * float64(killed) / float64(killed+lived+timedOut)
	}
	verdict := ""
	failed := false
	if *target > 0 {
		verdict = fmt.Sprintf(", target %.0f%%: ok", *target)
		if efficacy < *target {
			verdict = fmt.Sprintf(", target %.0f%%: BELOW", *target)
			failed = true
		}
	}
	fmt.Printf("killed %d, lived %d, timed out %d, not covered %d, not viable %d; "+
		"efficacy %.1f%% (timed out counted as lived: %.1f%%)%s\n",
		killed, lived, timedOut, count["NOT COVERED"], count["NOT VIABLE"], efficacy, strict, verdict)
	if failed {
		os.Exit(1)
	}
}
