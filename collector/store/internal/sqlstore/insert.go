package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

const maxAttempts = 4

// errRace: another collector created a server or cluster row between our
// read and our insert. The transaction runs again and finds the row.
var errRace = errors.New("concurrent first report")

// commit stores one batch in one transaction (see store.Batcher).
func (s *DB) commit(ctx context.Context, rs []*store.Report) []error {
	var errs []error
	var err error
	defer s.prepareWanted()
	for attempt := 1; ; attempt++ {
		errs, err = s.commitOnce(ctx, rs)
		if err == nil {
			return errs
		}
		retry := errors.Is(err, errRace) || (s.d.Retry != nil && s.d.Retry(err))
		if attempt == maxAttempts || !retry {
			break
		}
	}
	errs = make([]error, len(rs))
	for i := range errs {
		errs[i] = fmt.Errorf("store: insert: %w", err)
	}
	return errs
}

// tx wraps a transaction with the dialect's way of running statements.
type tx struct {
	*sql.Tx
	ctx context.Context
	s   *DB
}

func (t *tx) exec(name string, args ...any) (int64, error) {
	var res sql.Result
	var err error
	if st := t.s.prep[name]; st != nil {
		res, err = t.StmtContext(t.ctx, st).ExecContext(t.ctx, args...)
	} else {
		res, err = t.ExecContext(t.ctx, t.s.q[name], args...)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return res.RowsAffected()
}

// execSQL and query run a statement built for this batch; the dialect
// may prepare it once per batch size (see DB.stmt).
func (t *tx) execSQL(q string, args ...any) (sql.Result, error) {
	if st := t.s.stmt(q, false); st != nil {
		return t.StmtContext(t.ctx, st).ExecContext(t.ctx, args...)
	}
	return t.ExecContext(t.ctx, q, args...)
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	if st := t.s.stmt(q, false); st != nil {
		return t.StmtContext(t.ctx, st).QueryContext(t.ctx, args...)
	}
	return t.QueryContext(t.ctx, q, args...)
}

// upsert adds rows (distinct keys, in key order) to a counter table.
func (t *tx) upsert(u upsert, rows [][]any) error {
	_, err := t.insert(u, rows)
	return err
}

// insert runs u for rows (distinct keys, in key order) in one statement
// and returns how many rows it inserted or updated.
// A statement of more rows is split in chunks of maxRows, keeping
// its placeholders well under SQLite's 32,766 and PostgreSQL's 65,535
// (a batch's feature-version counters can be that many rows).
func (t *tx) insert(u upsert, rows [][]any) (int64, error) {
	switch len(rows) {
	case 0:
		return 0, nil
	case 1:
		return t.exec(u.name, rows[0]...)
	}
	var total int64
	for len(rows) > maxRows {
		n, err := t.insert(u, rows[:maxRows])
		if err != nil {
			return 0, err
		}
		total += n
		rows = rows[maxRows:]
	}
	res, err := t.execSQL(t.s.values(u.head, len(rows), u.cols, " "+u.tail), flat(u, rows)...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", u.name, err)
	}
	n, err := res.RowsAffected()
	return total + n, err
}

// maxRows is the most rows one multi-row statement writes.
const maxRows = 1024

// insertQuery is insert for a statement returning rows.
func (t *tx) insertQuery(u upsert, rows [][]any) (*sql.Rows, error) {
	q := t.s.values(u.head, len(rows), u.cols, " "+u.tail)
	rs, err := t.query(q, flat(u, rows)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.name, err)
	}
	return rs, nil
}

func flat(u upsert, rows [][]any) []any {
	args := make([]any, 0, len(rows)*u.cols)
	for _, r := range rows {
		args = append(args, r...)
	}
	return args
}

func (t *tx) queryNamed(name string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	var err error
	if st := t.s.prep[name]; st != nil {
		rows, err = t.StmtContext(t.ctx, st).QueryContext(t.ctx, args...)
	} else {
		rows, err = t.QueryContext(t.ctx, t.s.q[name], args...)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rows, nil
}

// values builds "INSERT ... VALUES (?,..),(?,..) tail" for n rows of
// cols columns, in the dialect's placeholders.
func (s *DB) values(head string, n, cols int, tail string) string {
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(" VALUES ")
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	if s.d.Dollar {
		return dollar(b.String())
	}
	return b.String()
}

// stampKey is the replay key of a stamp: the day number of its date
// (4 bytes, big-endian) then 12 bytes of its SHA-256. The index stays
// small whatever the stamp's length, new keys land in the index's last
// days, and stamps too old to verify are one range at its start. A stamp
// whose date cannot be read gets day 0 (the collector never accepts one).
func stampKey(stamp string) []byte {
	h := sha256.Sum256([]byte(stamp))
	return append(dayPrefix(stampDay(stamp)), h[:12]...)
}

// stampDay is the day number of a hashcash stamp's YYMMDD date, or 0.
func stampDay(stamp string) int64 {
	f := strings.SplitN(stamp, ":", 4)
	if len(f) < 4 || len(f[2]) < 6 {
		return 0
	}
	t, err := time.Parse("060102", f[2][:6])
	if err != nil {
		return 0
	}
	return store.DayKey(t)
}

// dayPrefix is the 4-byte key prefix of a day.
func dayPrefix(day int64) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(max(day, 0)))
}

// commitOnce runs the phases of an insert transaction. Each phase locks
// rows of one table in key order (see the package doc).
func (s *DB) commitOnce(ctx context.Context, rs []*store.Report) ([]error, error) {
	// The batch's multi-row statements, prepared before the transaction
	// takes the writer's connection (for a batch without replays).
	s.stmt(s.stampsSQL(len(rs)), true)
	s.stmt(s.reportsSQL(len(rs)), true)
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer sqlTx.Rollback()
	t := &tx{Tx: sqlTx, ctx: ctx, s: s}
	errs := make([]error, len(rs))

	// Phase 1: claim the stamps; one already claimed is a replay.
	fresh, err := s.claimStamps(t, rs, errs)
	if err != nil {
		return nil, err
	}
	if len(fresh) == 0 {
		return errs, sqlTx.Commit()
	}

	// Phase 2: the raw reports.
	if err := s.insertReports(t, fresh); err != nil {
		return nil, err
	}
	d := newDeltas()
	d.totals["reports"] += int64(len(fresh))
	d.totals["retained"] += int64(len(fresh))
	for _, r := range fresh {
		d.day(store.DayKey(r.Received)).reports++
	}

	// Phase 3: servers, each once, in key order, its reports oldest first.
	slices.SortStableFunc(fresh, func(a, b *store.Report) int {
		return cmp.Or(cmp.Compare(a.ServerID, b.ServerID), a.Received.Compare(b.Received))
	})
	servers, err := s.loadServers(t, fresh)
	if err != nil {
		return nil, err
	}
	standings := map[*store.Report]standing{}
	var marks []mark
	var w rowWrites
	for g := range groups(fresh, func(r *store.Report) string { return r.ServerID }) {
		s.server(g, servers[g[0].ServerID], d, standings, &marks, &w)
	}
	if err := w.flush(t, upServerNew, upServerSet); err != nil {
		return nil, err
	}

	// Phase 4: clusters, the same way.
	slices.SortStableFunc(fresh, func(a, b *store.Report) int {
		return cmp.Or(cmp.Compare(a.ClusterID, b.ClusterID), a.Received.Compare(b.Received))
	})
	clusters, err := s.loadClusters(t, fresh)
	if err != nil {
		return nil, err
	}
	w = rowWrites{}
	for g := range groups(fresh, func(r *store.Report) string { return r.ClusterID }) {
		s.cluster(g, clusters[g[0].ClusterID], d, standings, &w)
	}
	if err := w.flush(t, upClusterNew, upClusterSet); err != nil {
		return nil, err
	}

	// Phase 5: the values counted by name (see track.go).
	learned, err := s.track(t, d, marks)
	if err != nil {
		return nil, err
	}

	// Phase 6: who is counted in week_versions.
	slices.SortFunc(marks, func(a, b mark) int {
		return cmp.Or(cmp.Compare(a.week, b.week), cmp.Compare(a.version, b.version), cmp.Compare(a.server, b.server))
	})
	marks = slices.Compact(marks)
	if err := s.mark(t, marks, d); err != nil {
		return nil, err
	}

	// Phase 7: the counters, table by table, in key order.
	if err := d.flush(t); err != nil {
		return nil, err
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, err
	}
	s.sets.put(learned)
	return errs, nil
}

// claimStamps inserts the replay key of every report and returns those
// whose key was new, in batch order; the others get ErrDuplicate.
func (s *DB) claimStamps(t *tx, rs []*store.Report, errs []error) ([]*store.Report, error) {
	type claim struct {
		hash []byte
		i    int
	}
	claims := make([]claim, 0, len(rs))
	for i, r := range rs {
		claims = append(claims, claim{stampKey(r.Stamp), i})
	}
	slices.SortStableFunc(claims, func(a, b claim) int { return bytes.Compare(a.hash, b.hash) })
	// A stamp twice in one batch: the first one claims it.
	uniq := claims[:0:0]
	for _, c := range claims {
		if len(uniq) > 0 && bytes.Equal(uniq[len(uniq)-1].hash, c.hash) {
			errs[c.i] = store.ErrDuplicate
			continue
		}
		uniq = append(uniq, c)
	}
	args := make([]any, 0, len(uniq))
	for _, c := range uniq {
		args = append(args, c.hash)
	}
	rows, err := t.query(s.stampsSQL(len(uniq)), args...)
	if err != nil {
		return nil, fmt.Errorf("stamps: %w", err)
	}
	claimed := map[string]bool{}
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return nil, fmt.Errorf("stamps: %w", err)
		}
		claimed[string(h)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stamps: %w", err)
	}
	for _, c := range uniq {
		if !claimed[string(c.hash)] {
			errs[c.i] = store.ErrDuplicate
		}
	}
	var fresh []*store.Report
	for i, r := range rs {
		if errs[i] == nil {
			fresh = append(fresh, r)
		}
	}
	return fresh, nil
}

func (s *DB) stampsSQL(n int) string {
	return s.values("INSERT INTO stamps(key)", n, 1, " ON CONFLICT (key) DO NOTHING RETURNING key")
}

func (s *DB) reportsSQL(n int) string {
	return s.values("INSERT INTO reports(received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, extra_omitted, stamp, writer)",
		n, 12, "")
}

func (s *DB) insertReports(t *tx, rs []*store.Report) error {
	args := make([]any, 0, 12*len(rs))
	for _, r := range rs {
		omitted := 0
		if r.ExtraOmitted {
			omitted = 1
		}
		args = append(args, r.Received.UnixMilli(), r.ClusterID, r.ServerID, r.Version, r.OS, r.Arch,
			r.Uptime, r.ReportTime.Unix(), r.Extra, omitted, r.Stamp, WriterVersion)
	}
	if _, err := t.execSQL(s.reportsSQL(len(rs)), args...); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}

// groups yields the runs of rs sharing a key (rs sorted by that key).
func groups(rs []*store.Report, key func(*store.Report) string) func(func([]*store.Report) bool) {
	return func(yield func([]*store.Report) bool) {
		for i := 0; i < len(rs); {
			j := i + 1
			for j < len(rs) && key(rs[j]) == key(rs[i]) {
				j++
			}
			if !yield(rs[i:j]) {
				return
			}
			i = j
		}
	}
}
