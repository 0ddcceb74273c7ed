package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// Caps on the rows one stats answer reads from a rollup. Every kind is
// bounded (store.MaxValues tracked values a week, the others by allowlist
// or bucket), so a year's range reads fewer; the caps hold the cost of an
// answer even over weeks stored before the bound (RELIABILITY.md).
const (
	maxLatestRows      = "50000"
	maxPairRows        = "100000"
	maxWeekVersionRows = "5000"
)

// Stats implements store.Store.
func (s *DB) Stats(ctx context.Context, now time.Time) (*store.Stats, error) {
	return s.StatsRange(ctx, now, store.DefaultDays)
}

// StatsRange implements store.Store. It reads only the rollup tables, a
// number of rows bounded by the range and the number of distinct values,
// never by the number of reports or servers.
func (s *DB) StatsRange(ctx context.Context, now time.Time, days int) (*store.Stats, error) {
	if days < store.MinDays || days > store.MaxDays {
		return nil, fmt.Errorf("store: stats: days %d out of %d..%d", days, store.MinDays, store.MaxDays)
	}
	now = now.UTC()
	st := &store.Stats{Generated: now, RangeDays: days}
	for _, f := range []func(context.Context, *store.Stats) error{s.totals, s.activity, s.breakdowns, s.days, s.weekly, s.featuresWeekly} {
		if err := f(ctx, st); err != nil {
			return nil, fmt.Errorf("store: stats: %w", err)
		}
	}
	return st, nil
}

// query runs a named read query and calls scan for each row.
func (s *DB) query(ctx context.Context, name string, scan func(rows interface{ Scan(...any) error }) error, args ...any) error {
	q, ok := s.q[name]
	if !ok {
		return fmt.Errorf("no query %q", name) // a typo, caught by any test
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (s *DB) totals(ctx context.Context, st *store.Stats) error {
	return s.query(ctx, "r.totals", func(rows interface{ Scan(...any) error }) error {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return err
		}
		switch name {
		case "reports":
			st.Reports = v
		case "retained":
			st.RetainedReports = v
		case "servers":
			st.Servers = v
		case "clusters":
			st.Clusters = v
		}
		return nil
	})
}

// rangeStart is the first day of the range.
func rangeStart(st *store.Stats) int64 {
	return store.DayKey(st.Generated) - int64(st.RangeDays) + 1
}

// growthWeeks is the first week of growth: the range, at least Weeks.
func growthWeeks(st *store.Stats) (first, last int64) {
	last = store.WeekKey(store.DayKey(st.Generated))
	first = min(last-store.Weeks+1, store.WeekKey(rangeStart(st)))
	return first, last
}

// activity fills the activity windows and the churn of growth from the
// active table: IDs by the hour of their last report.
func (s *DB) activity(ctx context.Context, st *store.Stats) error {
	nowHour := store.HourKey(st.Generated)
	dayH, weekH, monthH := nowHour-24, nowHour-7*24, nowHour-30*24
	rangeH := rangeStart(st) * 24
	first, last := growthWeeks(st)
	firstDay, _ := store.WeekDays(first)
	firstH := min(monthH, rangeH, firstDay*24)
	// A cluster whose last report is in hour h has churned once
	// ChurnDays have passed since h ended.
	churnedH := nowHour - store.ChurnDays*24
	churn := map[int64]int64{}
	err := s.query(ctx, "r.active", func(rows interface{ Scan(...any) error }) error {
		var h, sv, cl int64
		if err := rows.Scan(&h, &sv, &cl); err != nil {
			return err
		}
		for _, w := range []struct {
			from int64
			s, c *int64
		}{
			{dayH, &st.ActiveServers.Day, &st.ActiveClusters.Day},
			{weekH, &st.ActiveServers.Week, &st.ActiveClusters.Week},
			{monthH, &st.ActiveServers.Month, &st.ActiveClusters.Month},
			{rangeH, &st.ActiveServers.Range, &st.ActiveClusters.Range},
		} {
			if h >= w.from {
				*w.s += sv
				*w.c += cl
			}
		}
		if h < churnedH {
			churn[store.WeekKey(floorDiv(h, 24))] += cl
		}
		return nil
	}, firstH)
	if err != nil {
		return err
	}
	st.Growth = make([]store.Growth, 0, last-first+1)
	for w := first; w <= last; w++ {
		st.Growth = append(st.Growth, store.Growth{Week: store.WeekLabel(w), ChurnedClusters: churn[w]})
	}
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// breakdowns sums the latest tables over the range.
func (s *DB) breakdowns(ctx context.Context, st *store.Stats) error {
	start := rangeStart(st)
	monday, _ := store.WeekDays(store.WeekKey(start))
	if monday < start {
		monday += 7
	}
	endpoints, sizes := map[int64]int64{}, map[int64]int64{}
	bpe := map[string]int64{}
	features, methods := map[string]*store.Feature{}, map[string]*store.Feature{}
	var in insights
	feature := func(m map[string]*store.Feature, v string) *store.Feature {
		if m[v] == nil {
			m[v] = &store.Feature{Value: v}
		}
		return m[v]
	}
	err := s.query(ctx, "r.latest", func(rows interface{ Scan(...any) error }) error {
		var kind, value string
		var n int64
		if err := rows.Scan(&kind, &value, &n); err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		c := store.Count{Value: value, Servers: n}
		switch kind {
		case "version":
			st.Versions = append(st.Versions, c)
		case "os":
			st.OS = append(st.OS, c)
		case "arch":
			st.Arch = append(st.Arch, c)
		case "os_arch":
			st.OSArch = append(st.OSArch, c)
		case "endpoints":
			if e, err := strconv.ParseInt(value, 10, 64); err == nil {
				endpoints[e] += n
			}
		case "bpe":
			bpe[value] += n
		case "c.size":
			if e, err := strconv.ParseInt(value, 10, 64); err == nil {
				sizes[e] += n
			}
		case "feature":
			feature(features, value).Servers += n
		case "c.feature":
			feature(features, value).Clusters += n
		case "method":
			feature(methods, value).Servers += n
		case "c.method":
			feature(methods, value).Clusters += n
		default:
			in.add(kind, value, n)
		}
		return nil
	}, start, monday, store.WeekKey(monday))
	if err != nil {
		return err
	}
	// The pairs (uptime per version, feature per version) over the last
	// PairDays days at most.
	pstart := max(start, store.DayKey(st.Generated)-store.PairDays+1)
	pmonday, _ := store.WeekDays(store.WeekKey(pstart))
	if pmonday < pstart {
		pmonday += 7
	}
	err = s.query(ctx, "r.pairs", func(rows interface{ Scan(...any) error }) error {
		var kind, value string
		var n int64
		if err := rows.Scan(&kind, &value, &n); err != nil {
			return err
		}
		if n > 0 {
			in.add(kind, value, n)
		}
		return nil
	}, pstart, pmonday, store.WeekKey(pmonday))
	if err != nil {
		return err
	}
	st.Versions = store.TopCounts(st.Versions, store.TopValues)
	st.OS = store.TopCounts(st.OS, store.TopValues)
	st.Arch = store.TopCounts(st.Arch, store.TopValues)
	st.OSArch = store.TopCounts(st.OSArch, store.TopValues)
	st.Endpoints = store.Buckets(endpoints)
	st.ServersPerCluster = store.Sizes(sizes)
	st.BackendsPerEndpoint = make([]store.Count, 0, len(store.RatioBuckets))
	for _, b := range store.RatioBuckets {
		st.BackendsPerEndpoint = append(st.BackendsPerEndpoint, store.Count{Value: b, Servers: bpe[b]})
	}
	st.Features = store.TopFeatures(values(features), store.MaxFeatures)
	st.Methods = store.TopFeatures(values(methods), store.TopMethods)
	in.fill(st)
	return nil
}

func values(m map[string]*store.Feature) []store.Feature {
	out := make([]store.Feature, 0, len(m))
	for _, f := range m {
		out = append(out, *f)
	}
	return out
}

func (s *DB) days(ctx context.Context, st *store.Stats) error {
	got := map[int64]store.Day{}
	err := s.query(ctx, "r.days", func(rows interface{ Scan(...any) error }) error {
		var day int64
		var c store.Day
		if err := rows.Scan(&day, &c.Reports, &c.Servers, &c.Clusters); err != nil {
			return err
		}
		got[day] = c
		return nil
	}, rangeStart(st))
	st.Days = store.FillDays(st.Generated, st.RangeDays, got)
	return err
}

// weekly fills versions_weekly and the rest of growth.
func (s *DB) weekly(ctx context.Context, st *store.Stats) error {
	first, _ := growthWeeks(st)
	err := s.query(ctx, "r.weeks", func(rows interface{ Scan(...any) error }) error {
		var w, nc, ac int64
		if err := rows.Scan(&w, &nc, &ac); err != nil {
			return err
		}
		if i := w - first; i >= 0 && i < int64(len(st.Growth)) {
			st.Growth[i].NewClusters, st.Growth[i].ActiveClusters = nc, ac
		}
		return nil
	}, first)
	if err != nil {
		return err
	}
	last := store.WeekKey(store.DayKey(st.Generated))
	firstV := last - store.Weeks + 1
	byWeek := map[int64]map[string]int64{}
	total := map[string]int64{}
	err = s.query(ctx, "r.weekver", func(rows interface{ Scan(...any) error }) error {
		var w, n int64
		var v string
		if err := rows.Scan(&w, &v, &n); err != nil {
			return err
		}
		if byWeek[w] == nil {
			byWeek[w] = map[string]int64{}
		}
		byWeek[w][v] += n
		total[v] += n
		return nil
	}, firstV)
	if err != nil {
		return err
	}
	// The same top versions in every week, so a chart's series are stable.
	var all []store.Count
	for v, n := range total {
		all = append(all, store.Count{Value: v, Servers: n})
	}
	top := map[string]bool{}
	for _, c := range store.TopCounts(all, store.TopWeekly) {
		if c.Value != store.Other {
			top[c.Value] = true
		}
	}
	st.VersionsWeekly = make([]store.WeekVersions, 0, store.Weeks)
	for w := firstV; w <= last; w++ {
		var cs []store.Count
		var other int64
		for v, n := range byWeek[w] {
			if top[v] && v != store.Other {
				cs = append(cs, store.Count{Value: v, Servers: n})
			} else {
				other += n
			}
		}
		cs = store.SortCounts(cs)
		if other > 0 {
			cs = append(cs, store.Count{Value: store.Other, Servers: other})
		}
		st.VersionsWeekly = append(st.VersionsWeekly, store.WeekVersions{Week: store.WeekLabel(w), Versions: cs})
	}
	return nil
}

// Recent implements store.Store.
func (s *DB) Recent(ctx context.Context, n int) ([]store.Report, error) {
	var out []store.Report
	err := s.query(ctx, "r.recent", func(rows interface{ Scan(...any) error }) error {
		var r store.Report
		var recv, rt, omitted int64
		if err := rows.Scan(&recv, &r.ClusterID, &r.ServerID, &r.Version, &r.OS, &r.Arch, &r.Uptime, &rt, &r.Extra, &omitted, &r.Stamp); err != nil {
			return err
		}
		r.Received = time.UnixMilli(recv).UTC()
		r.ReportTime = time.Unix(rt, 0).UTC()
		r.ExtraOmitted = omitted != 0
		out = append(out, r)
		return nil
	}, n)
	if err != nil {
		return nil, fmt.Errorf("store: recent: %w", err)
	}
	return out, nil
}
