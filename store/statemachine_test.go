package store

import (
	"slices"
	"testing"
)

func TestTransitionTableCoversEveryJobType(t *testing.T) {
	t.Parallel()
	for _, jt := range JobTypes() {
		tr, ok := TransitionFor(jt)
		if !ok {
			t.Fatalf("no transition for job type %s", jt)
		}
		for _, s := range append(append(tr.From, tr.InProgress()...), tr.Success, tr.Failure) {
			if !s.Valid() {
				t.Errorf("%s: status %q is not a ClusterStatus", jt, s)
			}
		}
	}
	if len(Transitions()) != len(JobTypes()) {
		t.Fatalf("%d transitions for %d job types", len(Transitions()), len(JobTypes()))
	}
}

func TestTransitionsFromTheIssue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		jt                        JobType
		from                      []ClusterStatus
		running, success, failure ClusterStatus
	}{
		{JobCreate, []ClusterStatus{ClusterPending}, ClusterCreating, ClusterReady, ClusterFailed},
		{JobDestroy, destroyFrom, ClusterDestroying, ClusterDestroyed, ClusterDestroyFailed},
		{JobJanitorDestroy, destroyFrom, ClusterDestroying, ClusterDestroyed, ClusterDestroyFailed},
		{JobHibernate, []ClusterStatus{ClusterReady}, ClusterHibernating, ClusterHibernated, ClusterReady},
		{JobResume, []ClusterStatus{ClusterHibernated}, ClusterResuming, ClusterReady, ClusterHibernated},
		{JobPostConfigure, []ClusterStatus{ClusterReady}, ClusterReady, ClusterReady, ClusterReady},
	}
	for _, c := range cases {
		tr, _ := TransitionFor(c.jt)
		if !slices.Equal(tr.From, c.from) || tr.Running != c.running || tr.Success != c.success || tr.Failure != c.failure {
			t.Errorf("%s: got %+v", c.jt, tr)
		}
	}
	if !CanTransition(ClusterDestroying, ClusterDestroyVerifying) || !CanTransition(ClusterDestroyVerifying, ClusterDestroyed) {
		t.Error("destroy must pass through DESTROY_VERIFYING")
	}
}

func TestStartStatus(t *testing.T) {
	t.Parallel()
	create, _ := TransitionFor(JobCreate)
	if to, ok := create.StartStatus(ClusterPending, false); !ok || to != ClusterCreating {
		t.Errorf("CREATE from PENDING: %v %v", to, ok)
	}
	if _, ok := create.StartStatus(ClusterCreating, false); ok {
		t.Error("a first attempt must not start from an in-progress status")
	}
	if to, ok := create.StartStatus(ClusterCreating, true); !ok || to != ClusterCreating {
		t.Errorf("a resumed CREATE keeps CREATING: %v %v", to, ok)
	}
	destroy, _ := TransitionFor(JobDestroy)
	if to, ok := destroy.StartStatus(ClusterDestroyVerifying, true); !ok || to != ClusterDestroyVerifying {
		t.Errorf("a resumed DESTROY keeps DESTROY_VERIFYING: %v %v", to, ok)
	}
	if _, ok := destroy.StartStatus(ClusterPending, true); ok {
		t.Error("DESTROY must not start from PENDING")
	}
}

func TestCanTransitionAgreesWithAllowedFrom(t *testing.T) {
	t.Parallel()
	for _, to := range ClusterStatuses() {
		allowed := AllowedFrom(to)
		for _, from := range ClusterStatuses() {
			if CanTransition(from, to) != slices.Contains(allowed, from) {
				t.Errorf("%s -> %s: CanTransition and AllowedFrom disagree", from, to)
			}
			if from == to && CanTransition(from, to) {
				t.Errorf("%s -> itself must not be a transition", from)
			}
		}
	}
	if CanTransition(ClusterDestroyed, ClusterReady) || CanTransition(ClusterPending, ClusterReady) {
		t.Error("transitions outside the table must be refused")
	}
}
