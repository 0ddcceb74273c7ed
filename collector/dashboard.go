package collector

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

//go:embed static
var staticFS embed.FS

var dashboardTmpl = template.Must(template.ParseFS(staticFS, "static/dashboard.html"))

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
}

type dashboardData struct {
	Stats                   *store.Stats
	Active, Reports         columnChart
	Versions, OSArch        barChart
	Endpoints               columnChart
	EndpointServers         int64
	ReportPath, SessionPath string
	Bits                    uint
}

// handleDashboard renders the dashboard with the charts inline as SVG.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.methodNotAllowed(w, "GET")
		return
	}
	st, err := s.store.Stats(r.Context(), s.cfg.Now())
	if err != nil {
		s.log.Error("collector: dashboard", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	d := dashboardData{Stats: st, ReportPath: s.cfg.ReportPath, SessionPath: s.cfg.SessionPath, Bits: s.cfg.Bits}
	d.Active, d.Reports, d.Versions, d.OSArch, d.Endpoints = dashboardCharts(st)
	for _, b := range st.Endpoints {
		d.EndpointServers += b.Servers
	}
	var buf bytes.Buffer
	if err := dashboardTmpl.Execute(&buf, d); err != nil {
		s.log.Error("collector: dashboard template", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:")
	w.Write(buf.Bytes())
}
