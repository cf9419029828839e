package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Least privilege. ocpstore expects two roles (README, "Database roles"):
// an owner, which owns the schema's objects and runs Migrate and
// Audit.Purge, and an application role, which the service connects as and
// which holds only the rights in AppGrants. Roles are global to a
// PostgreSQL cluster, so creating them is a deployment step
// (scripts/sql/roles.sql); granting the application role its rights on the
// tables is GrantApplication, run by the owner after every Migrate.

// Grant is the rights the application role holds on one table or sequence
// of ocpstore's schema.
type Grant struct {
	// Object is the table or sequence, unqualified.
	Object string
	// Sequence is true for a sequence (rights USAGE, SELECT, UPDATE).
	Sequence bool
	// Privileges are the rights, in GRANT's spelling ("SELECT", "INSERT").
	Privileges []string
}

// AppGrants is every right the application role needs, and no other: the
// statements of this package need exactly these (the conformance suite run
// as a role holding only these proves they are enough). Every table and
// sequence of the schema has an entry, an empty one if the role needs
// nothing on it, so a migration that adds a table without deciding its
// rights fails TestAppGrantsCoverSchema. Foreign keys need no right of the
// application role: PostgreSQL checks them, and runs their ON DELETE
// CASCADE, as the table's owner. audit_events is append-only: SELECT and
// INSERT, never UPDATE or DELETE (retention, Audit.Purge, is the owner's).
var AppGrants = []Grant{
	{Object: "clusters", Privileges: []string{"SELECT", "INSERT", "UPDATE"}},
	{Object: "jobs", Privileges: []string{"SELECT", "INSERT", "UPDATE"}},
	{Object: "job_locks", Privileges: []string{"SELECT", "INSERT", "UPDATE"}},
	{Object: "job_lock_tokens", Sequence: true, Privileges: []string{"USAGE"}}, // nextval
	{Object: "idempotency_keys", Privileges: []string{"SELECT", "INSERT", "UPDATE", "DELETE"}},
	{Object: "rbac_mappings", Privileges: []string{"SELECT", "INSERT", "UPDATE", "DELETE"}},
	{Object: "audit_events", Privileges: []string{"SELECT", "INSERT"}},
	{Object: "cluster_outputs", Privileges: []string{"SELECT", "INSERT", "UPDATE", "DELETE"}},
	{Object: "cluster_artifacts", Privileges: []string{"SELECT", "INSERT"}},
	{Object: "usage_samples", Privileges: []string{"SELECT", "INSERT", "UPDATE"}},
	// MigrationStatus and the ocpstore command's schema check read it.
	{Object: VersionTable, Privileges: []string{"SELECT"}},
}

// ErrPermissionDenied is returned (wrapped) when the database refused a
// statement for lack of a right: SQLSTATE 42501 insufficient_privilege,
// including the append-only trigger of audit_events. The message names the
// role and the statement's object. It usually means the wrong role runs the
// operation: Migrate and Audit.Purge need the owner role; the service runs
// as the application role (README: Security).
var ErrPermissionDenied = errors.New("permission denied")

// GrantApplication gives role exactly AppGrants on ocpstore's schema (the
// current schema of pool's connections, where Migrate creates the tables),
// plus USAGE on that schema: it first revokes every right role holds on
// the schema's tables and sequences, then grants AppGrants, in one
// transaction, so running it again after a Migrate converges and removes
// rights a former release needed. Run it as the owner role (or a
// superuser), after Migrate; role must exist (scripts/sql/roles.sql
// creates it) and must not be the owner.
func GrantApplication(ctx context.Context, pool *pgxpool.Pool, role string) error {
	if role == "" {
		return errors.New("postgres: grant application role: empty role name")
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var schema *string
		var migrated, roleOwns, iOwn bool
		err := tx.QueryRow(ctx, "SELECT current_schema(), c.oid IS NOT NULL,"+
			" coalesce(pg_has_role($1, c.relowner, 'MEMBER'), false),"+
			" coalesce(pg_has_role(current_user, c.relowner, 'MEMBER'), false)"+
			" FROM (SELECT) AS one LEFT JOIN pg_class c ON c.oid = to_regclass($2)",
			role, VersionTable).Scan(&schema, &migrated, &roleOwns, &iOwn)
		if err != nil {
			return err
		}
		switch {
		case schema == nil:
			return errors.New("no current schema (search_path names no existing schema)")
		case !migrated:
			return fmt.Errorf("%s not found in schema %q: run Migrate first", VersionTable, *schema)
		case roleOwns:
			return fmt.Errorf("role %q owns ocpstore's tables (or is a member of their owner): the application role must be another role", role)
		case !iOwn:
			// GRANT by a role without the right only warns; refuse instead.
			return fmt.Errorf("the current role does not own ocpstore's tables: run GrantApplication as the owner role (README: Security): %w", ErrPermissionDenied)
		}
		r, s := pgx.Identifier{role}.Sanitize(), pgx.Identifier{*schema}.Sanitize()
		stmts := []string{
			"REVOKE ALL ON ALL TABLES IN SCHEMA " + s + " FROM " + r,
			"REVOKE ALL ON ALL SEQUENCES IN SCHEMA " + s + " FROM " + r,
			"GRANT USAGE ON SCHEMA " + s + " TO " + r,
		}
		for _, g := range AppGrants {
			if len(g.Privileges) == 0 {
				continue
			}
			kind := "TABLE"
			if g.Sequence {
				kind = "SEQUENCE"
			}
			stmts = append(stmts, "GRANT "+strings.Join(g.Privileges, ", ")+" ON "+kind+" "+
				s+"."+pgx.Identifier{g.Object}.Sanitize()+" TO "+r)
		}
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: grant application role %q: %w", role, permissionHint(err,
			"run GrantApplication as the owner role of ocpstore's tables"))
	}
	return nil
}

// permissionHint adds ErrPermissionDenied and hint to err when the
// database refused it for lack of a right, and returns err unchanged
// otherwise.
func permissionHint(err error, hint string) error {
	if !isPermissionDenied(err) {
		return err
	}
	return fmt.Errorf("%s (README: Security): %w: %w", hint, ErrPermissionDenied, err)
}
