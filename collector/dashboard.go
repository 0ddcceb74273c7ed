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

	"github.com/krakend-usage/krakend-usage/collector/store"
)

//go:embed static
var staticFS embed.FS

var dashboardTmpl = template.Must(template.ParseFS(staticFS, "static/dashboard.html"))

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
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return methodNotAllowed("GET")
	}
	st, err := s.store.Stats(r.Context(), s.cfg.Now())
	if err != nil {
		s.log.Error("collector: dashboard", "err", err)
		return &apiError{code: http.StatusServiceUnavailable, reason: "unavailable", retryAfter: 5, msg: "database unavailable"}
	}
	d := dashboardData{Stats: st, ReportPath: s.cfg.ReportPath, SessionPath: s.cfg.SessionPath, Bits: s.cfg.Bits}
	d.Active, d.Reports, d.Versions, d.OSArch, d.Endpoints = dashboardCharts(st)
	for _, b := range st.Endpoints {
		d.EndpointServers += b.Servers
	}
	var buf bytes.Buffer
	if err := dashboardTmpl.Execute(&buf, d); err != nil {
		return fmt.Errorf("dashboard template: %w", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:")
	w.Write(buf.Bytes())
	return nil
}
