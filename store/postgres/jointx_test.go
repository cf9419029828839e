package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
	"github.com/ocpctl/ocpstore/store/postgres/postgrestest"
)

// joinCluster returns a valid cluster request.
func joinCluster(name string) *store.Cluster {
	return &store.Cluster{Name: name, Platform: store.PlatformAWS, Version: "4.16.3",
		Profile: "aws-standard", Region: "us-east-1", Owner: "alice@example.com", Team: "platform",
		CostCenter: "cc-1", RequestedBy: "alice", TTLHours: 24}
}

// joinSetup returns a pool on a fresh database with an application table
// of the caller's, orders, next to ocpstore's.
func joinSetup(t *testing.T) (*pgxpool.Pool, *store.Store) {
	t.Helper()
	pool := postgrestest.New(t).Pool(t)
	if _, err := pool.Exec(t.Context(), "CREATE TABLE orders (id text PRIMARY KEY, cluster_id text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return pool, postgres.New(pool)
}

// orderCount counts the application's orders for cluster id.
func orderCount(t *testing.T, pool *pgxpool.Pool, id string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM orders WHERE cluster_id = $1", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNewTxCommitsAndRollsBackWithTheCaller: the Store's writes in the
// caller's transaction are undone by the caller's rollback and kept by its
// commit, together with the caller's own writes; the Store ends nothing.
func TestNewTxCommitsAndRollsBackWithTheCaller(t *testing.T) {
	pool, s := joinSetup(t)
	ctx := t.Context()
	for _, commit := range []bool{false, true} {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ts := postgres.NewTx(tx)
		if !ts.InTx() {
			t.Fatal("NewTx's Store is not transaction-bound")
		}
		c := joinCluster("join-" + map[bool]string{false: "rollback", true: "commit"}[commit])
		if err := ts.Clusters.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		j := &store.Job{ClusterID: c.ID, JobType: store.JobCreate}
		if err := ts.Jobs.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO orders VALUES ($1, $2)", "ord-"+c.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		// Not visible outside the transaction before it ends.
		if _, err := s.Clusters.GetByID(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cluster seen outside the open transaction: %v", err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatalf("the caller's commit=%v: %v (did the Store end the transaction?)", commit, err)
		}
		_, cerr := s.Clusters.GetByID(ctx, c.ID)
		_, jerr := s.Jobs.GetByID(ctx, j.ID)
		orders := orderCount(t, pool, c.ID)
		if commit && (cerr != nil || jerr != nil || orders != 1) {
			t.Fatalf("after the caller's commit: cluster %v, job %v, %d orders", cerr, jerr, orders)
		}
		if !commit && (!errors.Is(cerr, store.ErrNotFound) || !errors.Is(jerr, store.ErrNotFound) || orders != 0) {
			t.Fatalf("after the caller's rollback: cluster %v, job %v, %d orders", cerr, jerr, orders)
		}
		if st := ts.Stats(); st.Commits != 0 || st.Rollbacks != 0 || st.Operations != 2 {
			t.Fatalf("joined Store's Stats = %+v, want 2 operations and no transaction of its own", st)
		}
	}
}

// TestNewTxRunsWorkerOperationsInTheCallersTx: the operations a pool-bound
// Store runs in a short transaction of their own (Claim, Finish,
// Jobs.Requeue, Usage.RecordBatch) run in the caller's instead: invisible
// until its commit, undone by its rollback.
func TestNewTxRunsWorkerOperationsInTheCallersTx(t *testing.T) {
	pool, s := joinSetup(t)
	ctx := t.Context()
	c := joinCluster("join-worker")
	if err := s.Clusters.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	j := &store.Job{ClusterID: c.ID, JobType: store.JobCreate}
	if err := s.Jobs.Create(ctx, j); err != nil {
		t.Fatal(err)
	}
	cost := 1.5
	for _, commit := range []bool{false, true} {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ts := postgres.NewTx(tx)
		cl, err := ts.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Jobs.GetByID(ctx, j.ID); err != nil || got.Status != store.JobPending {
			t.Fatalf("job outside the caller's transaction after Claim in it: %+v, %v", got, err)
		}
		if _, err := ts.Finish(ctx, cl.Lock, store.Retry("E", "again", time.Minute)); err != nil {
			t.Fatal(err)
		}
		sample := &store.UsageSample{ClusterID: c.ID, SampleTime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
			State: store.ClusterCreating, EstimatedHourlyCost: &cost}
		if err := ts.Usage.RecordBatch(ctx, []*store.UsageSample{sample}); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Jobs.GetByID(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		samples, err := s.Usage.List(ctx, c.ID, sample.SampleTime, sample.SampleTime.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want, wantSamples, wantAttempt := store.JobPending, 0, 0
		if commit {
			want, wantSamples, wantAttempt = store.JobRetrying, 1, 1
		}
		if got.Status != want || got.Attempt != wantAttempt || len(samples) != wantSamples {
			t.Fatalf("commit=%v: job %s attempt %d, %d samples; want %s, %d, %d", commit, got.Status, got.Attempt,
				len(samples), want, wantAttempt, wantSamples)
		}
	}
}

// TestNewTxWithTxAndRefusals: WithTx on a joined Store runs fn in the
// caller's transaction (no transaction of its own, nothing committed when
// fn returns, nothing rolled back when it fails); BeginTx and KeepAlive
// are refused.
func TestNewTxWithTxAndRefusals(t *testing.T) {
	pool, s := joinSetup(t)
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	ts := postgres.NewTx(tx)
	c := joinCluster("join-withtx")
	boom := errors.New("boom")
	err = ts.WithTx(ctx, func(ctx context.Context, in *store.Store) error {
		if err := in.Clusters.Create(ctx, c); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx: %v, want fn's error", err)
	}
	if _, err := ts.Clusters.GetByID(ctx, c.ID); err != nil {
		t.Fatalf("fn's write is not in the caller's transaction after fn failed: %v", err)
	}
	if _, err := s.Clusters.GetByID(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("WithTx committed on a joined Store: %v", err)
	}
	if _, err := ts.BeginTx(ctx); !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("BeginTx on a joined Store: %v", err)
	}
	lock := &store.JobLock{ClusterID: c.ID, JobID: store.NewID(store.PrefixJob), Token: 1, LockedBy: "w"}
	if _, err := ts.KeepAlive(ctx, lock, time.Minute, 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("KeepAlive on a joined Store: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("the caller's commit: %v", err)
	}
	if _, err := s.Clusters.GetByID(ctx, c.ID); err != nil {
		t.Fatalf("after the caller's commit: %v", err)
	}
}

// TestNewTxReturnsSerializationFailures: a serialization failure in the
// caller's transaction is returned, not retried: only the caller can
// roll back and run its transaction again.
func TestNewTxReturnsSerializationFailures(t *testing.T) {
	pool, s := joinSetup(t)
	ctx := t.Context()
	c := joinCluster("join-serial")
	if err := s.Clusters.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	ts := postgres.NewTx(tx)
	if _, err := ts.Clusters.GetByID(ctx, c.ID); err != nil { // takes the snapshot
		t.Fatal(err)
	}
	if _, err := s.Clusters.UpdateStatus(ctx, c.ID, store.ClusterCreating); err != nil {
		t.Fatal(err)
	}
	_, err = ts.Clusters.UpdateStatus(ctx, c.ID, store.ClusterCreating)
	if !errors.Is(err, store.ErrSerialization) {
		t.Fatalf("update of a row changed since the snapshot: %v, want ErrSerialization", err)
	}
	if st := ts.Stats(); st.Retries != 0 {
		t.Fatalf("joined Store retried: %+v", st)
	}
}

// TestNewTxOnAConn: a transaction of a plain pgx.Conn joins too.
func TestNewTxOnAConn(t *testing.T) {
	db := postgrestest.New(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := joinCluster("join-conn")
	if err := postgres.NewTx(tx).Clusters.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.New(db.Pool(t)).Clusters.GetByID(ctx, c.ID); err != nil {
		t.Fatalf("after the commit on the pgx.Conn: %v", err)
	}
}

// TestNewTxRequeuesInTheCallersTx: Jobs.Requeue, which a pool-bound Store
// runs in a short transaction of its own, runs in the caller's: invisible
// before its commit, undone by its rollback.
func TestNewTxRequeuesInTheCallersTx(t *testing.T) {
	db := postgrestest.New(t)
	pool := db.Pool(t)
	ctx := t.Context()
	clock := store.NewManualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := postgres.New(pool, postgres.WithClock(clock))
	c := joinCluster("join-requeue")
	if err := s.Clusters.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	j := &store.Job{ClusterID: c.ID, JobType: store.JobCreate}
	if err := s.Jobs.Create(ctx, j); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour) // the lock expired: the job is stuck
	for _, commit := range []bool{false, true} {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := postgres.NewTx(tx, postgres.WithClock(clock)).Jobs.Requeue(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Jobs.GetByID(ctx, j.ID); err != nil || got.Status != store.JobRunning {
			t.Fatalf("job outside the caller's transaction after Requeue in it: %+v, %v", got, err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]store.JobStatus{false: store.JobRunning, true: store.JobRetrying}[commit]
		if got, err := s.Jobs.GetByID(ctx, j.ID); err != nil || got.Status != want {
			t.Fatalf("commit=%v: job %+v, %v; want %s", commit, got, err, want)
		}
	}
}
