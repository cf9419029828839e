package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/store"
)

// idempotencyColumns is the column list of idempotency_keys, in
// idempotencyRow.dests order.
var idempotencyColumns = []string{"id", "scope", "key", "request_hash", "response_status_code",
	"response_body", "created_at", "expires_at"}

// idempotencyRow receives an idempotency_keys row. The body is scanned as
// bytes: the column is JSON (not JSONB), so it is returned byte for byte.
// (Not into a *string: pgx scans the JSON value null into a nil pointer,
// as if the column were NULL.)
type idempotencyRow struct {
	k    store.IdempotencyKey
	body []byte
}

func (r *idempotencyRow) dests() []any {
	k := &r.k
	return []any{&k.ID, &k.Scope, &k.Key, &k.RequestHash, &k.ResponseStatusCode, &r.body, &k.CreatedAt, &k.ExpiresAt}
}

func (r *idempotencyRow) value() *store.IdempotencyKey {
	k := r.k
	if r.body != nil {
		k.ResponseBody = json.RawMessage(r.body)
	}
	k.CreatedAt, k.ExpiresAt = k.CreatedAt.UTC(), k.ExpiresAt.UTC()
	return &k
}

var idempotencyKeys = table[*store.IdempotencyKey]{name: "idempotency_keys", columns: idempotencyColumns,
	newRow: func() row[*store.IdempotencyKey] { return new(idempotencyRow) }}

// The fixed idempotency statements.
var (
	// idempotencyReserveSQL creates the key, or re-creates it over an
	// expired row (new ID, no response); a live row is left alone and
	// nothing is returned. A concurrent reservation of the same key waits
	// on the unique index until the first transaction ends.
	idempotencyReserveSQL = named("INSERT INTO idempotency_keys AS k (id, scope, key, request_hash, created_at, expires_at)" +
		" VALUES (@id, @scope, @key, @request_hash, " + nowSQL + ", " + nowSQL + " + @ttl::interval)" +
		" ON CONFLICT (scope, key) DO UPDATE SET " + excluded("id", "request_hash", "created_at", "expires_at") +
		", response_status_code = NULL, response_body = NULL WHERE k.expires_at <= EXCLUDED.created_at" +
		" RETURNING " + joinColumns(qualify("k", idempotencyColumns)))
	idempotencyGetSQL = named("SELECT " + joinColumns(idempotencyColumns) + " FROM idempotency_keys" +
		" WHERE scope = @scope AND key = @key")
	// idempotencyCompleteSQL completes only a key not yet completed.
	idempotencyCompleteSQL = named("UPDATE idempotency_keys SET response_status_code = @status," +
		" response_body = @body::json WHERE scope = @scope AND key = @key AND response_status_code IS NULL" +
		" RETURNING " + joinColumns(idempotencyColumns))
	idempotencyDeleteExpiredSQL = named("DELETE FROM idempotency_keys WHERE expires_at <= " + nowSQL)
)

// reserveAttempts bounds Reserve's loop: a live key it saw can be deleted
// (expired and purged) before it reads it, and then it tries again.
const reserveAttempts = 3

// Reserve creates the key or returns the live record with the same hash.
func (s executor) IdempotencyReserve(ctx context.Context, r store.IdempotencyReserveParams) (*store.IdempotencyKey, bool, error) {
	what := fmt.Sprintf("reserve idempotency key %s/%s", r.Scope, r.Key)
	for range reserveAttempts {
		k, err := idempotencyKeys.one(ctx, s.q, idempotencyReserveSQL, pgx.NamedArgs{"id": r.ID, "scope": r.Scope,
			"key": r.Key, "request_hash": r.RequestHash, "now": s.now(), "ttl": r.TTL})
		if err == nil {
			return k, true, nil
		}
		if !isNoRows(err) {
			return nil, false, mapError(ctx, err, what)
		}
		k, err = idempotencyKeys.one(ctx, s.q, idempotencyGetSQL, pgx.NamedArgs{"scope": r.Scope, "key": r.Key})
		switch {
		case isNoRows(err):
			continue // deleted since: reserve again
		case err != nil:
			return nil, false, mapError(ctx, err, what)
		case k.RequestHash != r.RequestHash:
			return nil, false, fmt.Errorf("%s: %w", what, store.ErrIdempotencyMismatch)
		}
		return k, false, nil
	}
	return nil, false, fmt.Errorf("%s: the key kept disappearing: %w", what, store.ErrConflict)
}

// Complete stores the response of a key not yet completed.
func (s executor) IdempotencyComplete(ctx context.Context, p store.IdempotencyCompleteParams) (*store.IdempotencyKey, error) {
	scope, key, statusCode, body := p.Scope, p.Key, p.StatusCode, p.Body
	what := fmt.Sprintf("complete idempotency key %s/%s", scope, key)
	var bodyArg any
	if body != nil {
		bodyArg = string(body) // as text, so not one byte changes
	}
	k, err := idempotencyKeys.one(ctx, s.q, idempotencyCompleteSQL,
		pgx.NamedArgs{"status": statusCode, "body": bodyArg, "scope": scope, "key": key})
	if err == nil || !isNoRows(err) {
		return k, mapError(ctx, err, what)
	}
	if _, err := s.IdempotencyGet(ctx, scope, key); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%s: already completed: %w", what, store.ErrConflict)
}

// Get returns the key's record, expired or not.
func (s executor) IdempotencyGet(ctx context.Context, scope, key string) (*store.IdempotencyKey, error) {
	k, err := idempotencyKeys.one(ctx, s.q, idempotencyGetSQL, pgx.NamedArgs{"scope": scope, "key": key})
	return k, mapError(ctx, err, fmt.Sprintf("idempotency key %s/%s", scope, key))
}

// DeleteExpired deletes the keys whose expiry has passed.
func (s executor) IdempotencyDeleteExpired(ctx context.Context) (int64, error) {
	tag, err := s.q.Exec(ctx, idempotencyDeleteExpiredSQL.sql, idempotencyDeleteExpiredSQL.args(pgx.NamedArgs{"now": s.now()})...)
	if err != nil {
		return 0, mapError(ctx, err, "delete expired idempotency keys")
	}
	return tag.RowsAffected(), nil
}
