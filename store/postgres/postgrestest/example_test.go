package postgrestest_test

import (
	"context"
	"fmt"

	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// Open gives code without a *testing.T (an example, a TestMain) a fresh
// migrated database; New does the same for a test and drops it by itself.
func ExampleOpen() {
	ctx := context.Background()
	db, err := postgrestest.Open(ctx) // ErrNoServer when there is none
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Drop(ctx)

	cfg, err := postgres.DefaultConfig(db.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	pool, err := postgres.NewPool(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	fmt.Println("schema:", postgres.CheckSchema(ctx, pool))
	var clusters int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM clusters").Scan(&clusters); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("clusters:", clusters)
	// Output:
	// schema: <nil>
	// clusters: 0
}
