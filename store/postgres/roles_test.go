package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// The rights GrantApplication's revocation covers, per kind of object.
var (
	tableRights    = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
	sequenceRights = []string{"USAGE", "SELECT", "UPDATE"}
)

// TestAppGrantsCoverSchema keeps postgres.AppGrants and the schema in step:
// every table and sequence the migrations create has an entry (a
// migration that adds a table must decide the application role's rights
// on it), every entry names one, and after GrantApplication the
// application role holds exactly the listed rights, no more. That the
// rights are enough is TestConformance's part: it runs as that role.
func TestAppGrantsCoverSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := postgrestest.New(t)
	owner := db.Pool(t)

	rows, err := owner.Query(ctx, "SELECT relname, relkind = 'S' FROM pg_class"+
		" WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p', 'v', 'm', 'f', 'S')")
	if err != nil {
		t.Fatal(err)
	}
	schema := map[string]bool{} // name: is a sequence
	for rows.Next() {
		var name string
		var seq bool
		if err := rows.Scan(&name, &seq); err != nil {
			t.Fatal(err)
		}
		schema[name] = seq
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, g := range postgres.AppGrants {
		seq, ok := schema[g.Object]
		switch {
		case listed[g.Object]:
			t.Errorf("AppGrants lists %s twice", g.Object)
		case !ok:
			t.Errorf("AppGrants lists %s, which the migrated schema does not have", g.Object)
		case seq != g.Sequence:
			t.Errorf("AppGrants says %s is a sequence: %v; the schema says %v", g.Object, g.Sequence, seq)
		}
		listed[g.Object] = true
	}
	for name := range schema {
		if !listed[name] {
			t.Errorf("table or sequence %s has no entry in postgres.AppGrants: decide the application role's rights on it", name)
		}
	}

	// A right too many, as a former release might have granted: the
	// next GrantApplication takes it back.
	db.AppPool(t)
	if _, err := owner.Exec(ctx, "GRANT DELETE, TRUNCATE ON audit_events, clusters TO "+postgrestest.AppRole); err != nil {
		t.Fatal(err)
	}
	requireNoErr(t, postgres.GrantApplication(ctx, owner, postgrestest.AppRole), "grant again")
	for _, g := range postgres.AppGrants {
		rights, check := tableRights, "has_table_privilege"
		if g.Sequence {
			rights, check = sequenceRights, "has_sequence_privilege"
		}
		for _, r := range rights {
			var has bool
			if err := owner.QueryRow(ctx, "SELECT "+check+"($1, $2, $3)", postgrestest.AppRole, g.Object, r).Scan(&has); err != nil {
				t.Fatal(err)
			}
			if want := slices.Contains(g.Privileges, r); has != want {
				t.Errorf("application role: %s on %s is %v, AppGrants says %v", r, g.Object, has, want)
			}
		}
	}
	var create bool
	if err := owner.QueryRow(ctx, "SELECT has_schema_privilege($1, current_schema(), 'CREATE')", postgrestest.AppRole).Scan(&create); err != nil {
		t.Fatal(err)
	}
	if create {
		t.Errorf("the application role may create objects in the schema")
	}
}

// TestGrantApplicationRefusesWrongRoles: run by a role that does not own
// the tables, GRANT would only warn, so GrantApplication refuses; granting
// to the owner itself, or before Migrate, is refused too.
func TestGrantApplicationRefusesWrongRoles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := postgrestest.New(t)
	app := db.AppPool(t)
	err := postgres.GrantApplication(ctx, app, postgrestest.AppRole)
	requireErrIs(t, err, postgres.ErrPermissionDenied, "GrantApplication run as the application role")
	requireContains(t, err, "run GrantApplication as the owner role")

	var owner string
	requireNoErr(t, app.QueryRow(ctx, "SELECT tableowner FROM pg_tables WHERE tablename = 'clusters'").Scan(&owner), "owner")
	err = postgres.GrantApplication(ctx, db.Pool(t), owner)
	requireContains(t, err, "the application role must be another role")

	empty := postgrestest.NewEmpty(t)
	err = postgres.GrantApplication(ctx, empty.Pool(t), postgrestest.AppRole)
	requireContains(t, err, "run Migrate first")
}

// TestAppRoleCannotChangeSchemaOrHistory: the application role can
// neither change the schema (CREATE, ALTER, DROP, disabling the trigger)
// nor rewrite the audit trail (UPDATE, DELETE, TRUNCATE), not even with
// the retention setting set, which any role may set.
func TestAppRoleCannotChangeSchemaOrHistory(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := postgrestest.New(t)
	app := db.AppPool(t)
	s := postgres.New(app)
	requireNoErr(t, s.Audit.Log(ctx, &store.AuditEvent{Actor: "ann", Action: "cluster.create", Status: store.AuditSuccess}), "log")

	for _, stmt := range []string{
		"CREATE TABLE evil (id int)",
		"CREATE INDEX evil_idx ON clusters (region)",
		"ALTER TABLE clusters ADD COLUMN evil int",
		"DROP TABLE usage_samples",
		"ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
		"DROP TRIGGER audit_events_append_only ON audit_events",
		"UPDATE audit_events SET actor = 'bob'",
		"DELETE FROM audit_events",
		"TRUNCATE audit_events",
		"UPDATE ocpstore_schema_version SET version = 0",
	} {
		requirePermissionDenied(t, app, stmt, false)
		requirePermissionDenied(t, app, stmt, true)
	}
	requireAuditActors(t, app, "ann")
}

// TestAuditAppendOnlyForOwner: the owner's own UPDATE, DELETE or TRUNCATE
// of audit_events, made by mistake, is refused by the trigger of migration
// 0005. Only a DELETE or TRUNCATE with the retention setting, Purge's
// path, goes through; an UPDATE never does.
func TestAuditAppendOnlyForOwner(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := postgrestest.New(t)
	owner := db.Pool(t)
	s := postgres.New(owner)
	requireNoErr(t, s.Audit.Log(ctx, &store.AuditEvent{Actor: "ann", Action: "cluster.create", Status: store.AuditSuccess}), "log")

	for _, stmt := range []string{"UPDATE audit_events SET actor = 'bob'", "DELETE FROM audit_events", "TRUNCATE audit_events"} {
		err := execMaybeRetention(ctx, owner, stmt, false)
		requireSQLState(t, err, "42501", stmt+" as the owner")
		requireContains(t, err, "audit_events is append-only")
	}
	err := execMaybeRetention(ctx, owner, "UPDATE audit_events SET actor = 'bob'", true)
	requireSQLState(t, err, "42501", "UPDATE as the owner with the retention setting")
	requireAuditActors(t, owner, "ann")

	requireNoErr(t, execMaybeRetention(ctx, owner, "DELETE FROM audit_events", true), "DELETE with the retention setting")
	requireAuditActors(t, owner)
}

// TestAppRolePurgeRefused: Audit.Purge as the application role fails with
// ErrPermissionDenied and says it is an owner operation; the trail is
// untouched. As the owner it works, in a transaction of the caller's too.
func TestAppRolePurgeRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := postgrestest.New(t)
	app := postgres.New(db.AppPool(t))
	requireNoErr(t, app.Audit.Log(ctx, &store.AuditEvent{Actor: "ann", Action: "cluster.create", Status: store.AuditSuccess}), "log")
	far := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

	_, err := app.Audit.Purge(ctx, far)
	requireErrIs(t, err, postgres.ErrPermissionDenied, "Purge as the application role")
	requireContains(t, err, "Purge is an owner operation")
	requireContains(t, err, "run it as the owner role")
	err = app.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
		_, err := tx.Audit.Purge(ctx, far)
		return err
	})
	requireErrIs(t, err, postgres.ErrPermissionDenied, "Purge as the application role in a transaction")

	owner := db.Pool(t)
	requireAuditActors(t, owner, "ann")
	ownerStore := postgres.New(owner)
	err = ownerStore.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
		n, err := tx.Audit.Purge(ctx, far)
		if err == nil && n != 1 {
			t.Errorf("Purge in a transaction deleted %d events, want 1", n)
		}
		return err
	})
	requireNoErr(t, err, "Purge as the owner in a transaction")
	requireAuditActors(t, owner)
}

// requirePermissionDenied runs stmt on pool, with the retention setting
// set first when retention, and fails t unless it is refused with
// SQLSTATE 42501.
func requirePermissionDenied(t *testing.T, pool *pgxpool.Pool, stmt string, retention bool) {
	t.Helper()
	err := execMaybeRetention(t.Context(), pool, stmt, retention)
	requireSQLState(t, err, "42501", stmt)
}

// execMaybeRetention runs stmt in a transaction, after setting
// postgres.AuditRetentionSetting to 'purge' when retention.
func execMaybeRetention(ctx context.Context, pool *pgxpool.Pool, stmt string, retention bool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if retention {
			if _, err := tx.Exec(ctx, "SELECT set_config($1, 'purge', true)", postgres.AuditRetentionSetting); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, stmt)
		return err
	})
}

// requireSQLState fails t unless err carries a PostgreSQL error of code.
func requireSQLState(t *testing.T, err error, code, what string) {
	t.Helper()
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != code {
		t.Fatalf("%s: got %v, want SQLSTATE %s", what, err, code)
	}
}

// requireContains fails t unless err's message contains want.
func requireContains(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
}

// requireAuditActors fails t unless audit_events holds exactly events by
// actors, in any order.
func requireAuditActors(t *testing.T, pool *pgxpool.Pool, actors ...string) {
	t.Helper()
	rows, err := pool.Query(t.Context(), "SELECT actor FROM audit_events ORDER BY actor")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(actors)
	if !slices.Equal(got, actors) && (len(got) > 0 || len(actors) > 0) {
		t.Fatalf("audit_events actors %q, want %q", got, actors)
	}
}

// requireNoErr fails t if err is not nil.
func requireNoErr(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// requireErrIs fails t unless errors.Is(err, target).
func requireErrIs(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want an error matching %v", what, err, target)
	}
}
