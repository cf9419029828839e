package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// jobCounts is how many jobs the store holds in each status.
type jobCounts map[store.JobStatus]int

// active is the number of jobs not yet terminal.
func (c jobCounts) active() int {
	return c[store.JobPending] + c[store.JobRunning] + c[store.JobRetrying]
}

// done is the number of terminal jobs.
func (c jobCounts) done() int { return c[store.JobSucceeded] + c[store.JobFailed] }

// countJobs counts the store's jobs by status (List's total, one page of one row).
func countJobs(ctx context.Context, s *store.Store) (jobCounts, error) {
	out := make(jobCounts)
	for _, st := range store.JobStatuses() {
		_, n, err := s.Jobs.List(ctx, store.JobFilters{Status: &st, Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("count %s jobs: %w", st, err)
		}
		out[st] = n
	}
	return out, nil
}

// progress shows the run as it goes: one line rewritten in place on a
// terminal, or a plain line every plainEvery on anything else (a pipe, a
// log file), so logs stay readable. finish shows the final state either way.
type progress struct {
	w     io.Writer // nil: show nothing
	live  bool
	total int
	c     *counters
	start time.Time
	last  time.Time // when a plain line was last printed
	line  string    // the latest line
	shown string    // the latest plain line printed
	width int       // the width of the live line on screen, to blank its tail
}

// plainEvery is how often a plain progress line is printed.
const plainEvery = time.Second

// newProgress returns a display of the run on w (nil: none); live rewrites
// one line in place.
func newProgress(w io.Writer, live bool, total int, c *counters) *progress {
	now := time.Now()
	return &progress{w: w, live: live, total: total, c: c, start: now, last: now}
}

// update records snap and shows it if it is time to.
func (p *progress) update(snap jobCounts) {
	if p.w == nil {
		return
	}
	p.line = p.format(snap)
	switch {
	case p.live:
		fmt.Fprintf(p.w, "\r%s%s", p.line, strings.Repeat(" ", max(0, p.width-len(p.line))))
		p.width = len(p.line)
	case time.Since(p.last) >= plainEvery:
		p.last, p.shown = time.Now(), p.line
		fmt.Fprintln(p.w, p.line)
	}
}

// finish ends the live line, or prints the final plain line.
func (p *progress) finish() {
	switch {
	case p.w == nil || p.line == "":
	case p.live:
		fmt.Fprintln(p.w)
	case p.line != p.shown:
		fmt.Fprintln(p.w, p.line)
	}
}

// format formats one progress line.
func (p *progress) format(snap jobCounts) string {
	elapsed := time.Since(p.start)
	rate := float64(snap.done()) / max(elapsed.Seconds(), 1e-3)
	return fmt.Sprintf("%5.1fs  done %d/%d  running %d  retrying %d  failed %d  fenced %d  %.1f jobs/s",
		elapsed.Seconds(), snap.done(), p.total, snap[store.JobRunning], snap[store.JobRetrying],
		snap[store.JobFailed], p.c.refusals.Load(), rate)
}
