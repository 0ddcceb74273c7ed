package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

const maxAttempts = 4

// commit stores one batch in one transaction (see store.Batcher).
func (s *DB) commit(ctx context.Context, rs []*store.Report) []error {
	var errs []error
	var err error
	for attempt := 1; ; attempt++ {
		errs, err = s.commitOnce(ctx, rs)
		if err == nil {
			return errs
		}
		if attempt == maxAttempts || s.d.Retry == nil || !s.d.Retry(err) {
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

func (t *tx) queryRow(name string, args ...any) *sql.Row {
	if st := t.s.prep[name]; st != nil {
		return t.StmtContext(t.ctx, st).QueryRowContext(t.ctx, args...)
	}
	return t.QueryRowContext(t.ctx, t.s.q[name], args...)
}

// attrs are a server's latest attributes, as counted in breakdown.
type attrs struct {
	version, os, arch string
	endpoints         sql.NullInt64
}

func (a attrs) kinds() [5][2]string {
	ep := ""
	if a.endpoints.Valid {
		ep = strconv.FormatInt(a.endpoints.Int64, 10)
	}
	return [5][2]string{
		{"version", a.version}, {"os", a.os}, {"arch", a.arch},
		{"os_arch", a.os + "/" + a.arch}, {"endpoints", ep},
	}
}

type dayCount struct{ reports, servers, clusters int64 }

// commitOnce runs the phases of an insert transaction. Each phase locks
// rows of one table in key order (see the package doc).
func (s *DB) commitOnce(ctx context.Context, rs []*store.Report) ([]error, error) {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer sqlTx.Rollback()
	t := &tx{Tx: sqlTx, ctx: ctx, s: s}
	errs := make([]error, len(rs))

	// Phase 1: the reports themselves; a stamp already there is a replay.
	order := make([]*store.Report, len(rs))
	copy(order, rs)
	slices.SortStableFunc(order, func(a, b *store.Report) int { return cmp.Compare(a.Stamp, b.Stamp) })
	index := make(map[*store.Report]int, len(rs))
	for i, r := range rs {
		index[r] = i
	}
	fresh := order[:0:0]
	for _, r := range order {
		n, err := t.exec("w.report", r.Received.UnixMilli(), r.ClusterID, r.ServerID, r.Version, r.OS, r.Arch,
			r.Uptime, r.ReportTime.Unix(), r.Extra, r.Stamp)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			errs[index[r]] = store.ErrDuplicate
			continue
		}
		fresh = append(fresh, r)
	}
	if len(fresh) == 0 {
		return errs, sqlTx.Commit()
	}

	totals := map[string]int64{"reports": int64(len(fresh))}
	breakdown := map[[2]string]int64{}
	days := map[int64]*dayCount{}
	day := func(d int64) *dayCount {
		if days[d] == nil {
			days[d] = &dayCount{}
		}
		return days[d]
	}

	// Phases 2 to 4 touch each distinct row once per batch, in key order.
	// Phase 2: servers; the latest report of each carries its attributes.
	slices.SortStableFunc(fresh, func(a, b *store.Report) int {
		return cmp.Or(cmp.Compare(a.ServerID, b.ServerID), a.Received.Compare(b.Received))
	})
	for i := 0; i < len(fresh); {
		j := i + 1
		for j < len(fresh) && fresh[j].ServerID == fresh[i].ServerID {
			j++
		}
		if err := s.server(t, fresh[i:j], totals, breakdown); err != nil {
			return nil, err
		}
		i = j
	}

	// Phase 3: clusters, each with its latest receipt time.
	last := map[string]int64{}
	for _, r := range fresh {
		last[r.ClusterID] = max(last[r.ClusterID], r.Received.Unix())
		day(store.DayKey(r.Received)).reports++
	}
	for _, c := range sortedKeys(last, cmp.Compare[string]) {
		sec := last[c]
		n, err := t.exec("w.cluster.new", c, sec, sec)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			totals["clusters"]++
		} else if _, err := t.exec("w.cluster.set", sec, c, sec); err != nil {
			return nil, err
		}
	}

	// Phase 4: the distinct servers and clusters of each day.
	type dayKey struct {
		day int64
		id  string
	}
	cmpDayKey := func(a, b dayKey) int { return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.id, b.id)) }
	dayServers, dayClusters := map[dayKey]bool{}, map[dayKey]bool{}
	for _, r := range fresh {
		d := store.DayKey(r.Received)
		dayServers[dayKey{d, r.ServerID}] = true
		dayClusters[dayKey{d, r.ClusterID}] = true
	}
	for _, k := range sortedKeys(dayServers, cmpDayKey) {
		n, err := t.exec("w.day.server", k.day, k.id)
		if err != nil {
			return nil, err
		}
		day(k.day).servers += n
	}
	for _, k := range sortedKeys(dayClusters, cmpDayKey) {
		n, err := t.exec("w.day.cluster", k.day, k.id)
		if err != nil {
			return nil, err
		}
		day(k.day).clusters += n
	}

	// Phase 5: counters, in key order.
	for _, d := range sortedKeys(days, cmp.Compare[int64]) {
		c := days[d]
		if _, err := t.exec("w.day", d, c.reports, c.servers, c.clusters); err != nil {
			return nil, err
		}
	}
	for _, k := range sortedKeys(breakdown, func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	}) {
		if breakdown[k] == 0 {
			continue
		}
		if _, err := t.exec("w.breakdown", k[0], k[1], breakdown[k]); err != nil {
			return nil, err
		}
	}
	for _, k := range sortedKeys(totals, cmp.Compare[string]) {
		if _, err := t.exec("w.total", k, totals[k]); err != nil {
			return nil, err
		}
	}
	return errs, sqlTx.Commit()
}

// server records the latest of rs (reports of one server, in receipt
// order) as the server's attributes, and moves the server between
// breakdown values when they changed.
func (s *DB) server(t *tx, rs []*store.Report, totals map[string]int64, breakdown map[[2]string]int64) error {
	r := rs[len(rs)-1]
	var old attrs
	err := t.queryRow("w.server.get", r.ServerID).Scan(&old.version, &old.os, &old.arch, &old.endpoints)
	isNew := errors.Is(err, sql.ErrNoRows)
	if err != nil && !isNew {
		return fmt.Errorf("w.server.get: %w", err)
	}
	cur := attrs{version: r.Version, os: r.OS, arch: r.Arch, endpoints: old.endpoints}
	for _, x := range rs {
		if n, ok := store.Endpoints(x.Extra); ok {
			cur.endpoints = sql.NullInt64{Int64: n, Valid: true}
		}
	}
	sec := r.Received.Unix()
	if isNew {
		totals["servers"]++
		if _, err := t.exec("w.server.new", r.ServerID, r.ClusterID, rs[0].Received.Unix(), sec, cur.version, cur.os, cur.arch, cur.endpoints); err != nil {
			return err
		}
	} else if _, err := t.exec("w.server.set", r.ClusterID, cur.version, cur.os, cur.arch, cur.endpoints, sec, sec, r.ServerID); err != nil {
		return err
	}
	ok, ck := old.kinds(), cur.kinds()
	for i := range ck {
		if !isNew && ok[i] == ck[i] {
			continue
		}
		if !isNew && ok[i][1] != "" {
			breakdown[ok[i]]--
		}
		if ck[i][1] != "" {
			breakdown[ck[i]]++
		}
	}
	return nil
}

func sortedKeys[K comparable, V any](m map[K]V, c func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, c)
	return keys
}
