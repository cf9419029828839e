package store

import (
	"context"
	"fmt"

	"github.com/ocpctl/ocpstore/store/keyring"
)

// SecretsSwap is one row of Executor.OutputsSwapSecrets: the cluster's
// secret fields as Rotate read them, and what to store instead.
type SecretsSwap struct {
	ClusterID string
	Old, New  OutputSecrets
}

// RotationResult counts what Rotate did, in rows of cluster_outputs.
type RotationResult struct {
	Scanned   int // rows read
	Resealed  int // rows rewritten with every secret field under the primary key
	Changed   int // rows written or deleted by someone else between read and rewrite: left as they are now
	Plaintext int // rows left alone because they hold plain text and the Store was not made WithPlaintextSecrets
}

// SecretsStatus counts the stored secret fields of cluster_outputs by the
// key that sealed them (see OutputStore.KeyStatus).
type SecretsStatus struct {
	Rows      int            // rows of cluster_outputs
	Primary   string         // the Store's primary key ID; "" without a keyring
	ByKey     map[string]int // sealed values per key ID named in their header
	Plaintext int            // values that are not sealed
	Malformed int            // values with the sealed marker but no readable key ID
}

// Rotate reseals, batchSize rows at a time, every secret field not sealed
// with the keyring's primary key (and, when the Store was made
// WithPlaintextSecrets, seals the plain text written before encryption),
// so that keys no longer primary can then be removed. Each batch is read,
// resealed in the process, and written back in one statement that
// replaces a row's secrets only if they are still the ones read (a
// compare-and-set on the stored values), so a concurrent Upsert is never
// overwritten and readers never wait: a row it changed is counted as
// Changed and left as written (sealed with the writer's primary). Other
// columns and UpdatedAt are not touched. Run it again until a pass
// reports nothing Changed and KeyStatus shows only the primary.
//
// A value that cannot be opened (its key was removed, it was tampered
// with or misplaced) stops the rotation with an error naming the cluster,
// the field and the key ID; the rows before it are resealed. Without a
// keyring, Rotate fails with ErrNoKeyring.
func (os OutputStore) Rotate(ctx context.Context, batchSize int) (RotationResult, error) {
	return call(os.s, ctx, "Outputs.Rotate", func(ctx context.Context, x Executor) (RotationResult, error) {
		var res RotationResult
		if batchSize <= 0 || batchSize > MaxLimit {
			return res, invalid("batch_size", "must be between 1 and %d", MaxLimit)
		}
		c := os.s.config
		if c.keyring == nil {
			return res, fmt.Errorf("rotate secrets: %w", ErrNoKeyring)
		}
		for after := ""; ; {
			rows, err := x.OutputsListAfter(ctx, after, batchSize)
			if err != nil {
				return res, fmt.Errorf("rotate secrets: list outputs after %q: %w", after, err)
			}
			var swaps []SecretsSwap
			for _, o := range rows {
				res.Scanned++
				swap, need, plain, err := c.resealRow(ctx, o)
				switch {
				case err != nil:
					return res, fmt.Errorf("rotate secrets: %w", err)
				case plain:
					res.Plaintext++
				case need:
					swaps = append(swaps, swap)
				}
			}
			if len(swaps) > 0 {
				n, err := x.OutputsSwapSecrets(ctx, swaps)
				if err != nil {
					return res, fmt.Errorf("rotate secrets: rewrite %d rows: %w", len(swaps), err)
				}
				res.Resealed += n
				res.Changed += len(swaps) - n
			}
			if len(rows) < batchSize {
				return res, nil
			}
			after = rows[len(rows)-1].ClusterID
		}
	})
}

// resealRow returns the swap that puts every secret field of o under the
// primary key, and whether one is needed. plain reports a row holding
// plain text the Store does not accept, left alone.
func (c *config) resealRow(ctx context.Context, o *ClusterOutputs) (swap SecretsSwap, need, plain bool, err error) {
	swap = SecretsSwap{ClusterID: o.ClusterID, Old: secretsOf(o), New: secretsOf(o)}
	for _, f := range secretFields {
		p := f.inS(&swap.New)
		if *p == nil {
			continue
		}
		aad := aadFor(o.ClusterID, f.column)
		var v string
		var changed bool
		if _, sealed := keyring.KeyID(**p); sealed {
			v, changed, err = keyring.Reseal(ctx, c.keyring, aad, **p)
		} else if c.plaintext {
			v, err = keyring.Seal(ctx, c.keyring, aad, **p)
			changed = err == nil
		} else {
			return swap, false, true, nil
		}
		if err != nil {
			return swap, false, false, fmt.Errorf("outputs of cluster %s: %s: %w", o.ClusterID, f.column, err)
		}
		if changed {
			*p, need = &v, true
		}
	}
	return swap, need, false, nil
}

// KeyStatus counts the stored secret fields by the key ID each names, and
// the plain text ones, reading every row (batchSize at a time) without
// opening anything. After a rotation it shows whether an old key still
// seals anything.
func (os OutputStore) KeyStatus(ctx context.Context, batchSize int) (SecretsStatus, error) {
	return call(os.s, ctx, "Outputs.KeyStatus", func(ctx context.Context, x Executor) (SecretsStatus, error) {
		st := SecretsStatus{ByKey: map[string]int{}}
		if batchSize <= 0 || batchSize > MaxLimit {
			return st, invalid("batch_size", "must be between 1 and %d", MaxLimit)
		}
		if kr := os.s.config.keyring; kr != nil {
			k, err := kr.Primary(ctx)
			if err != nil {
				return st, fmt.Errorf("secrets status: primary key: %w", err)
			}
			if k != nil {
				st.Primary = k.ID()
			}
		}
		for after := ""; ; {
			rows, err := x.OutputsListAfter(ctx, after, batchSize)
			if err != nil {
				return st, fmt.Errorf("secrets status: list outputs after %q: %w", after, err)
			}
			for _, o := range rows {
				st.Rows++
				for _, f := range secretFields {
					v := *f.in(o)
					if v == nil {
						continue
					}
					switch id, sealed := keyring.KeyID(*v); {
					case !sealed:
						st.Plaintext++
					case id == "":
						st.Malformed++
					default:
						st.ByKey[id]++
					}
				}
			}
			if len(rows) < batchSize {
				return st, nil
			}
			after = rows[len(rows)-1].ClusterID
		}
	})
}
