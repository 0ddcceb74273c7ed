package collector

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

//go:embed static
var staticFS embed.FS

var (
	dashboardTmpl = template.Must(template.ParseFS(staticFS, "static/dashboard.html"))
	clustersTmpl  = template.Must(template.Must(dashboardTmpl.Clone()).ParseFS(staticFS, "static/clusters.html"))
)

// dashboardRanges are the ranges the dashboard offers.
var dashboardRanges = []int{30, 90, 365}

// handleStatic serves the embedded static files. A directory is not
// listed: it is answered 404 like any path that is not a file.
func (s *Server) handleStatic() handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return methodNotAllowed("GET")
		}
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if st, err := fs.Stat(sub, path.Clean("/" + name)[1:]); name == "" || err != nil || st.IsDir() {
			return errNotFound
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
		return nil
	}
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

// render writes a page.
func render(w http.ResponseWriter, t *template.Template, name string, data any) error {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("dashboard template %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:")
	w.Write(buf.Bytes())
	return nil
}

// handleDashboard renders the dashboard over ?days=N (default 30), with
// the charts inline as SVG.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) error {
	if err := readOnly(r); err != nil {
		return err
	}
	st, err := s.stats(r)
	if err != nil {
		return err
	}
	d := dashboardData{page: s.page("Fleet", "overview", st.RangeDays), Stats: st, C: dashboardCharts(st)}
	d.Generated = st.Generated
	var n int64
	for _, b := range st.Endpoints {
		n += b.Servers
	}
	d.EndpointServers = plural(n, "server")
	return render(w, dashboardTmpl, "dashboard.html", d)
}

// handleClustersPage lists clusters, a page at a time (?after=).
func (s *Server) handleClustersPage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.clusters(r, store.DefaultClusterPage)
	if err != nil {
		return err
	}
	return render(w, clustersTmpl, "clusters.html", clustersData{page: s.page("Clusters", "clusters", store.DefaultDays), List: p, After: r.URL.Query().Get("after")})
}

// handleClusterPage shows one cluster and its servers.
func (s *Server) handleClusterPage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.cluster(r, store.MaxClusterServers)
	if err != nil {
		return err
	}
	return render(w, clustersTmpl, "clusters.html", clustersData{page: s.page("Cluster "+d.ClusterID, "clusters", store.DefaultDays), Detail: d})
}
