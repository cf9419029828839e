// Package readme keeps the README honest: every Go code block in it must
// compile against the current API.
package readme

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	// The packages README code may use (see imports), linked into this test
	// so that go test has compiled them, with this binary's flags, before
	// the test runs: the go build it starts then finds them in the build
	// cache. Without these, a cold `go test ./...` compiled every one of
	// them twice, and this test took two minutes.
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/ocpctl/ocpstore/store"
	_ "github.com/ocpctl/ocpstore/store/keyring"
	_ "github.com/ocpctl/ocpstore/store/memory"
	_ "github.com/ocpctl/ocpstore/store/postgres"
	_ "github.com/ocpctl/ocpstore/store/postgres/postgrestest"
	_ "github.com/ocpctl/ocpstore/storetest"
)

// imports are the packages README code blocks may use, by the name they
// are referred to with.
var imports = map[string]string{
	"context":      "context",
	"errors":       "errors",
	"fmt":          "fmt",
	"os":           "os",
	"slog":         "log/slog",
	"testing":      "testing",
	"time":         "time",
	"pgxpool":      "github.com/jackc/pgx/v5/pgxpool",
	"store":        "github.com/ocpctl/ocpstore/store",
	"memory":       "github.com/ocpctl/ocpstore/store/memory",
	"postgres":     "github.com/ocpctl/ocpstore/store/postgres",
	"postgrestest": "github.com/ocpctl/ocpstore/store/postgres/postgrestest",
	"storetest":    "github.com/ocpctl/ocpstore/storetest",
	"keyring":      "github.com/ocpctl/ocpstore/store/keyring",
}

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestREADMECodeCompiles puts every ```go block of README.md (each a list
// of top-level declarations) into one package and builds it with the go
// command, through an overlay so nothing is written into the module.
func TestREADMECodeCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package with the go command")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 5 {
		t.Fatalf("found only %d go blocks in README.md", len(blocks))
	}
	var body strings.Builder
	for _, b := range blocks {
		body.WriteString(b[1])
		body.WriteString("\n")
	}
	var src strings.Builder
	src.WriteString("package readmegen\n\nimport (\n")
	for name, path := range imports {
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
	// The same -race as this binary's, or go build would compile the whole
	// dependency graph (the standard library included) once more.
	args := []string{"build", "-o", os.DevNull, "-overlay", overlayFile}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "./gen")...).CombinedOutput()
	if err != nil {
		t.Fatalf("README code does not compile:\n%s\ngenerated source:\n%s", out, src.String())
	}
}
