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
//
// Writes and reads have pools of their own: the batch writers (and
// pruning) keep writers+1 connections that no read can take, so reports
// are stored however many exports, stats queries or health checks are
// running; reads share the pool the DSN describes (pool_max_conns).
func Open(ctx context.Context, dsn string) (store.Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	wcfg := cfg.Copy()
	wcfg.MaxConns = writers + 1
	var pools []*pgxpool.Pool
	closePools := func() error {
		for _, p := range pools {
			p.Close()
		}
		return nil
	}
	for _, c := range []*pgxpool.Config{wcfg, cfg} {
		pool, err := pgxpool.NewWithConfig(ctx, c)
		if err != nil {
			closePools()
			return nil, fmt.Errorf("postgres: %w", err)
		}
		pools = append(pools, pool)
		if err := pool.Ping(ctx); err != nil {
			closePools()
			return nil, fmt.Errorf("postgres: %w", err)
		}
	}
	w, r := stdlib.OpenDBFromPool(pools[0]), stdlib.OpenDBFromPool(pools[1])
	s, err := sqlstore.Open(ctx, w, r, sqlstore.Dialect{
		Migrate:  sqlstore.PostgresSchema,
		Lock:     fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLock),
		Dollar:   true,
		Writers:  writers,
		Retry:    retryable,
		RowLock:  " FOR UPDATE",
		HasTable: `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`,
	}, closePools)
	if err != nil {
		w.Close()
		r.Close()
		closePools()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// retryable: serialization failure, deadlock detected.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
