package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/postgres"
	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.RequirePostgres(t)
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		dsn := storetest.PostgresDSN(t)
		return func(ctx context.Context) (store.Store, error) { return postgres.Open(ctx, dsn) }
	})
}

// TestMigrateFromSchema2: a database of the previous schema opens and its
// new breakdowns are exact.
func TestMigrateFromSchema2(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.MigrateFromSchema2(t, func(ctx context.Context) (store.Store, error) { return postgres.Open(ctx, dsn) }, db)
}

// TestOldWriterRefused: a collector still running after a newer one
// migrated the database cannot write into it.
func TestOldWriterRefused(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.OldWriterRefused(t, func(ctx context.Context) (store.Store, error) { return postgres.Open(ctx, dsn) }, db)
}

// TestMigrateFromSchema3: a database whose distributions were bucketed at
// one significant digit opens with them at two.
func TestMigrateFromSchema3(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.MigrateFromSchema3(t, func(ctx context.Context) (store.Store, error) { return postgres.Open(ctx, dsn) }, db, true)
}

// TestTrackedValues: versions, OSes and architectures beyond the bound
// count as other, consistently across two collectors.
func TestTrackedValues(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.TrackedValues(t, func(ctx context.Context) (store.Store, error) { return postgres.Open(ctx, dsn) }, db)
}

// TestMigrateFromSchema5: a database that counted every value by name
// opens with those values tracked.
func TestMigrateFromSchema5(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.MigrateFromSchema5(t, func(ctx context.Context) (store.Store, error) { return postgres.Open(ctx, dsn) }, db)
}
