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
	count, err := countV1(ctx, old)
	if err != nil {
		return err
	}
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
	if n := count.rows - count.withID; n > 0 {
		log.Info("collector: import: refusing reports without an id", "reports", n)
		stats.refused["NULL id"] += int(n)
	}
	// Every row is accounted for, or the import is not complete.
	if got := int64(stats.read) + count.rows - count.withID; got < count.rows {
		return fmt.Errorf("import: read %d of the %d reports -from held when the import began (%d without an id); the database is left marked incomplete: run the import again", got, count.rows, count.rows-count.withID)
	}
	if err := clearImportMarker(ctx, *to); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stdout, "imported %d of %d reports in %s (%d with their extra omitted as larger than %d bytes)\n",
		stats.imported, count.rows, time.Since(start).Round(time.Millisecond), stats.omittedExtra, usage.MaxStoredExtra)
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

// v1Count is what the old reports table holds, counted before the copy:
// every row, and those with an id, which the import reads by.
type v1Count struct{ rows, withID int64 }

// countV1 counts the old reports and refuses a table the import cannot
// page through by id: one where two rows share an id (a page ending
// between them would skip the second). Rows without an id are counted,
// to be reported as refused.
func countV1(ctx context.Context, old *sql.DB) (v1Count, error) {
	var c v1Count
	var distinct int64
	if err := old.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(id), COUNT(DISTINCT id) FROM reports`).Scan(&c.rows, &c.withID, &distinct); err != nil {
		return c, fmt.Errorf("import: counting reports: %w", err)
	}
	if distinct < c.withID {
		var id any
		old.QueryRowContext(ctx, `SELECT id FROM reports WHERE id IS NOT NULL GROUP BY id HAVING COUNT(*) > 1 LIMIT 1`).Scan(&id)
		return c, fmt.Errorf("import: -from: %d reports share their id with another (id %v, for one): the import reads reports by id, so each must have its own; nothing was imported", c.withID-distinct, id)
	}
	return c, nil
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
			var id any
			var row v1Row
			if err := rows.Scan(&id, &row.receivedMS, &row.cluster, &row.server, &row.version, &row.os, &row.arch,
				&row.uptime, &row.reportTime, &row.extra, &row.stamp); err != nil {
				rows.Close()
				return fmt.Errorf("import: reading reports: %w", err)
			}
			var ok bool
			if last, ok = id.(int64); !ok {
				rows.Close()
				return fmt.Errorf("import: -from: a report's id is %s, not an integer: the import reads reports by id", rawKind(id))
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

// v1Row is a row of the old reports table as read: every column a raw
// value, whatever the old schema said (SQLite keeps a text in an integer
// column), so that a row of the wrong types is refused for its column
// instead of failing the read.
type v1Row struct {
	receivedMS, uptime, reportTime any
	cluster, server, version, os   any
	arch, stamp, extra             any
}

// columns of the old reports table, in the order report checks them.
func (v *v1Row) columns() (ints []rawInt, texts []rawText) {
	return []rawInt{{"received_ms", v.receivedMS}, {"uptime", v.uptime}, {"report_time", v.reportTime}},
		[]rawText{{"cluster_id", v.cluster}, {"server_id", v.server}, {"version", v.version}, {"os", v.os}, {"arch", v.arch}, {"stamp", v.stamp}}
}

type rawInt struct {
	name string
	v    any
}

type rawText struct {
	name string
	v    any
}

// rawKind names the type of a raw value for a refusal.
func rawKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the real number %g", v)
	case []byte:
		return fmt.Sprintf("a blob of %d bytes", len(v))
	case string:
		return fmt.Sprintf("a text of %d bytes", len(v))
	case bool:
		return "a boolean"
	case time.Time:
		return "a time"
	}
	return fmt.Sprintf("a %T", v)
}

// Bounds of an imported report's times: no collector ran before
// oldestReport, and none receives reports from the future.
var oldestReport = time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)

// report checks the row with the rules of live intake (usage's field
// rules, the stamp's syntax and length, the report time near the
// received time) and returns what to store, or the reason to refuse it.
func (v *v1Row) report(now time.Time) (*store.Report, string, error) {
	ints, texts := v.columns()
	num := map[string]int64{}
	for _, c := range ints {
		if c.v == nil {
			return nil, "NULL " + c.name, fmt.Errorf("%s is NULL", c.name)
		}
		n, ok := c.v.(int64)
		if !ok {
			return nil, c.name, fmt.Errorf("%s is %s, not an integer", c.name, rawKind(c.v))
		}
		num[c.name] = n
	}
	str := map[string]string{}
	for _, c := range texts {
		switch t := c.v.(type) {
		case nil:
			return nil, "NULL " + c.name, fmt.Errorf("%s is NULL", c.name)
		case string:
			str[c.name] = t
		case []byte:
			str[c.name] = string(t)
		default:
			return nil, c.name, fmt.Errorf("%s is %s, not a text", c.name, rawKind(c.v))
		}
	}
	var extra []byte
	switch t := v.extra.(type) {
	case nil:
	case []byte:
		extra = t
	case string:
		extra = []byte(t)
	default:
		return nil, "extra", fmt.Errorf("extra is %s, not a blob", rawKind(v.extra))
	}
	d := usage.UsageData{ClusterID: str["cluster_id"], ServerID: str["server_id"], Version: str["version"],
		OS: str["os"], Arch: str["arch"], Uptime: num["uptime"], Time: num["report_time"], Extra: extra}
	if err := d.Validate(); err != nil {
		var fe *usage.FieldError
		if errors.As(err, &fe) {
			return nil, fe.Field, err
		}
		return nil, "data", err
	}
	ms := num["received_ms"]
	if ms < oldestReport.UnixMilli() || ms > now.Add(collector.DefaultExpiration).UnixMilli() {
		return nil, "received_ms", fmt.Errorf("received_ms %d: want a time from %s to now", ms, oldestReport.Format(time.DateOnly))
	}
	received := time.UnixMilli(ms).UTC()
	if dt := time.Duration(d.Time-received.Unix()) * time.Second; dt > collector.DefaultExpiration || dt < -collector.DefaultExpiration {
		return nil, "report_time", fmt.Errorf("report_time %d: more than %s from received_ms", d.Time, collector.DefaultExpiration)
	}
	stamp := str["stamp"]
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
