package collector

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
)

//go:embed static
var staticFS embed.FS

var (
	dashboardTmpl = template.Must(template.ParseFS(staticFS, "static/dashboard.html"))
	clustersTmpl  = template.Must(template.Must(dashboardTmpl.Clone()).ParseFS(staticFS, "static/clusters.html"))
)

// dashboardRanges are the ranges the dashboard offers.
var dashboardRanges = []int{30, 90, 365}

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
}

// page is what every dashboard page's header needs.
type page struct {
	Title, Page string
	Days        int
	Ranges      []int
	Generated   time.Time
	Bits        uint
}

type dashboardData struct {
	page
	Stats           *store.Stats
	C               dashboard
	EndpointServers string
}

type clustersData struct {
	page
	List   *store.ClusterPage
	After  string
	Detail *store.ClusterDetail
}

func (s *Server) page(title, name string, days int) page {
	return page{Title: title, Page: name, Days: days, Ranges: dashboardRanges, Generated: s.cfg.Now().UTC(), Bits: s.cfg.Bits}
}

// render writes a page, or a plain-text error.
func (s *Server) render(w http.ResponseWriter, t *template.Template, name string, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("collector: dashboard template", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:")
	w.Write(buf.Bytes())
}

// handleDashboard renders the dashboard over ?days=N (default 30), with
// the charts inline as SVG.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	if !s.readOnly(w, r) {
		return
	}
	days, err := intParam(r, "days", store.DefaultDays, store.MinDays, store.MaxDays)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	st, err := s.store.StatsRange(r.Context(), s.cfg.Now(), days)
	if err != nil {
		s.log.Error("collector: dashboard", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	d := dashboardData{page: s.page("Fleet", "overview", days), Stats: st, C: dashboardCharts(st)}
	d.Generated = st.Generated
	var n int64
	for _, b := range st.Endpoints {
		n += b.Servers
	}
	d.EndpointServers = plural(n, "server")
	s.render(w, dashboardTmpl, "dashboard.html", d)
}

// handleClustersPage lists clusters, a page at a time (?after=).
func (s *Server) handleClustersPage(w http.ResponseWriter, r *http.Request) {
	if !s.readOnly(w, r) {
		return
	}
	after := r.URL.Query().Get("after")
	p, err := s.store.Clusters(r.Context(), s.cfg.Now(), after, store.DefaultClusterPage)
	switch {
	case errors.Is(err, store.ErrCursor):
		http.Error(w, (&paramError{"after", after, "the next cursor of the previous page"}).Error(), http.StatusBadRequest)
		return
	case err != nil:
		s.log.Error("collector: clusters page", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	s.render(w, clustersTmpl, "clusters.html", clustersData{page: s.page("Clusters", "clusters", store.DefaultDays), List: p, After: after})
}

// handleClusterPage shows one cluster and its servers.
func (s *Server) handleClusterPage(w http.ResponseWriter, r *http.Request) {
	if !s.readOnly(w, r) {
		return
	}
	id := r.PathValue("id")
	if err := usage.ValidateID("cluster_id", id); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d, err := s.store.Cluster(r.Context(), s.cfg.Now(), id, store.MaxClusterServers)
	switch {
	case errors.Is(err, store.ErrNotFound):
		http.Error(w, "no such cluster", http.StatusNotFound)
		return
	case err != nil:
		s.log.Error("collector: cluster page", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	s.render(w, clustersTmpl, "clusters.html", clustersData{page: s.page("Cluster "+id, "clusters", store.DefaultDays), Detail: d})
}
