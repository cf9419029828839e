package fleet

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ocpctl/ocpstore/store"
)

// Snapshot is what the database holds at the end of a run, as far as Check
// needs it.
type Snapshot struct {
	Clusters map[string]bool       // cluster IDs
	Jobs     map[string]*store.Job // by ID
	// Events are the job audit events (job.start, .succeed, .fail, .retry,
	// .requeue, .reject), oldest first.
	Events []AuditRecord
}

// AuditRecord is a job audit event in the terms Check uses.
type AuditRecord struct {
	ID, Action, Actor, Cluster, Job string
	Token                           int64 // 0 when the event carries none
	JobStatus                       string
}

// jobActions are the audit actions of the worker operations.
var jobActions = map[string]bool{store.ActionJobStart: true, store.ActionJobSucceed: true, store.ActionJobFail: true,
	store.ActionJobRetry: true, store.ActionJobRequeue: true, store.ActionJobReject: true}

// ReadSnapshot reads every cluster, job and job audit event through s.
func ReadSnapshot(ctx context.Context, s *store.Store) (*Snapshot, error) {
	snap := &Snapshot{Clusters: map[string]bool{}, Jobs: map[string]*store.Job{}}
	err := pages(func(cursor string) (string, error) {
		p, err := s.Clusters.ListAfter(ctx, store.ClusterFilters{Limit: store.MaxLimit}, cursor)
		for _, c := range p.Items {
			snap.Clusters[c.ID] = true
		}
		return p.Next, err
	})
	if err != nil {
		return nil, fmt.Errorf("read clusters: %w", err)
	}
	err = pages(func(cursor string) (string, error) {
		p, err := s.Jobs.ListAfter(ctx, store.JobFilters{Limit: store.MaxLimit}, cursor)
		for _, j := range p.Items {
			snap.Jobs[j.ID] = j
		}
		return p.Next, err
	})
	if err != nil {
		return nil, fmt.Errorf("read jobs: %w", err)
	}
	var newestFirst []AuditRecord
	err = pages(func(cursor string) (string, error) {
		p, err := s.Audit.ListAfter(ctx, store.AuditFilters{Limit: store.MaxLimit}, cursor)
		for _, e := range p.Items {
			if !jobActions[e.Action] || e.TargetJobID == nil || e.TargetClusterID == nil {
				continue
			}
			r := AuditRecord{ID: e.ID, Action: e.Action, Actor: e.Actor, Cluster: *e.TargetClusterID,
				Job: *e.TargetJobID, JobStatus: e.Metadata["job_status"]}
			if t, ok := e.Metadata["token"]; ok {
				if r.Token, err = strconv.ParseInt(t, 10, 64); err != nil {
					return "", fmt.Errorf("audit event %s: token %q: %w", e.ID, t, err)
				}
			}
			newestFirst = append(newestFirst, r)
		}
		return p.Next, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit events: %w", err)
	}
	for i := len(newestFirst) - 1; i >= 0; i-- {
		snap.Events = append(snap.Events, newestFirst[i])
	}
	return snap, nil
}

// pages calls page with "" and then each next cursor it returns, until
// there is none.
func pages(page func(cursor string) (next string, err error)) error {
	for cursor := ""; ; {
		next, err := page(cursor)
		if err != nil || next == "" {
			return err
		}
		cursor = next
	}
}
