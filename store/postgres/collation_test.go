package postgres_test

import (
	"context"
	"crypto/rand"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
	"github.com/ocpctl/ocpstore/storetest"
)

// TestConformanceLinguisticCollation runs the conformance suite's IDOrder
// group on databases whose default collation is ICU's en-US, where "clu_B"
// sorts after "clu_a" and "_" is all but ignored. The test servers (and
// the memory backend) compare bytes, so the suite alone could not see that
// ID tie-breaks followed the database's collation; migration 0004 makes
// every ID column COLLATE "C", and this test proves the order no longer
// depends on the database. It skips on a server built without ICU.
func TestConformanceLinguisticCollation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	base := postgrestest.New(t) // the server, and a database to run DDL from
	admin := base.Pool(t)       // a pool: the parallel subtests create their databases through it
	var icu int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_collation WHERE collprovider = 'i'").Scan(&icu); err != nil {
		t.Fatal(err)
	}
	if icu == 0 {
		t.Skip("the server has no ICU collations")
	}
	create := func(t *testing.T, template string, icuLocale bool) string {
		t.Helper()
		name := "test_icu_" + strings.ToLower(rand.Text())
		sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{template}.Sanitize()
		if icuLocale {
			sql += " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
		}
		if _, err := admin.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		t.Cleanup(func() {
			dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := admin.Exec(dctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Errorf("drop %s: %v", name, err)
			}
		})
		return name
	}
	urlOf := func(name string) string {
		u, err := url.Parse(base.URL)
		if err != nil {
			t.Fatal(err)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String()
	}
	pool := func(t *testing.T, name string) *postgres.Config {
		t.Helper()
		cfg, err := postgres.DefaultConfig(urlOf(name))
		if err != nil {
			t.Fatal(err)
		}
		cfg.PoolConfig.MaxConns, cfg.PoolConfig.MinConns = postgrestest.PoolMaxConns, 0
		return cfg
	}

	// The template: en-US by default, migrated.
	template := create(t, "template0", true)
	mp, err := postgres.NewPool(ctx, pool(t, template))
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(ctx, mp); err != nil {
		t.Fatal(err)
	}
	var linguistic bool
	if err := mp.QueryRow(ctx, "SELECT 'clu_B' > 'clu_a'").Scan(&linguistic); err != nil {
		t.Fatal(err)
	}
	mp.Close()
	if !linguistic {
		t.Fatal("the en-US database compares text bytewise; the test would prove nothing")
	}

	storetest.RunGroups(t, func(t *testing.T, clock store.Clock) (*store.Store, *store.Store) {
		name := create(t, template, false)
		var opts []postgres.Option
		if clock != nil {
			opts = append(opts, postgres.WithClock(clock))
		}
		var stores [2]*store.Store
		for i := range stores {
			p, err := postgres.NewPool(t.Context(), pool(t, name))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			stores[i] = postgres.New(p, opts...)
		}
		return stores[0], stores[1]
	}, "IDOrder")
}
