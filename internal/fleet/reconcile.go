package fleet

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/ocpctl/ocpstore/store"
)

// reconcileClaim finds out whether a Claim made at call, whose outcome was
// unknown, granted a job (see Worker). It returns the lock when the claim
// committed and the lock is still the worker's, having logged the grant as
// recovered; nil when the claim did not commit, or committed but the lock
// is gone (logged as KindGrantLost), or ctx ended.
func (w *Worker) reconcileClaim(ctx context.Context, call int64) *store.JobLock {
	action := store.ActionJobStart
	var newest *store.AuditEvent
	if !w.read(ctx, "reconcile claim", func() error {
		evs, _, err := w.Store.Audit.List(ctx, store.AuditFilters{Actor: &w.ID, Action: &action, Limit: 1})
		if len(evs) > 0 {
			newest = evs[0]
		}
		return err
	}) || newest == nil || newest.TargetJobID == nil || newest.TargetClusterID == nil {
		return nil
	}
	token, err := strconv.ParseInt(newest.Metadata["token"], 10, 64)
	if err != nil {
		w.failed("reconcile claim", err)
		return nil
	}
	jobID, clusterID := *newest.TargetJobID, *newest.TargetClusterID
	if w.last != nil && w.last.JobID == jobID && w.last.Token == token {
		return nil // the newest start is one the worker knew: the claim did not commit
	}
	var lock *store.JobLock
	if !w.read(ctx, "reconcile claim", func() error {
		l, err := w.Store.JobLocks.Get(ctx, clusterID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		lock = l
		return err
	}) {
		return nil
	}
	attempt, _ := strconv.Atoi(newest.Metadata["attempt"])
	if lock == nil || lock.Token != token || lock.JobID != jobID || lock.LockedBy != w.ID {
		w.last = &store.JobLock{ClusterID: clusterID, JobID: jobID, LockedBy: w.ID, Token: token}
		w.Log.Add(Event{Kind: KindGrantLost, Worker: w.ID, Cluster: clusterID, Job: jobID, Token: token,
			Attempt: attempt, Recovered: true, Call: call, Ack: now()})
		return nil
	}
	w.granted(lock, attempt, call, true)
	return lock
}

// endActions are the audit actions of Finish's writes.
var endActions = []string{store.ActionJobSucceed, store.ActionJobFail, store.ActionJobRetry}

// finishApplied finds out whether a Finish with lock, whose outcome was
// unknown, applied: whether the job has the end event Finish writes in its
// transaction, by this worker, with this token. It returns the job status
// that Finish wrote. applied is false when it did not apply, or ctx ended.
func (w *Worker) finishApplied(ctx context.Context, lock *store.JobLock) (status string, applied bool) {
	want := strconv.FormatInt(lock.Token, 10)
	w.read(ctx, "reconcile finish", func() error {
		evs, _, err := w.Store.Audit.List(ctx, store.AuditFilters{JobID: &lock.JobID, Actor: &w.ID, Limit: 50})
		for _, ev := range evs {
			if slices.Contains(endActions, ev.Action) && ev.Metadata["token"] == want {
				status, applied = ev.Metadata["job_status"], true
			}
		}
		return err
	})
	return status, applied
}

// read runs a reconciling read until it succeeds, pausing after each
// failure; false if ctx ended first.
func (w *Worker) read(ctx context.Context, op string, fn func() error) bool {
	for failures := 0; ; failures++ {
		err := fn()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		w.failed(op, err)
		if !sleep(ctx, backoff(failures)) {
			return false
		}
	}
}
