package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/ocpctl/ocpstore/store"
)

// idempotency is the IdempotencyStore, unique on (scope, key).
type idempotency struct {
	b *Backend
	h handle
}

func keyNotFound(scope, key string) error {
	return fmt.Errorf("idempotency key %q in scope %q: %w", key, scope, store.ErrNotFound)
}

// Reserve runs as a write, so concurrent reservations of one key are
// serialized: the first creates it, the others then find its record.
func (s idempotency) Reserve(ctx context.Context, q store.IdempotencyReservation) (*store.IdempotencyKey, bool, error) {
	var out *store.IdempotencyKey
	var created bool
	err := s.h.write(ctx, func(v *view) error {
		now := s.b.now()
		id, cur := v.idem.lookup(v.db.idemKey, idemKey(q.Scope, q.Key))
		if cur != nil && now.Before(cur.ExpiresAt) {
			if cur.RequestHash != q.RequestHash {
				return fmt.Errorf("idempotency key %q in scope %q: %w", q.Key, q.Scope, store.ErrIdempotencyMismatch)
			}
			out = cloneIdem(cur)
			return nil
		}
		if cur != nil {
			v.idem.del(id) // expired: the key starts over as a new row
		}
		r := &store.IdempotencyKey{ID: store.NewID(store.PrefixIdempotency), Scope: q.Scope, Key: q.Key,
			RequestHash: q.RequestHash, CreatedAt: now, ExpiresAt: utc(now.Add(q.TTL))}
		v.idem.put(r.ID, r)
		out, created = cloneIdem(r), true
		return nil
	})
	return out, created, err
}

func (s idempotency) Complete(ctx context.Context, scope, key string, statusCode int, body json.RawMessage) (*store.IdempotencyKey, error) {
	var out *store.IdempotencyKey
	err := s.h.write(ctx, func(v *view) error {
		id, cur := v.idem.lookup(v.db.idemKey, idemKey(scope, key))
		if cur == nil {
			return keyNotFound(scope, key)
		}
		if cur.Completed() {
			return fmt.Errorf("idempotency key %q in scope %q: already completed: %w", key, scope, store.ErrConflict)
		}
		r := *cur
		r.ResponseStatusCode = &statusCode
		r.ResponseBody = bytes.Clone(body)
		v.idem.put(id, &r)
		out = cloneIdem(&r)
		return nil
	})
	return out, err
}

func (s idempotency) Get(ctx context.Context, scope, key string) (*store.IdempotencyKey, error) {
	var out *store.IdempotencyKey
	err := s.h.read(ctx, func(v *view) error {
		_, cur := v.idem.lookup(v.db.idemKey, idemKey(scope, key))
		if cur == nil {
			return keyNotFound(scope, key)
		}
		out = cloneIdem(cur)
		return nil
	})
	return out, err
}

func (s idempotency) DeleteExpired(ctx context.Context) (int64, error) {
	var n int64
	err := s.h.write(ctx, func(v *view) error {
		now := s.b.now()
		for id, k := range v.idem.all() {
			if !now.Before(k.ExpiresAt) {
				v.idem.del(id)
				n++
			}
		}
		return nil
	})
	return n, err
}
