// Package migrations holds ocpstore's PostgreSQL schema as numbered SQL
// files (NNNN_name.sql, numbered 1, 2, 3, ... without a gap), embedded so a
// binary carries its own schema. store/postgres.Migrate applies them: each
// file is plain SQL, run as is in one transaction with the version it
// brings the database to. A database never runs a file it has applied
// again, so a change to the schema is a new file, not an edit.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// FS returns the migration files, named NNNN_name.sql at its root.
func FS() fs.FS { return files }
