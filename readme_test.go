package uploads_test

import (
	"os"
	"strings"
	"testing"
)

// exampleFiles hold the runnable examples README.md quotes.
var exampleFiles = []string{"helpers/example_test.go", "helpers/example_files_test.go", "conformance/example_test.go", "example_generated_test.go"}

// TestReadmeGoBlocksAreExamples: every Go block of README.md is a run of consecutive lines of a
// runnable example (one tab of indentation less), so that the README's code compiles, runs and
// prints what the example's Output says. Change the example, then the README.
func TestReadmeGoBlocksAreExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var sources [][]string
	for _, path := range exampleFiles {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(string(src), "\n") {
			lines = append(lines, strings.TrimRight(strings.TrimPrefix(l, "\t"), " "))
		}
		sources = append(sources, lines)
	}
	blocks := goBlocks(string(readme))
	if len(blocks) < 15 {
		t.Fatalf("README.md has %d Go blocks; the scan is broken", len(blocks))
	}
	for _, block := range blocks {
		if !foundIn(block, sources) {
			t.Errorf("README.md's Go block starting %q is not found in %v:\n%s", block[0], exampleFiles, strings.Join(block, "\n"))
		}
	}
}

// goBlocks returns the lines of each ```go block.
func goBlocks(md string) [][]string {
	var blocks [][]string
	var cur []string
	in := false
	for _, l := range strings.Split(md, "\n") {
		switch {
		case !in && strings.TrimSpace(l) == "```go":
			in, cur = true, nil
		case in && strings.TrimSpace(l) == "```":
			in = false
			blocks = append(blocks, cur)
		case in:
			cur = append(cur, strings.TrimRight(l, " "))
		}
	}
	return blocks
}

func foundIn(block []string, sources [][]string) bool {
	for _, src := range sources {
	start:
		for i := 0; i+len(block) <= len(src); i++ {
			for j, l := range block {
				if src[i+j] != l {
					continue start
				}
			}
			return true
		}
	}
	return false
}
