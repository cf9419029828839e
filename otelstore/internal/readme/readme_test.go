// Package readme keeps the README's otelstore code honest: every ```go
// otelstore block in the repository's README.md must compile against this
// module (internal/readme of the core module checks the ```go blocks).
package readme

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// imports are the packages the blocks may use, by the name they are
// referred to with.
var imports = map[string]string{
	"context":   "context",
	"otel":      "go.opentelemetry.io/otel",
	"pgxpool":   "github.com/jackc/pgx/v5/pgxpool",
	"store":     "github.com/ocpctl/ocpstore/store",
	"postgres":  "github.com/ocpctl/ocpstore/store/postgres",
	"otelstore": "github.com/ocpctl/ocpstore/otelstore",
	"otelpool":  "github.com/ocpctl/ocpstore/otelstore/otelpool",
}

var block = regexp.MustCompile("(?s)```go otelstore\n(.*?)```")

// TestREADMECodeCompiles builds the blocks as one package, through an
// overlay so nothing is written into the module.
func TestREADMECodeCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package with the go command")
	}
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := block.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("no ```go otelstore block in README.md")
	}
	var body strings.Builder
	for _, b := range blocks {
		body.WriteString(b[1] + "\n")
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
	out, err := exec.Command("go", "build", "-o", os.DevNull, "-overlay", overlayFile, "./gen").CombinedOutput()
	if err != nil {
		t.Fatalf("README code does not compile:\n%s\ngenerated source:\n%s", out, src.String())
	}
}
