// Package migrations holds ocpstore's PostgreSQL schema as numbered SQL
// files (NNNN_name.sql), embedded so a binary carries its own schema.
// store/postgres.Migrate applies them.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// FS returns the migration files, named NNNN_name.sql at its root.
func FS() fs.FS { return files }
