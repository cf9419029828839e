package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/ocpctl/ocpstore/store/postgres"
)

func queueCommand() *command {
	return &command{
		name:    "queue",
		summary: "unfinished jobs by type: runnable, retrying, running, stuck, oldest ages",
		about: `queue counts the unfinished jobs by type, on the database's clock
(postgres.QueueStats), each in one category:

  RUNNABLE  PENDING, or RETRYING whose retry time has passed; the age is how
            long the longest-waiting one has been runnable
  RETRYING  RETRYING with a retry time still ahead; the age is how long ago
            the longest-waiting one was set to retry
  RUNNING   RUNNING with a live lock; the age is the longest-running attempt's
  STUCK     RUNNING without a live lock (its worker stopped heartbeating);
            the age is the oldest such attempt's. "ocpstore recover" takes
            them back.

The table shows the types that have unfinished jobs and a total; -json lists
every type.`,
		timeout: time.Minute,
		bind: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				if len(args) != 0 {
					return usageError("unexpected arguments %q", args)
				}
				pool, err := s.connectMigrated(ctx)
				if err != nil {
					return err
				}
				defer pool.Close()
				report, err := postgres.QueueStats(ctx, pool)
				if err != nil {
					return err
				}
				if s.json {
					return s.writeJSON(queueJSON(report))
				}
				return queueTable(s, report)
			}
		},
	}
}

// countJSON is a postgres.QueueCount in -json output.
type countJSON struct {
	Count int `json:"count"`
	// Since and AgeSeconds are absent when Count is 0.
	Since      *time.Time `json:"since,omitempty"`
	AgeSeconds *float64   `json:"age_seconds,omitempty"`
}

func countOf(c postgres.QueueCount, at time.Time) countJSON {
	if c.Count == 0 {
		return countJSON{}
	}
	since, seconds := c.Since, c.Age(at).Seconds()
	return countJSON{Count: c.Count, Since: &since, AgeSeconds: &seconds}
}

type jobQueueJSON struct {
	JobType  string    `json:"job_type"`
	Runnable countJSON `json:"runnable"`
	Retrying countJSON `json:"retrying"`
	Running  countJSON `json:"running"`
	Stuck    countJSON `json:"stuck"`
}

type queueReportJSON struct {
	At       time.Time      `json:"at"`
	JobTypes []jobQueueJSON `json:"job_types"`
}

func queueJSON(r *postgres.QueueReport) queueReportJSON {
	out := queueReportJSON{At: r.At, JobTypes: []jobQueueJSON{}}
	for _, q := range r.ByType {
		out.JobTypes = append(out.JobTypes, jobQueueJSON{JobType: string(q.JobType),
			Runnable: countOf(q.Runnable, r.At), Retrying: countOf(q.Retrying, r.At),
			Running: countOf(q.Running, r.At), Stuck: countOf(q.Stuck, r.At)})
	}
	return out
}

// queueTable writes the types with unfinished jobs, and their total.
func queueTable(s *session, r *postgres.QueueReport) error {
	cells := func(c postgres.QueueCount) []string {
		if c.Count == 0 {
			return []string{"0", "-"}
		}
		return []string{fmt.Sprint(c.Count), age(c.Age(r.At))}
	}
	row := func(name string, q postgres.JobQueue) []string {
		r := []string{name}
		for _, c := range []postgres.QueueCount{q.Runnable, q.Retrying, q.Running, q.Stuck} {
			r = append(r, cells(c)...)
		}
		return r
	}
	var rows [][]string
	var total postgres.JobQueue
	for _, q := range r.ByType {
		if q.Runnable.Count+q.Retrying.Count+q.Running.Count+q.Stuck.Count == 0 {
			continue
		}
		rows = append(rows, row(string(q.JobType), q))
		add(&total.Runnable, q.Runnable)
		add(&total.Retrying, q.Retrying)
		add(&total.Running, q.Running)
		add(&total.Stuck, q.Stuck)
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(s.stdout, "no unfinished jobs")
		return err
	}
	rows = append(rows, row("TOTAL", total))
	return table(s.stdout, []string{"TYPE", "RUNNABLE", "OLDEST", "RETRYING", "OLDEST", "RUNNING", "OLDEST", "STUCK", "OLDEST"}, rows)
}

// add adds c to sum: the counts add up, the oldest Since wins.
func add(sum *postgres.QueueCount, c postgres.QueueCount) {
	if c.Count == 0 {
		return
	}
	if sum.Count == 0 || c.Since.Before(sum.Since) {
		sum.Since = c.Since
	}
	sum.Count += c.Count
}
