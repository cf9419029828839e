package postgrestest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"

	"github.com/ocpctl/ocpstore/migrations"
	"github.com/ocpctl/ocpstore/store/postgres"
)

// prepare reads the server's version and makes sure the template of the
// embedded schema exists. The test binaries of `go test ./...` run in
// parallel processes against the same server; a session advisory lock keyed
// by the schema hash makes one of them build the template while the others
// wait, then find it built.
func (s *server) prepare(ctx context.Context) error {
	sum, err := schemaHash()
	if err != nil {
		return err
	}
	s.template = "ocpstore_tmpl_" + hex.EncodeToString(sum[:8])

	conn, err := pgx.Connect(ctx, s.url.String())
	if err != nil {
		return err
	}
	// Closing the session releases the advisory lock.
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&s.version); err != nil {
		return fmt.Errorf("read server version: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(binary.BigEndian.Uint64(sum[:8]))); err != nil {
		return fmt.Errorf("lock template %s: %w", s.template, err)
	}
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", s.template).Scan(&exists)
	if err != nil {
		return fmt.Errorf("look up template %s: %w", s.template, err)
	}
	if exists {
		return nil
	}
	return s.buildTemplate(ctx, conn)
}

// buildTemplate migrates a new database under a temporary name and renames
// it into place only when complete, so a process that dies midway leaves no
// half-built template behind (the next build drops its leftover). The
// template then refuses connections: CREATE DATABASE ... TEMPLATE fails
// while anyone is connected to the template, and nobody needs to be.
func (s *server) buildTemplate(ctx context.Context, conn *pgx.Conn) error {
	build := s.template + "_build"
	for _, sql := range []string{
		s.dropSQL(build),
		"CREATE DATABASE " + ident(build) + " TEMPLATE template0",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("build template: %w", err)
		}
	}
	if err := migrateDB(ctx, s.urlFor(build)); err != nil {
		return fmt.Errorf("build template: %w", err)
	}
	for _, sql := range []string{
		// Waits (up to 5s, server side) for the migration's session to end.
		"ALTER DATABASE " + ident(build) + " RENAME TO " + ident(s.template),
		"ALTER DATABASE " + ident(s.template) + " WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("build template: %w", err)
		}
	}
	return nil
}

// migrateDB applies the schema to the database at url through a one
// connection pool, closed before returning.
func migrateDB(ctx context.Context, url string) error {
	cfg, err := postgres.DefaultConfig(url)
	if err != nil {
		return err
	}
	cfg.PoolConfig.MaxConns = 1
	cfg.PoolConfig.MinConns = 0
	pool, err := postgres.NewPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	return postgres.Migrate(ctx, pool)
}

// schemaHash identifies the schema a template holds: the migration files'
// names and contents, and the version table Migrate records them in.
func schemaHash() ([sha256.Size]byte, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", postgres.VersionTable)
	fsys := migrations.FS()
	entries, err := fs.ReadDir(fsys, ".") // sorted by name
	if err != nil {
		return [sha256.Size]byte{}, fmt.Errorf("read migrations: %w", err)
	}
	for _, e := range entries {
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return [sha256.Size]byte{}, fmt.Errorf("read migrations: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), len(body))
		h.Write(body)
	}
	return [sha256.Size]byte(h.Sum(nil)), nil
}
