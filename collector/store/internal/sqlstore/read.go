package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// Stats implements store.Store. It reads only the rollup tables.
func (s *DB) Stats(ctx context.Context, now time.Time) (*store.Stats, error) {
	now = now.UTC()
	st := &store.Stats{Generated: now}

	rows, err := s.r.QueryContext(ctx, s.q["r.totals"])
	if err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: stats: %w", err)
		}
		switch name {
		case "reports":
			st.Reports = v
		case "servers":
			st.Servers = v
		case "clusters":
			st.Clusters = v
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}

	d, w, m := store.Windows(now)
	for q, a := range map[string]*store.Active{"r.servers": &st.ActiveServers, "r.clusters": &st.ActiveClusters} {
		if err := s.r.QueryRowContext(ctx, s.q[q], d.Unix(), w.Unix(), m.Unix()).Scan(&a.Day, &a.Week, &a.Month); err != nil {
			return nil, fmt.Errorf("store: stats: %w", err)
		}
	}

	if err := s.breakdown(ctx, st); err != nil {
		return nil, err
	}

	got := map[int64]store.Day{}
	rows, err = s.r.QueryContext(ctx, s.q["r.days"], store.DayKey(now)-store.StatsDays+1)
	if err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day int64
		var c store.Day
		if err := rows.Scan(&day, &c.Reports, &c.Servers, &c.Clusters); err != nil {
			return nil, fmt.Errorf("store: stats: %w", err)
		}
		got[day] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	st.Days = store.FillDays(now, got)
	return st, nil
}

func (s *DB) breakdown(ctx context.Context, st *store.Stats) error {
	rows, err := s.r.QueryContext(ctx, s.q["r.breakdown"])
	if err != nil {
		return fmt.Errorf("store: stats: %w", err)
	}
	defer rows.Close()
	endpoints := map[int64]int64{}
	for rows.Next() {
		var kind, value string
		var n int64
		if err := rows.Scan(&kind, &value, &n); err != nil {
			return fmt.Errorf("store: stats: %w", err)
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
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: stats: %w", err)
	}
	st.Versions = store.SortCounts(st.Versions)
	st.OS = store.SortCounts(st.OS)
	st.Arch = store.SortCounts(st.Arch)
	st.OSArch = store.SortCounts(st.OSArch)
	st.Endpoints = store.Buckets(endpoints)
	return nil
}

// Recent implements store.Store.
func (s *DB) Recent(ctx context.Context, n int) ([]store.Report, error) {
	rows, err := s.r.QueryContext(ctx, s.q["r.recent"], n)
	if err != nil {
		return nil, fmt.Errorf("store: recent: %w", err)
	}
	defer rows.Close()
	var out []store.Report
	for rows.Next() {
		var r store.Report
		var recv, rt int64
		if err := rows.Scan(&recv, &r.ClusterID, &r.ServerID, &r.Version, &r.OS, &r.Arch, &r.Uptime, &rt, &r.Extra, &r.Stamp); err != nil {
			return nil, fmt.Errorf("store: recent: %w", err)
		}
		r.Received = time.UnixMilli(recv).UTC()
		r.ReportTime = time.Unix(rt, 0).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: recent: %w", err)
	}
	return out, nil
}
