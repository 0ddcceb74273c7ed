package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
	"github.com/krakend-usage/krakend-usage/collector/store"
)

var (
	dashboardTmpl = template.Must(template.ParseFS(staticFS, "static/dashboard.html"))
	clustersTmpl  = template.Must(template.Must(dashboardTmpl.Clone()).ParseFS(staticFS, "static/clusters.html"))
)

// AdminRoutes are the dashboard's pages and static files, for the
// collector's operator. A refusal of a page is answered with a page.
func (p *Pages) AdminRoutes() []httpx.Route {
	return []httpx.Route{
		{Pattern: "/{$}", Name: "dashboard", Handle: p.handleDashboard, ErrorPage: ErrorPage},
		{Pattern: "/clusters", Name: "dashboard", Handle: p.handleClustersPage, ErrorPage: ErrorPage},
		{Pattern: "/clusters/{id}", Name: "dashboard", Handle: p.handleClusterPage, ErrorPage: ErrorPage},
		{Pattern: "/static/", Name: "static", Handle: handleStatic()},
	}
}

// dashboardRanges are the ranges the dashboard offers.
var dashboardRanges = []int{30, 90, 365}

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

func (p *Pages) page(title, name string, days int) page {
	return page{Title: title, Page: name, Days: days, Ranges: dashboardRanges, Generated: p.cfg.Now().UTC(), Bits: p.cfg.Bits}
}

// handleDashboard renders the dashboard over ?days=N (default 30), with
// the charts inline as SVG.
func (p *Pages) handleDashboard(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadOnly(r); err != nil {
		return err
	}
	st, err := p.cfg.Stats(r)
	if err != nil {
		return err
	}
	d := dashboardData{page: p.page("Fleet", "overview", st.RangeDays), Stats: st, C: dashboardCharts(st)}
	d.Generated = st.Generated
	var n int64
	for _, b := range st.Endpoints {
		n += b.Servers
	}
	d.EndpointServers = plural(n, "server")
	return render(w, dashboardTmpl, "dashboard.html", d)
}

// handleClustersPage lists clusters, a page at a time (?after=).
func (p *Pages) handleClustersPage(w http.ResponseWriter, r *http.Request) error {
	l, err := p.cfg.Clusters(r, store.DefaultClusterPage)
	if err != nil {
		return err
	}
	return render(w, clustersTmpl, "clusters.html", clustersData{page: p.page("Clusters", "clusters", store.DefaultDays), List: l, After: r.URL.Query().Get("after")})
}

// handleClusterPage shows one cluster and its servers.
func (p *Pages) handleClusterPage(w http.ResponseWriter, r *http.Request) error {
	d, err := p.cfg.Cluster(r, store.MaxClusterServers)
	if err != nil {
		return err
	}
	return render(w, clustersTmpl, "clusters.html", clustersData{page: p.page("Cluster "+d.ClusterID, "clusters", store.DefaultDays), Detail: d})
}

// dashboard holds the charts of the dashboard, in page order.
type dashboard struct {
	Active, Reports, Weekly, Growth columnChart
	Features, Versions, OSArch      barChart
	Methods                         barChart
	Endpoints, BPE, Sizes           columnChart
	insights
}

func dashboardCharts(st *store.Stats) dashboard {
	var d dashboard
	var labels []string
	servers, clusters, reports := series{Name: "servers"}, series{Name: "clusters"}, series{Name: "reports"}
	for _, day := range st.Days {
		labels = append(labels, day.Date[5:])
		servers.Values = append(servers.Values, day.Servers)
		clusters.Values = append(clusters.Values, day.Clusters)
		reports.Values = append(reports.Values, day.Reports)
	}
	d.Active = newColumns("active", "Active servers and clusters per day", labels, []series{servers}, []series{clusters}, wideWidth, "today")
	d.Reports = newColumns("reports", "Reports per day", labels, []series{reports}, nil, halfWidth, "today")

	// versions_weekly: one series per version, the same in every week.
	var weeks []string
	var names []string
	index := map[string]int{}
	for _, w := range st.VersionsWeekly {
		weeks = append(weeks, w.Week[5:])
		for _, v := range w.Versions {
			if _, ok := index[v.Value]; !ok {
				index[v.Value] = len(names)
				names = append(names, v.Value)
			}
		}
	}
	vs := make([]series, len(names))
	for i, name := range names {
		vs[i] = series{Name: name, Values: make([]int64, len(weeks))}
	}
	for i, w := range st.VersionsWeekly {
		for _, v := range w.Versions {
			vs[index[v.Value]].Values[i] = v.Servers
		}
	}
	d.Weekly = newColumns("versions-weekly", "Servers per version, by ISO week", weeks, vs, nil, halfWidth, "this week")
	if len(d.Weekly.Legend) == 0 && len(vs) == 1 {
		// One version is still a version to name.
		d.Weekly.Legend = []legend{{Name: vs[0].Name, Class: "s0"}}
	}
	d.insights = insightCharts(st)

	var gweeks []string
	active, added, churned := series{Name: "active clusters"}, series{Name: "new"}, series{Name: "churned"}
	for _, g := range st.Growth {
		gweeks = append(gweeks, g.Week[5:])
		active.Values = append(active.Values, g.ActiveClusters)
		added.Values = append(added.Values, g.NewClusters)
		churned.Values = append(churned.Values, g.ChurnedClusters)
	}
	d.Growth = newColumns("growth", "Clusters per ISO week: active, new and churned", gweeks, []series{active}, []series{added, churned}, halfWidth, "this week")

	d.Features = newShareChart("features", fmt.Sprintf("Components: %% of %s", plural(st.ActiveClusters.Range, "active cluster")), st.Features, st.ActiveClusters.Range)
	d.Versions = newBarChart("versions", "Versions (servers)", st.Versions)
	d.OSArch = newBarChart("os-arch", "OS / architecture (servers)", st.OSArch)
	var methods []store.Count
	for _, m := range st.Methods {
		methods = append(methods, store.Count{Value: m.Value, Servers: m.Servers})
	}
	d.Methods = newBarChart("methods", "HTTP methods (servers with an endpoint using it)", store.SortCounts(methods))

	var bl []string
	bv := series{Name: "servers"}
	for _, b := range st.Endpoints {
		bl = append(bl, b.Label)
		bv.Values = append(bv.Values, b.Servers)
	}
	d.Endpoints = newColumns("endpoints", "Endpoints per gateway (servers)", bl, []series{bv}, nil, halfWidth, "")
	bl, bv = nil, series{Name: "servers"}
	for _, b := range st.BackendsPerEndpoint {
		bl = append(bl, b.Value)
		bv.Values = append(bv.Values, b.Servers)
	}
	d.BPE = newColumns("backends", "Backends per endpoint (servers)", bl, []series{bv}, nil, halfWidth, "")
	bl, bv = nil, series{Name: "clusters"}
	for _, b := range st.ServersPerCluster {
		bl = append(bl, b.Value)
		bv.Values = append(bv.Values, b.Clusters)
	}
	d.Sizes = newColumns("sizes", "Servers per cluster (clusters)", bl, []series{bv}, nil, halfWidth, "")
	return d
}
