// Package postgres is the storage backend for several collectors sharing
// one PostgreSQL database, through pgx.
//
// Every collector batches its own inserts (one transaction per batch);
// transactions of different collectors lock rows in the same order and are
// retried on serialization failures and deadlocks. The replay check is the
// primary key of the stamps table, so it holds across collectors.
//
// To keep the tables in a schema other than public, add
// search_path=<schema> to the DSN's parameters.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/internal/sqlstore"
)

// writers is how many batches one collector commits at once: while one
// transaction waits for its commit's WAL flush, the next runs its
// statements (BENCHMARKS.md: about +10% with one server reporting, +25-45%
// with a fleet's reports).
const writers = 2

// migrationLock is the pg_advisory_xact_lock key that serialises schema
// migrations of collectors starting together.
const migrationLock = 0x75736167 // "usag"

// Open connects to the database at dsn (a postgres:// URL or key=value
// string) and migrates the schema.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	s, err := sqlstore.Open(ctx, db, db, sqlstore.Dialect{
		Migrate:  sqlstore.PostgresSchema,
		Lock:     fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLock),
		Dollar:   true,
		Writers:  writers,
		Retry:    retryable,
		RowLock:  " FOR UPDATE",
		HasTable: `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`,
	}, func() error { pool.Close(); return nil })
	if err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// retryable: serialization failure, deadlock detected.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
