package store

import (
	"context"
	"encoding/json"
	"time"
)

// IdempotencyKey is a row of the idempotency_keys table. Keys are unique
// within a Scope (typically the caller's principal), not globally, so two
// clients cannot collide on each other's keys.
type IdempotencyKey struct {
	ID                 string // idk_…
	Scope              string
	Key                string
	RequestHash        string // at most 64 bytes, e.g. hex SHA-256 of the request
	ResponseStatusCode *int   // nil until Complete
	// ResponseBody is the stored response, returned byte for byte as given
	// to Complete (a JSON column, not JSONB, so nothing is reformatted).
	ResponseBody json.RawMessage
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// Completed reports whether a response has been stored.
func (k *IdempotencyKey) Completed() bool { return k.ResponseStatusCode != nil }

// IdempotencyReservation asks to reserve a key.
type IdempotencyReservation struct {
	Scope       string
	Key         string
	RequestHash string
	TTL         time.Duration // how long the key is kept; at least TimeResolution
}

// IdempotencyStore is the API of idempotency keys: Store.Idempotency.
// Reserve the key in the same transaction as the work it guards, and
// Complete it there too: if the transaction rolls back, the key is free
// again.
type IdempotencyStore struct{ s *Store }

// Reserve creates the key (created=true) if it does not exist or has
// expired. If a live key exists with the same request hash it returns the
// stored record (created=false; check Completed). A live key with a
// different hash is ErrIdempotencyMismatch. Concurrent reservations of one
// key create it exactly once; the others wait for the first transaction to
// end and then see its record.
func (is IdempotencyStore) Reserve(ctx context.Context, r IdempotencyReservation) (rec *IdempotencyKey, created bool, err error) {
	err = is.s.run(ctx, "Idempotency.Reserve", func(ctx context.Context, x Executor) error {
		if err := r.validate(); err != nil {
			return err
		}
		var err error
		rec, created, err = x.IdempotencyReserve(ctx, IdempotencyReserveParams{ID: NewID(PrefixIdempotency), IdempotencyReservation: r})
		return err
	})
	return rec, created, err
}

// Complete stores the response for a reserved key. ErrNotFound if the key
// does not exist; ErrConflict if it is already completed.
func (is IdempotencyStore) Complete(ctx context.Context, scope, key string, statusCode int, body json.RawMessage) (*IdempotencyKey, error) {
	return call(is.s, ctx, "Idempotency.Complete", func(ctx context.Context, x Executor) (*IdempotencyKey, error) {
		if err := validateResponse(scope, key, statusCode, body); err != nil {
			return nil, err
		}
		return x.IdempotencyComplete(ctx, IdempotencyCompleteParams{Body: body, Key: key, Scope: scope, StatusCode: statusCode})
	})
}

// Get returns the key's record (even if expired) or ErrNotFound.
func (is IdempotencyStore) Get(ctx context.Context, scope, key string) (*IdempotencyKey, error) {
	return call(is.s, ctx, "Idempotency.Get", func(ctx context.Context, x Executor) (*IdempotencyKey, error) {
		var k checker
		k.required("scope", scope, MaxNameLen)
		if k.required("key", key, MaxNameLen); k.err != nil {
			return nil, k.err
		}
		return x.IdempotencyGet(ctx, scope, key)
	})
}

// DeleteExpired deletes every expired key and returns how many.
func (is IdempotencyStore) DeleteExpired(ctx context.Context) (int64, error) {
	return call(is.s, ctx, "Idempotency.DeleteExpired", func(ctx context.Context, x Executor) (int64, error) {
		return x.IdempotencyDeleteExpired(ctx)
	})
}
