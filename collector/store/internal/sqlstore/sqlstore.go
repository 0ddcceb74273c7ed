// Package sqlstore is the storage engine shared by the sqlite and postgres
// backends: the same tables, the same rollups, the same queries, over
// database/sql. A Dialect carries what differs.
//
// # Rollups
//
// Stats must answer quickly with millions of reports and stay the same
// when old reports are pruned, so Insert keeps small counter tables up to
// date in the same transaction as the report (see schema.go): totals, the
// latest state of each server and cluster, per-day and per-ISO-week
// counters, the IDs whose last report falls in each hour, and per day and
// week of each ID's last report the IDs having each latest value. A
// server's or cluster's move from one day (or value) to another is a -1
// and a +1 on those counters. Stats reads a number of rows bounded by the
// range and the number of distinct values, never by the number of reports;
// the values a reporter chooses are themselves bounded per week (see
// track.go).
//
// # Concurrency
//
// One batching goroutine per process writes (see store.Batcher), or a few
// (Dialect.Writers) on PostgreSQL. Within a transaction rows are locked
// table by table in key order, so concurrent transactions, of one collector
// or of several on one PostgreSQL database, cannot deadlock on each other;
// a Dialect may still ask for retries (serialization failures). Two
// batches that share a server or cluster therefore commit one after the
// other, and a report of the second may find its row already moved on by
// a newer one: it is "late" (see rollup.go), as with two collectors.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// Dialect is what differs between databases.
type Dialect struct {
	// Migrate holds the schema statements, run in order in one transaction.
	Migrate []string
	// Lock, when set, runs first in the migration transaction to keep
	// concurrent collectors from migrating at the same time.
	Lock string
	// Dollar rewrites the ? placeholders as $1, $2, ...
	Dollar bool
	// Prepare prepares the insert statements once on the writer pool
	// (worth it for SQLite; PostgreSQL drivers cache statements anyway).
	Prepare bool
	// Writers is how many batches may commit at once, each in its own
	// transaction on its own connection (default 1). While one waits for
	// its commit's flush, the next runs its statements. Only for a
	// database whose concurrent transactions are safe, which the lock
	// order below makes them on PostgreSQL.
	Writers int
	// Retry reports whether a failed transaction should run again.
	Retry func(error) bool
	// RowLock is appended to the SELECTs that read a row the transaction
	// then updates (" FOR UPDATE" on PostgreSQL, where collectors write
	// concurrently; SQLite transactions are serialised anyway).
	RowLock string
	// HasTable is a query counting the tables named by its argument in
	// the current schema.
	HasTable string
}

// DB is a store.Store over two database/sql pools.
type DB struct {
	w, r    *sql.DB
	d       Dialect
	b       *store.Batcher
	q       map[string]string
	prep    map[string]*sql.Stmt
	closers []func() error

	// multi caches the statements built per batch size (see stmt); want
	// holds those a transaction ran unprepared, to prepare once it is
	// over. Only a dialect with one writer (SQLite) prepares, so only one
	// goroutine uses them.
	multi map[string]*sql.Stmt
	want  []string

	// sets caches the tracked sets (see track.go).
	sets setCache
}

// maxPrepared bounds the statements cached in DB.multi: a statement per
// kind (stamps, reports, server and cluster reads and writes, counters)
// and batch size up to store.MaxBatch, in practice far fewer (a
// statement of 256 rows takes some 50 KB in SQLite).
const maxPrepared = 1024

// stmt returns q prepared on the writer pool when the dialect prepares
// statements and it was prepared before; with prepare set, it prepares it
// now (never inside a transaction: SQLite's writer pool has one
// connection). Without prepare, a statement not yet cached is noted and
// prepared after the transaction (see prepareWanted).
func (s *DB) stmt(q string, prepare bool) *sql.Stmt {
	if !s.d.Prepare {
		return nil
	}
	if st, ok := s.multi[q]; ok {
		return st
	}
	if !prepare {
		if len(s.multi)+len(s.want) < maxPrepared {
			s.want = append(s.want, q)
		}
		return nil
	}
	if len(s.multi) >= maxPrepared {
		return nil
	}
	st, err := s.w.Prepare(q)
	if err != nil {
		return nil // run unprepared; the error shows there
	}
	s.multi[q] = st
	return st
}

// prepareWanted prepares the statements the last transaction ran
// unprepared, so that the next batches of the same shape reuse them.
func (s *DB) prepareWanted() {
	if len(s.want) == 0 {
		return // always, unless the dialect prepares
	}
	for _, q := range s.want {
		s.stmt(q, true)
	}
	s.want = s.want[:0]
}

var _ store.Store = (*DB)(nil)

// Open migrates the schema and returns the store. w is used for writes,
// r for reads (they may be the same pool). closers run on Close, after
// the pools are closed.
func Open(ctx context.Context, w, r *sql.DB, d Dialect, closers ...func() error) (*DB, error) {
	if d.Prepare && d.Writers > 1 {
		return nil, errors.New("store: a dialect that prepares statements has one writer")
	}
	s := &DB{w: w, r: r, d: d, q: make(map[string]string), prep: make(map[string]*sql.Stmt), multi: make(map[string]*sql.Stmt), closers: closers}
	for name, q := range queries {
		q = strings.ReplaceAll(q, "{lock}", d.RowLock)
		if s.d.Dollar {
			q = dollar(q)
		}
		s.q[name] = q
	}
	// The migration may write rollups with the insert path's statements
	// (unprepared: the tables may not exist before it).
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	s.want = s.want[:0]
	for name, q := range s.q {
		if d.Prepare && strings.HasPrefix(name, "w.") {
			st, err := w.PrepareContext(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("store: prepare %s: %w", name, err)
			}
			s.prep[name] = st
		}
	}
	s.b = store.NewBatcherN(s.commit, max(d.Writers, 1))
	return s, nil
}

func (s *DB) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	if s.d.Lock != "" {
		if _, err := tx.ExecContext(ctx, s.d.Lock); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
	}
	from, err := s.checkVersion(ctx, tx)
	if err != nil {
		return err
	}
	if from == "2" {
		// BIGINT is an integer column in SQLite's type affinity too.
		if _, err := tx.ExecContext(ctx, `ALTER TABLE servers ADD COLUMN uptime BIGINT NOT NULL DEFAULT -1`); err != nil {
			return fmt.Errorf("store: migrate from schema 2: %w", err)
		}
	}
	if err := addWriter(ctx, tx, from); err != nil {
		return err
	}
	for _, q := range s.d.Migrate {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: migrate: %w (in %.60q)", err, q)
		}
	}
	if from == "2" {
		// Derives the rollups with the buckets of now: nothing for
		// migrate4 to move.
		if err := s.migrate3(ctx, tx); err != nil {
			return fmt.Errorf("store: migrate from schema 2: %w", err)
		}
	}
	if from == "3" {
		if err := s.migrate4(ctx, tx); err != nil {
			return fmt.Errorf("store: migrate from schema 3: %w", err)
		}
	}
	if from != "" && from != schemaVersion {
		if err := s.trackExisting(ctx, tx); err != nil {
			return fmt.Errorf("store: migrate from schema %s: %w", from, err)
		}
	}
	put := `INSERT INTO meta(key, value) VALUES ('schema', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	if s.d.Dollar {
		put = dollar(put)
	}
	if _, err := tx.ExecContext(ctx, put, []byte(schemaVersion)); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// checkVersion returns the schema version of the database, "" for a new
// one, and refuses one it cannot migrate: one with the first collector's
// tables (it had a "breakdown" table) and no version, or a version other
// than schemaVersion, "2", "3", "4" and "5".
func (s *DB) checkVersion(ctx context.Context, tx *sql.Tx) (string, error) {
	q := s.d.HasTable
	if s.d.Dollar {
		q = dollar(q)
	}
	var n int
	if err := tx.QueryRowContext(ctx, q, "meta").Scan(&n); err != nil {
		return "", fmt.Errorf("store: migrate: %w", err)
	}
	if n == 0 {
		return "", nil // a new database
	}
	var v []byte
	get := `SELECT value FROM meta WHERE key = 'schema'`
	switch err := tx.QueryRowContext(ctx, get).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		if err := tx.QueryRowContext(ctx, q, "breakdown").Scan(&n); err != nil {
			return "", fmt.Errorf("store: migrate: %w", err)
		}
		if n > 0 {
			return "", fmt.Errorf("%w (version 1): start this collector on a new database; the old one stays readable by the previous release", store.ErrSchema)
		}
		return "", nil
	case err != nil:
		return "", fmt.Errorf("store: migrate: %w", err)
	case string(v) != schemaVersion && string(v) != "2" && string(v) != "3" && string(v) != "4" && string(v) != "5":
		return "", fmt.Errorf("%w (version %q, want %s)", store.ErrSchema, v, schemaVersion)
	}
	return string(v), nil
}

// dollar rewrites ? placeholders as $n. The queries here hold no ? in
// literals.
func dollar(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Insert implements store.Store. It parses r's payload, when the caller
// did not, here in the caller's goroutine: the single writer only reads
// the result.
func (s *DB) Insert(ctx context.Context, r *store.Report) error {
	if r.Payload == nil {
		r.Payload = store.ParsePayload(r.Extra, r.ExtraOmitted)
	}
	return s.b.Insert(ctx, r)
}

// Ping implements store.Store.
func (s *DB) Ping(ctx context.Context) error {
	return s.r.PingContext(ctx)
}

// Secret implements store.Store.
func (s *DB) Secret(ctx context.Context, newKey []byte) ([]byte, error) {
	if _, err := s.w.ExecContext(ctx, s.q["secret.put"], newKey); err != nil {
		return nil, fmt.Errorf("store: secret: %w", err)
	}
	var key []byte
	if err := s.w.QueryRowContext(ctx, s.q["secret.get"]).Scan(&key); err != nil {
		return nil, fmt.Errorf("store: secret: %w", err)
	}
	return key, nil
}

// Close implements store.Store: it commits pending inserts first.
func (s *DB) Close() error {
	s.b.Close()
	var first error
	for _, st := range s.prep {
		st.Close()
	}
	for _, st := range s.multi {
		st.Close()
	}
	if err := s.w.Close(); err != nil && first == nil {
		first = err
	}
	if s.r != s.w {
		if err := s.r.Close(); err != nil && first == nil {
			first = err
		}
	}
	for _, c := range s.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
