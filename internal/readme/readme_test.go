// Package readme keeps the README honest: every Go code block in it must
// compile against the current API.
package readme

import (
	"regexp"
	"testing"

	"github.com/ocpctl/ocpstore/internal/readmecheck"

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

// TestREADMECodeCompiles puts every ```go block of README.md (each a list
// of top-level declarations) into one package and builds it.
func TestREADMECodeCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package with the go command")
	}
	readmecheck.Check{README: "../../README.md", Block: regexp.MustCompile("(?s)```go\n(.*?)```"), MinBlocks: 5,
		Imports: imports, Race: raceEnabled}.Run(t)
}
