package store

import "slices"

// Transition is one row of the cluster state machine: what a job type does
// to its cluster's status.
type Transition struct {
	JobType JobType
	// From lists the statuses a job of this type may start from.
	From []ClusterStatus
	// Running is the status while the job runs (equal to From's only
	// element for day-2 jobs, which do not change the status).
	Running ClusterStatus
	// Steps are further in-progress statuses the running job may move the
	// cluster through, in order (DESTROY: DESTROY_VERIFYING).
	Steps []ClusterStatus
	// Success and Failure are the statuses the job ends in.
	Success ClusterStatus
	Failure ClusterStatus
}

// day2 is a job that needs a READY cluster and leaves it READY.
func day2(t JobType) Transition {
	return Transition{JobType: t, From: []ClusterStatus{ClusterReady}, Running: ClusterReady,
		Success: ClusterReady, Failure: ClusterReady}
}

// destroyFrom lists the statuses a destroy may start from.
var destroyFrom = []ClusterStatus{ClusterReady, ClusterFailed, ClusterHibernated, ClusterDestroyFailed}

// transitions is the state machine, the one place it is written down.
//
//   - CREATE: PENDING -> CREATING -> READY, or FAILED.
//   - DESTROY, JANITOR_DESTROY: READY, FAILED, HIBERNATED or DESTROY_FAILED
//     -> DESTROYING (-> DESTROY_VERIFYING) -> DESTROYED, or DESTROY_FAILED
//     (from which a new destroy may start).
//   - HIBERNATE: READY -> HIBERNATING -> HIBERNATED; on failure back to
//     READY, since the cluster is still running and hibernation can be
//     tried again.
//   - RESUME: HIBERNATED -> RESUMING -> READY; on failure back to
//     HIBERNATED, from which resume can be tried again.
//   - Day-2 jobs (CONFIGURE_EFS, PROVISION_SHARED_STORAGE,
//     UNLINK_SHARED_STORAGE, POST_CONFIGURE, CREATE_WINDOWS_SNAPSHOT, and
//     the pool jobs POOL_REPLENISH, POOL_CLEAN, POOL_REFRESH, which act on
//     a ready pool cluster) need READY and keep it, success or failure.
var transitions = []Transition{
	{JobType: JobCreate, From: []ClusterStatus{ClusterPending}, Running: ClusterCreating,
		Success: ClusterReady, Failure: ClusterFailed},
	{JobType: JobDestroy, From: destroyFrom, Running: ClusterDestroying,
		Steps: []ClusterStatus{ClusterDestroyVerifying}, Success: ClusterDestroyed, Failure: ClusterDestroyFailed},
	{JobType: JobJanitorDestroy, From: destroyFrom, Running: ClusterDestroying,
		Steps: []ClusterStatus{ClusterDestroyVerifying}, Success: ClusterDestroyed, Failure: ClusterDestroyFailed},
	{JobType: JobHibernate, From: []ClusterStatus{ClusterReady}, Running: ClusterHibernating,
		Success: ClusterHibernated, Failure: ClusterReady},
	{JobType: JobResume, From: []ClusterStatus{ClusterHibernated}, Running: ClusterResuming,
		Success: ClusterReady, Failure: ClusterHibernated},
	day2(JobConfigureEFS),
	day2(JobProvisionSharedStorage),
	day2(JobUnlinkSharedStorage),
	day2(JobPostConfigure),
	day2(JobPoolReplenish),
	day2(JobPoolClean),
	day2(JobPoolRefresh),
	day2(JobCreateWindowsSnapshot),
}

// Transitions returns the state machine, one row per job type.
func Transitions() []Transition { return slices.Clone(transitions) }

// TransitionFor returns the row for job type t; ok is false for an unknown type.
func TransitionFor(t JobType) (tr Transition, ok bool) {
	i := slices.IndexFunc(transitions, func(tr Transition) bool { return tr.JobType == t })
	if i < 0 {
		return Transition{}, false
	}
	return transitions[i], true
}

// InProgress returns the statuses the job's cluster has while it runs:
// Running, then Steps.
func (t Transition) InProgress() []ClusterStatus {
	return append([]ClusterStatus{t.Running}, t.Steps...)
}

// StartStatus returns the status a job of this type moves its cluster to
// when it starts from status from. A first attempt must start from one of
// From. A resumed job (a retry, or a takeover after its worker died) may
// also start from an in-progress status its earlier attempt left behind,
// and then keeps it. ok is false when the job may not start.
func (t Transition) StartStatus(from ClusterStatus, resumed bool) (to ClusterStatus, ok bool) {
	if slices.Contains(t.From, from) {
		return t.Running, true
	}
	if resumed && slices.Contains(t.InProgress(), from) {
		return from, true
	}
	return "", false
}

// edges returns the status changes this job type makes, without self loops.
func (t Transition) edges() [][2]ClusterStatus {
	var out [][2]ClusterStatus
	add := func(from, to ClusterStatus) {
		if from != to && !slices.Contains(out, [2]ClusterStatus{from, to}) {
			out = append(out, [2]ClusterStatus{from, to})
		}
	}
	for _, f := range t.From {
		add(f, t.Running)
	}
	seq := t.InProgress()
	for i, s := range seq {
		if i+1 < len(seq) {
			add(s, seq[i+1])
		}
		add(s, t.Success)
		add(s, t.Failure)
	}
	return out
}

// CanTransition reports whether the state machine allows a cluster to move
// from one status to another. A status never moves to itself.
func CanTransition(from, to ClusterStatus) bool {
	for _, t := range transitions {
		if slices.Contains(t.edges(), [2]ClusterStatus{from, to}) {
			return true
		}
	}
	return false
}

// AllowedFrom returns the statuses from which a cluster may move to to, in
// ClusterStatuses order. Backends use it for UpdateStatus's compare-and-set
// (UPDATE … WHERE status = ANY(AllowedFrom(to))).
func AllowedFrom(to ClusterStatus) []ClusterStatus {
	var out []ClusterStatus
	for _, s := range ClusterStatuses() {
		if CanTransition(s, to) {
			out = append(out, s)
		}
	}
	return out
}
