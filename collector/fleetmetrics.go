package collector

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

const (
	// fleetRefreshEvery is how old the figures may be before a scrape
	// asks for new ones: several Prometheus servers scraping at once
	// cost one stats call.
	fleetRefreshEvery = 30 * time.Second
	// fleetScrapeWait is how long a scrape waits for figures being
	// computed before it answers with the last ones.
	fleetScrapeWait = 2 * time.Second
	// fleetRefreshTimeout bounds one computation of the figures. It runs
	// in the background, so it may take far longer than a scrape.
	fleetRefreshTimeout = 2 * time.Minute
)

// fleetCollector exports the fleet as gauges on /metrics (Config.
// FleetMetrics): active servers and clusters, and the servers active in
// the last 30 days by version, platform and feature. The label values are
// the stats breakdowns, top N plus "other", so cardinality stays low
// whatever reports arrive.
//
// The figures are computed in the background, from the collector's start
// on and again when a scrape finds them older than fleetRefreshEvery; a
// scrape waits for them at most fleetScrapeWait and otherwise answers with
// the last ones. However slow or failing the stats are, the gauges stay
// (never vanish, never hold a scrape), and usage_fleet_age_seconds says
// how old they are.
type fleetCollector struct {
	s       *Server
	started time.Time

	mu      sync.Mutex
	every   time.Duration // fleetRefreshEvery; shorter in tests
	at      time.Time     // when cached was computed
	cached  *store.Stats
	running chan struct{} // closed when the computation under way ends; nil when none is

	age     *prometheus.Desc
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
		started: s.cfg.Now(),
		every:   fleetRefreshEvery,
		age:     prometheus.NewDesc("usage_fleet_age_seconds", "Seconds since the usage_fleet_* figures were computed (since the collector started, until they first are).", nil, nil),
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
	for _, d := range []*prometheus.Desc{f.age, f.active, f.reports, f.version, f.plat, f.featS, f.featC} {
		ch <- d
	}
}

var alreadyDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// refresh starts computing the figures unless they are recent or already
// being computed, and returns a channel closed when they are done.
func (f *fleetCollector) refresh() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.s.store == nil {
		return alreadyDone // a Server made to check its Config
	}
	if f.running != nil {
		return f.running
	}
	if f.cached != nil && f.s.cfg.Now().Sub(f.at) < f.every {
		return alreadyDone
	}
	done := make(chan struct{})
	f.running = done
	go func() {
		defer close(done)
		// A panic here would end the whole collector: the scrape keeps the
		// last figures and the age gauge says they are stale instead.
		defer func() {
			if p := recover(); p != nil {
				f.mu.Lock()
				f.running = nil
				f.mu.Unlock()
				f.s.log.Error("collector: fleet metrics: panic while computing the figures, the last ones stay", "panic", p)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), fleetRefreshTimeout)
		st, err := f.s.store.Stats(ctx, f.s.cfg.Now())
		cancel()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.running = nil
		if err != nil {
			f.s.log.Warn("collector: fleet metrics: the figures could not be computed, the last ones stay", "err", err)
			return
		}
		f.cached, f.at = st, f.s.cfg.Now()
	}()
	return done
}

// stats returns the latest figures (nil before the first) and their age.
func (f *fleetCollector) stats() (*store.Stats, time.Duration) {
	wait := time.NewTimer(fleetScrapeWait)
	defer wait.Stop()
	select {
	case <-f.refresh():
	case <-wait.C:
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.s.cfg.Now()
	if f.cached == nil {
		return nil, now.Sub(f.started)
	}
	return f.cached, now.Sub(f.at)
}

// Collect implements prometheus.Collector.
func (f *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	st, age := f.stats()
	ch <- prometheus.MustNewConstMetric(f.age, prometheus.GaugeValue, age.Seconds())
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
