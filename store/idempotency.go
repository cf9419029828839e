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

// IdempotencyStore keeps idempotency keys. Reserve the key in the same
// transaction as the work it guards, and Complete it there too: if the
// transaction rolls back, the key is free again.
type IdempotencyStore interface {
	// Reserve creates the key (created=true) if it does not exist or has
	// expired. If a live key exists with the same request hash it returns
	// the stored record (created=false; check Completed). A live key with
	// a different hash is ErrIdempotencyMismatch. Concurrent reservations
	// of one key create it exactly once; the others wait for the first
	// transaction to end and then see its record.
	Reserve(ctx context.Context, r IdempotencyReservation) (rec *IdempotencyKey, created bool, err error)
	// Complete stores the response for a reserved key. ErrNotFound if the
	// key does not exist; ErrConflict if it is already completed.
	Complete(ctx context.Context, scope, key string, statusCode int, body json.RawMessage) (*IdempotencyKey, error)
	// Get returns the key's record (even if expired) or ErrNotFound.
	Get(ctx context.Context, scope, key string) (*IdempotencyKey, error)
	// DeleteExpired deletes every expired key and returns how many.
	DeleteExpired(ctx context.Context) (int64, error)
}
