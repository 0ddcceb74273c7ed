package collector

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
)

// The read API: GET /api/stats, /api/stats.csv, /api/clusters and
// /api/clusters/{id}. Every answer is computed from rollups, so its cost
// does not grow with the number of stored reports.

// errUnavailable answers a request the database could not serve.
var errUnavailable = httpx.Unavailable("database unavailable")

// stats reads ?days= and returns the stats.
func (s *Server) stats(r *http.Request) (*store.Stats, error) {
	days, err := httpx.IntParam(r, "days", store.DefaultDays, store.MinDays, store.MaxDays)
	if err != nil {
		return nil, err
	}
	st, err := s.store.StatsRange(r.Context(), s.cfg.Now(), days)
	if err != nil {
		s.log.Error("collector: stats", "err", err)
		return nil, errUnavailable
	}
	return st, nil
}

// handleStats serves GET /api/stats?days=N.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadOnly(r); err != nil {
		return err
	}
	st, err := s.stats(r)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, st)
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

func init() {
	csvSeries["features_weekly"] = func(st *store.Stats) [][]string {
		out := [][]string{{"week", "feature", "clusters", "active_clusters"}}
		for _, w := range st.FeaturesWeekly {
			for _, f := range w.Features {
				out = append(out, []string{w.Week, f.Value, itoa(f.Clusters), itoa(w.ActiveClusters)})
			}
		}
		return out
	}
	csvSeries["feature_versions"] = func(st *store.Stats) [][]string {
		out := [][]string{{"feature", "version", "clusters"}}
		for _, f := range st.FeatureVersions {
			for _, v := range f.Versions {
				out = append(out, []string{f.Feature, v.Value, itoa(v.Clusters)})
			}
		}
		return out
	}
}

const csvSeriesNames = "days, versions_weekly, growth, features, features_weekly or feature_versions"

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// handleStatsCSV serves GET /api/stats.csv?series=...&days=N.
func (s *Server) handleStatsCSV(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadOnly(r); err != nil {
		return err
	}
	name := r.URL.Query().Get("series")
	series, ok := csvSeries[name]
	if !ok {
		return httpx.InvalidParam("series", name, csvSeriesNames)
	}
	st, err := s.stats(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="usage-%s-%dd.csv"`, name, st.RangeDays))
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.WriteAll(spreadsheetSafe(series(st))) // a write error is the client gone
	return nil
}

// spreadsheetSafe neutralises every cell a spreadsheet would read as a
// formula (OWASP's rule for CSV injection: a cell beginning with =, +, -,
// @, TAB or CR) by prefixing a single quote, which spreadsheets show as
// text and do not display. Reporters choose versions and feature names, and
// the file is opened by the operator. Numbers are written by the
// collector and never negative, so no number is changed.
func spreadsheetSafe(rows [][]string) [][]string {
	for _, row := range rows {
		for i, c := range row {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				row[i] = "'" + c
			}
		}
	}
	return rows
}

// handleClusters serves GET /api/clusters?limit=&after=.
func (s *Server) handleClusters(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpx.IntParam(r, "limit", store.DefaultClusterPage, 1, store.MaxClusterPage)
	if err != nil {
		return err
	}
	page, err := s.clusters(r, limit)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, page)
}

// clusters reads ?after= and returns that page of the cluster list, of
// at most limit rows.
func (s *Server) clusters(r *http.Request, limit int) (*store.ClusterPage, error) {
	if err := httpx.ReadOnly(r); err != nil {
		return nil, err
	}
	after := r.URL.Query().Get("after")
	page, err := s.store.Clusters(r.Context(), s.cfg.Now(), after, limit)
	switch {
	case errors.Is(err, store.ErrCursor):
		return nil, httpx.InvalidParam("after", after, "the next cursor of the previous page")
	case err != nil:
		s.log.Error("collector: clusters", "err", err)
		return nil, errUnavailable
	}
	return page, nil
}

// handleCluster serves GET /api/clusters/{id}?limit=: one cluster and its
// servers, most recently seen first.
func (s *Server) handleCluster(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpx.IntParam(r, "limit", store.MaxClusterServers, 1, store.MaxClusterServers)
	if err != nil {
		return err
	}
	d, err := s.cluster(r, limit)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, d)
}

// cluster reads the {id} path value and returns that cluster with at most
// limit of its servers.
func (s *Server) cluster(r *http.Request, limit int) (*store.ClusterDetail, error) {
	if err := httpx.ReadOnly(r); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if err := usage.ValidateID("cluster_id", id); err != nil {
		return nil, httpx.BadParam(err)
	}
	d, err := s.store.Cluster(r.Context(), s.cfg.Now(), id, limit)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, &httpx.Error{Code: http.StatusNotFound, Reason: "not_found", Msg: "no cluster " + httpx.Echo(id)}
	case err != nil:
		s.log.Error("collector: cluster", "err", err)
		return nil, errUnavailable
	}
	return d, nil
}
