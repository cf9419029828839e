package storetest

import (
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// The string fields of clusters, jobs and the worker operations, for
// testHostileStrings.

// createAndGet creates the valid cluster mod makes and reads it back.
func createAndGet(b *bundle, mod func(*store.Cluster)) (*store.Cluster, error) {
	c := validCluster(mod)
	if err := b.s.Clusters.Create(b.ctx, c); err != nil {
		return nil, err
	}
	return b.s2.Clusters.GetByID(b.ctx, c.ID)
}

// clusterField is a cluster string field written by Create.
func clusterField(field string, max int, required bool, set func(*store.Cluster, string), get func(*store.Cluster) string) stringField {
	return stringField{op: "Create", field: field, max: max, required: required,
		write: func(b *bundle, _ *hostileFixture, _ target, v string) (string, error) {
			c, err := createAndGet(b, func(c *store.Cluster) { set(c, v) })
			if err != nil {
				return "", err
			}
			return get(c), nil
		}}
}

// tagFields are the key and the value fields of a tag map that write
// stores (on the prepared target, when prepare is set) and reads back.
func tagFields(op, field string, prepare func(*bundle, *hostileFixture) (target, error),
	write func(b *bundle, fx *hostileFixture, tg target, tags map[string]string) (map[string]string, error)) []stringField {
	return []stringField{
		{op: op, field: field + " key", max: store.MaxNameLen, required: true, prepare: prepare, core: prepare != nil,
			write: func(b *bundle, fx *hostileFixture, tg target, v string) (string, error) {
				got, err := write(b, fx, tg, map[string]string{v: "value"})
				if err != nil || len(got) != 1 || got[v] != "value" {
					return fmt.Sprint(got), err
				}
				return v, nil
			}},
		{op: op, field: field + "[k]", max: store.MaxTextLen, prepare: prepare, core: prepare != nil,
			write: func(b *bundle, fx *hostileFixture, tg target, v string) (string, error) {
				got, err := write(b, fx, tg, map[string]string{"k": v})
				if err != nil || len(got) != 1 {
					return fmt.Sprint(got), err
				}
				return got["k"], nil
			}},
	}
}

func clusterStringFields() []stringField {
	type c = store.Cluster
	fields := []stringField{
		{op: "Create", field: "cluster.id", max: store.MaxIDLen, required: true, assigned: true,
			write: func(b *bundle, _ *hostileFixture, _ target, v string) (string, error) {
				got, err := createAndGet(b, func(c *c) { c.ID = v })
				if err != nil {
					return "", err
				}
				return got.ID, nil
			}},
		clusterField("cluster.name", store.MaxNameLen, true, func(c *c, v string) {
			c.Name, c.BaseDomain = v, ptr(uniq("d")) // unique among active clusters
		}, func(c *c) string { return c.Name }),
		clusterField("cluster.version", store.MaxNameLen, true, func(c *c, v string) { c.Version = v }, func(c *c) string { return c.Version }),
		clusterField("cluster.profile", store.MaxNameLen, true, func(c *c, v string) { c.Profile = v }, func(c *c) string { return c.Profile }),
		clusterField("cluster.region", store.MaxNameLen, true, func(c *c, v string) { c.Region = v }, func(c *c) string { return c.Region }),
		clusterField("cluster.base_domain", store.MaxNameLen, false, func(c *c, v string) { c.BaseDomain = &v },
			func(c *c) string { return deref(c.BaseDomain) }),
		clusterField("cluster.owner", store.MaxNameLen, true, func(c *c, v string) { c.Owner = v }, func(c *c) string { return c.Owner }),
		clusterField("cluster.team", store.MaxNameLen, true, func(c *c, v string) { c.Team = v }, func(c *c) string { return c.Team }),
		clusterField("cluster.cost_center", store.MaxNameLen, true, func(c *c, v string) { c.CostCenter = v },
			func(c *c) string { return c.CostCenter }),
		clusterField("cluster.requested_by", store.MaxNameLen, true, func(c *c, v string) { c.RequestedBy = v },
			func(c *c) string { return c.RequestedBy }),
		clusterField("cluster.ssh_public_key", store.MaxTextLen, false, func(c *c, v string) { c.SSHPublicKey = &v },
			func(c *c) string { return deref(c.SSHPublicKey) }),
		clusterField("cluster.credentials_mode", store.MaxNameLen, false, func(c *c, v string) { c.CredentialsMode = &v },
			func(c *c) string { return deref(c.CredentialsMode) }),
		{op: "Update", field: "update.credentials_mode", max: store.MaxNameLen,
			write: func(b *bundle, fx *hostileFixture, _ target, v string) (string, error) {
				if _, err := b.s.Clusters.Update(b.ctx, fx.cluster.ID, store.ClusterUpdate{CredentialsMode: &v}); err != nil {
					return "", err
				}
				got, err := b.s2.Clusters.GetByID(b.ctx, fx.cluster.ID)
				if err != nil {
					return "", err
				}
				return deref(got.CredentialsMode), nil
			}},
	}
	fields = append(fields, tagFields("Create", "cluster.request_tags", nil,
		func(b *bundle, _ *hostileFixture, _ target, tags map[string]string) (map[string]string, error) {
			got, err := createAndGet(b, func(c *c) { c.RequestTags = tags })
			if err != nil {
				return nil, err
			}
			return got.RequestTags, nil
		})...)
	fields = append(fields, tagFields("Create", "cluster.effective_tags", nil,
		func(b *bundle, _ *hostileFixture, _ target, tags map[string]string) (map[string]string, error) {
			got, err := createAndGet(b, func(c *c) { c.EffectiveTags = tags })
			if err != nil {
				return nil, err
			}
			return got.EffectiveTags, nil
		})...)
	return append(fields, tagFields("Update", "update.effective_tags", nil,
		func(b *bundle, fx *hostileFixture, _ target, tags map[string]string) (map[string]string, error) {
			if _, err := b.s.Clusters.Update(b.ctx, fx.cluster.ID, store.ClusterUpdate{EffectiveTags: &tags}); err != nil {
				return nil, err
			}
			got, err := b.s2.Clusters.GetByID(b.ctx, fx.cluster.ID)
			if err != nil {
				return nil, err
			}
			return got.EffectiveTags, nil
		})...)
}

// pendingJob prepares a PENDING job on the fixture's cluster.
func pendingJob(b *bundle, fx *hostileFixture) (target, error) {
	j := &store.Job{ClusterID: fx.cluster.ID, JobType: store.JobPostConfigure}
	err := b.s.Jobs.Create(b.ctx, j)
	return target{jobID: j.ID}, err
}

// runningJob prepares a RUNNING job on a new READY cluster, with its lock.
func runningJob(b *bundle, _ *hostileFixture) (target, error) {
	c := validCluster(withStatus(store.ClusterReady))
	if err := b.s.Clusters.Create(b.ctx, c); err != nil {
		return target{}, err
	}
	j := &store.Job{ClusterID: c.ID, JobType: store.JobPostConfigure}
	if err := b.s.Jobs.Create(b.ctx, j); err != nil {
		return target{}, err
	}
	l, err := b.s.JobLocks.Acquire(b.ctx, c.ID, j.ID, "w", time.Hour)
	if err != nil {
		return target{}, err
	}
	_, err = b.s.Jobs.MarkStarted(b.ctx, j.ID)
	return target{jobID: j.ID, lock: l}, err
}

// jobAfter reads the prepared job back.
func jobAfter(b *bundle, tg target) (*store.Job, error) { return b.s2.Jobs.GetByID(b.ctx, tg.jobID) }

// jobErrorFields are the code and message fields of a job write that
// records an error: write makes it on the prepared job.
func jobErrorFields(op string, prepare func(*bundle, *hostileFixture) (target, error),
	write func(b *bundle, tg target) func(code, message string) error) []stringField {
	field := func(name string, max int, required bool, args func(v string) (code, msg string), get func(*store.Job) *string) stringField {
		return stringField{op: op, field: name, max: max, required: required, prepare: prepare, core: true,
			write: func(b *bundle, _ *hostileFixture, tg target, v string) (string, error) {
				if err := write(b, tg)(args(v)); err != nil {
					return "", err
				}
				j, err := jobAfter(b, tg)
				if err != nil {
					return "", err
				}
				return deref(get(j)), nil
			}}
	}
	code := field("code", store.MaxErrorCodeLen, true, func(v string) (string, string) { return v, "message" },
		func(j *store.Job) *string { return j.ErrorCode })
	msg := field("message", store.MaxTextLen, false, func(v string) (string, string) { return "CODE", v },
		func(j *store.Job) *string { return j.ErrorMessage })
	return []stringField{code, msg}
}

func jobStringFields() []stringField {
	fields := []stringField{
		{op: "Create", field: "job.id", max: store.MaxIDLen, required: true, assigned: true,
			write: func(b *bundle, fx *hostileFixture, _ target, v string) (string, error) {
				if err := b.s.Jobs.Create(b.ctx, &store.Job{ID: v, ClusterID: fx.cluster.ID, JobType: store.JobPostConfigure}); err != nil {
					return "", err
				}
				got, err := b.s2.Jobs.GetByID(b.ctx, v)
				if err != nil {
					return "", err
				}
				return got.ID, nil
			}},
	}
	fields = append(fields, tagFields("Create", "job.metadata", nil,
		func(b *bundle, fx *hostileFixture, _ target, md map[string]string) (map[string]string, error) {
			j := &store.Job{ClusterID: fx.cluster.ID, JobType: store.JobPostConfigure, Metadata: md}
			if err := b.s.Jobs.Create(b.ctx, j); err != nil {
				return nil, err
			}
			got, err := jobAfter(b, target{jobID: j.ID})
			if err != nil {
				return nil, err
			}
			return got.Metadata, nil
		})...)
	fields = append(fields, tagFields("MarkSucceeded", "metadata", runningJob,
		func(b *bundle, _ *hostileFixture, tg target, md map[string]string) (map[string]string, error) {
			if _, err := b.s.Jobs.MarkSucceeded(b.ctx, tg.lock, md); err != nil {
				return nil, err
			}
			got, err := jobAfter(b, tg)
			if err != nil {
				return nil, err
			}
			return got.Metadata, nil
		})...)
	fields = append(fields, jobErrorFields("Cancel", pendingJob, func(b *bundle, tg target) func(string, string) error {
		return func(code, msg string) error {
			_, err := b.s.Jobs.Cancel(b.ctx, tg.jobID, code, msg)
			return err
		}
	})...)
	fields = append(fields, jobErrorFields("MarkFailed", runningJob, func(b *bundle, tg target) func(string, string) error {
		return func(code, msg string) error {
			_, err := b.s.Jobs.MarkFailed(b.ctx, tg.lock, code, msg)
			return err
		}
	})...)
	return append(fields, jobErrorFields("MarkRetry", runningJob, func(b *bundle, tg target) func(string, string) error {
		return func(code, msg string) error {
			_, err := b.s.Jobs.MarkRetry(b.ctx, tg.lock, code, msg, time.Minute)
			return err
		}
	})...)
}

// hibernateJob prepares a runnable HIBERNATE job on a new READY cluster,
// for Claim (the other fixtures' jobs are of other types).
func hibernateJob(b *bundle, _ *hostileFixture) (target, error) {
	c := validCluster(withStatus(store.ClusterReady))
	if err := b.s.Clusters.Create(b.ctx, c); err != nil {
		return target{}, err
	}
	j := &store.Job{ClusterID: c.ID, JobType: store.JobHibernate}
	err := b.s.Jobs.Create(b.ctx, j)
	return target{jobID: j.ID}, err
}

// stuckJob prepares a RUNNING job whose lock has expired.
func stuckJob(b *bundle, _ *hostileFixture) (target, error) {
	tg, err := hibernateJob(b, nil)
	if err != nil {
		return tg, err
	}
	j, err := b.s.Jobs.GetByID(b.ctx, tg.jobID)
	if err != nil {
		return tg, err
	}
	if tg.lock, err = b.s.JobLocks.Acquire(b.ctx, j.ClusterID, j.ID, "w", time.Second); err != nil {
		return tg, err
	}
	if _, err = b.s.Jobs.MarkStarted(b.ctx, j.ID); err != nil {
		return tg, err
	}
	b.clock.Advance(2 * time.Second)
	return tg, nil
}

// workerStringFields are the strings of the worker operations: who claims,
// locks and recovers (also recorded as audit actors), and the outcome
// Finish records.
func workerStringFields() []stringField {
	fields := []stringField{
		{op: "Claim", field: "worker_id", max: store.MaxNameLen, required: true, prepare: hibernateJob, core: true,
			write: func(b *bundle, _ *hostileFixture, _ target, v string) (string, error) {
				claimed, err := b.s.Claim(b.ctx, store.ClaimParams{WorkerID: v, LockTTL: time.Hour,
					JobTypes: []store.JobType{store.JobHibernate}})
				if err != nil {
					return "", err
				}
				l, err := b.s2.JobLocks.Get(b.ctx, claimed.Lock.ClusterID)
				if err != nil {
					return "", err
				}
				return auditActor(b, claimed.Job.ID, store.ActionJobStart, l.LockedBy)
			}},
		{op: "Acquire", field: "worker_id", max: store.MaxNameLen, required: true, prepare: hibernateJob, core: true,
			write: func(b *bundle, _ *hostileFixture, tg target, v string) (string, error) {
				j, err := b.s.Jobs.GetByID(b.ctx, tg.jobID)
				if err != nil {
					return "", err
				}
				if _, err := b.s.JobLocks.Acquire(b.ctx, j.ClusterID, j.ID, v, time.Hour); err != nil {
					return "", err
				}
				l, err := b.s2.JobLocks.Get(b.ctx, j.ClusterID)
				if err != nil {
					return "", err
				}
				return l.LockedBy, nil
			}},
		{op: "RecoverStuck", field: "actor", max: store.MaxARNLen, required: true, prepare: stuckJob, core: true,
			write: func(b *bundle, _ *hostileFixture, tg target, v string) (string, error) {
				if _, err := b.s.RecoverStuck(b.ctx, v, store.MaxLimit); err != nil {
					return "", err
				}
				return auditActor(b, tg.jobID, store.ActionJobRequeue, "")
			}},
	}
	fields = append(fields, jobErrorFields("Finish(Failed)", runningJob, func(b *bundle, tg target) func(string, string) error {
		return func(code, msg string) error {
			_, err := b.s.Finish(b.ctx, tg.lock, store.Failed(code, msg))
			return err
		}
	})...)
	fields = append(fields, jobErrorFields("Finish(Retry)", runningJob, func(b *bundle, tg target) func(string, string) error {
		return func(code, msg string) error {
			_, err := b.s.Finish(b.ctx, tg.lock, store.Retry(code, msg, time.Minute))
			return err
		}
	})...)
	return append(fields, tagFields("Finish(Succeeded)", "metadata", runningJob,
		func(b *bundle, _ *hostileFixture, tg target, md map[string]string) (map[string]string, error) {
			if _, err := b.s.Finish(b.ctx, tg.lock, store.Succeeded(md)); err != nil {
				return nil, err
			}
			got, err := jobAfter(b, tg)
			if err != nil {
				return nil, err
			}
			return got.Metadata, nil
		})...)
}

// auditActor returns the actor of the job's one event with action, after
// checking it is want when want is not empty.
func auditActor(b *bundle, jobID, action, want string) (string, error) {
	evs, _, err := b.s2.Audit.List(b.ctx, store.AuditFilters{JobID: &jobID, Action: &action})
	if err != nil {
		return "", err
	}
	if len(evs) != 1 {
		return "", fmt.Errorf("job %s has %d %s events, want 1", jobID, len(evs), action)
	}
	if want != "" && evs[0].Actor != want {
		return "", fmt.Errorf("event actor %q, want %q", evs[0].Actor, want)
	}
	return evs[0].Actor, nil
}
