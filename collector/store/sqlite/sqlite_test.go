package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		path := filepath.Join(t.TempDir(), "usage.db")
		return func(ctx context.Context) (store.Store, error) { return sqlite.Open(ctx, path) }
	})
}

// TestCloseLeavesNoWAL: the background checkpointer's last pass copies the
// WAL into the database file, so a closed database is one whole file.
func TestCloseLeavesNoWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i := 0; i < 50; i++ {
		r := &store.Report{Received: now, ReportTime: now, ClusterID: "c", ServerID: "s", Version: "v", OS: "linux",
			Arch: "amd64", Stamp: fmt.Sprintf("1:20:261127:r%d::salt:0", i)}
		if err := s.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("WAL holds %d bytes after Close, want none", fi.Size())
	}
	// Only the main file: the reports are there.
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Stats(ctx, now)
	if err != nil || st.Reports != 50 {
		t.Fatalf("after reopening: %v, %d reports, want 50", err, st.Reports)
	}
}

// TestRefusesFirstSchema: a database of the first collector (a
// "breakdown" table, no schema version) is refused with ErrSchema, and
// left as it was.
func TestRefusesFirstSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)`,
		`CREATE TABLE breakdown (kind TEXT, value TEXT, servers INTEGER)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if _, err := sqlite.Open(context.Background(), path); !errors.Is(err, store.ErrSchema) {
		t.Errorf("got %v, want ErrSchema", err)
	}
}

// TestMigrateFromSchema2: a database of the previous schema opens and its
// new breakdowns are exact.
func TestMigrateFromSchema2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.MigrateFromSchema2(t, func(ctx context.Context) (store.Store, error) { return sqlite.Open(ctx, path) }, db)
}

// TestOldWriterRefused: a collector still running after a newer one
// migrated the database cannot write into it.
func TestOldWriterRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.OldWriterRefused(t, func(ctx context.Context) (store.Store, error) { return sqlite.Open(ctx, path) }, db)
}

// TestMigrateFromSchema3: a database whose distributions were bucketed at
// one significant digit opens with them at two.
func TestMigrateFromSchema3(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.MigrateFromSchema3(t, func(ctx context.Context) (store.Store, error) { return sqlite.Open(ctx, path) }, db, false)
}

// TestTrackedValues: versions, OSes and architectures beyond the bound
// count as other, consistently across two collectors.
func TestTrackedValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.TrackedValues(t, func(ctx context.Context) (store.Store, error) { return sqlite.Open(ctx, path) }, db)
}

// TestMigrateFromSchema5: a database that counted every value by name
// opens with those values tracked.
func TestMigrateFromSchema5(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.MigrateFromSchema5(t, func(ctx context.Context) (store.Store, error) { return sqlite.Open(ctx, path) }, db)
}
