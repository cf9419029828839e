package memory

import (
	"context"
	"slices"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

var _ store.QueueStatsExecutor = executor{}

// JobsQueueStats implements store.QueueStatsExecutor: the unfinished jobs
// by type and category, from one view and one reading of the clock, with
// the categories PostgreSQL's query uses.
func (s executor) JobsQueueStats(ctx context.Context) (*store.QueueReport, error) {
	var out *store.QueueReport
	err := s.via.read(ctx, func(v *dbView) error {
		now := s.b.now()
		types := store.JobTypes()
		out = &store.QueueReport{At: now, ByType: make([]store.JobQueue, len(types))}
		for i, t := range types {
			out.ByType[i].JobType = t
		}
		for _, status := range []store.JobStatus{store.JobPending, store.JobRetrying, store.JobRunning} {
			for _, j := range v.jobs.in(v.db.jobStatus, string(status)) {
				i := slices.Index(types, j.JobType)
				if i < 0 {
					continue
				}
				q := &out.ByType[i]
				switch {
				case j.Status == store.JobPending:
					note(&q.Runnable, j.CreatedAt)
				case j.Status == store.JobRetrying && j.RetryAt != nil && !j.RetryAt.After(now):
					note(&q.Runnable, *j.RetryAt)
				case j.Status == store.JobRetrying:
					note(&q.Retrying, j.UpdatedAt)
				default:
					c := &q.Stuck
					if l := v.locks.get(j.ClusterID); l != nil && l.JobID == j.ID && now.Before(l.ExpiresAt) {
						c = &q.Running
					}
					c.Count++
					if j.StartedAt != nil && (c.Since.IsZero() || j.StartedAt.Before(c.Since)) {
						c.Since = *j.StartedAt
					}
				}
			}
		}
		return nil
	})
	return out, err
}

// note counts one job in c that entered it at since.
func note(c *store.QueueCount, since time.Time) {
	c.Count++
	if c.Since.IsZero() || since.Before(c.Since) {
		c.Since = since
	}
}
