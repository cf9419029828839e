package postgres

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ocpctl/ocpstore/migrations"
)

func file(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }

func TestLoadMigrations(t *testing.T) {
	t.Parallel()
	ms, err := loadMigrations(fstest.MapFS{
		"0002_more.sql": file("CREATE TABLE b (x int);"),
		"0001_init.sql": file("CREATE TABLE a (x int);"),
		"10_last.sql":   file("CREATE TABLE j (x int);"),
		"3_c.sql":       file("SELECT 1"), "4_d.sql": file("SELECT 1"), "5_e.sql": file("SELECT 1"),
		"6_f.sql": file("SELECT 1"), "7_g.sql": file("SELECT 1"), "8_h.sql": file("SELECT 1"), "9_i.sql": file("SELECT 1"),
		"README.md":           file("not a migration"),
		"snapshots/x/1_y.sql": file("a directory is not read"),
	})
	if err != nil {
		t.Fatalf("loadMigrations: %v", err)
	}
	if len(ms) != 10 {
		t.Fatalf("loaded %d migrations, want 10: %+v", len(ms), ms)
	}
	// Numeric order, not the file names' order (10_last.sql sorts before 3_c.sql).
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %d has version %d (%s)", i, m.Version, m.Name)
		}
	}
	if ms[0].Name != "0001_init.sql" || ms[0].sql != "CREATE TABLE a (x int);" || ms[9].Name != "10_last.sql" {
		t.Errorf("first and last migrations: %+v, %+v", ms[0], ms[9])
	}
}

func TestLoadMigrationsRefusesMisnumberedFiles(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		fsys fstest.MapFS
		want string
	}{
		"gap":             {fstest.MapFS{"0001_a.sql": file("SELECT 1"), "0003_c.sql": file("SELECT 1")}, "migration 2 is missing"},
		"no first":        {fstest.MapFS{"0002_b.sql": file("SELECT 1")}, "migration 1 is missing"},
		"duplicate":       {fstest.MapFS{"0001_a.sql": file("SELECT 1"), "1_b.sql": file("SELECT 1")}, "same version"},
		"zero":            {fstest.MapFS{"0000_a.sql": file("SELECT 1")}, "positive"},
		"unnumbered":      {fstest.MapFS{"0001_a.sql": file("SELECT 1"), "init.sql": file("SELECT 1")}, "not NNNN_name.sql"},
		"empty":           {fstest.MapFS{"0001_a.sql": file(" \n\t")}, "empty"},
		"none":            {fstest.MapFS{"README.md": file("x")}, "no migrations"},
		"version too big": {fstest.MapFS{"99999999999999999999_a.sql": file("SELECT 1")}, "positive"},
	} {
		_, err := loadMigrations(tc.fsys)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: loadMigrations = %v, want an error containing %q", name, err, tc.want)
		}
	}
}

// TestEmbeddedMigrations checks the build's own files: every .sql file of
// package migrations is a migration, numbered without a gap.
func TestEmbeddedMigrations(t *testing.T) {
	t.Parallel()
	ms := Migrations()
	entries, err := fs.ReadDir(migrations.FS(), ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(entries) || SchemaVersion() != len(ms) {
		t.Errorf("%d migrations, %d embedded files, SchemaVersion %d: want all equal", len(ms), len(entries), SchemaVersion())
	}
	// Migrations hands out a copy: a caller cannot reorder the build's list.
	ms[0] = Migration{}
	if Migrations()[0].Version != 1 {
		t.Error("changing the slice Migrations returned changed the embedded migrations")
	}
}
