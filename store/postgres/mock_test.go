package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pashagolub/pgxmock/v4"

	"github.com/ocpctl/ocpstore/store"
)

// These tests run without a server: pgxmock stands in for the pool, so
// they check the SQL the backend sends and how it maps what comes back.

// newMock returns a mock pool and a Store on it whose WithTx retries at
// most maxRetries times with a negligible backoff.
func newMock(t *testing.T, maxRetries int, opts ...Option) (pgxmock.PgxPoolIface, *store.Store) {
	t.Helper()
	mock, err := pgxmock.NewPool(pgxmock.QueryMatcherOption(pgxmock.QueryMatcherRegexp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mock.ExpectationsWereMet(); err != nil {
			t.Error(err)
		}
	})
	policy := store.RetryPolicy{MaxRetries: maxRetries, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond}
	opts = append(opts, WithStoreOptions(store.WithRetryPolicy(policy)))
	return mock, newStore(mock, opts...)
}

// readCommitted is what Begin asks for when no option says otherwise.
var readCommitted = pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite}

func pgError(code string) *pgconn.PgError {
	return &pgconn.PgError{Code: code, Message: "mock " + code, ConstraintName: "mock_constraint"}
}

var epoch = time.Date(2031, time.March, 4, 5, 6, 7, 891011000, time.UTC)

func TestMockAcquireSQL(t *testing.T) {
	t.Parallel()
	clock := store.NewManualClock(epoch)
	mock, s := newMock(t, 0, WithClock(clock))
	now := clock.Now()
	mock.ExpectQuery(`^INSERT INTO job_locks AS l \(cluster_id, job_id, locked_by, token, locked_at, expires_at\) `+
		`SELECT j\.cluster_id, j\.id, \$1::text, nextval\('job_lock_tokens'\), `+
		`COALESCE\(\$2::timestamptz, statement_timestamp\(\)\), COALESCE\(\$2::timestamptz, statement_timestamp\(\)\) \+ \$3::interval `+
		`FROM jobs j WHERE j\.id = \$4 AND j\.cluster_id = \$5 `+
		`ON CONFLICT \(cluster_id\) DO UPDATE SET .*GREATEST\(EXCLUDED\.token, l\.token \+ 1\).* `+
		`WHERE l\.released_at IS NOT NULL OR l\.expires_at <= EXCLUDED\.locked_at OR \(l\.job_id = EXCLUDED\.job_id AND l\.locked_by = EXCLUDED\.locked_by AND l\.released_at IS NULL\) `+
		`RETURNING l\.cluster_id, l\.job_id, l\.locked_by, l\.token, l\.locked_at, l\.expires_at$`).
		WithArgs("w1", now, time.Minute, "job_1", "clu_1").
		WillReturnRows(pgxmock.NewRows(lockColumns).AddRow("clu_1", "job_1", "w1", int64(7), now, now.Add(time.Minute)))
	l, err := s.JobLocks.Acquire(t.Context(), "clu_1", "job_1", "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := store.JobLock{ClusterID: "clu_1", JobID: "job_1", LockedBy: "w1", Token: 7, LockedAt: now, ExpiresAt: now.Add(time.Minute)}
	if *l != want {
		t.Fatalf("lock %+v, want %+v", *l, want)
	}
}

func TestMockAcquireRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cluster, job bool
		want         error
	}{{true, true, store.ErrLockHeld}, {true, false, store.ErrNotFound}, {false, false, store.ErrNotFound}} {
		t.Run(fmt.Sprintf("cluster=%v,job=%v", tc.cluster, tc.job), func(t *testing.T) {
			t.Parallel()
			mock, s := newMock(t, 0)
			mock.ExpectQuery(`^INSERT INTO job_locks`).
				WithArgs("w1", nil, time.Minute, "job_1", "clu_1").
				WillReturnRows(pgxmock.NewRows(lockColumns))
			mock.ExpectQuery(`^SELECT EXISTS \(SELECT 1 FROM clusters WHERE id = \$1\), EXISTS \(SELECT 1 FROM jobs WHERE cluster_id = \$1 AND id = \$2\)$`).
				WithArgs("clu_1", "job_1").
				WillReturnRows(pgxmock.NewRows([]string{"c", "j"}).AddRow(tc.cluster, tc.job))
			_, err := s.JobLocks.Acquire(t.Context(), "clu_1", "job_1", "w1", time.Minute)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMockFencedWriteSQL(t *testing.T) {
	t.Parallel()
	mock, s := newMock(t, 0)
	lock := &store.JobLock{ClusterID: "clu_1", JobID: "job_1", LockedBy: "w1", Token: 9}
	// The cluster's row first, in a statement of its own (see JobCancel).
	mock.ExpectBeginTx(readCommitted)
	mock.ExpectExec(`^SELECT id FROM clusters WHERE id = ANY\(\$1::text\[\]\) ORDER BY id FOR NO KEY UPDATE$`).
		WithArgs([]string{"clu_1"}).WillReturnResult(pgxmock.NewResult("SELECT", 1))
	mock.ExpectQuery(`^WITH l AS \(SELECT 1 FROM job_locks WHERE cluster_id = \$1 AND job_id = \$2 AND token = \$3 AND \(released_at IS NULL\) IS TRUE FOR NO KEY UPDATE\), `+
		`w AS \(UPDATE jobs SET status = 'FAILED', error_code = \$4, error_message = \$5, .* `+
		`WHERE id = \$2 AND cluster_id = \$1 AND \(status = 'RUNNING'\) IS TRUE AND EXISTS \(SELECT 1 FROM l\) RETURNING id, .*\), `+
		`u AS \(UPDATE jobs n SET waiting = false .*\) SELECT id, .* FROM w$`).
		WithArgs("clu_1", "job_1", int64(9), "E1", "boom", nil).
		WillReturnRows(pgxmock.NewRows(jobColumns)) // no row: the token is stale
	mock.ExpectRollback()
	_, err := s.Jobs.MarkFailed(t.Context(), lock, "E1", "boom")
	if !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("got %v, want ErrLockLost", err)
	}
}

func TestMockLockRunnableSQL(t *testing.T) {
	t.Parallel()
	mock, s := newMock(t, 0)
	mock.ExpectBeginTx(readCommitted)
	mock.ExpectQuery(`^SELECT j\.id, .*, c\.credentials_mode FROM jobs j JOIN clusters c ON c\.id = j\.cluster_id `+
		`WHERE j\.status IN \('PENDING', 'RETRYING'\) .*`+
		`AND j\.job_type = ANY\(\$2::text\[\]\) `+
		`AND NOT EXISTS \(SELECT 1 FROM jobs o WHERE o\.cluster_id = j\.cluster_id AND o\.status IN \('PENDING', 'RUNNING', 'RETRYING'\) AND \(o\.created_at, o\.id\) < \(j\.created_at, j\.id\)\) `+
		`AND NOT COALESCE\(\(SELECT l\.released_at IS NULL AND l\.expires_at > .* FROM job_locks l WHERE l\.cluster_id = j\.cluster_id\), false\) `+
		`ORDER BY j\.created_at, j\.id LIMIT \$3 FOR NO KEY UPDATE OF j, c SKIP LOCKED$`).
		WithArgs(nil, []store.JobType{store.JobCreate}, 1).
		WillReturnRows(pgxmock.NewRows(runnables.columns))
	mock.ExpectCommit()
	_, err := s.Claim(t.Context(), store.ClaimParams{WorkerID: "w1", LockTTL: time.Minute, JobTypes: []store.JobType{store.JobCreate}})
	if !errors.Is(err, store.ErrNoJob) {
		t.Fatalf("got %v, want ErrNoJob", err)
	}
}

func TestMockUniqueViolationIsConflict(t *testing.T) {
	t.Parallel()
	mock, s := newMock(t, 0)
	mock.ExpectQuery(`^INSERT INTO rbac_mappings `).WithArgs(anyArgs(len(rbacColumns) - 1)...). // created_at and updated_at are one @now
													WillReturnError(pgError("23505"))
	err := s.RBAC.Create(t.Context(), &store.RBACMapping{IAMPrincipalARN: "arn:x", IAMPrincipalType: store.PrincipalUser,
		Team: "t", Role: store.RoleAuditor})
	var pgErr *pgconn.PgError
	if !errors.Is(err, store.ErrConflict) || !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("got %v, want ErrConflict with the PgError in the chain", err)
	}
}

func TestMockErrorMapping(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]error{
		"23503": store.ErrNotFound,
		"23514": store.ErrInvalidArgument,
		"22001": store.ErrInvalidArgument,
		"40001": store.ErrSerialization,
		"40P01": store.ErrSerialization,
		"55P03": ErrLockNotAvailable,
		"57014": context.DeadlineExceeded,
	} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			mock, s := newMock(t, 0)
			mock.ExpectQuery(`^SELECT .* FROM clusters WHERE id = \$1$`).WithArgs("clu_1").WillReturnError(pgError(code))
			_, err := s.Clusters.GetByID(t.Context(), "clu_1")
			if !errors.Is(err, want) {
				t.Fatalf("got %v, want %v", err, want)
			}
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				t.Fatalf("%v: the *pgconn.PgError is not in the chain", err)
			}
		})
	}
}

func TestMockNoRowsIsNotFound(t *testing.T) {
	t.Parallel()
	mock, s := newMock(t, 0)
	mock.ExpectQuery(`^SELECT id, .* FROM jobs WHERE id = \$1$`).WithArgs("job_1").WillReturnRows(pgxmock.NewRows(jobColumns))
	_, err := s.Jobs.GetByID(t.Context(), "job_1")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

func TestMockSerializationRetriedThenSurfaced(t *testing.T) {
	t.Parallel()
	const retries = 2
	mock, s := newMock(t, retries)
	for range retries + 1 {
		mock.ExpectBeginTx(pgx.TxOptions{IsoLevel: pgx.Serializable, AccessMode: pgx.ReadWrite})
		mock.ExpectQuery(`FROM clusters WHERE id = \$1`).WithArgs("clu_1").WillReturnError(pgError("40001"))
		mock.ExpectRollback()
	}
	runs := 0
	err := s.WithTx(t.Context(), func(ctx context.Context, tx *store.Store) error {
		runs++
		_, err := tx.Clusters.GetByID(ctx, "clu_1")
		return err
	}, store.Serializable())
	if !errors.Is(err, store.ErrSerialization) {
		t.Fatalf("got %v, want ErrSerialization", err)
	}
	if runs != retries+1 || s.Stats().Retries != retries {
		t.Fatalf("fn ran %d times with %d retries counted, want %d and %d", runs, s.Stats().Retries, retries+1, retries)
	}
}

func TestMockSerializationRetriedThenCommitted(t *testing.T) {
	t.Parallel()
	mock, s := newMock(t, 3)
	mock.ExpectBeginTx(readCommitted)
	mock.ExpectExec(`^DELETE FROM rbac_mappings WHERE id = \$1$`).WithArgs("rbac_1").WillReturnError(pgError("40P01"))
	mock.ExpectRollback()
	mock.ExpectBeginTx(readCommitted)
	mock.ExpectExec(`^DELETE FROM rbac_mappings WHERE id = \$1$`).WithArgs("rbac_1").WillReturnResult(pgxmock.NewResult("DELETE", 1))
	mock.ExpectCommit()
	err := s.WithTx(t.Context(), func(ctx context.Context, tx *store.Store) error { return tx.RBAC.Delete(ctx, "rbac_1") })
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Retries != 1 || st.Commits != 1 {
		t.Fatalf("stats %+v, want 1 retry and 1 commit", st)
	}
}

func TestMockPanicRollsBack(t *testing.T) {
	t.Parallel()
	mock, s := newMock(t, 3)
	mock.ExpectBeginTx(readCommitted)
	mock.ExpectRollback()
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the panic to continue", r)
		}
	}()
	_ = s.WithTx(t.Context(), func(context.Context, *store.Store) error { panic("boom") })
	t.Fatal("WithTx returned after a panic")
}

func TestMockCommitOnBrokenConnection(t *testing.T) {
	t.Parallel()
	for _, cause := range []error{io.EOF, io.ErrUnexpectedEOF, errors.New("conn closed")} {
		t.Run(cause.Error(), func(t *testing.T) {
			t.Parallel()
			mock, s := newMock(t, 3)
			mock.ExpectBeginTx(readCommitted)
			mock.ExpectCommit().WillReturnError(cause)
			err := s.WithTx(t.Context(), func(context.Context, *store.Store) error { return nil })
			if !errors.Is(err, store.ErrCommitUnknown) || !errors.Is(err, cause) {
				t.Fatalf("got %v, want ErrCommitUnknown wrapping %v", err, cause)
			}
			if s.Stats().Retries != 0 {
				t.Fatal("an unknown commit outcome was retried")
			}
		})
	}
}

func TestMockCommitSerializationIsRetried(t *testing.T) {
	t.Parallel()
	mock, s := newMock(t, 1)
	mock.ExpectBeginTx(readCommitted)
	mock.ExpectCommit().WillReturnError(pgError("40001"))
	mock.ExpectBeginTx(readCommitted)
	mock.ExpectCommit()
	if err := s.WithTx(t.Context(), func(context.Context, *store.Store) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if s.Stats().Retries != 1 {
		t.Fatalf("retries %d, want 1", s.Stats().Retries)
	}
}

// TestColumnsMatchDestinations checks every table's column list against
// its row type's scan destinations.
func TestColumnsMatchDestinations(t *testing.T) {
	t.Parallel()
	check := func(name string, columns []string, dests []any) {
		if len(columns) != len(dests) {
			t.Errorf("%s: %d columns, %d destinations", name, len(columns), len(dests))
		}
	}
	check(clusters.name, clusters.columns, clusters.newRow().(*clusterRow).dests())
	check(jobs.name, jobs.columns, jobs.newRow().(*jobRow).dests())
	check(runnables.name, runnables.columns, runnables.newRow().(*runnableRow).dests())
	check(locks.name, locks.columns, locks.newRow().(*lockRow).dests())
	check(idempotencyKeys.name, idempotencyKeys.columns, idempotencyKeys.newRow().(*idempotencyRow).dests())
	check(rbacMappings.name, rbacMappings.columns, rbacMappings.newRow().(*rbacRow).dests())
	check(auditEvents.name, auditEvents.columns, auditEvents.newRow().(*auditRow).dests())
	check(clusterOutputs.name, clusterOutputs.columns, clusterOutputs.newRow().(*outputRow).dests())
	check(clusterArtifacts.name, clusterArtifacts.columns, clusterArtifacts.newRow().(*artifactRow).dests())
	check(usageSamples.name, usageSamples.columns, usageSamples.newRow().(*usageRow).dests())
}

// anyArgs matches n arguments of any value.
func anyArgs(n int) []any {
	args := make([]any, n)
	for i := range args {
		args[i] = pgxmock.AnyArg()
	}
	return args
}

// TestMockRequeueLiveLockRollsBack checks that Requeue outside a
// transaction runs in one of its own, locks the job's cluster row and then
// its lock row first, and rolls back without writing when that lock is
// live.
func TestMockRequeueLiveLockRollsBack(t *testing.T) {
	t.Parallel()
	mock, s := newMock(t, 0)
	mock.ExpectBeginTx(readCommitted)
	mock.ExpectQuery(`^SELECT c\.id FROM jobs j JOIN clusters c ON c\.id = j\.cluster_id WHERE j\.id = \$1 FOR NO KEY UPDATE OF c$`).WithArgs("job_1").
		WillReturnRows(pgxmock.NewRows([]string{"cluster_id"}).AddRow("clu_1"))
	mock.ExpectQuery(`^SELECT expires_at > COALESCE\(\$1::timestamptz, statement_timestamp\(\)\) FROM job_locks `+
		`WHERE cluster_id = \$2 AND job_id = \$3 AND \(released_at IS NULL\) IS TRUE FOR NO KEY UPDATE$`).WithArgs(nil, "clu_1", "job_1").
		WillReturnRows(pgxmock.NewRows([]string{"live"}).AddRow(true))
	mock.ExpectRollback()
	_, err := s.Jobs.Requeue(t.Context(), "job_1")
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}
}
