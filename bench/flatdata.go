package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ocpctl/ocpstore/migrations"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// flatDB is the database of the generated dataset. It is kept between
// runs, since generating it takes minutes; -mode gen replaces it.
const flatDB = dbPrefix + "flat"

// datasetTable records, in the generated database, which dataset it holds
// and under which schema (a hash of the migration files), so that flat can
// reuse it while both match and clean up after itself: every row flat adds
// is created after generated_at.
const datasetTable = "ocpbench_dataset"

// runGen generates the dataset of -scale into a fresh ocpbench_flat.
func runGen(ctx context.Context, o *options, srv *server, out io.Writer) error {
	pool, err := genFlat(ctx, o, srv, out)
	if err != nil {
		return err
	}
	pool.Close()
	fmt.Fprintf(out, "kept: %s (run -mode flat to measure on it)\n", srv.urlFor(flatDB))
	return nil
}

// genFlat creates ocpbench_flat afresh, generates the dataset of -scale
// into it, and returns a pool on it.
func genFlat(ctx context.Context, o *options, srv *server, out io.Writer) (*pgxpool.Pool, error) {
	now := time.Now().UTC()
	d := newDataset(o.scale, now)
	fmt.Fprintf(out, "gen: database %s, %d clusters, %d finished jobs, %d audit events (scale %g), with COPY\n",
		flatDB, d.Clusters, d.Jobs(), d.Audit(), o.scale)
	pool, err := freshDB(ctx, srv, flatDB, 3)
	if err != nil {
		return nil, err
	}
	if err := generate(ctx, pool, d, out); err != nil {
		pool.Close()
		return nil, err
	}
	_, err = pool.Exec(ctx, "CREATE TABLE "+datasetTable+
		" (clusters integer NOT NULL, generated_at timestamptz NOT NULL, schema text NOT NULL)")
	if err == nil {
		_, err = pool.Exec(ctx, "INSERT INTO "+datasetTable+" VALUES ($1, $2, $3)", d.Clusters, now, schemaHash())
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("record the dataset: %w", err)
	}
	return pool, nil
}

// openFlat returns a pool on ocpbench_flat holding the dataset of -scale,
// generating it when it is missing or of another scale, and the time it
// was generated. It first deletes whatever an earlier flat run added.
func openFlat(ctx context.Context, o *options, srv *server, out io.Writer) (*pgxpool.Pool, time.Time, error) {
	want := newDataset(o.scale, time.Now()).Clusters
	ok, err := srv.exists(ctx, flatDB)
	if err != nil {
		return nil, time.Time{}, err
	}
	if ok {
		pool, err := openPool(ctx, srv.urlFor(flatDB), 3)
		if err != nil {
			return nil, time.Time{}, err
		}
		var have int
		var at time.Time
		var schema string
		err = pool.QueryRow(ctx, "SELECT clusters, generated_at, schema FROM "+datasetTable).Scan(&have, &at, &schema)
		if err == nil && have == want && schema == schemaHash() {
			fmt.Fprintf(out, "flat: reusing %s (%d clusters, generated %s)\n", flatDB, have, at.Format(time.RFC3339))
			return pool, at, cleanFlat(ctx, pool, at)
		}
		var pgErr interface{ SQLState() string }
		undefined := errors.As(err, &pgErr) && (pgErr.SQLState() == "42P01" || pgErr.SQLState() == "42703")
		if err != nil && !errors.Is(err, pgx.ErrNoRows) && !undefined {
			pool.Close()
			return nil, time.Time{}, err
		}
		pool.Close()
		fmt.Fprintf(out, "flat: %s holds another dataset or schema; generating scale %g\n", flatDB, o.scale)
	}
	pool, err := genFlat(ctx, o, srv, out)
	if err != nil {
		return nil, time.Time{}, err
	}
	var at time.Time
	if err := pool.QueryRow(ctx, "SELECT generated_at FROM "+datasetTable).Scan(&at); err != nil {
		pool.Close()
		return nil, time.Time{}, err
	}
	return pool, at, nil
}

// cleanFlat deletes the rows flat added after the dataset was generated
// (its clusters take their jobs and locks along), so every run starts
// from the generated dataset.
func cleanFlat(ctx context.Context, pool *pgxpool.Pool, generated time.Time) error {
	// One transaction, so the audit trail's retention setting (migration
	// 0005 refuses other deletes) holds for the DELETE from audit_events.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config($1, 'purge', true)", postgres.AuditRetentionSetting); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM job_locks WHERE locked_at >= $1",
			"DELETE FROM jobs WHERE created_at >= $1",
			"DELETE FROM clusters WHERE created_at >= $1",
			"DELETE FROM audit_events WHERE created_at >= $1",
		} {
			if _, err := tx.Exec(ctx, q, generated); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clean up the dataset: %w", err)
	}
	return nil
}

// schemaHash is a hash of the embedded migration files: a dataset generated
// under other migrations is generated again.
func schemaHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS(), ".", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS(), path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}
