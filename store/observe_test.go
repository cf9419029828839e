package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
	"github.com/ocpctl/ocpstore/store/memory"
)

// TestStatsCountsEveryOperation: Stats counts every operation and its
// errors, not only transactions (two Creates used to leave it at zero),
// and still counts WithTx's commits.
func TestStatsCountsEveryOperation(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	for _, name := range []string{"a", "b"} {
		if err := s.Clusters.Create(ctx, newCluster(name)); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats(); got != (store.TxStats{Operations: 2}) {
		t.Fatalf("after two Creates: %+v", got)
	}
	if _, err := s.Clusters.GetByID(ctx, store.NewID(store.PrefixCluster)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get a missing cluster: %v", err)
	}
	err := s.WithTx(ctx, func(ctx context.Context, tx *store.Store) error {
		return tx.Clusters.Create(ctx, newCluster("c"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Stats(), (store.TxStats{Operations: 5, Errors: 1, Commits: 1}); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

// TestErrorClass maps every sentinel, wrapped, to its class, and an error
// matching several to the most specific one.
func TestErrorClass(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("boom"), store.ClassOther},
		{&store.ValidationError{Field: "f", Reason: "r"}, store.ClassInvalidArgument},
		{store.ErrTxDone, store.ClassInvalidArgument},
		{store.ErrNotFound, store.ClassNotFound},
		{store.ErrConflict, store.ClassConflict},
		{&store.TransitionError{Entity: "job"}, store.ClassConflict},
		{store.ErrIdempotencyMismatch, store.ClassConflict},
		{store.ErrLockHeld, store.ClassLockHeld},
		{store.ErrLockLost, store.ClassLockLost},
		{store.ErrNoJob, store.ClassNoJob},
		{store.ErrSerialization, store.ClassSerialization},
		{store.ErrUnavailable, store.ClassUnavailable},
		{store.ErrCommitUnknown, store.ClassCommitUnknown},
		{fmt.Errorf("%w: %w", store.ErrUnavailable, store.ErrCommitUnknown), store.ClassCommitUnknown},
		{store.ErrTxAborted, store.ClassTxAborted},
		{context.Canceled, store.ClassCanceled},
		{context.DeadlineExceeded, store.ClassCanceled},
		{fmt.Errorf("%w (retry abandoned: %w)", store.ErrSerialization, context.Canceled), store.ClassSerialization},
	}
	for _, c := range cases {
		err := c.err
		if err != nil {
			err = fmt.Errorf("op: %w", err)
		}
		if got := store.ErrorClass(err); got != c.want {
			t.Errorf("ErrorClass(%v) = %q, want %q", err, got, c.want)
		}
	}
}

// events is an Observer that records what it sees, including retries and
// heartbeat failures.
type events struct {
	mu       sync.Mutex
	ops      []string
	retries  []string // "op attempt class"
	failures []store.HeartbeatFailure
	beatDone chan struct{}
}

type opKey struct{}

func (e *events) Start(ctx context.Context, op store.Operation) (context.Context, func(error)) {
	return context.WithValue(ctx, opKey{}, op.Name), func(err error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.ops = append(e.ops, op.Name+" "+store.ErrorClass(err))
	}
}

func (e *events) Retry(ctx context.Context, attempt int, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.retries = append(e.retries, fmt.Sprintf("%v %d %s", ctx.Value(opKey{}), attempt, store.ErrorClass(err)))
}

func (e *events) HeartbeatFailed(_ context.Context, f store.HeartbeatFailure) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures = append(e.failures, f)
	if f.Lost {
		close(e.beatDone)
	}
}

var (
	_ store.RetryObserver     = (*events)(nil)
	_ store.HeartbeatObserver = (*events)(nil)
)

// TestRetryObserverSeesEachRetry: a RetryObserver is told of each retry of
// WithTx, with the operation's context as Start returned it.
func TestRetryObserverSeesEachRetry(t *testing.T) {
	e := &events{}
	s := store.New(memory.NewBackend(), store.WithObserver(e), store.WithRetryPolicy(store.RetryPolicy{MaxRetries: 5}))
	runs := 0
	err := s.WithTx(t.Context(), func(ctx context.Context, tx *store.Store) error {
		runs++
		if runs < 3 {
			return fmt.Errorf("attempt %d: %w", runs, store.ErrSerialization)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Store.WithTx 1 serialization", "Store.WithTx 2 serialization"}
	if fmt.Sprint(e.retries) != fmt.Sprint(want) {
		t.Fatalf("retries seen: %q, want %q", e.retries, want)
	}
	if st := s.Stats(); st.Retries != 2 || st.Commits != 1 || st.Rollbacks != 2 {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestHeartbeatObserverSeesTheLockLost: a heartbeat whose lock was
// released under it reports the failed Extend, with Lost, to a
// HeartbeatObserver, before its Context ends.
func TestHeartbeatObserverSeesTheLockLost(t *testing.T) {
	ctx := t.Context()
	e := &events{beatDone: make(chan struct{})}
	s := store.New(memory.NewBackend(), store.WithObserver(e))
	if _, err := requestCluster(ctx, s, "hb"); err != nil {
		t.Fatal(err)
	}
	cl, err := s.Claim(ctx, store.ClaimParams{WorkerID: "w", LockTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.JobLocks.Release(ctx, cl.Lock); err != nil {
		t.Fatal(err)
	}
	h, err := s.KeepAlive(ctx, cl.Lock, time.Hour, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	<-h.Context().Done()
	h.Stop()
	<-e.beatDone
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.failures) != 1 || !e.failures[0].Lost || !errors.Is(e.failures[0].Err, store.ErrLockLost) ||
		e.failures[0].Lock.Token != cl.Lock.Token {
		t.Fatalf("heartbeat failures seen: %+v", e.failures)
	}
}

// TestDerivedStoreKeepsTheObserverRoles: a Store made by Derive reports
// retries to its origin's RetryObserver (Derive once dropped the observer's
// optional roles while keeping the observer).
func TestDerivedStoreKeepsTheObserverRoles(t *testing.T) {
	e := &events{}
	s := store.Derive(store.New(memory.NewBackend(), store.WithObserver(e),
		store.WithRetryPolicy(store.RetryPolicy{MaxRetries: 5})), store.WithPlaintextSecrets())
	runs := 0
	err := s.WithTx(t.Context(), func(ctx context.Context, tx *store.Store) error {
		if runs++; runs < 2 {
			return store.ErrSerialization
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Store.WithTx 1 serialization"}; fmt.Sprint(e.retries) != fmt.Sprint(want) {
		t.Fatalf("retries seen through the derived Store: %q, want %q", e.retries, want)
	}
}
