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
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/krakend-usage/krakend-usage/collector"
	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
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
	refused                      map[string]int // by reason: the field refused, "NULL column"
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
	// An import that did not finish left its marker: running it again
	// completes it (the reports already copied are duplicates, skipped).
	resume, err := importIncomplete(ctx, *to)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if s, err := st.Stats(ctx, time.Now()); err != nil {
		return fmt.Errorf("import: %w", err)
	} else if s.Reports > 0 && !resume {
		return fmt.Errorf("%w: import: -db already holds %d reports; import into a new database", errUsage, s.Reports)
	}
	// Until the marker is cleared, the collector refuses to start on -db.
	if err := setImportMarker(ctx, *to); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if err := importKey(ctx, old, st, log); err != nil {
		return err
	}
	start := time.Now()
	stats, err := importReports(ctx, old, v1Reports[kind], st, log)
	if err != nil {
		return err
	}
	if err := clearImportMarker(ctx, *to); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stdout, "imported %d of %d reports in %s (%d with their extra omitted as larger than %d bytes)\n",
		stats.imported, stats.read, time.Since(start).Round(time.Millisecond), stats.omittedExtra, usage.MaxStoredExtra)
	for _, reason := range slices.Sorted(maps.Keys(stats.refused)) {
		fmt.Fprintf(stdout, "refused %d reports for their %s (the collector refuses them now)\n", stats.refused[reason], reason)
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
	case len(key) < collector.MinSecret:
		log.Warn(fmt.Sprintf("collector: import: the old token key is %d bytes, shorter than the %d the collector requires: not imported; the new database makes its own, and sessions opened with the old collector will be refused until reporters open new ones", len(key), collector.MinSecret))
		return nil
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
// rules refuse today, and hands each other report to insert. A refused
// row is counted by its reason and skipped; only a failure to read the old
// database stops the import.
func readV1(ctx context.Context, old *sql.DB, query string, stats *importStats, log *slog.Logger, insert func(*store.Report)) error {
	var last int64
	now := time.Now()
	for ctx.Err() == nil {
		rows, err := old.QueryContext(ctx, query, last, importPage)
		if err != nil {
			return fmt.Errorf("import: reading reports: %w", err)
		}
		n := 0
		for rows.Next() {
			var row v1Row
			if err := rows.Scan(&last, &row.receivedMS, &row.cluster, &row.server, &row.version, &row.os, &row.arch,
				&row.uptime, &row.reportTime, &row.extra, &row.stamp); err != nil {
				rows.Close()
				return fmt.Errorf("import: reading reports: %w", err)
			}
			n++
			stats.read++
			r, reason, err := row.report(now)
			if err != nil {
				if stats.refused[reason] == 0 {
					log.Info("collector: import: refusing reports the collector does not accept", "id", last, "reason", reason, "err", err)
				}
				stats.refused[reason]++
				continue
			}
			if r.ExtraOmitted {
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

// v1Row is a row of the old reports table as read: any column may be
// NULL, whatever the old schema said.
type v1Row struct {
	receivedMS, uptime, reportTime sql.NullInt64
	cluster, server, version, os   sql.NullString
	arch, stamp                    sql.NullString
	extra                          []byte
}

// Bounds of an imported report's times: no collector ran before
// oldestReport, and none receives reports from the future.
var oldestReport = time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)

// report checks the row with the rules of live intake (usage's field
// rules, the stamp's syntax and length, the report time near the
// received time) and returns what to store, or the reason to refuse it.
func (v *v1Row) report(now time.Time) (*store.Report, string, error) {
	for _, c := range []struct {
		name  string
		valid bool
	}{{"received_ms", v.receivedMS.Valid}, {"cluster_id", v.cluster.Valid}, {"server_id", v.server.Valid},
		{"version", v.version.Valid}, {"os", v.os.Valid}, {"arch", v.arch.Valid}, {"uptime", v.uptime.Valid},
		{"report_time", v.reportTime.Valid}, {"stamp", v.stamp.Valid}} {
		if !c.valid {
			return nil, "NULL " + c.name, fmt.Errorf("%s is NULL", c.name)
		}
	}
	d := usage.UsageData{ClusterID: v.cluster.String, ServerID: v.server.String, Version: v.version.String,
		OS: v.os.String, Arch: v.arch.String, Uptime: v.uptime.Int64, Time: v.reportTime.Int64, Extra: v.extra}
	if err := d.Validate(); err != nil {
		var fe *usage.FieldError
		if errors.As(err, &fe) {
			return nil, fe.Field, err
		}
		return nil, "data", err
	}
	ms := v.receivedMS.Int64
	if ms < oldestReport.UnixMilli() || ms > now.Add(collector.DefaultExpiration).UnixMilli() {
		return nil, "received_ms", fmt.Errorf("received_ms %d: want a time from %s to now", ms, oldestReport.Format(time.DateOnly))
	}
	received := time.UnixMilli(ms).UTC()
	if dt := time.Duration(d.Time-received.Unix()) * time.Second; dt > collector.DefaultExpiration || dt < -collector.DefaultExpiration {
		return nil, "report_time", fmt.Errorf("report_time %d: more than %s from received_ms", d.Time, collector.DefaultExpiration)
	}
	stamp := v.stamp.String
	if stamp == "" || len(stamp) > collector.MaxStamp {
		return nil, "stamp", fmt.Errorf("stamp of %d bytes: want 1 to %d", len(stamp), collector.MaxStamp)
	}
	if _, err := hashcash.Parse(stamp); err != nil {
		return nil, "stamp", err
	}
	r := &store.Report{
		Received: received, ClusterID: d.ClusterID, ServerID: d.ServerID,
		Version: d.Version, OS: d.OS, Arch: d.Arch, Uptime: d.Uptime,
		ReportTime: time.Unix(d.Time, 0).UTC(), Extra: d.Extra, Stamp: stamp,
	}
	if len(r.Extra) > usage.MaxStoredExtra {
		r.Extra, r.ExtraOmitted = nil, true
	}
	return r, "", nil
}
