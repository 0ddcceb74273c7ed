// Package sqlite is the embedded storage backend: one SQLite file in WAL
// mode through the pure-Go modernc.org/sqlite driver (no cgo).
//
// Writes go through one connection and are group-committed with
// synchronous=FULL, so an acknowledged report survives a power cut; reads
// (stats, health) use a separate pool and never wait for writers. Several
// collector processes on one host may share the file.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"runtime"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/internal/sqlstore"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Open opens (creating if needed) the SQLite database at path and migrates
// its schema.
func Open(ctx context.Context, path string) (store.Store, error) {
	dsnBusy := func(busyMS int, extra string) string {
		v := url.Values{}
		v.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyMS))
		v.Add("_pragma", "journal_mode(WAL)")
		v.Add("_pragma", "synchronous(FULL)")
		v.Add("_txlock", "immediate")
		if extra != "" {
			v.Add("_pragma", extra)
		}
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + v.Encode()
	}
	dsn := func(extra string) string { return dsnBusy(10000, extra) }
	// The writer never checkpoints: copying the WAL back into the database
	// (and its fsync) would stall every report queued behind that commit.
	// A background checkpointer does it instead. Its statement journal
	// (the undo log of one multi-row statement inside a transaction, never
	// read after a crash) stays in memory: past 64 KiB, a batch's stamps
	// insert otherwise spills it to a temporary file, about a tenth of the
	// writer's time.
	w, err := sql.Open("sqlite", dsn("wal_autocheckpoint(0)")+"&_pragma=temp_store(MEMORY)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	n := max(2, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	// The checkpointer waits little for readers: a TRUNCATE checkpoint
	// holds back every writer while it waits, so it gives up after
	// checkpointWait and tries again on its next tick.
	c, err := sql.Open("sqlite", dsnBusy(int(checkpointWait.Milliseconds()), ""))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	c.SetMaxOpenConns(1)
	cp := startCheckpointer(c, path+"-wal")
	s, err := sqlstore.Open(ctx, w, r, sqlstore.Dialect{
		Migrate:  sqlstore.SQLiteSchema,
		HasTable: `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`,
		Prepare:  true,
	}, cp.close)
	if err != nil {
		w.Close()
		r.Close()
		cp.close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return s, nil
}
