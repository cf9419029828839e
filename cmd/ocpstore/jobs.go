package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/postgres"
)

func jobsCommand() *command {
	return &command{
		name:    "jobs",
		args:    "CLUSTER_ID",
		summary: "a cluster's job history, oldest first",
		about: `jobs shows a cluster (its name and status) and its jobs in the order they
were created: type, status, attempts, when the latest attempt started and
ended, and the error of a failed or retrying job.`,
		timeout: time.Minute,
		bind: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			limit := fs.Int("limit", 100, "list at most this many jobs, the oldest")
			return func(ctx context.Context, s *session, args []string) error {
				if len(args) != 1 {
					return usageError("want one CLUSTER_ID, got %d arguments", len(args))
				}
				if *limit < 1 {
					return usageError("-limit must be at least 1")
				}
				pool, err := s.connectMigrated(ctx)
				if err != nil {
					return err
				}
				defer pool.Close()
				h, err := readHistory(ctx, postgres.New(pool), args[0], *limit)
				if err != nil {
					return err
				}
				if s.json {
					return s.writeJSON(h)
				}
				return historyTable(s, h)
			}
		},
	}
}

// jobJSON is a job in -json output.
type jobJSON struct {
	ID           string     `json:"id"`
	JobType      string     `json:"job_type"`
	Status       string     `json:"status"`
	Attempt      int        `json:"attempt"`
	MaxAttempts  int        `json:"max_attempts"`
	ErrorCode    *string    `json:"error_code,omitempty"`
	ErrorMessage *string    `json:"error_message,omitempty"`
	RetryAt      *time.Time `json:"retry_at,omitempty"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	EndedAt      *time.Time `json:"ended_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
}

// history is what jobs shows.
type history struct {
	ClusterID     string    `json:"cluster_id"`
	ClusterName   string    `json:"cluster_name"`
	ClusterStatus string    `json:"cluster_status"`
	Jobs          []jobJSON `json:"jobs"`
	// More is true when the cluster has more jobs than were listed.
	More bool `json:"more"`
}

// readHistory reads the cluster and up to limit of its jobs, oldest first,
// page by page.
func readHistory(ctx context.Context, s *store.Store, clusterID string, limit int) (*history, error) {
	c, err := s.Clusters.GetByID(ctx, clusterID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no cluster %q", clusterID)
	}
	if err != nil {
		return nil, err
	}
	h := &history{ClusterID: c.ID, ClusterName: c.Name, ClusterStatus: string(c.Status), Jobs: []jobJSON{}}
	cursor := ""
	for {
		page, err := s.Jobs.ListAfter(ctx, store.JobFilters{ClusterID: &c.ID, Limit: min(limit-len(h.Jobs), store.MaxLimit)}, cursor)
		if err != nil {
			return nil, err
		}
		for _, j := range page.Items {
			h.Jobs = append(h.Jobs, jobJSON{ID: j.ID, JobType: string(j.JobType), Status: string(j.Status),
				Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, ErrorCode: j.ErrorCode, ErrorMessage: j.ErrorMessage,
				RetryAt: j.RetryAt, StartedAt: j.StartedAt, EndedAt: j.EndedAt, CreatedAt: j.CreatedAt})
		}
		cursor = page.Next
		if cursor == "" {
			return h, nil
		}
		if len(h.Jobs) == limit {
			h.More = true
			return h, nil
		}
	}
}

// historyTable writes the cluster and its jobs.
func historyTable(s *session, h *history) error {
	fmt.Fprintf(s.stdout, "cluster %s (%s) is %s\n\n", h.ClusterID, h.ClusterName, h.ClusterStatus)
	if len(h.Jobs) == 0 {
		_, err := fmt.Fprintln(s.stdout, "no jobs")
		return err
	}
	var rows [][]string
	for _, j := range h.Jobs {
		errText := ""
		if j.ErrorCode != nil {
			errText = *j.ErrorCode
		}
		if j.ErrorMessage != nil {
			errText += ": " + *j.ErrorMessage
		}
		rows = append(rows, []string{timestamp(&j.CreatedAt), j.ID, j.JobType, j.Status,
			fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts), timestamp(j.StartedAt), timestamp(j.EndedAt), orDash(errText)})
	}
	if err := table(s.stdout, []string{"CREATED", "JOB", "TYPE", "STATUS", "ATTEMPT", "STARTED", "ENDED", "ERROR"}, rows); err != nil {
		return err
	}
	if h.More {
		fmt.Fprintf(s.stdout, "\n(the oldest %d shown; raise -limit for more)\n", len(h.Jobs))
	}
	return nil
}
