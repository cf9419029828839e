package postgres_test

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// TestRolesSQL follows the README's deployment steps (Security, "Database
// roles") on the test server: scripts/sql/roles.sql run with psql creates
// an owner, an application role and their database; Migrate and
// GrantApplication run as the owner; the service, as the application role,
// works, may not create tables, and may not purge; the owner purges. The
// roles and the database have names of their own, dropped at the end
// (roles are global to the server, and other test processes share it).
func TestRolesSQL(t *testing.T) {
	t.Parallel()
	admin := os.Getenv(postgrestest.EnvURL)
	psql, err := exec.LookPath("psql")
	if admin == "" || err != nil {
		t.Skipf("needs %s and psql", postgrestest.EnvURL)
	}
	ctx := t.Context()
	suffix := strings.ToLower(rand.Text()[:10])
	owner, app, dbName := "ocpstore_rt_owner_"+suffix, "ocpstore_rt_app_"+suffix, "ocpstore_rt_"+suffix
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		for _, q := range []string{
			"DROP DATABASE IF EXISTS " + pgx.Identifier{dbName}.Sanitize() + " WITH (FORCE)",
			"DROP ROLE IF EXISTS " + pgx.Identifier{app}.Sanitize(),
			"DROP ROLE IF EXISTS " + pgx.Identifier{owner}.Sanitize(),
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})

	cmd := exec.CommandContext(ctx, psql, "-X", "-q", admin,
		"-v", "owner="+owner, "-v", "owner_password=owner-pw", "-v", "app="+app, "-v", "app_password=app-pw",
		"-v", "db="+dbName, "-f", filepath.Join("..", "..", "scripts", "sql", "roles.sql"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("psql roles.sql: %v\n%s", err, out)
	}

	as := func(role, password string) string {
		u, err := url.Parse(admin)
		if err != nil {
			t.Fatal(err)
		}
		u.User, u.Path = url.UserPassword(role, password), "/"+dbName
		return u.String()
	}
	pool := func(connString string) *postgres.Config {
		cfg, err := postgres.DefaultConfig(connString)
		requireNoErr(t, err, "config")
		cfg.PoolConfig.MaxConns, cfg.PoolConfig.MinConns = 2, 0
		return cfg
	}
	ownerPool, err := postgres.NewPool(ctx, pool(as(owner, "owner-pw")))
	requireNoErr(t, err, "connect as the owner")
	defer ownerPool.Close()
	appPool, err := postgres.NewPool(ctx, pool(as(app, "app-pw")))
	requireNoErr(t, err, "connect as the application role")
	defer appPool.Close()

	requireErrIs(t, postgres.Migrate(ctx, appPool), postgres.ErrPermissionDenied, "Migrate as the application role")
	requireNoErr(t, postgres.Migrate(ctx, ownerPool), "Migrate as the owner")
	requireNoErr(t, postgres.GrantApplication(ctx, ownerPool, app), "GrantApplication as the owner")

	s := postgres.New(appPool)
	c := &store.Cluster{Name: "c1", Platform: store.PlatformAWS, Version: "4.16", Profile: "small", Region: "us-east-1",
		Owner: "ann", Team: "t", CostCenter: "cc", RequestedBy: "ann", TTLHours: 8}
	requireNoErr(t, s.Clusters.Create(ctx, c), "create a cluster as the application role")
	requireNoErr(t, s.Audit.Log(ctx, &store.AuditEvent{Actor: "ann", Action: "cluster.create", Status: store.AuditSuccess}), "log")
	requirePermissionDenied(t, appPool, "CREATE TABLE evil (id int)", false)
	_, err = s.Audit.Purge(ctx, time.Now().Add(time.Hour))
	requireErrIs(t, err, postgres.ErrPermissionDenied, "Purge as the application role")
	n, err := postgres.New(ownerPool).Audit.Purge(ctx, time.Now().Add(time.Hour))
	requireNoErr(t, err, "Purge as the owner")
	if n != 1 {
		t.Errorf("the owner's Purge deleted %d events, want 1", n)
	}
}
