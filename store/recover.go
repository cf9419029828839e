package store

import (
	"context"
	"errors"
	"fmt"
)

// RecoverStuck is the janitor's pass over work whose worker died: for up to
// limit jobs from JobStore.ListStuck it requeues the job (JobStore.Requeue),
// moves the cluster to the job's failure status when the job had no
// attempts left, and records an audit event, one transaction per job. A job
// whose holder came back meanwhile is left alone. It returns how many jobs
// it requeued or failed.
func (s *Store) RecoverStuck(ctx context.Context, actor string, limit int) (int, error) {
	return call(s, ctx, "Store.RecoverStuck", func(ctx context.Context, x Executor) (int, error) {
		var k checker
		if k.required("actor", actor, MaxARNLen); k.err != nil { // the audit events' actor
			return 0, k.err
		}
		if limit <= 0 || limit > MaxLimit {
			return 0, invalid("limit", "must be between 1 and %d", MaxLimit)
		}
		stuck, err := x.JobListStuck(ctx, limit)
		if err != nil {
			return 0, fmt.Errorf("recover stuck jobs: %w", err)
		}
		n := 0
		for _, j := range stuck {
			err := s.WithTx(ctx, func(ctx context.Context, tx *Store) error { return tx.requeue(ctx, actor, j.ID) })
			switch {
			case err == nil:
				n++
			case errors.Is(err, ErrConflict), errors.Is(err, ErrInvalidStateTransition):
				// The holder heartbeated again or the job moved on: not stuck.
			default:
				return n, fmt.Errorf("recover stuck job %s: %w", j.ID, err)
			}
		}
		return n, nil
	})
}

// requeue is one job of RecoverStuck, in s's transaction: the requeue, the
// cluster's failure status when the job failed, the audit event.
func (s *Store) requeue(ctx context.Context, actor, id string) error {
	job, err := s.x.JobRequeue(ctx, id)
	if err != nil {
		return err
	}
	if job.Status == JobFailed {
		tr, _ := TransitionFor(job.JobType)
		c, err := s.x.ClusterGetByIDForUpdate(ctx, job.ClusterID)
		if err != nil {
			return err
		}
		if c.Status != tr.Failure {
			if _, err := s.x.ClusterUpdateStatus(ctx, job.ClusterID, tr.Failure); err != nil {
				return err
			}
		}
	}
	return s.x.AuditInsert(ctx, JobAuditEvent(NewID(PrefixAudit), actor, ActionJobRequeue, job, nil, AuditSuccess))
}
