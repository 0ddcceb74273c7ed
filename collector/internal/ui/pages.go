package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
	"github.com/krakend-usage/krakend-usage/collector/store"
)

//go:embed static
var staticFS embed.FS

// Config is what the pages read and show.
type Config struct {
	// Stats, Clusters and Cluster are the collector's read API: they
	// read the request's parameters (?days=, ?after=, the {id} path
	// value) and the store, and return refusals as *httpx.Error, so a
	// page and its /api/* twin answer one request alike.
	Stats    func(r *http.Request) (*store.Stats, error)
	Clusters func(r *http.Request, limit int) (*store.ClusterPage, error)
	Cluster  func(r *http.Request, limit int) (*store.ClusterDetail, error)
	// Store is what the public view reads.
	Store store.Store
	// Now is the clock.
	Now func() time.Time
	// Bits is the proof-of-work difficulty the dashboard states.
	Bits uint
	// MinClusters is k of the public view: a value seen in fewer
	// clusters is counted as "other", and every count is rounded down
	// to a multiple of k.
	MinClusters int
	// EstablishedDays is how many UTC days a cluster's reports must
	// span before the public view counts it.
	EstablishedDays int
	Log             *slog.Logger
}

// Pages serves the pages of one collector.
type Pages struct{ cfg Config }

// New returns the pages of cfg.
func New(cfg Config) *Pages { return &Pages{cfg: cfg} }

// handleStatic serves the embedded static files. A directory is not
// listed: it is answered 404 like any path that is not a file.
func handleStatic() httpx.HandlerFunc {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := httpx.ReadOnly(r); err != nil {
			return err
		}
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if st, err := fs.Stat(sub, path.Clean("/" + name)[1:]); name == "" || err != nil || st.IsDir() {
			return httpx.ErrNotFound
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
		return nil
	}
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

// ErrorPage is the error answer of the dashboard's pages, read in a
// browser: a short HTML page with the message and the way back. The
// /api/* routes answer JSON.
func ErrorPage(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%d %s · usage collector</title></head>\n"+
		"<body><h1>%d %s</h1><p>%s</p><p><a href=\"/\">Fleet</a> · <a href=\"/clusters\">Clusters</a></p></body></html>\n",
		code, http.StatusText(code), code, http.StatusText(code), html.EscapeString(msg))
}
