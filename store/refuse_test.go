package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// The tests of the backend-independent layer: argument validation, the
// refusal of bad input before the backend, and the transaction-context
// guard. They run once, on a Store over refusingBackend, whose executors
// panic on any call: a case that reached the backend fails, so "refused
// before the backend" needs no mirror of the API. An Observer records
// which operation each case called, so a case is credited to the method it
// provably reached.

// refusingBackend is a store.Backend none of whose storage operations may
// be called: its executors embed a nil store.Executor. Begin, Commit and
// Rollback work, so that the transaction methods can be exercised.
type refusingBackend struct{}

// refusingExecutor panics (nil interface) on every storage operation.
type refusingExecutor struct{ store.Executor }

// refusingTx is a transaction of refusingBackend.
type refusingTx struct{ refusingExecutor }

func (refusingBackend) Name() string               { return "refusing" }
func (refusingBackend) Executor() store.Executor   { return refusingExecutor{} }
func (*refusingTx) Commit(context.Context) error   { return nil }
func (*refusingTx) Rollback(context.Context) error { return nil }
func (refusingBackend) Begin(context.Context, store.TxOptions) (store.ExecutorTx, error) {
	return &refusingTx{}, nil
}

// opRecorder is an Observer that records the names of the operations.
type opRecorder struct {
	mu  sync.Mutex
	ops []string
}

func (r *opRecorder) Start(ctx context.Context, op store.Operation) (context.Context, func(error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op.Name)
	return ctx, func(error) {}
}

// take returns the operations recorded since the last take and forgets them.
func (r *opRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ops
	r.ops = nil
	return out
}

// bundle is what a case works with: a Store over refusingBackend whose
// operations rec records.
type bundle struct {
	s   *store.Store
	ctx context.Context
	rec *opRecorder
}

func newBundle(t *testing.T) *bundle {
	rec := &opRecorder{}
	return &bundle{s: store.New(refusingBackend{}, store.WithObserver(rec)), ctx: t.Context(), rec: rec}
}

// validationFixture is the data the invalid calls aim at: rows that are
// never stored (no call may reach the backend), with valid IDs.
type validationFixture struct {
	cluster *store.Cluster // READY, with a PENDING job
	job     *store.Job     // PENDING, on cluster
	running *store.Job     // RUNNING on another cluster, holding lock
	lock    *store.JobLock // running's current lock
}

func newValidationFixture() *validationFixture {
	c := validCluster(func(c *store.Cluster) { c.ID, c.Status = store.NewID(store.PrefixCluster), store.ClusterReady })
	other := store.NewID(store.PrefixCluster)
	fx := &validationFixture{cluster: c,
		job:     &store.Job{ID: store.NewID(store.PrefixJob), ClusterID: c.ID, JobType: store.JobPostConfigure, Status: store.JobPending},
		running: &store.Job{ID: store.NewID(store.PrefixJob), ClusterID: other, JobType: store.JobPostConfigure, Status: store.JobRunning, Attempt: 1}}
	fx.lock = &store.JobLock{ClusterID: other, JobID: fx.running.ID, LockedBy: "w1", Token: 7, LockedAt: epoch,
		ExpiresAt: epoch.Add(time.Hour)}
	return fx
}

// refusedCall runs one case and returns its error, or an error saying it
// reached the backend (a panic of refusingExecutor).
func refusedCall(b *bundle, fx *validationFixture, tc invalidCase) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errReachedBackend, r)
		}
	}()
	return tc.call(b, fx)
}

// errReachedBackend is refusedCall's error for a case that reached the backend.
var errReachedBackend = errors.New("the call reached the backend")

// runRefused runs each case: it must be ErrInvalidArgument naming its
// field, without a backend call.
func runRefused(t *testing.T, cases []invalidCase) {
	t.Helper()
	b, fx := newBundle(t), newValidationFixture()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireInvalid(t, refusedCall(b, fx, tc), tc.field)
		})
	}
}

// requireInvalid fails the test now unless err is ErrInvalidArgument
// naming field.
func requireInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if !isInvalid(err, field) {
		t.Fatalf("got error %v, want ErrInvalidArgument for field %q", err, field)
	}
}

// isInvalid reports whether err is ErrInvalidArgument naming field.
func isInvalid(err error, field string) bool {
	var ve *store.ValidationError
	return errors.Is(err, store.ErrInvalidArgument) && errors.As(err, &ve) && ve.Field == field
}

// epoch is the time the fixtures are made at.
var epoch = time.Date(2031, time.March, 4, 5, 6, 7, 891011000, time.UTC)

// seq makes fixture names unique.
var seq atomic.Int64

// uniq returns prefix followed by a number never returned before.
func uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// long returns a string of n bytes.
func long(n int) string { return strings.Repeat("x", n) }

// validCluster returns a valid, unsaved cluster with a unique name and no
// ID, with mods applied.
func validCluster(mods ...func(*store.Cluster)) *store.Cluster {
	c := &store.Cluster{Name: uniq("cluster"), Platform: store.PlatformAWS, Version: "4.18.1", Profile: "aws-standard",
		Region: "us-east-1", BaseDomain: ptr("example.com"), Owner: "owner@example.com", Team: "team-a",
		CostCenter: "cc-100", RequestedBy: "requester@example.com", TTLHours: 24}
	for _, m := range mods {
		m(c)
	}
	return c
}
