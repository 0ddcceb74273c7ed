package collector

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// fleetCacheFor is how long a scrape reuses the previous stats: several
// Prometheus servers scraping at once cost one stats call.
const fleetCacheFor = 30 * time.Second

// fleetCollector exports the fleet as gauges on /metrics (Config.
// FleetMetrics): active servers and clusters, and the servers active in
// the last 30 days by version, platform and feature. The label values are
// the stats breakdowns, top N plus "other", so cardinality stays low
// whatever reports arrive.
type fleetCollector struct {
	s *Server

	mu      sync.Mutex
	at      time.Time
	cached  *store.Stats
	active  *prometheus.Desc
	reports *prometheus.Desc
	version *prometheus.Desc
	plat    *prometheus.Desc
	featS   *prometheus.Desc
	featC   *prometheus.Desc
}

func newFleetCollector(s *Server) *fleetCollector {
	return &fleetCollector{
		s:       s,
		active:  prometheus.NewDesc("usage_fleet_active", "Distinct servers or clusters whose last report is within the window.", []string{"kind", "window"}, nil),
		reports: prometheus.NewDesc("usage_fleet_reports", "Reports accepted since the database was created (kept: still stored raw).", []string{"stored"}, nil),
		version: prometheus.NewDesc("usage_fleet_servers_by_version", "Servers active in the last 30 days by latest version (top 15, then other).", []string{"version"}, nil),
		plat:    prometheus.NewDesc("usage_fleet_servers_by_platform", "Servers active in the last 30 days by OS and architecture.", []string{"os", "arch"}, nil),
		featS:   prometheus.NewDesc("usage_fleet_servers_by_feature", "Servers active in the last 30 days whose latest gateway payload uses the component.", []string{"feature"}, nil),
		featC:   prometheus.NewDesc("usage_fleet_clusters_by_feature", "Clusters active in the last 30 days whose latest gateway payload uses the component.", []string{"feature"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (f *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{f.active, f.reports, f.version, f.plat, f.featS, f.featC} {
		ch <- d
	}
}

func (f *fleetCollector) stats() *store.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cached != nil && time.Since(f.at) < fleetCacheFor {
		return f.cached
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := f.s.store.Stats(ctx, f.s.cfg.Now())
	if err != nil {
		f.s.log.Warn("collector: fleet metrics", "err", err)
		return f.cached // the last good answer, or nothing
	}
	f.cached, f.at = st, time.Now()
	return st
}

// Collect implements prometheus.Collector.
func (f *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	st := f.stats()
	if st == nil {
		return
	}
	g := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	for kind, a := range map[string]store.Active{"servers": st.ActiveServers, "clusters": st.ActiveClusters} {
		g(f.active, a.Day, kind, "24h")
		g(f.active, a.Week, kind, "7d")
		g(f.active, a.Month, kind, "30d")
	}
	g(f.reports, st.Reports, "all")
	g(f.reports, st.RetainedReports, "kept")
	for _, c := range st.Versions {
		g(f.version, c.Servers, c.Value)
	}
	for _, c := range st.OSArch {
		os, arch, _ := strings.Cut(c.Value, "/")
		g(f.plat, c.Servers, os, arch)
	}
	for _, x := range st.Features {
		g(f.featS, x.Servers, x.Value)
		g(f.featC, x.Clusters, x.Value)
	}
}
