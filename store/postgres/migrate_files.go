package postgres

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ocpctl/ocpstore/migrations"
)

// Migration is one embedded migration: the file NNNN_name.sql of package
// migrations. Applying it brings a database from schema version Version-1 to
// Version.
type Migration struct {
	// Version is the file's number NNNN: the schema version once it is
	// applied. The embedded files are numbered 1, 2, 3, ... without a gap.
	Version int
	// Name is the file name, such as 0001_init.sql.
	Name string
	// sql is the file's content, applied as is, in one transaction.
	sql string
}

// migrationName is the pattern of a migration file name: a version number,
// an underscore, a description.
var migrationName = regexp.MustCompile(`\A(\d+)_[^/]+\.sql\z`)

// embedded is the build's migrations, loaded and checked once.
var embedded = sync.OnceValues(func() ([]Migration, error) { return loadMigrations(migrations.FS()) })

// Migrations returns the migrations embedded in this build, in version
// order. It panics if the embedded files are misnumbered (a gap or a
// duplicate), a defect of the build that the package's tests catch.
func Migrations() []Migration {
	ms, err := embedded()
	if err != nil {
		panic(fmt.Sprintf("postgres: embedded migrations: %v", err))
	}
	return slices.Clone(ms)
}

// SchemaVersion returns the number of migrations embedded in this build: the
// version Migrate brings a database to, and the value VersionTable holds
// afterwards. It panics if the embedded files are misnumbered, like
// Migrations.
func SchemaVersion() int { return len(Migrations()) }

// loadMigrations reads the *.sql files at the root of fsys as migrations.
// Every .sql file must be named NNNN_name.sql and hold some SQL, and the
// numbers must run 1, 2, 3, ... without a gap or a duplicate; other files
// are ignored. The files are plain SQL: unlike tern, which earlier releases
// used, nothing in them is a template or a directive.
func loadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		match := migrationName.FindStringSubmatch(e.Name())
		if match == nil {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", e.Name())
		}
		version, err := strconv.Atoi(match[1])
		if err != nil || version < 1 {
			return nil, fmt.Errorf("migration %s: version must be a positive number", e.Name())
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		if strings.TrimSpace(string(body)) == "" {
			return nil, fmt.Errorf("migration %s: empty", e.Name())
		}
		ms = append(ms, Migration{Version: version, Name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		switch {
		case m.Version == i+1:
		case i > 0 && m.Version == ms[i-1].Version:
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].Name, m.Name)
		default:
			return nil, fmt.Errorf("migration %d is missing (the next one is %s)", i+1, m.Name)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations (NNNN_name.sql files) found")
	}
	return ms, nil
}
