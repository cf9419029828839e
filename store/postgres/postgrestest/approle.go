package postgrestest

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store/postgres"
)

// AppRole is the application role AppPool connects as: a LOGIN role
// without a password, superuser or membership, which AppPool creates on
// the server if it does not exist and grants exactly
// postgres.AppGrants on the test's database. Roles are global to a
// PostgreSQL server, so the role is shared by every test process and never
// dropped: its rights live in each database, which the test drops.
const AppRole = "ocpstore_test_app"

// appRole creates AppRole once per process. Concurrent processes may race
// to create it: whoever loses gets duplicate_object (or, when both insert
// the catalog row at once, unique_violation) and finds it there.
var appRole struct {
	once sync.Once
	err  error
}

// AppURL returns the database's URL with AppRole as its user, creating
// the role on the server if it does not exist. It grants nothing: AppPool
// does. Tests that check what the role may not do without grants (Migrate
// on an empty database, say) connect with it.
func (d *DB) AppURL(t testing.TB) string {
	t.Helper()
	appRole.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		appRole.err = d.srv.exec(ctx, "DO $$ BEGIN CREATE ROLE "+ident(AppRole)+" LOGIN;"+
			" EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
	})
	if appRole.err != nil {
		t.Fatalf("postgrestest: create role %s: %v", AppRole, appRole.err)
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatalf("postgrestest: %v", err)
	}
	u.User = url.User(AppRole)
	return u.String()
}

// AppPool is Pool connected as AppRole instead of the server's user, the
// way a service runs in production (README: Security): the database's
// tables are owned by the server's user, which migrated the template, and
// AppRole holds only postgres.AppGrants on them, granted (once per
// database) by postgres.GrantApplication run as that user. It needs a
// server whose user may create roles and whose authentication lets
// AppRole in without a password (trust, as the usual test server has for
// local connections). The database must have ocpstore's schema (New, not
// NewEmpty).
func (d *DB) AppPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	app := &DB{URL: d.AppURL(t), Name: d.Name, srv: d.srv}
	d.granted.Do(func() {
		owner := d.Pool(t)
		defer owner.Close()
		d.grantErr = postgres.GrantApplication(t.Context(), owner, AppRole)
	})
	if d.grantErr != nil {
		t.Fatalf("postgrestest: %v", d.grantErr)
	}
	pool := app.Pool(t)
	var user string
	if err := pool.QueryRow(t.Context(), "SELECT current_user").Scan(&user); err != nil || user != AppRole {
		t.Fatalf("postgrestest: AppPool connected as %q (%v), want %q", user, err, AppRole)
	}
	return pool
}
