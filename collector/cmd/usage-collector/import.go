package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
)

// The first collector's database (schema version 1) kept every report in
// one table, with its rollups in tables whose names the current schema
// reuses, so it cannot be upgraded in place. "usage-collector import"
// copies its reports into a new database through Store.Insert, which
// builds every rollup as if the reports had just arrived.

const importWorkers = 16 // concurrent inserts, so the writer commits batches

// importPage is how many reports are read from the old database at a time
// (a variable so that a test can page through a few).
var importPage = 1000

// v1Reports reads a page of the old reports table in id order.
var v1Reports = map[string]string{
	"sqlite": `SELECT id, received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, stamp
		FROM reports WHERE id > ? ORDER BY id LIMIT ?`,
	"postgres": `SELECT id, received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, stamp
		FROM reports WHERE id > $1 ORDER BY id LIMIT $2`,
}

// importStats is what an import did, printed at the end.
type importStats struct {
	read, imported, omittedExtra int
	refused                      map[string]int // by the field usage's rules refuse
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("usage-collector import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the first collector's database (schema version 1): sqlite:PATH or a PostgreSQL DSN")
	to := fs.String("db", defaultDB, "the new database to import into: sqlite:PATH or a PostgreSQL DSN; it must hold no reports")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: usage-collector import -from OLD -db NEW\n\nCopies every report of a first-version collector database into a new one,\nbuilding the rollups; the old database is only read.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *from == "" {
		return fmt.Errorf("%w: import: -from is required", errUsage)
	}
	if *from == *to {
		return fmt.Errorf("%w: import: -from and -db name the same database", errUsage)
	}
	kind, path, err := dbKind(*from)
	if err != nil {
		return fmt.Errorf("%w (-from)", err)
	}
	if _, _, err := dbKind(*to); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	old, err := openV1(kind, path, *from)
	if err != nil {
		return err
	}
	defer old.Close()
	st, err := openStore(ctx, *to)
	if err != nil {
		return err
	}
	defer st.Close()
	if s, err := st.Stats(ctx, time.Now()); err != nil {
		return fmt.Errorf("import: %w", err)
	} else if s.Reports > 0 {
		return fmt.Errorf("%w: import: -db already holds %d reports; import into a new database", errUsage, s.Reports)
	}
	if err := importKey(ctx, old, st, log); err != nil {
		return err
	}
	start := time.Now()
	stats, err := importReports(ctx, old, v1Reports[kind], st, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d of %d reports in %s (%d with their extra omitted as larger than %d bytes)\n",
		stats.imported, stats.read, time.Since(start).Round(time.Millisecond), stats.omittedExtra, usage.MaxStoredExtra)
	for field, n := range stats.refused {
		fmt.Fprintf(stdout, "refused %d reports for their %s (the collector refuses them now)\n", n, field)
	}
	return nil
}

// openV1 opens the old database read-only and checks that it has the
// first collector's reports table.
func openV1(kind, path, dsn string) (*sql.DB, error) {
	var db *sql.DB
	var err error
	if kind == "sqlite" {
		db, err = sql.Open("sqlite", "file:"+path+"?mode=ro")
	} else {
		db, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		return nil, fmt.Errorf("import: -from: %w", err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM breakdown`).Scan(&n); err != nil {
		db.Close()
		return nil, fmt.Errorf("import: -from is not a first-version collector database (no breakdown table): %w", err)
	}
	return db, nil
}

// importKey carries the token-signing key over, so that sessions opened
// with the old collector stay valid.
func importKey(ctx context.Context, old *sql.DB, st store.Store, log *slog.Logger) error {
	var key []byte
	switch err := old.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'token_key'`).Scan(&key); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("import: token key: %w", err)
	}
	got, err := st.Secret(ctx, key)
	if err != nil {
		return fmt.Errorf("import: token key: %w", err)
	}
	if string(got) != string(key) {
		log.Warn("collector: import: the new database has a token key of its own; sessions opened with the old collector will be refused until reporters open new ones")
	}
	return nil
}

// importReports reads the old reports in id order and inserts them. The
// reports of one server go to one worker, in order, so each server's
// latest state is its latest report; different servers are inserted
// concurrently, so the writer commits them in batches.
func importReports(ctx context.Context, old *sql.DB, query string, st store.Store, log *slog.Logger) (*importStats, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stats := &importStats{refused: map[string]int{}}
	var mu sync.Mutex
	work := make([]chan *store.Report, importWorkers)
	var wg sync.WaitGroup
	for i := range work {
		work[i] = make(chan *store.Report, importPage/importWorkers)
		wg.Add(1)
		go func(in <-chan *store.Report) {
			defer wg.Done()
			for r := range in {
				err := st.Insert(ctx, r)
				if err != nil && !errors.Is(err, store.ErrDuplicate) {
					cancel(fmt.Errorf("import: report %s: %w", r.Stamp, err))
					continue
				}
				mu.Lock()
				if err == nil {
					stats.imported++
				}
				mu.Unlock()
			}
		}(work[i])
	}
	err := readV1(ctx, old, query, stats, log, func(r *store.Report) {
		h := fnv.New32a()
		h.Write([]byte(r.ServerID))
		select {
		case work[h.Sum32()%importWorkers] <- r:
		case <-ctx.Done():
		}
	})
	for _, w := range work {
		close(w)
	}
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return nil, cause
	}
	if err != nil {
		return nil, err
	}
	return stats, ctx.Err()
}

// readV1 pages through the old reports, refusing what the collector's
// rules refuse today, and hands each other report to insert.
func readV1(ctx context.Context, old *sql.DB, query string, stats *importStats, log *slog.Logger, insert func(*store.Report)) error {
	var last int64
	for ctx.Err() == nil {
		rows, err := old.QueryContext(ctx, query, last, importPage)
		if err != nil {
			return fmt.Errorf("import: reading reports: %w", err)
		}
		n := 0
		for rows.Next() {
			var receivedMS, reportTime int64
			var d usage.UsageData
			var stamp string
			if err := rows.Scan(&last, &receivedMS, &d.ClusterID, &d.ServerID, &d.Version, &d.OS, &d.Arch, &d.Uptime, &reportTime, &d.Extra, &stamp); err != nil {
				rows.Close()
				return fmt.Errorf("import: reading reports: %w", err)
			}
			n++
			stats.read++
			var fe *usage.FieldError
			if err := d.Validate(); errors.As(err, &fe) {
				if stats.refused[fe.Field] == 0 {
					log.Info("collector: import: refusing reports the collector no longer accepts", "id", last, "err", err)
				}
				stats.refused[fe.Field]++
				continue
			}
			r := &store.Report{
				Received: time.UnixMilli(receivedMS).UTC(), ClusterID: d.ClusterID, ServerID: d.ServerID,
				Version: d.Version, OS: d.OS, Arch: d.Arch, Uptime: d.Uptime,
				ReportTime: time.Unix(reportTime, 0).UTC(), Extra: d.Extra, Stamp: stamp,
			}
			if len(r.Extra) > usage.MaxStoredExtra {
				r.Extra, r.ExtraOmitted = nil, true
				stats.omittedExtra++
			}
			insert(r)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("import: reading reports: %w", err)
		}
		rows.Close()
		if n < importPage {
			return nil
		}
	}
	return ctx.Err()
}
