package postgres_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// enumCheck ties a CHECK constraint of the schema to the Go enum whose
// values it must accept, and to an INSERT that probes it: $1 is the value of
// the checked column, every other column valid. probeCluster exists when the
// INSERT runs (rows referencing a cluster need one).
type enumCheck struct {
	constraint, table, column string
	values                    []string
	insert                    string
}

const probeCluster = "cls_enumprobe"

// insertCluster returns an INSERT of a valid cluster with id, taking column's
// value from $1.
func insertCluster(id, column string) string {
	cols := map[string]string{"platform": "'aws'", "cluster_type": "'openshift'", "status": "'PENDING'"}
	cols[column] = "$1"
	return `INSERT INTO clusters (id, name, platform, cluster_type, version, profile, region, owner, team,
		cost_center, status, requested_by, ttl_hours, created_at, updated_at)
		VALUES ('` + id + `', 'probe-` + id + `', ` + cols["platform"] + `, ` + cols["cluster_type"] + `, '4.16', 'p', 'r',
		'o', 't', 'cc', ` + cols["status"] + `, 'rb', 1, now(), now())`
}

func enumChecks() []enumCheck {
	return []enumCheck{
		{"clusters_status_check", "clusters", "status", strs(store.ClusterStatuses()),
			insertCluster("cls_probe", "status")},
		{"clusters_platform_check", "clusters", "platform", strs(store.Platforms()),
			insertCluster("cls_probe", "platform")},
		{"clusters_cluster_type_check", "clusters", "cluster_type", strs(store.ClusterTypes()),
			insertCluster("cls_probe", "cluster_type")},
		{"usage_samples_state_check", "usage_samples", "state", strs(store.ClusterStatuses()),
			`INSERT INTO usage_samples (id, cluster_id, sample_time, state, control_plane_replicas, worker_replicas)
			 VALUES ('use_probe', '` + probeCluster + `', now(), $1, 3, 3)`},
		{"jobs_job_type_check", "jobs", "job_type", strs(store.JobTypes()),
			`INSERT INTO jobs (id, cluster_id, job_type, status, created_at, updated_at)
			 VALUES ('job_probe', '` + probeCluster + `', $1, 'PENDING', now(), now())`},
		{"jobs_status_check", "jobs", "status", strs(store.JobStatuses()),
			`INSERT INTO jobs (id, cluster_id, job_type, status, created_at, updated_at)
			 VALUES ('job_probe', '` + probeCluster + `', 'CREATE', $1, now(), now())`},
		{"rbac_mappings_role_check", "rbac_mappings", "role", strs(store.Roles()),
			`INSERT INTO rbac_mappings (id, iam_principal_arn, iam_principal_type, team, role, created_at, updated_at)
			 VALUES ('rbac_probe', 'arn:aws:iam::1:user/p', 'user', 't', $1, now(), now())`},
		{"rbac_mappings_iam_principal_type_check", "rbac_mappings", "iam_principal_type", strs(store.PrincipalTypes()),
			`INSERT INTO rbac_mappings (id, iam_principal_arn, iam_principal_type, team, role, created_at, updated_at)
			 VALUES ('rbac_probe', 'arn:aws:iam::1:user/p', $1, 't', 'auditor', now(), now())`},
		{"audit_events_status_check", "audit_events", "status", strs(store.AuditStatuses()),
			`INSERT INTO audit_events (id, actor, action, status, created_at)
			 VALUES ('aud_probe', 'a', 'probe', $1, now())`},
		{"cluster_artifacts_artifact_type_check", "cluster_artifacts", "artifact_type", strs(store.ArtifactTypes()),
			`INSERT INTO cluster_artifacts (id, cluster_id, artifact_type, s3_uri, created_at)
			 VALUES ('art_probe', '` + probeCluster + `', $1, 's3://b/k', now())`},
	}
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// literal matches a SQL string literal (” is an escaped quote).
var literal = regexp.MustCompile(`'((?:[^']|'')*)'`)

// TestEnumChecksMatchGo proves that every Go enum and the CHECK constraints
// of its columns accept exactly the same values: the literals listed in each
// constraint's definition equal the Go values, every Go value is inserted
// successfully, and a value outside the enum is refused with SQLSTATE 23514
// naming the constraint. It also fails when the schema gains an enum-like
// CHECK (a list of literals) that no Go enum is tied to here.
func TestEnumChecksMatchGo(t *testing.T) {
	t.Parallel()
	pool := postgrestest.New(t).Pool(t)
	ctx := t.Context()

	// Every CHECK of the schema that lists literals, with its table and columns.
	rows, err := pool.Query(ctx, `
		SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid),
		       ARRAY(SELECT a.attname::text FROM pg_attribute a
		             WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) ORDER BY a.attnum)
		FROM pg_constraint c
		WHERE c.contype = 'c' AND c.connamespace = current_schema()::text::regnamespace
		  AND pg_get_constraintdef(c.oid) LIKE '%= ANY (%ARRAY[%'`)
	if err != nil {
		t.Fatal(err)
	}
	type catalogCheck struct {
		table, def string
		columns    []string
	}
	catalog := map[string]catalogCheck{}
	for rows.Next() {
		var name string
		var c catalogCheck
		if err := rows.Scan(&name, &c.table, &c.def, &c.columns); err != nil {
			t.Fatal(err)
		}
		catalog[name] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	checks := enumChecks()
	for name := range catalog {
		if !slices.ContainsFunc(checks, func(c enumCheck) bool { return c.constraint == name }) {
			t.Errorf("CHECK %s lists values but is tied to no Go enum in this test: %s", name, catalog[name].def)
		}
	}

	if _, err := pool.Exec(ctx, insertCluster(probeCluster, "status"), "READY"); err != nil {
		t.Fatalf("insert the probe cluster: %v", err)
	}

	for _, ec := range checks {
		t.Run(ec.constraint, func(t *testing.T) {
			c, ok := catalog[ec.constraint]
			if !ok {
				t.Fatalf("constraint %s not found in the schema", ec.constraint)
			}
			if c.table != ec.table || !slices.Equal(c.columns, []string{ec.column}) {
				t.Fatalf("constraint %s is on %s%v, want %s(%s)", ec.constraint, c.table, c.columns, ec.table, ec.column)
			}
			var inSQL []string
			for _, m := range literal.FindAllStringSubmatch(c.def, -1) {
				inSQL = append(inSQL, strings.ReplaceAll(m[1], "''", "'"))
			}
			for _, v := range ec.values {
				if !slices.Contains(inSQL, v) {
					t.Errorf("Go value %q is missing from %s: %s", v, ec.constraint, c.def)
				}
			}
			for _, v := range inSQL {
				if !slices.Contains(ec.values, v) {
					t.Errorf("%s allows %q, which the Go enum lacks", ec.constraint, v)
				}
			}

			for _, v := range ec.values {
				if err := probe(t, pool, ec.insert, v); err != nil {
					t.Errorf("insert %s = %q: %v, want accepted", ec.column, v, err)
				}
			}
			bad := "NOT_" + strings.ToUpper(ec.values[0]) + "_x"
			err := probe(t, pool, ec.insert, bad)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "23514" || pgErr.ConstraintName != ec.constraint {
				t.Errorf("insert %s = %q: %v, want SQLSTATE 23514 from %s", ec.column, bad, err, ec.constraint)
			}
		})
	}
}

// probe runs insert with value in a transaction it rolls back, so probes do
// not collide on keys.
func probe(t *testing.T, pool *pgxpool.Pool, insert, value string) error {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	_, err = tx.Exec(t.Context(), insert, value)
	return err
}
