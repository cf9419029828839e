// Package readme keeps the README's otelstore code honest: every ```go
// otelstore block in the repository's README.md must compile against this
// module (internal/readme of the core module checks the ```go blocks).
package readme

import (
	"regexp"
	"testing"

	"github.com/ocpctl/ocpstore/internal/readmecheck"
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

// TestREADMECodeCompiles builds the ```go otelstore blocks as one package.
func TestREADMECodeCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package with the go command")
	}
	readmecheck.Check{README: "../../../README.md", Block: regexp.MustCompile("(?s)```go otelstore\n(.*?)```"),
		MinBlocks: 1, Imports: imports}.Run(t)
}
