package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// statusDoc is `migrate status -json`'s document.
type statusDoc struct {
	Applied, Latest, Pending int
	Migrations               []migrationJSON
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	url := postgrestest.NewEmpty(t).URL
	latest := postgres.SchemaVersion()

	var st statusDoc
	ocpstore(t, url, "migrate", "status", "-json").decode(t, &st)
	if st.Applied != 0 || st.Latest != latest || st.Pending != latest || len(st.Migrations) != latest {
		t.Fatalf("status of an empty database: %+v", st)
	}
	for i, m := range st.Migrations {
		if want := postgres.Migrations()[i]; m.Version != want.Version || m.Name != want.Name || m.Applied {
			t.Errorf("migration %d: %+v, want %s pending", i, m, want.Name)
		}
	}
	table := ocpstore(t, url, "migrate", "status").ok(t)
	if !strings.Contains(table, fmt.Sprintf("database at version 0 of %d: %d pending; run `ocpstore migrate`", latest, latest)) {
		t.Errorf("status table of an empty database:\n%s", table)
	}

	out := ocpstore(t, url, "migrate").ok(t)
	for _, m := range postgres.Migrations() {
		if !strings.Contains(out, "applied "+m.Name+" in ") {
			t.Errorf("migrate did not report %s:\n%s", m.Name, out)
		}
	}
	if !strings.HasSuffix(out, fmt.Sprintf("database at version %d\n", latest)) {
		t.Errorf("migrate's last line:\n%s", out)
	}

	var again struct {
		Version int
		Applied []migrationJSON
	}
	ocpstore(t, url, "migrate", "-json").decode(t, &again)
	if again.Version != latest || again.Applied == nil || len(again.Applied) != 0 {
		t.Errorf("second migrate -json: %+v, want version %d and an empty list", again, latest)
	}
	if out := ocpstore(t, url, "migrate").ok(t); out != fmt.Sprintf("database already at version %d: nothing to apply\n", latest) {
		t.Errorf("second migrate: %q", out)
	}
	ocpstore(t, url, "migrate", "status", "-json").decode(t, &st)
	if st.Applied != latest || st.Pending != 0 || !st.Migrations[latest-1].Applied {
		t.Errorf("status after migrate: %+v", st)
	}
	if out := ocpstore(t, url, "migrate", "status").ok(t); !strings.Contains(out, "up to date") {
		t.Errorf("status table after migrate:\n%s", out)
	}
}

// TestCommandsRefuseUnmigratedDatabase: every command that reads the
// store's tables says what to do instead of failing on a missing table.
func TestCommandsRefuseUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	empty := postgrestest.NewEmpty(t).URL
	newer := postgrestest.New(t)
	pool := newer.Pool(t)
	if _, err := pool.Exec(t.Context(), "UPDATE "+postgres.VersionTable+" SET version = version + 1"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"queue"}, {"locks"}, {"recover"}, {"jobs", "clu_x"}} {
		r := ocpstore(t, empty, args...)
		if r.code != exitError || !strings.Contains(r.stderr, "not migrated") ||
			!strings.Contains(r.stderr, "run `ocpstore migrate` first") {
			t.Errorf("%q on an empty database: exit %d, stderr %q", args, r.code, r.stderr)
		}
		r = ocpstore(t, newer.URL, args...)
		if r.code != exitError || !strings.Contains(r.stderr, "newer than this build") {
			t.Errorf("%q on a newer database: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := ocpstore(t, newer.URL, "migrate"); r.code != exitError || !strings.Contains(r.stderr, "newer than this build") {
		t.Errorf("migrate on a newer database: exit %d, stderr %q", r.code, r.stderr)
	}
	if out := ocpstore(t, newer.URL, "migrate", "status").ok(t); !strings.Contains(out, "newer than this ocpstore") {
		t.Errorf("migrate status on a newer database:\n%s", out)
	}
}

// TestMigrateGrant: migrate -grant gives the application role its rights
// (postgres.AppGrants), after migrating.
func TestMigrateGrant(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewEmpty(t)
	db.AppURL(t) // creates the role
	out := ocpstore(t, db.URL, "migrate", "-grant", postgrestest.AppRole).ok(t)
	if !strings.HasSuffix(out, "granted role "+postgrestest.AppRole+" its rights on the tables\n") {
		t.Errorf("migrate -grant's output:\n%s", out)
	}
	var insert, del bool
	err := db.Pool(t).QueryRow(t.Context(), "SELECT has_table_privilege($1, 'audit_events', 'INSERT'),"+
		" has_table_privilege($1, 'audit_events', 'DELETE')", postgrestest.AppRole).Scan(&insert, &del)
	if err != nil || !insert || del {
		t.Errorf("application role on audit_events: INSERT %v, DELETE %v (err %v), want true, false", insert, del, err)
	}
}

// TestNoPasswordInErrors: a database that cannot be reached, or a URL
// that does not parse, gives an error that names the problem without the
// password.
func TestNoPasswordInErrors(t *testing.T) {
	t.Parallel()
	const pw = "s3cr3t-pw-0xdeadbeef"
	for _, url := range []string{
		"postgres://app:" + pw + "@127.0.0.1:1/ocpstore?sslmode=disable",
		"postgres://app:" + pw + "@127.0.0.1:notaport/ocpstore",
		"host=127.0.0.1 port=1 user=app password=" + pw + " sslmode=disable",
	} {
		r := ocpstore(t, url, "migrate", "status")
		if r.code == exitOK || strings.Contains(r.stderr+r.stdout, pw) || r.stderr == "" {
			t.Errorf("exit %d; the output shows the password, or no error:\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	}
}
