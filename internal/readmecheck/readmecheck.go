// Package readmecheck keeps a README's Go code honest: its code blocks must
// compile against the current API. The core module's internal/readme and
// otelstore's internal/readme (a module of its own, with its own
// dependencies) both check theirs with it.
package readmecheck

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Check is one README check.
type Check struct {
	// README is the path of the README, relative to the test's directory.
	README string
	// Block matches one code block; its first group is the block's body, a
	// list of top-level declarations.
	Block *regexp.Regexp
	// MinBlocks is how many blocks there must be at least, so that a
	// changed fence does not make the check pass on nothing.
	MinBlocks int
	// Imports are the packages the blocks may use, by the name they are
	// referred to with; a package is imported when its name is.
	Imports map[string]string
	// Race builds with -race, as the test binary was built: go build then
	// finds the packages the test linked in the build cache instead of
	// compiling the dependency graph once more.
	Race bool
}

// Run puts every block of the README into one package and builds it with
// the go command, as ./gen of the test's directory, through an overlay so
// nothing is written into the module. It fails t, with the generated
// source, when the code does not compile.
func (c Check) Run(t testing.TB) {
	t.Helper()
	readme, err := os.ReadFile(c.README)
	if err != nil {
		t.Fatal(err)
	}
	blocks := c.Block.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < c.MinBlocks {
		t.Fatalf("found %d code blocks in %s, want at least %d", len(blocks), c.README, c.MinBlocks)
	}
	var body strings.Builder
	for _, b := range blocks {
		body.WriteString(b[1] + "\n")
	}
	var src strings.Builder
	src.WriteString("package readmegen\n\nimport (\n")
	for name, path := range c.Imports {
		if strings.Contains(body.String(), name+".") {
			src.WriteString("\t\"" + path + "\"\n")
		}
	}
	src.WriteString(")\n\n" + body.String())

	dir := t.TempDir()
	gen := filepath.Join(dir, "readme_gen.go")
	if err := os.WriteFile(gen, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	target, err := filepath.Abs("gen/readme_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{target: gen}})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "-o", os.DevNull, "-overlay", overlayFile}
	if c.Race {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "./gen")...).CombinedOutput()
	if err != nil {
		t.Fatalf("README code does not compile:\n%s\ngenerated source:\n%s", out, src.String())
	}
}
