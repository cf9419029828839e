package memory

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ocpctl/ocpstore/store"
)

func keyNotFound(scope, key string) error {
	return fmt.Errorf("idempotency key %q in scope %q: %w", key, scope, store.ErrNotFound)
}

// Reserve runs as a write, so concurrent reservations of one key are
// serialized: the first creates it, the others then find its record.
func (s executor) IdempotencyReserve(ctx context.Context, q store.IdempotencyReserveParams) (*store.IdempotencyKey, bool, error) {
	var out *store.IdempotencyKey
	var created bool
	err := s.via.write(ctx, func(v *dbView) error {
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
		r := &store.IdempotencyKey{ID: q.ID, Scope: q.Scope, Key: q.Key,
			RequestHash: q.RequestHash, CreatedAt: now, ExpiresAt: utc(now.Add(q.TTL))}
		v.idem.put(r.ID, r)
		out, created = cloneIdem(r), true
		return nil
	})
	return out, created, err
}

func (s executor) IdempotencyComplete(ctx context.Context, p store.IdempotencyCompleteParams) (*store.IdempotencyKey, error) {
	var out *store.IdempotencyKey
	scope, key := p.Scope, p.Key
	err := s.via.write(ctx, func(v *dbView) error {
		id, cur := v.idem.lookup(v.db.idemKey, idemKey(scope, key))
		if cur == nil {
			return keyNotFound(scope, key)
		}
		if cur.Completed() {
			return fmt.Errorf("idempotency key %q in scope %q: already completed: %w", key, scope, store.ErrConflict)
		}
		r := *cur
		r.ResponseStatusCode = &p.StatusCode
		r.ResponseBody = bytes.Clone(p.Body)
		v.idem.put(id, &r)
		out = cloneIdem(&r)
		return nil
	})
	return out, err
}

func (s executor) IdempotencyGet(ctx context.Context, scope, key string) (*store.IdempotencyKey, error) {
	var out *store.IdempotencyKey
	err := s.via.read(ctx, func(v *dbView) error {
		_, cur := v.idem.lookup(v.db.idemKey, idemKey(scope, key))
		if cur == nil {
			return keyNotFound(scope, key)
		}
		out = cloneIdem(cur)
		return nil
	})
	return out, err
}

func (s executor) IdempotencyDeleteExpired(ctx context.Context) (int64, error) {
	var n int64
	err := s.via.write(ctx, func(v *dbView) error {
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
