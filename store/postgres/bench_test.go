package postgres_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/store"
)

// Benchmarks of the hot operations: each runs "store", through the Store,
// and "raw", the same statements by hand with pgx (see bench_env_test.go).

// BenchmarkClusterGetByID reads one cluster by ID, from 1,000.
func BenchmarkClusterGetByID(b *testing.B) {
	e := newBenchEnv(b)
	ids := e.copyClusters(b, 1000, func(i int) store.ClusterStatus { return benchStatuses[i%4] })
	e.vacuum(b)
	get := e.sql(b, func(s *store.Store) error { _, err := s.Clusters.GetByID(e.ctx, ids[0]); return err })[0]
	raw := func(p *pgxpool.Pool, id string) (*store.Cluster, error) {
		var r clusterScan
		if err := p.QueryRow(e.ctx, get, id).Scan(r.dests()...); err != nil {
			return nil, err
		}
		return r.cluster(), nil
	}
	e.sameSQL(b, func(s *store.Store) error { _, err := s.Clusters.GetByID(e.ctx, ids[1]); return err },
		func(p *pgxpool.Pool) error { _, err := raw(p, ids[1]); return err })
	compare(b, nil,
		func(i int) error { _, err := e.store.Clusters.GetByID(e.ctx, ids[i%len(ids)]); return err },
		func(i int) error { _, err := raw(e.pool, ids[i%len(ids)]); return err })
}

// benchCluster is the cluster the Create benchmarks insert.
func benchCluster(tag string, i int) *store.Cluster {
	return &store.Cluster{Name: fmt.Sprintf("create-%s-%d", tag, i), Platform: store.PlatformAWS, Version: "4.18.1",
		Profile: "aws-standard", Region: "us-east-1", BaseDomain: new("example.com"), Owner: "owner@example.com",
		Team: "team-a", CostCenter: "cc-100", RequestedBy: "requester@example.com", TTLHours: 24,
		RequestTags: map[string]string{"env": "bench", "owner": "perf"}}
}

// BenchmarkClusterCreate inserts a cluster (with request tags).
func BenchmarkClusterCreate(b *testing.B) {
	e := newBenchEnv(b)
	insert := e.sql(b, func(s *store.Store) error { return s.Clusters.Create(e.ctx, benchCluster(uniqueTag(), 0)) })[0]
	raw := func(p *pgxpool.Pool, c *store.Cluster) error {
		c.ID = store.NewID(store.PrefixCluster)
		if c.Status == "" {
			c.Status = store.ClusterPending
		}
		if c.ClusterType == "" {
			c.ClusterType = store.ClusterTypeOpenShift
		}
		var tags any
		if c.RequestTags != nil {
			tags = c.RequestTags
		}
		err := p.QueryRow(e.ctx, insert, c.ID, c.Name, c.Platform, c.ClusterType, c.Version, c.Profile, c.Region,
			c.BaseDomain, c.Owner, c.OwnerID, c.Team, c.CostCenter, c.Status, c.RequestedBy, c.TTLHours,
			nil, nil, nil, tags, nil, c.SSHPublicKey, c.OffhoursOptIn, c.WorkHoursEnabled,
			nil, nil, nil, c.PreserveOnFailure, c.CredentialsMode).Scan(&c.CreatedAt, &c.UpdatedAt)
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		return err
	}
	tag := uniqueTag()
	e.sameSQL(b, func(s *store.Store) error { return s.Clusters.Create(e.ctx, benchCluster(tag, 1)) },
		func(p *pgxpool.Pool) error { return raw(p, benchCluster(tag, 2)) })
	var storeTag, rawTag string
	compare(b, func(*testing.B, int) { storeTag, rawTag = uniqueTag(), uniqueTag() },
		func(i int) error { return e.store.Clusters.Create(e.ctx, benchCluster(storeTag, i)) },
		func(i int) error { return raw(e.pool, benchCluster(rawTag, i)) })
}

// BenchmarkClusterListFiltered lists a page of 50 clusters and the total,
// filtered by team and status, out of 5,000.
func BenchmarkClusterListFiltered(b *testing.B) {
	e := newBenchEnv(b)
	// 5000 clusters in 10 teams; a quarter of each team's READY: the
	// filter matches 125 rows, the page holds 50 of them.
	e.copyClusters(b, 5000, func(i int) store.ClusterStatus { return benchStatuses[(i/10)%4] })
	e.vacuum(b)
	team, status := "team-3", store.ClusterReady
	f := store.ClusterFilters{Team: &team, Status: &status, Limit: 50}
	list := e.sql(b, func(s *store.Store) error { _, _, err := s.Clusters.List(e.ctx, f); return err })[0]
	raw := func(p *pgxpool.Pool) ([]*store.Cluster, int, error) {
		rows, err := p.Query(e.ctx, list, team, status, team, status)
		if err != nil {
			return nil, 0, err
		}
		defer rows.Close()
		var total int64
		items := []*store.Cluster{}
		for rows.Next() {
			if rows.RawValues()[1] == nil { // an empty page: the total only
				dests := make([]any, len(rows.FieldDescriptions()))
				dests[0] = &total
				if err := rows.Scan(dests...); err != nil {
					return nil, 0, err
				}
				continue
			}
			var r clusterScan
			if err := rows.Scan(append([]any{&total}, r.dests()...)...); err != nil {
				return nil, 0, err
			}
			items = append(items, r.cluster())
		}
		return items, int(total), rows.Err()
	}
	e.sameSQL(b, func(s *store.Store) error { _, _, err := s.Clusters.List(e.ctx, f); return err },
		func(p *pgxpool.Pool) error { _, _, err := raw(p); return err })
	check := func(items []*store.Cluster, total int, err error) error {
		if err == nil && (len(items) != 50 || total != 125) {
			err = fmt.Errorf("page of %d clusters of %d, want 50 of 125", len(items), total)
		}
		return err
	}
	compare(b, nil,
		func(int) error { return check(e.store.Clusters.List(e.ctx, f)) },
		func(int) error { return check(raw(e.pool)) })
}

// BenchmarkClusterListAfterDeep reads the keyset page of 50 after a cursor
// near the end of 100,000 clusters (inserted with COPY).
func BenchmarkClusterListAfterDeep(b *testing.B) {
	e := newBenchEnv(b)
	const n, at = 100_000, 99_000
	ids := e.copyClusters(b, n, func(i int) store.ClusterStatus { return benchStatuses[i%4] })
	e.vacuum(b)
	key := benchEpoch.Add(at * time.Microsecond)
	cursor := store.EncodeCursor(store.Cursor{Sort: string(store.ClusterByCreatedAt), Key: store.TimeKey(key), ID: ids[at]})
	f := store.ClusterFilters{Limit: 50}
	page := e.sql(b, func(s *store.Store) error { _, err := s.Clusters.ListAfter(e.ctx, f, cursor); return err })[0]
	// raw returns the page and the key of its last row, the next cursor.
	raw := func(p *pgxpool.Pool, key time.Time, id string) ([]*store.Cluster, time.Time, string, error) {
		rows, err := p.Query(e.ctx, page, key, id)
		if err != nil {
			return nil, time.Time{}, "", err
		}
		defer rows.Close()
		items := []*store.Cluster{}
		for rows.Next() {
			var r clusterScan
			if err := rows.Scan(r.dests()...); err != nil {
				return nil, time.Time{}, "", err
			}
			items = append(items, r.cluster())
		}
		if err := rows.Err(); err != nil || len(items) <= 50 {
			return items, time.Time{}, "", err
		}
		last := items[49]
		return items[:50], last.CreatedAt, last.ID, nil
	}
	e.sameSQL(b, func(s *store.Store) error { _, err := s.Clusters.ListAfter(e.ctx, f, cursor); return err },
		func(p *pgxpool.Pool) error { _, _, _, err := raw(p, key, ids[at]); return err })
	check := func(items []*store.Cluster, next bool) error {
		if len(items) != 50 || items[0].ID != ids[at+1] || !next {
			return fmt.Errorf("page of %d clusters (next %v), want 50 from %s and a next page", len(items), next, ids[at+1])
		}
		return nil
	}
	compare(b, nil,
		func(int) error {
			p, err := e.store.Clusters.ListAfter(e.ctx, f, cursor)
			if err != nil {
				return err
			}
			return check(p.Items, p.Next != "")
		},
		func(int) error {
			items, _, next, err := raw(e.pool, key, ids[at])
			if err != nil {
				return err
			}
			return check(items, next != "")
		})
}

// lockFixture makes a READY cluster with one PENDING job, for the lock
// benchmarks.
func (e *benchEnv) lockFixture(b *testing.B) (clusterID, jobID string) {
	b.Helper()
	c := e.copyClusters(b, 1, func(int) store.ClusterStatus { return store.ClusterReady })[0]
	return c, e.copyJobs(b, []string{c}, 1, store.JobPostConfigure)[0]
}

// BenchmarkLockAcquireRelease grants a cluster lock and releases it.
func BenchmarkLockAcquireRelease(b *testing.B) {
	e := newBenchEnv(b)
	cluster, job := e.lockFixture(b)
	op := func(s *store.Store) error {
		l, err := s.JobLocks.Acquire(e.ctx, cluster, job, "w1", time.Minute)
		if err != nil {
			return err
		}
		return s.JobLocks.Release(e.ctx, l)
	}
	stmts := e.sql(b, op)
	acquire, release := stmts[0], stmts[1]
	raw := func(p *pgxpool.Pool) error {
		var l store.JobLock
		err := p.QueryRow(e.ctx, acquire, "w1", nil, time.Minute, job, cluster).Scan(lockDests(&l)...)
		if err != nil {
			return err
		}
		fixLock(&l)
		tag, err := p.Exec(e.ctx, release, nil, l.ClusterID, l.JobID, l.Token)
		if err == nil && tag.RowsAffected() != 1 {
			err = store.ErrLockLost
		}
		return err
	}
	e.sameSQL(b, op, raw)
	e.vacuum(b)
	compare(b, nil, func(int) error { return op(e.store) }, func(int) error { return raw(e.pool) })
}

// BenchmarkLockExtend extends a held lock (the heartbeat).
func BenchmarkLockExtend(b *testing.B) {
	e := newBenchEnv(b)
	cluster, job := e.lockFixture(b)
	lock, err := e.store.JobLocks.Acquire(e.ctx, cluster, job, "w1", time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	op := func(s *store.Store) error { _, err := s.JobLocks.Extend(e.ctx, lock, time.Minute); return err }
	extend := e.sql(b, op)[0]
	raw := func(p *pgxpool.Pool) error {
		var l store.JobLock
		err := p.QueryRow(e.ctx, extend, nil, time.Minute, lock.ClusterID, lock.JobID, lock.Token).Scan(lockDests(&l)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrLockLost
		}
		fixLock(&l)
		return err
	}
	e.sameSQL(b, op, raw)
	e.vacuum(b)
	compare(b, nil, func(int) error { return op(e.store) }, func(int) error { return raw(e.pool) })
}

// BenchmarkAuditLog appends an audit event with metadata.
func BenchmarkAuditLog(b *testing.B) {
	e := newBenchEnv(b)
	cluster, job := "clu_01BENCHAUDITCLUSTER000000", "job_01BENCHAUDITJOB000000000"
	event := func() *store.AuditEvent {
		return &store.AuditEvent{Actor: "worker-1", Action: store.ActionJobStart, TargetClusterID: &cluster,
			TargetJobID: &job, Status: store.AuditSuccess,
			Metadata: map[string]string{"job_type": "CREATE", "job_status": "RUNNING", "attempt": "1", "token": "42"}}
	}
	op := func(s *store.Store) error { return s.Audit.Log(e.ctx, event()) }
	log := e.sql(b, op)[0]
	raw := func(p *pgxpool.Pool) error {
		ev := event()
		ev.ID = store.NewID(store.PrefixAudit)
		err := p.QueryRow(e.ctx, log, ev.ID, ev.Actor, ev.Action, ev.TargetClusterID, ev.TargetJobID, ev.TargetUserID,
			ev.Status, ev.Metadata, nil, ev.UserAgent, nil).Scan(&ev.CreatedAt)
		ev.CreatedAt = ev.CreatedAt.UTC()
		return err
	}
	e.sameSQL(b, op, raw)
	compare(b, nil, func(int) error { return op(e.store) }, func(int) error { return raw(e.pool) })
}

// usageBatch returns 1000 samples: 10 clusters at 100 hourly times from
// hour from.
func usageBatch(clusters []string, from int) []*store.UsageSample {
	out := make([]*store.UsageSample, 0, 1000)
	for h := range 100 {
		at := benchEpoch.Add(time.Duration(from+h) * time.Hour)
		for _, c := range clusters {
			cost := 1.25
			out = append(out, &store.UsageSample{ClusterID: c, SampleTime: at, State: store.ClusterReady,
				ControlPlaneReplicas: 3, WorkerReplicas: 5, EstimatedHourlyCost: &cost,
				Metadata: map[string]string{"source": "bench"}})
		}
	}
	return out
}

// BenchmarkUsageRecordBatch records 1,000 usage samples in one batch.
func BenchmarkUsageRecordBatch(b *testing.B) {
	e := newBenchEnv(b)
	clusters := e.copyClusters(b, 10, func(int) store.ClusterStatus { return store.ClusterReady })
	hour := 0
	next := func() []*store.UsageSample { hour += 100; return usageBatch(clusters, hour) }
	op := func(s *store.Store) error { return s.Usage.RecordBatch(e.ctx, next()) }
	record := e.sql(b, op)[0]
	type key struct {
		cluster string
		at      time.Time
	}
	raw := func(p *pgxpool.Pool) error {
		samples := next()
		n := len(samples)
		ids, cs, states := make([]string, n), make([]string, n), make([]string, n)
		times := make([]time.Time, n)
		cps, workers := make([]int32, n), make([]int32, n)
		costs := make([]*float64, n)
		md := make([]*string, n)
		byKey := make(map[key]*store.UsageSample, n)
		for i, u := range samples {
			u.ID = store.NewID(store.PrefixUsage)
			ids[i], cs[i], times[i], states[i] = u.ID, u.ClusterID, u.SampleTime.UTC().Truncate(time.Microsecond), string(u.State)
			cps[i], workers[i], costs[i] = int32(u.ControlPlaneReplicas), int32(u.WorkerReplicas), u.EstimatedHourlyCost
			if u.Metadata != nil {
				js, _ := json.Marshal(u.Metadata)
				md[i] = new(string(js))
			}
			byKey[key{u.ClusterID, times[i]}] = u
		}
		rows, err := p.Query(e.ctx, record, ids, cs, times, states, cps, workers, costs, md)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			var id string
			if err := rows.Scan(&id, &k.cluster, &k.at); err != nil {
				return err
			}
			if u := byKey[key{k.cluster, k.at.UTC()}]; u != nil {
				u.ID = id
			}
		}
		return rows.Err()
	}
	e.sameSQL(b, op, raw)
	compare(b, nil, func(int) error { return op(e.store) }, func(int) error { return raw(e.pool) })
}

// claimSQL holds the statements of Claim and Finish, as the store sends
// them, in order: Claim's lock-runnable, batch start and audit events;
// Finish's jobs read, clusters lock, batch end and audit events.
type claimSQL struct {
	runnable, start, log   string
	get, lock, end, logEnd string
}

// jobTypes is every job type: a claim of any type.
var jobTypes = store.JobTypes()

// rawClaim is Store.Claim by hand, for a job that starts: the runnable
// job, then its lock, start and cluster move in one statement, then its
// audit event, in one transaction.
func rawClaim(e *benchEnv, p *pgxpool.Pool, q *claimSQL, worker string, ttl time.Duration) (*store.Claimed, error) {
	tx, err := p.BeginTx(e.ctx, readCommitted)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(e.ctx) }()
	var j store.Job
	var c clusterScan
	err = tx.QueryRow(e.ctx, q.runnable, nil, jobTypes, 1).Scan(append(jobDests(&j), c.dests()...)...)
	if err != nil {
		return nil, err
	}
	fixJob(&j)
	cluster := c.cluster()
	tr, _ := store.TransitionFor(j.JobType)
	to, ok := tr.StartStatus(cluster.Status, j.Attempt > 0)
	if !ok {
		return nil, fmt.Errorf("job %s cannot start from %s", j.ID, cluster.Status)
	}
	var ord int64
	var moved bool
	var l store.JobLock
	var started store.Job
	err = tx.QueryRow(e.ctx, q.start, []string{j.ID}, []string{cluster.ID}, []string{string(to)}, worker, nil, ttl).Scan(append(append([]any{&ord, &moved}, lockDests(&l)...), jobDests(&started)...)...)
	if err != nil {
		return nil, err
	}
	fixLock(&l)
	fixJob(&started)
	if moved {
		cluster.Status, cluster.UpdatedAt = to, started.UpdatedAt
	}
	if err := rawJobEvents(e, tx, q.log, worker, store.ActionJobStart, &started, &l, store.AuditSuccess); err != nil {
		return nil, err
	}
	return &store.Claimed{Job: &started, Cluster: cluster, Lock: &l}, tx.Commit(e.ctx)
}

// rawFinish is Store.Finish by hand, for a success: the job, its cluster
// locked, the fenced write with the cluster's end status and the release
// in one statement, the audit event, in one transaction.
func rawFinish(e *benchEnv, p *pgxpool.Pool, q *claimSQL, lock *store.JobLock) (*store.Job, error) {
	tx, err := p.BeginTx(e.ctx, readCommitted)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(e.ctx) }()
	var j store.Job
	if err := tx.QueryRow(e.ctx, q.get, []string{lock.JobID}).Scan(jobDests(&j)...); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(e.ctx, q.lock, []string{lock.ClusterID}); err != nil {
		return nil, err
	}
	tr, _ := store.TransitionFor(j.JobType)
	var ord int64
	var from *store.ClusterStatus
	var moved bool
	var done store.Job
	err = tx.QueryRow(e.ctx, q.end, []string{lock.ClusterID}, []string{lock.JobID}, []int64{lock.Token},
		[]string{string(store.JobSucceeded)}, []string{""}, []string{""}, []time.Duration{0}, []*string{nil},
		[]string{string(tr.Success)}, nil).
		Scan(append([]any{&ord, &from, &moved}, jobDests(&done)...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrLockLost
	}
	if err != nil {
		return nil, err
	}
	fixJob(&done)
	if from != nil && *from != tr.Success && !moved {
		return nil, fmt.Errorf("cluster %s did not move from %s to %s", lock.ClusterID, *from, tr.Success)
	}
	if err := rawJobEvents(e, tx, q.logEnd, lock.LockedBy, store.ActionJobSucceed, &done, lock, store.AuditSuccess); err != nil {
		return nil, err
	}
	return &done, tx.Commit(e.ctx)
}

// rawJobEvents logs a worker operation's audit event, as the store does:
// one element per column array.
func rawJobEvents(e *benchEnv, tx pgx.Tx, sql, actor, action string, j *store.Job, l *store.JobLock, status store.AuditStatus) error {
	md, _ := json.Marshal(map[string]string{"job_type": string(j.JobType), "job_status": string(j.Status),
		"attempt": strconv.Itoa(j.Attempt), "token": strconv.FormatInt(l.Token, 10)})
	var created time.Time
	return tx.QueryRow(e.ctx, sql, nil, []string{store.NewID(store.PrefixAudit)}, []string{actor}, []string{action},
		[]*string{&j.ClusterID}, []*string{&j.ID}, []*string{nil}, []string{string(status)}, []*string{new(string(md))},
		[]*string{nil}, []*string{nil}).Scan(&created)
}

// BenchmarkClaimFinish claims a CREATE job (its cluster moves to CREATING)
// and finishes it successfully (to READY): two transactions, seven
// statements besides BEGIN and COMMIT.
func BenchmarkClaimFinish(b *testing.B) {
	e := newBenchEnv(b)
	params := store.ClaimParams{WorkerID: "w1", LockTTL: time.Minute}
	// CREATE jobs on PENDING clusters: Claim moves the cluster to CREATING
	// and Finish to READY, so every statement of both runs.
	fixture := func(b *testing.B, n int) {
		clusters := e.copyClusters(b, n, func(int) store.ClusterStatus { return store.ClusterPending })
		e.copyJobs(b, clusters, 1, store.JobCreate)
		e.vacuum(b)
	}
	fixture(b, 3)
	op := func(s *store.Store) error {
		c, err := s.Claim(e.ctx, params)
		if err != nil {
			return err
		}
		_, err = s.Finish(e.ctx, c.Lock, store.Succeeded(nil))
		return err
	}
	stmts := e.sql(b, op)
	if len(stmts) != 11 {
		b.Fatalf("Claim and Finish sent %d statements, want 11: %q", len(stmts), stmts)
	}
	// stmts[0], [4], [5] and [10] are BEGIN and COMMIT, which pgx writes.
	q := &claimSQL{runnable: stmts[1], start: stmts[2], log: stmts[3],
		get: stmts[6], lock: stmts[7], end: stmts[8], logEnd: stmts[9]}
	raw := func(p *pgxpool.Pool) error {
		c, err := rawClaim(e, p, q, params.WorkerID, params.LockTTL)
		if err != nil {
			return err
		}
		_, err = rawFinish(e, p, q, c.Lock)
		return err
	}
	e.sameSQL(b, op, raw)
	// Each run claims and finishes jobs of its own, set up untimed.
	compare(b, fixture, func(int) error { return op(e.store) }, func(int) error { return raw(e.pool) })
}
