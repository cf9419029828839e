package postgres

// The waiting mark (migration 0006) keeps a claim from walking a hot
// cluster's backlog: jobs_runnable_idx leaves out jobs marked waiting, so
// the claim query only visits the jobs that may be heads. Two fragments
// keep it, each a data-modifying CTE in the statement that changes what
// the mark depends on:
//
//   - markWaiting, in the claim's batch start: when a cluster's head
//     starts, its newer pending and retrying jobs are queued behind it.
//     The statement runs after the claim query locked the cluster's row,
//     in the same transaction, so its snapshot has every job committed
//     before that; and the head it started cannot end (and no other job of
//     the cluster can start) before the claim commits and hands out the
//     lock's token. So a job is never marked while the job it waits for is
//     ending.
//   - unmarkOldest, in every statement that ends a job (the batch end, the
//     fenced writes, Cancel, the claim's rejects, RecoverStuck's abandon):
//     the cluster's oldest marked job loses its mark, which is the new head
//     whenever the new head is marked. Each of them runs after a statement
//     of its own locked the cluster's row, so the ends on one cluster are
//     serialized and each takes its snapshot after the one before
//     committed: two ends of consecutive jobs at once would otherwise each
//     see the other's job unfinished and leave the job after both marked
//     (TestQueueMarksTwoCancelsOfConsecutiveJobs and
//     TestQueueMarksFinishAndCancelOfTheNextJob).
//
// A head is therefore never marked, and a marked job is never runnable:
// the mark only hides jobs the claim query would reject. A job created
// while its cluster's head runs is not marked (nothing orders it against
// that head's end) and is walked and rejected as before, until the next
// head starts.

// markWaiting renders the CTE name that marks waiting the pending and
// retrying jobs queued behind the started jobs of started (a relation with
// columns id, cluster_id and created_at): those of the same cluster and
// newer. Not an older one: it can only be there because it committed
// after the claim query looked (its transaction began first), and then it
// is its cluster's head, which a mark would hide for good if the started
// job retried (TestQueueMarksSkipAnOlderJobCommittedDuringTheClaim).
//
// Rows another transaction has locked are skipped, not waited for: a mark
// only spares the claims a walk, and a claim that waited here for a job
// row, holding the cluster's row, could deadlock with a transaction that
// locked that job (MarkStarted in the manual pattern) and then waits for
// the cluster's row or its lock row.
func markWaiting(name, started string) string {
	return name + " AS (UPDATE jobs q SET waiting = true FROM (SELECT o.id FROM jobs o JOIN " + started + " h" +
		" ON o.cluster_id = h.cluster_id AND (o.created_at, o.id) > (h.created_at, h.id)" +
		" WHERE o.status IN (" + startableSQL + ") AND NOT o.waiting FOR NO KEY UPDATE OF o SKIP LOCKED) k" +
		" WHERE q.id = k.id)"
}

// unmarkOldest renders the CTE name that clears the waiting mark of the
// oldest marked unfinished job (by created_at, id) of the cluster of each
// job of written (a relation of written jobs, with columns id, cluster_id
// and the status written) whose status is final. When the ended job was
// the head, the new head is the cluster's oldest unfinished job, so if it
// is marked it is the oldest marked one; when it is not marked, the job
// unmarked is one the claim query walks and rejects until the next head
// starts, which costs only time. Taking the oldest marked job, rather than
// the oldest unfinished one, is what keeps a caller's REPEATABLE READ or
// SERIALIZABLE transaction safe: its snapshot may predate another end on
// the cluster, and then the job it names as next may have ended, while the
// oldest marked job is either still marked (and unmarked here) or was
// changed by that other end (and this write fails with a serialization
// error). The statement's snapshot still shows the written jobs
// unfinished, so they are excluded by ID. It assumes one ended job per
// cluster per statement (the batch end can end only the job holding the
// cluster's one lock): two would pick the same job and one unmark would
// be lost.
func unmarkOldest(name, written string) string {
	return name + " AS (UPDATE jobs n SET waiting = false FROM " + written + " e" +
		" WHERE e.status NOT IN (" + activeSQL + ") AND n.id = (SELECT o.id FROM jobs o" +
		" WHERE o.cluster_id = e.cluster_id AND o.status IN (" + activeSQL + ") AND o.waiting AND o.id <> e.id" +
		" ORDER BY o.created_at, o.id LIMIT 1))"
}
