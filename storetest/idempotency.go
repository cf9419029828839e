package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testIdempotency covers IdempotencyStore: reserve once, replay, the
// stored response byte for byte, hash mismatch, scopes, concurrent
// reservations, expiry, rollback, DeleteExpired and Complete's errors.
func testIdempotency(t *testing.T, setup setupFunc) {
	reservation := func(key, hash string) store.IdempotencyReservation {
		return store.IdempotencyReservation{Scope: "user:ann", Key: key, RequestHash: hash, TTL: 24 * time.Hour}
	}

	t.Run("ReserveReplayComplete", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := reservation("create-cluster-1", strings.Repeat("a", store.MaxHashLen))
		rec, created, err := b.s.Idempotency.Reserve(b.ctx, r)
		requireNoErr(t, err, "reserve")
		if !created || !strings.HasPrefix(rec.ID, store.PrefixIdempotency) || rec.Completed() ||
			rec.Scope != r.Scope || rec.Key != r.Key || rec.RequestHash != r.RequestHash || len(rec.ResponseBody) != 0 {
			t.Fatalf("new reservation: created %v, %+v", created, rec)
		}
		requireTime(t, b.clock.Now(), rec.CreatedAt, "CreatedAt")
		requireTime(t, b.clock.Now().Add(24*time.Hour), rec.ExpiresAt, "ExpiresAt")

		b.clock.Advance(time.Minute)
		again, created, err := b.s2.Idempotency.Reserve(b.ctx, r)
		requireNoErr(t, err, "replay before completion")
		if created {
			t.Fatal("replay created the key again")
		}
		requireEqual(t, rec, again, "replayed reservation")

		body := json.RawMessage(`{"b": 1,  "a":[2]}`)
		done, err := b.s.Idempotency.Complete(b.ctx, r.Scope, r.Key, 201, body)
		requireNoErr(t, err, "complete")
		if !done.Completed() || *done.ResponseStatusCode != 201 || !bytes.Equal(done.ResponseBody, body) {
			t.Fatalf("completed record: status %v body %q", done.ResponseStatusCode, done.ResponseBody)
		}
		for name, s := range map[string]*store.Store{"primary": b.s, "secondary": b.s2} {
			replay, created, err := s.Idempotency.Reserve(b.ctx, r)
			requireNoErr(t, err, name+" replay after completion")
			if created || replay.ID != rec.ID || replay.ResponseStatusCode == nil || *replay.ResponseStatusCode != 201 {
				t.Fatalf("%s replay after completion: created %v, %+v", name, created, replay)
			}
			if !bytes.Equal(replay.ResponseBody, body) {
				t.Fatalf("%s replayed body %q, want exactly %q", name, replay.ResponseBody, body)
			}
			got, err := s.Idempotency.Get(b.ctx, r.Scope, r.Key)
			requireNoErr(t, err, name+" get")
			requireEqual(t, replay, got, name+" Get")
			checkTimes(t, got, name+" Get")
		}
	})

	t.Run("HashMismatch", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := reservation("k", "hash-1")
		rec, _, err := b.s.Idempotency.Reserve(b.ctx, r)
		requireNoErr(t, err, "reserve")
		r.RequestHash = "hash-2"
		_, _, err = b.s2.Idempotency.Reserve(b.ctx, r)
		requireErrIs(t, err, store.ErrIdempotencyMismatch, "reserve with another hash")
		_, err = b.s.Idempotency.Complete(b.ctx, r.Scope, r.Key, 200, json.RawMessage(`{}`))
		requireNoErr(t, err, "complete")
		_, _, err = b.s.Idempotency.Reserve(b.ctx, r)
		requireErrIs(t, err, store.ErrIdempotencyMismatch, "reserve a completed key with another hash")
		got, err := b.s.Idempotency.Get(b.ctx, r.Scope, r.Key)
		requireNoErr(t, err, "get")
		if got.ID != rec.ID || got.RequestHash != "hash-1" {
			t.Fatalf("record after mismatches: %+v", got)
		}
	})

	t.Run("ScopesAreIndependent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := reservation("shared-key", "hash-1")
		first, _, err := b.s.Idempotency.Reserve(b.ctx, r)
		requireNoErr(t, err, "reserve in scope 1")
		r.Scope, r.RequestHash = "user:bob", "hash-2"
		second, created, err := b.s.Idempotency.Reserve(b.ctx, r)
		requireNoErr(t, err, "reserve the same key in scope 2")
		if !created || second.ID == first.ID {
			t.Fatalf("same key in another scope: created %v, ID %s (first %s)", created, second.ID, first.ID)
		}
		_, err = b.s.Idempotency.Complete(b.ctx, "user:bob", "shared-key", 204, nil)
		requireNoErr(t, err, "complete in scope 2")
		got, err := b.s.Idempotency.Get(b.ctx, "user:ann", "shared-key")
		requireNoErr(t, err, "get scope 1")
		if got.Completed() || got.RequestHash != "hash-1" {
			t.Fatalf("scope 1 record changed by scope 2: %+v", got)
		}
	})

	t.Run("ConcurrentReservationsCreateOnce", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const n = 30
		recs := make([]*store.IdempotencyKey, n)
		createdBy := make([]bool, n)
		errs := race(n, func(i int) error {
			var err error
			recs[i], createdBy[i], err = b.handle(i).Idempotency.Reserve(b.ctx, reservation("contended", "h"))
			return err
		})
		creators := 0
		for i, err := range errs {
			requireNoErr(t, err, fmt.Sprintf("reservation %d", i))
			if createdBy[i] {
				creators++
			}
			if recs[i].ID != recs[0].ID {
				t.Fatalf("reservations returned records %s and %s", recs[0].ID, recs[i].ID)
			}
		}
		if creators != 1 {
			t.Fatalf("%d reservations created the key, want exactly 1", creators)
		}
	})

	t.Run("ExpiredKeyIsReservedAnew", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := reservation("k", "hash-1")
		r.TTL = time.Hour
		old, _, err := b.s.Idempotency.Reserve(b.ctx, r)
		requireNoErr(t, err, "reserve")
		_, err = b.s.Idempotency.Complete(b.ctx, r.Scope, r.Key, 200, json.RawMessage(`{"old":true}`))
		requireNoErr(t, err, "complete")
		b.clock.Advance(time.Hour + time.Second)
		got, err := b.s.Idempotency.Get(b.ctx, r.Scope, r.Key)
		requireNoErr(t, err, "get an expired key")
		if got.ID != old.ID {
			t.Fatalf("Get of an expired key returned %s, want %s", got.ID, old.ID)
		}
		r.RequestHash = "hash-2"
		fresh, created, err := b.s2.Idempotency.Reserve(b.ctx, r)
		requireNoErr(t, err, "reserve an expired key")
		if !created || fresh.ID == old.ID || fresh.Completed() || fresh.RequestHash != "hash-2" || len(fresh.ResponseBody) != 0 {
			t.Fatalf("reservation of an expired key: created %v, %+v", created, fresh)
		}
		requireTime(t, b.clock.Now(), fresh.CreatedAt, "new CreatedAt")
		requireTime(t, b.clock.Now().Add(time.Hour), fresh.ExpiresAt, "new ExpiresAt")
	})

	t.Run("RolledBackReservationLeavesTheKeyFree", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := reservation("k", "hash-1")
		err := b.s.WithTx(b.ctx, func(ctx context.Context, tx *store.Store) error {
			_, created, err := tx.Idempotency.Reserve(ctx, r)
			if err != nil || !created {
				return fmt.Errorf("reserve in the transaction: created %v, %w", created, err)
			}
			if _, err := tx.Idempotency.Complete(ctx, r.Scope, r.Key, 500, nil); err != nil {
				return err
			}
			return errBoom
		})
		requireErrIs(t, err, errBoom, "WithTx")
		_, err = b.s2.Idempotency.Get(b.ctx, r.Scope, r.Key)
		requireErrIs(t, err, store.ErrNotFound, "get a key reserved in a rolled-back transaction")
		r.RequestHash = "hash-2"
		_, created, err := b.s2.Idempotency.Reserve(b.ctx, r)
		requireNoErr(t, err, "reserve again")
		if !created {
			t.Fatal("the key of a rolled-back reservation was not free")
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		short, long := reservation("short", "h"), reservation("long", "h")
		short.TTL, long.TTL = time.Minute, time.Hour
		for _, r := range []store.IdempotencyReservation{short, long} {
			_, _, err := b.s.Idempotency.Reserve(b.ctx, r)
			requireNoErr(t, err, "reserve "+r.Key)
		}
		b.clock.Advance(time.Minute + time.Second)
		n, err := b.s2.Idempotency.DeleteExpired(b.ctx)
		requireNoErr(t, err, "delete expired")
		if n != 1 {
			t.Fatalf("DeleteExpired deleted %d keys, want 1", n)
		}
		_, err = b.s.Idempotency.Get(b.ctx, short.Scope, short.Key)
		requireErrIs(t, err, store.ErrNotFound, "get a deleted key")
		_, err = b.s.Idempotency.Get(b.ctx, long.Scope, long.Key)
		requireNoErr(t, err, "get a live key")
		n, err = b.s.Idempotency.DeleteExpired(b.ctx)
		requireNoErr(t, err, "delete expired again")
		if n != 0 {
			t.Fatalf("second DeleteExpired deleted %d keys, want 0", n)
		}
	})

	t.Run("CompleteErrors", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.s.Idempotency.Complete(b.ctx, "user:ann", "unknown", 200, nil)
		requireErrIs(t, err, store.ErrNotFound, "complete an unknown key")
		_, err = b.s.Idempotency.Get(b.ctx, "user:ann", "unknown")
		requireErrIs(t, err, store.ErrNotFound, "get an unknown key")
		r := reservation("k", "h")
		_, _, err = b.s.Idempotency.Reserve(b.ctx, r)
		requireNoErr(t, err, "reserve")
		first, err := b.s.Idempotency.Complete(b.ctx, r.Scope, r.Key, 200, json.RawMessage(`"first"`))
		requireNoErr(t, err, "complete")
		_, err = b.s2.Idempotency.Complete(b.ctx, r.Scope, r.Key, 500, json.RawMessage(`"second"`))
		requireErrIs(t, err, store.ErrConflict, "complete twice")
		got, err := b.s.Idempotency.Get(b.ctx, r.Scope, r.Key)
		requireNoErr(t, err, "get")
		requireEqual(t, first, got, "record after a refused second Complete")
	})
}
