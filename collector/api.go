package collector

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
)

// The read API: GET /api/stats, /api/stats.csv, /api/clusters and
// /api/clusters/{id}. Every answer is computed from rollups, so its cost
// does not grow with the number of stored reports.

// apiRoutes registers the read API and the dashboard's cluster pages
// on the server's mux.
func (s *Server) apiRoutes() {
	m := s.metrics
	s.mux.HandleFunc("/api/stats", m.instrument("stats", s.handleStats))
	s.mux.HandleFunc("/api/stats.csv", m.instrument("stats_csv", s.handleStatsCSV))
	s.mux.HandleFunc("/api/clusters", m.instrument("clusters", s.handleClusters))
	s.mux.HandleFunc("/api/clusters/{id}", m.instrument("cluster", s.handleCluster))
	s.mux.HandleFunc("/clusters", m.instrument("dashboard", s.handleClustersPage))
	s.mux.HandleFunc("/clusters/{id}", m.instrument("dashboard", s.handleClusterPage))
	if s.cfg.FleetMetrics {
		m.reg.MustRegister(newFleetCollector(s))
	}
}

// paramError is a bad query parameter: 400, naming it.
type paramError struct{ name, value, want string }

func (e *paramError) Error() string {
	return fmt.Sprintf("invalid %s %q: want %s", e.name, e.value, e.want)
}

// intParam reads an optional integer parameter in lo..hi.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" && !r.URL.Query().Has(name) {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &paramError{name, v, fmt.Sprintf("an integer from %d to %d", lo, hi)}
	}
	return n, nil
}

// readOnly answers 405 to anything but GET and HEAD.
func (s *Server) readOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.methodNotAllowed(w, "GET")
		return false
	}
	return true
}

// stats reads ?days= and returns the stats, or writes the error.
func (s *Server) stats(w http.ResponseWriter, r *http.Request) (*store.Stats, bool) {
	days, err := intParam(r, "days", store.DefaultDays, store.MinDays, store.MaxDays)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	st, err := s.store.StatsRange(r.Context(), s.cfg.Now(), days)
	if err != nil {
		s.log.Error("collector: stats", "err", err)
		writeError(w, http.StatusServiceUnavailable, "database unavailable")
		return nil, false
	}
	return st, true
}

// handleStats serves GET /api/stats?days=N.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	if !s.readOnly(w, r) {
		return
	}
	if st, ok := s.stats(w, r); ok {
		writeJSON(w, http.StatusOK, st)
	}
}

// csvSeries are the series of /api/stats.csv: a header and the rows.
var csvSeries = map[string]func(st *store.Stats) [][]string{
	"days": func(st *store.Stats) [][]string {
		out := [][]string{{"date", "reports", "servers", "clusters"}}
		for _, d := range st.Days {
			out = append(out, []string{d.Date, itoa(d.Reports), itoa(d.Servers), itoa(d.Clusters)})
		}
		return out
	},
	"versions_weekly": func(st *store.Stats) [][]string {
		out := [][]string{{"week", "version", "servers"}}
		for _, w := range st.VersionsWeekly {
			for _, v := range w.Versions {
				out = append(out, []string{w.Week, v.Value, itoa(v.Servers)})
			}
		}
		return out
	},
	"growth": func(st *store.Stats) [][]string {
		out := [][]string{{"week", "new_clusters", "churned_clusters", "active_clusters"}}
		for _, g := range st.Growth {
			out = append(out, []string{g.Week, itoa(g.NewClusters), itoa(g.ChurnedClusters), itoa(g.ActiveClusters)})
		}
		return out
	},
	"features": func(st *store.Stats) [][]string {
		out := [][]string{{"feature", "clusters", "servers", "active_clusters"}}
		for _, f := range st.Features {
			out = append(out, []string{f.Value, itoa(f.Clusters), itoa(f.Servers), itoa(st.ActiveClusters.Range)})
		}
		return out
	},
}

const csvSeriesNames = "days, versions_weekly, growth or features"

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// handleStatsCSV serves GET /api/stats.csv?series=...&days=N.
func (s *Server) handleStatsCSV(w http.ResponseWriter, r *http.Request) {
	if !s.readOnly(w, r) {
		return
	}
	name := r.URL.Query().Get("series")
	series, ok := csvSeries[name]
	if !ok {
		writeError(w, http.StatusBadRequest, (&paramError{"series", name, csvSeriesNames}).Error())
		return
	}
	st, ok := s.stats(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="usage-%s-%dd.csv"`, name, st.RangeDays))
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.WriteAll(series(st)) // a write error is the client gone
}

// handleClusters serves GET /api/clusters?limit=&after=.
func (s *Server) handleClusters(w http.ResponseWriter, r *http.Request) {
	if !s.readOnly(w, r) {
		return
	}
	limit, err := intParam(r, "limit", store.DefaultClusterPage, 1, store.MaxClusterPage)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	after := r.URL.Query().Get("after")
	page, err := s.store.Clusters(r.Context(), s.cfg.Now(), after, limit)
	switch {
	case errors.Is(err, store.ErrCursor):
		writeError(w, http.StatusBadRequest, (&paramError{"after", after, "the next cursor of the previous page"}).Error())
	case err != nil:
		s.log.Error("collector: clusters", "err", err)
		writeError(w, http.StatusServiceUnavailable, "database unavailable")
	default:
		writeJSON(w, http.StatusOK, page)
	}
}

// handleCluster serves GET /api/clusters/{id}?limit=: one cluster and its
// servers, most recently seen first.
func (s *Server) handleCluster(w http.ResponseWriter, r *http.Request) {
	if !s.readOnly(w, r) {
		return
	}
	id := r.PathValue("id")
	if err := usage.ValidateID("cluster_id", id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit, err := intParam(r, "limit", store.MaxClusterServers, 1, store.MaxClusterServers)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d, err := s.store.Cluster(r.Context(), s.cfg.Now(), id, limit)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no cluster "+strconv.Quote(id))
	case err != nil:
		s.log.Error("collector: cluster", "err", err)
		writeError(w, http.StatusServiceUnavailable, "database unavailable")
	default:
		writeJSON(w, http.StatusOK, d)
	}
}
