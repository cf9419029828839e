package postgres_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// exampleDatabase is where the examples run: a fresh database from
// postgrestest (with the schema, or empty), dropped by the returned
// function. A program connects to its own database, from its
// configuration.
func exampleDatabase(ctx context.Context, schema bool) (url string, drop func(), err error) {
	open := postgrestest.OpenEmpty
	if schema {
		open = postgrestest.Open
	}
	db, err := open(ctx)
	if err != nil {
		return "", nil, err
	}
	return db.URL, func() { _ = db.Drop(ctx) }, nil
}

// NewPool connects and pings before it returns, so a wrong address or
// credentials fail at start-up rather than at the first query.
func ExampleNewPool() {
	ctx := context.Background()
	url, drop, err := exampleDatabase(ctx, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer drop()

	cfg, err := postgres.DefaultConfig(url) // e.g. os.Getenv("DATABASE_URL")
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg.PoolConfig.MaxConns = 10 // any pgxpool setting; DefaultConfig's defaults otherwise
	pool, err := postgres.NewPool(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	var lockTimeout string
	if err := pool.QueryRow(ctx, "SHOW lock_timeout").Scan(&lockTimeout); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("lock_timeout:", lockTimeout, "max connections:", pool.Config().MaxConns)

	// An unreachable server fails in NewPool itself.
	bad, err := postgres.DefaultConfig("postgres://nobody@127.0.0.1:1/nowhere?connect_timeout=5")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = postgres.NewPool(ctx, bad)
	fmt.Println("unreachable:", err != nil)
	// Output:
	// lock_timeout: 10s max connections: 10
	// unreachable: true
}

// Migrate applies the embedded migrations a database lacks; run it at every
// start, from every replica: it is serialized by an advisory lock and does
// nothing on a current database.
func ExampleMigrate() {
	ctx := context.Background()
	url, drop, err := exampleDatabase(ctx, false) // an empty database
	if err != nil {
		fmt.Println(err)
		return
	}
	defer drop()
	cfg, err := postgres.DefaultConfig(url)
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

	applied := 0
	err = postgres.Migrate(ctx, pool, postgres.OnApplied(func(m postgres.Migration, took time.Duration) {
		applied++ // a service would log m.Name and took
	}))
	fmt.Println("migrate:", err, "applied all:", applied == postgres.SchemaVersion())

	st, err := postgres.MigrationStatus(ctx, pool)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pending:", len(st.Pending), "schema:", postgres.CheckSchema(ctx, pool))
	fmt.Println("again:", postgres.Migrate(ctx, pool)) // a no-op
	// Output:
	// migrate: <nil> applied all: true
	// pending: 0 schema: <nil>
	// again: <nil>
}

// QueueStats reads what a metrics exporter or an operator wants to know
// about the queue, by job type, on the database's clock.
func ExampleQueueStats() {
	ctx := context.Background()
	url, drop, err := exampleDatabase(ctx, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer drop()
	cfg, err := postgres.DefaultConfig(url)
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
	s := postgres.New(pool)
	c := &store.Cluster{Name: "demo", Platform: store.PlatformAWS, Version: "4.18", Profile: "aws-small",
		Region: "us-east-1", Owner: "dev@example.com", Team: "team-a", CostCenter: "cc-1",
		RequestedBy: "dev@example.com", TTLHours: 24}
	if err := s.Clusters.Create(ctx, c); err != nil {
		fmt.Println(err)
		return
	}
	job := &store.Job{ClusterID: c.ID, JobType: store.JobCreate}
	if err := s.Jobs.Create(ctx, job); err != nil {
		fmt.Println(err)
		return
	}

	report, err := postgres.QueueStats(ctx, pool)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, q := range report.ByType {
		if q.Runnable.Count > 0 {
			// Since is when the longest-waiting job became runnable; its
			// age is q.Runnable.Age(report.At).
			fmt.Println(q.JobType, "runnable:", q.Runnable.Count, "oldest is ours:", q.Runnable.Since.Equal(job.CreatedAt))
		}
	}
	// Output:
	// CREATE runnable: 1 oldest is ours: true
}
